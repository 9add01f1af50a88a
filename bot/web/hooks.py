"""Push webhooks from a CMS: `POST /api/hooks/articles` with a JSON article
(docs/article-json.md).

Signed against replay: the CMS sends `X-Pressbot-Timestamp: <unix seconds>` and
`X-Pressbot-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` under the
shared secret `PRESSBOT_WEBHOOK_SECRET`. A timestamp more than PRESSBOT_WEBHOOK_MAX_SKEW
seconds (5 minutes) from our clock is refused, so a captured request cannot be re-sent
later; an article whose `updated` time is older than the stored one is refused (409), so
even a quick replay cannot roll an article back. The body is capped (bot.web.limits)
before any of this runs."""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.errors import BadInput
from bot.services.ingest import StaleArticle, ingest_pushed_article
from bot.store.articles import ADDED
from bot.store.db import ensure_schema
from bot.web.limits import TooDeep, parse_json

SIGNATURE_HEADER = "X-Pressbot-Signature"
TIMESTAMP_HEADER = "X-Pressbot-Timestamp"

router = APIRouter()


def sign(secret: str, body: bytes, timestamp: int | str) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers a CMS (or a test) sends with `body`, signed now unless told when."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, body, stamp)}


def signature_problem(secret: str | None, body: bytes, signature: str | None,
                      timestamp: str | None, *, now: float, max_skew: int) -> str | None:
    """Why the request is not a fresh one signed with `secret`; None when it is."""
    # No secret configured means nobody can sign: refuse everything rather than accept all.
    if not secret:
        return "this site has no webhook secret (PRESSBOT_WEBHOOK_SECRET)"
    if not signature or not timestamp:
        return f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}"
    stamp = timestamp.strip()
    if not stamp.isdigit() or len(stamp) > 12:
        return f"{TIMESTAMP_HEADER}: expected Unix time in seconds, got {timestamp[:40]!r}"
    if not hmac.compare_digest(sign(secret, body, stamp), signature.strip()):
        return f"bad {SIGNATURE_HEADER} (HMAC-SHA256 of '<timestamp>.<body>')"
    if abs(now - int(stamp)) > max_skew:
        return (f"{TIMESTAMP_HEADER} is more than {max_skew} s from this server's clock: "
                f"a replayed request, or a clock to set right")
    return None


@router.post("/api/hooks/articles")
async def push_article(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    body = await request.body()
    problem = signature_problem(settings.webhook_secret, body, request.headers.get(SIGNATURE_HEADER),
                                request.headers.get(TIMESTAMP_HEADER), now=time.time(),
                                max_skew=settings.webhook_max_skew)
    if problem:
        return JSONResponse({"error": problem}, status_code=401)
    try:
        data = parse_json(body)
    except TooDeep as exc:
        return JSONResponse({"error": f"webhook body: {exc}"}, status_code=422)
    except ValueError as exc:
        return JSONResponse({"error": f"webhook body: not JSON ({exc})"}, status_code=400)
    try:
        if not getattr(request.app.state, "schema_checked", False):  # once per process
            await run_in_threadpool(ensure_schema, settings.effective_database_url)
            request.app.state.schema_checked = True
        outcome, ref = await run_in_threadpool(ingest_pushed_article, settings, data)
    except StaleArticle as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"id": ref.id, "outcome": outcome, "url": ref.url},
                        status_code=201 if outcome == ADDED else 200)
