"""Bounded request bodies: an ASGI middleware that counts a body's bytes as they stream in
and answers 413 past the route's limit, before any route, form parser or signature check
has buffered it. A Content-Length over the limit is refused before a byte is read; a
chunked body, or one whose Content-Length lies, is cut off when the count passes the limit.

Limits per route family (settings): webhooks (a pushed article, a provider's bounce
report), the subscriber CSV upload, and everything else (forms, API calls). Also a bound on JSON nesting, for bodies
that are small but nested deeply enough to exhaust the parser's recursion."""

from __future__ import annotations

import json
from typing import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEBHOOKS = "/api/hooks/"   # the CMS's articles, the mail providers' bounce reports
UPLOAD_PATH = "/admin/subscribers/import"
# A multipart form wraps the file in a few headers and the list field: allow for them.
MULTIPART_SLACK = 64 * 1024
MAX_JSON_DEPTH = 32


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the count passes the limit: the app's own HTTPException
    handler turns it into the 413 (a page for a person, JSON for the API)."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body too large: this address takes at most {limit} bytes")
        self.limit = limit


def limit_for(settings) -> Callable[[str], int]:
    def limit(path: str) -> int:
        if path.startswith(WEBHOOKS):
            return settings.webhook_max_bytes
        if path == UPLOAD_PATH:
            return settings.upload_max_bytes + MULTIPART_SLACK
        return settings.form_max_bytes
    return limit


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: Callable[[str], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, BodyTooLarge(limit).detail)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            # Raised where no HTTPException handler sat (another middleware reading the body).
            if started:
                raise
            await _refuse(send, 413, exc.detail)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent (chunked), -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def json_depth(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests no deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


class TooDeep(ValueError):
    """Valid JSON, but nested deeper than any article needs (a parser-exhaustion attempt)."""


def parse_json(body: bytes, limit: int = MAX_JSON_DEPTH) -> object:
    """json.loads with a nesting bound: ValueError when it is not JSON, TooDeep (a
    ValueError too) when it nests deeper than `limit`."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise TooDeep(f"nested deeper than {limit} levels") from None
    if not json_depth(data, limit):
        raise TooDeep(f"nested deeper than {limit} levels")
    return data
