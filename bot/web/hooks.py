"""Push webhooks from a CMS: `POST /api/hooks/articles` with a JSON article
(docs/article-json.md), signed with HMAC-SHA256 of the raw body under the shared secret
`PRESSBOT_WEBHOOK_SECRET`, sent as `X-Pressbot-Signature: sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.errors import BadInput
from bot.services.ingest import ingest_pushed_article
from bot.store.articles import ADDED
from bot.store.db import ensure_schema

SIGNATURE_HEADER = "X-Pressbot-Signature"

router = APIRouter()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    # No secret configured means nobody can sign: refuse everything rather than accept all.
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


@router.post("/api/hooks/articles")
async def push_article(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    body = await request.body()
    if not signature_ok(settings.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        return JSONResponse({"error": f"missing or bad {SIGNATURE_HEADER}"}, status_code=401)
    try:
        data = json.loads(body)
    except ValueError as exc:
        return JSONResponse({"error": f"webhook body: not JSON ({exc})"}, status_code=400)
    try:
        if not getattr(request.app.state, "schema_checked", False):  # once per process
            await run_in_threadpool(ensure_schema, settings.effective_database_url)
            request.app.state.schema_checked = True
        outcome, ref = await run_in_threadpool(ingest_pushed_article, settings, data)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"id": ref.id, "outcome": outcome, "url": ref.url},
                        status_code=201 if outcome == ADDED else 200)
