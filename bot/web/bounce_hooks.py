"""Providers' bounce and complaint webhooks: `POST /api/hooks/bounces/{ses,mailgun,postmark,
sendgrid}`. Each request is checked the provider's own way (bot.newsletter.providers)
before anything is read from it; an endpoint whose credentials are not configured refuses
everything (401). The events are applied by bot.services.bounces, idempotently: providers
retry on anything but a 2xx, and a retried or replayed event suppresses nobody twice (which
is also why no timestamp window is enforced here: the providers' own retries run for
hours, and a replay can only repeat a fact already applied).

Answers: 200 with what was done, 400 for a body that is not what the provider sends, 401
for a missing or bad signature, a topic that is not ours, or an unconfigured endpoint.

SES reaches us through SNS. The signing certificate is fetched (and kept per URL) only from
an `https://sns.<region>.amazonaws.com/SimpleNotificationService-….pem` address; a
SubscriptionConfirmation for one of our topics is confirmed by fetching its SubscribeURL
(again only on amazonaws.com). Both fetches go through `app.state.sns_fetch(url) -> bytes`,
which tests replace with a local certificate: the URL checks apply before it is called.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Callable

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.errors import BadInput
from bot.newsletter import providers
from bot.newsletter.bounces import BounceEvent
from bot.services.bounces import apply_events
from bot.store.db import ensure_schema

log = logging.getLogger(__name__)
router = APIRouter()
SNS_FETCH_TIMEOUT = 10.0
SNS_CERT_MAX_BYTES = 64 * 1024


def fetch_from_sns(url: str) -> bytes:
    """GET an SNS address (its certificate or a subscription confirmation); no redirects."""
    with httpx.Client(timeout=SNS_FETCH_TIMEOUT, follow_redirects=False) as client:
        response = client.get(url)
    if response.status_code != 200:
        raise BadInput(f"SES/SNS webhook: {url} answered {response.status_code}")
    return response.content[:SNS_CERT_MAX_BYTES]


@lru_cache(maxsize=32)
def _cached_certificate(fetch: Callable[[str], bytes], url: str) -> bytes:
    return fetch(url)


def _refused(detail: str) -> JSONResponse:
    return JSONResponse({"error": detail}, status_code=401)


async def _apply(request: Request, events: list[BounceEvent], provider: str) -> JSONResponse:
    settings = request.app.state.settings
    if not getattr(request.app.state, "schema_checked", False):  # once per process
        await run_in_threadpool(ensure_schema, settings.effective_database_url)
        request.app.state.schema_checked = True
    results = await run_in_threadpool(apply_events, settings, events, origin=f"{provider} webhook")
    return JSONResponse({"events": len(results), "results": [
        {k: r.get(k) for k in ("kind", "outcome", "delivery_id")} for r in results]})


@router.post("/api/hooks/bounces/ses", include_in_schema=False)
async def ses(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.ses_topic_arns:
        return _refused("this site accepts no SES notifications (PRESSBOT_SES_TOPIC_ARNS)")
    body = await request.body()
    try:
        message = providers.sns_envelope(body)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    cert_url = message["SigningCertURL"]
    if not providers.SNS_CERT_URL.match(cert_url):
        return _refused("SES/SNS webhook: SigningCertURL is not an SNS certificate on amazonaws.com")
    fetch = getattr(request.app.state, "sns_fetch", None) or fetch_from_sns
    try:
        certificate = await run_in_threadpool(_cached_certificate, fetch, cert_url)
        providers.verify_sns(message, certificate, list(settings.ses_topic_arns))
    except (BadInput, httpx.HTTPError) as exc:
        return _refused(str(exc))
    if message["Type"] == "SubscriptionConfirmation":
        url = message.get("SubscribeURL") or ""
        if not providers.SNS_SUBSCRIBE_URL.match(url):
            return JSONResponse({"error": "SES/SNS webhook: SubscribeURL is not on amazonaws.com"},
                                status_code=400)
        await run_in_threadpool(fetch, url)
        log.info("SNS subscription confirmed for %s", message["TopicArn"])
        return JSONResponse({"confirmed": message["TopicArn"]})
    if message["Type"] != "Notification":
        return JSONResponse({"events": 0, "results": []})
    try:
        events = providers.ses_events(message)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return await _apply(request, events, "ses")


@router.post("/api/hooks/bounces/mailgun", include_in_schema=False)
async def mailgun(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.mailgun_signing_key:
        return _refused("this site accepts no Mailgun events (PRESSBOT_MAILGUN_SIGNING_KEY)")
    body = await request.body()
    try:
        payload = providers.load_json(body, "Mailgun")
        providers.verify_mailgun(settings.mailgun_signing_key, payload)
    except providers.BadSignature as exc:
        return _refused(str(exc))
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return await _apply(request, providers.mailgun_events(payload), "mailgun")


@router.post("/api/hooks/bounces/postmark", include_in_schema=False)
async def postmark(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    if not (settings.postmark_webhook_user and settings.postmark_webhook_password):
        return _refused("this site accepts no Postmark events (PRESSBOT_POSTMARK_WEBHOOK_USER "
                        "and _PASSWORD)")
    try:
        providers.verify_basic_auth(request.headers.get("authorization"),
                                    settings.postmark_webhook_user, settings.postmark_webhook_password)
    except providers.BadSignature as exc:
        return JSONResponse({"error": str(exc)}, status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="postmark"'})
    try:
        payload = providers.load_json(await request.body(), "Postmark")
        events = providers.postmark_events(payload)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return await _apply(request, events, "postmark")


@router.post("/api/hooks/bounces/sendgrid", include_in_schema=False)
async def sendgrid(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.sendgrid_webhook_public_key:
        return _refused("this site accepts no SendGrid events (PRESSBOT_SENDGRID_WEBHOOK_PUBLIC_KEY)")
    body = await request.body()
    try:
        providers.verify_sendgrid(settings.sendgrid_webhook_public_key,
                                  request.headers.get(providers.SENDGRID_SIGNATURE),
                                  request.headers.get(providers.SENDGRID_TIMESTAMP), body)
    except providers.BadSignature as exc:
        return _refused(str(exc))
    except BadInput as exc:   # our own key is unusable: say so, as a refusal
        return _refused(str(exc))
    try:
        events = providers.sendgrid_events(providers.load_json(body, "SendGrid"))
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return await _apply(request, events, "sendgrid")
