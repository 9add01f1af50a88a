"""/r/<token> (tracked link) and /o/<token>.gif (open pixel), answered in front of the app.

A plain ASGI layer, outermost: these two paths skip the session, the dashboard's
middleware and the router, since every reader of a digest goes through them and the
answer needs nothing but the signed token. Counting is a dict increment
(bot.services.engagement.Buffer); the buffer is drained in a worker thread, never while
a request waits.
"""

from __future__ import annotations

import asyncio
import logging
from time import time

from bot.config import Settings
from bot.domain.engagement import EngagementKind, classify_click, classify_open
from bot.newsletter.tracking import BadLink, LinkSigner, parse_track
from bot.services import engagement

log = logging.getLogger(__name__)

# The smallest transparent GIF.
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
         b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
# No caching (each open is a hit), no referrer to the destination (the token is ours),
# and the headers every pressbot page carries that matter for a redirect or an image.
_COMMON = [(b"cache-control", b"no-store, max-age=0"), (b"referrer-policy", b"no-referrer"),
           (b"x-content-type-options", b"nosniff")]
_NOT_FOUND = b"This link is invalid.\n"


class Tracking:
    def __init__(self, app, settings: Settings, buffer: engagement.Buffer):
        self.app = app
        self.settings = settings
        self.signer = LinkSigner(settings.effective_secret_key())
        self.buffer = buffer     # the app's (app.state.engagement), so tests can drain it
        self.window = settings.scanner_window_seconds
        self._draining = False
        self._timer = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/r/"):
                return await self._redirect(scope, send, path[3:])
            if path.startswith("/o/") and path.endswith(".gif"):
                return await self._pixel(scope, send, path[3:-4])
        elif scope["type"] == "lifespan":
            return await self.app(scope, self._draining_at_shutdown(receive), send)
        await self.app(scope, receive, send)

    def _draining_at_shutdown(self, receive):
        """The server stopping: what is buffered is pushed before the app shuts down."""
        async def wrapped():
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self._drain)
            return message
        return wrapped

    async def _redirect(self, scope, send, token: str) -> None:
        try:
            link = self.signer.read_link(token)
        except BadLink:
            return await _answer(send, 404, [(b"content-type", b"text/plain; charset=utf-8")],
                                 _NOT_FOUND)
        sent, reader = parse_track(scope["query_string"])
        now = time()
        kind = classify_click(scope["method"], _agent(scope), sent, now, self.window)
        self.buffer.count((link.edition_id, kind, link.url, link.article_id, link.variant))
        if kind == EngagementKind.CLICK and reader:
            subscriber = self.signer.read_reader(reader)
            if subscriber:
                self.buffer.click(engagement.ReaderClick(
                    link.edition_id, subscriber, link.article_id, link.url, now))
        self._maybe_drain()
        # The same answer for a scanner: it must not learn it was spotted.
        await _answer(send, 302, [(b"location", link.url.encode("utf-8"))], b"")

    async def _pixel(self, scope, send, token: str) -> None:
        try:
            link = self.signer.read_link(token)
        except BadLink:
            link = None
        if link is not None:
            sent, _ = parse_track(scope["query_string"])
            kind = classify_open(scope["method"], _agent(scope), sent, time(), self.window)
            if kind is not None:
                self.buffer.count((link.edition_id, kind, "", None, link.variant))
                self._maybe_drain()
        # A broken pixel would show as a broken image: always answer with the GIF.
        await _answer(send, 200, [(b"content-type", b"image/gif")], PIXEL)

    def _maybe_drain(self) -> None:
        loop = asyncio.get_running_loop()
        if not self._draining and self.buffer.due():
            self._draining = True
            loop.run_in_executor(None, self._drain_then_rearm, loop)
        elif self._timer is None:
            # Hits are waiting: drain in FLUSH_SECONDS even if no other request comes to
            # notice it is due.
            self._timer = loop.call_later(engagement.FLUSH_SECONDS, self._on_timer, loop)

    def _on_timer(self, loop) -> None:
        self._timer = None
        if self._draining:     # the running drain re-arms the timer when it ends
            return
        self._draining = True
        loop.run_in_executor(None, self._drain_then_rearm, loop)

    def _drain_then_rearm(self, loop) -> None:
        self._drain()
        # Hits that came in while this drain ran (and found it running) get a timer.
        loop.call_soon_threadsafe(self._rearm, loop)

    def _rearm(self, loop) -> None:
        if self._timer is None and self.buffer.pending():
            self._timer = loop.call_later(engagement.FLUSH_SECONDS, self._on_timer, loop)

    def _drain(self) -> None:
        try:
            self.drain_now()
        except Exception:  # noqa: BLE001 - counting must never break the redirect
            log.exception("engagement counts could not be stored; they are dropped")
        finally:
            self._draining = False

    def drain_now(self) -> None:
        engagement.drain(self.settings, self.buffer)


def _agent(scope) -> str:
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return value.decode("latin-1")
    return ""


async def _answer(send, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + _COMMON + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
