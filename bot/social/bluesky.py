"""Bluesky publisher: atproto's Client, one session per account kept in a file.

createSession is limited to 30 per 5 minutes (300 a day) per account, so a login per post
would soon lock the account out. The session (access + refresh JWT) is saved on every
create and refresh and resumed from the file by every publisher, in every worker process,
that posts for the account; a password login happens only when there is no usable session.

Nothing here sleeps on a rate limit: a 429 becomes TransientError(retry_after=…) and the
task layer reschedules (DESIGN principle 4)."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

import httpx
from atproto import AtUri, Client, Request, Session, SessionEvent, models
from atproto_client.exceptions import LoginRequiredError, ModelError, RequestErrorBase
from atproto_core.exceptions import AtProtocolError
from atproto_server.exceptions import InvalidTokenError
from pydantic import ValidationError

from bot.net.policy import OutboundPolicy
from bot.social.images import download_image
from bot.social.base import (AuthError, Metrics, PermanentError, PostRequest, Published,
                             TransientError)

log = logging.getLogger(__name__)

TIMEOUT = 30.0                # seconds, every XRPC call and the thumbnail download
MAX_THUMB_BYTES = 1_000_000   # app.bsky.embed.external#external.thumb: maxSize 1000000
# XRPC error names that mean "this session or these credentials are no good". A refresh
# with a revoked or expired refresh JWT answers 400 ExpiredToken, not 401.
AUTH_ERRORS = {"AuthenticationRequired", "ExpiredToken", "InvalidToken", "AccountTakedown",
               "AuthFactorTokenRequired"}

T = TypeVar("T")


class BlueskyPublisher:
    platform = "bluesky"

    def __init__(self, handle: str, app_password: str, session_path: Path,
                 base_url: str = "https://bsky.social/xrpc",
                 outbound: OutboundPolicy | None = None) -> None:
        self.handle = handle
        # Card thumbnails come from feeds: fetched under the outbound policy.
        self._outbound = outbound or OutboundPolicy()
        self._password = app_password
        self.session_path = Path(session_path)
        self.base_url = base_url  # atproto appends /xrpc when it is missing
        self._client: Client | None = None
        self._seen: str | None = None    # the session string this client last read or wrote
        self._did: str | None = None
        self._account = handle           # the session's own handle (the login may be an email)

    def publish(self, post: PostRequest) -> Published:
        facets = _facets(post.facets)
        client = self._ready()
        embed = self._embed(client, post.card, post.image_url) if post.card else None
        try:
            record = models.AppBskyFeedPost.Record(
                text=post.text, created_at=client.get_current_time_iso(),
                facets=facets or None, embed=embed)
        except ValidationError as exc:
            raise PermanentError(f"bluesky: invalid post: {exc.errors()[0]['msg']}") from exc
        # No langs: PostRequest does not carry the article's language (send_post would
        # claim "en" for every post, which is worse than saying nothing).
        created = self._call(lambda: client.app.bsky.feed.post.create(self._did, record))
        rkey = AtUri.from_str(created.uri).rkey
        return Published(remote_id=created.uri,
                         remote_url=f"https://bsky.app/profile/{self._account}/post/{rkey}")

    def check(self) -> str:
        client = self._ready()
        # getSession, not the cached login: it proves the session still works right now.
        session = self._call(lambda: client.com.atproto.server.get_session())
        return f"@{session.handle}"

    def metrics(self, remote_id: str) -> Metrics:
        """app.bsky.feed.getPosts for the post's at:// URI (the PDS proxies it to the
        AppView). Bluesky shows no views."""
        client = self._ready()
        found = self._call(lambda: client.app.bsky.feed.get_posts({"uris": [remote_id]})).posts
        if not found:
            raise PermanentError(f"bluesky: post {remote_id} is gone (getPosts found nothing)")
        post = found[0]
        return Metrics(likes=post.like_count, reposts=post.repost_count, replies=post.reply_count)

    # -- the session ------------------------------------------------------------------

    def _ready(self) -> Client:
        """The client, logged in. Rebuilt when the session file holds a session this
        client has not seen: another worker process refreshed it, which rotated the refresh
        JWT this client holds (the PDS revokes the old one after a short grace period)."""
        stored = self._read_session()
        if self._client is not None and stored in (None, self._seen):
            return self._client
        self._drop_client()
        client = Client(base_url=self.base_url, request=Request(timeout=TIMEOUT))
        client.on_session_change(self._session_changed)
        self._seen = stored
        try:
            if stored:
                # A due refresh happens here, before login's profile lookup.
                self._call(lambda: client.login(session_string=stored))
            else:
                log.info("bluesky: logging in as %s (no stored session)", self.handle)
                self._call(lambda: client.login(self.handle, self._password))
        except BaseException:
            client.request.close()
            raise
        self._client = client
        return client

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        self._did, self._account = session.did, session.handle
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._save_session(session.export())

    def _read_session(self) -> str | None:
        try:
            return self.session_path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _save_session(self, text: str) -> None:
        # Readable by us only (it is as good as the password for two months), and swapped
        # in whole, so a process reading it concurrently never sees half a session.
        self.session_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.session_path.parent, prefix=".session-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
                out.write(text)
            os.replace(tmp, self.session_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._seen = text

    def _forget_session(self) -> None:
        """The session was refused: drop it so the next attempt logs in once. Only the
        session this client used; one another process has just saved may be good."""
        if self._seen is not None and self._read_session() == self._seen:
            self.session_path.unlink(missing_ok=True)
        self._drop_client()
        self._seen = None

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.request.close()  # its connection pool
        self._client = None

    # -- errors -----------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (AtProtocolError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> Exception:
        response = exc.response if isinstance(exc, RequestErrorBase) else None
        if response is not None:
            error, said = _xrpc_error(response.content)
            status = response.status_code
            message = f"bluesky: HTTP {status} {error}: {said}"
            if status == 429:
                wait = _retry_after(response.headers)
                return TransientError(message + (f" (retry in {wait:.0f}s)" if wait else ""), wait)
            if status in (401, 403) or error in AUTH_ERRORS:
                self._forget_session()
                return AuthError(message)
            if status >= 500 or status == 408:
                return TransientError(message)
            return PermanentError(message)
        if isinstance(exc, (LoginRequiredError, InvalidTokenError)):
            # a session string that is not one (hand-edited, truncated): start over
            self._forget_session()
            return AuthError(f"bluesky: unusable session: {type(exc).__name__}: {exc}")
        if isinstance(exc, ModelError):
            return PermanentError(f"bluesky: unexpected response: {exc}")
        # atproto's NetworkError/InvokeTimeoutError carry no response; httpx errors it does
        # not wrap (a dropped connection mid-response) arrive as they are.
        cause = exc.__cause__ or exc
        return TransientError(f"bluesky: network error: {type(cause).__name__}: {cause}")

    # -- the card ---------------------------------------------------------------------

    def _embed(self, client: Client, card: dict,
               image_url: str | None) -> models.AppBskyEmbedExternal.Main:
        thumb_url = card.get("thumb") or image_url
        thumb = self._thumb(client, thumb_url) if thumb_url else None
        return models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
            uri=card["uri"], title=card.get("title") or "",
            description=card.get("description") or "", thumb=thumb))

    def _thumb(self, client: Client, url: str):
        """The uploaded thumbnail's blob, or None: a card without its picture beats no post,
        so any failure here is logged and dropped."""
        try:
            data, content_type = download_image(url, max_bytes=MAX_THUMB_BYTES, timeout=TIMEOUT,
                                              policy=self._outbound)
            # The PDS records the blob's type from Content-Type; atproto would send */*.
            return client.com.atproto.repo.upload_blob(
                data, headers={"Content-Type": content_type}).blob
        except Exception as exc:  # noqa: BLE001  (deliberately any failure: see docstring)
            log.warning("bluesky: card without the thumbnail %s: %s", url, exc)
            return None


def _facets(facets: list[dict]) -> list[models.AppBskyRichtextFacet.Main]:
    """The composer's facets (app.bsky.richtext.facet JSON) as atproto models, byte offsets
    untouched. A facet that is not one is the composer's bug: no retry will fix it."""
    try:
        return [models.get_or_create(facet, models.AppBskyRichtextFacet.Main, strict=True)
                for facet in facets]
    except (ModelError, ValidationError) as exc:
        raise PermanentError(f"bluesky: invalid facet: {exc}") from exc


def _xrpc_error(content) -> tuple[str, str]:
    error = getattr(content, "error", None)
    if error:
        return error, getattr(content, "message", None) or "no message"
    return "Error", "no XRPC error body"  # a proxy's HTML page, an empty body


def _retry_after(headers) -> float | None:
    """Seconds until the limit that was hit lifts: `ratelimit-reset` is epoch seconds."""
    reset = headers.get("ratelimit-reset")
    if reset and reset.isdigit():
        return max(1.0, int(reset) - time.time())
    after = headers.get("retry-after")
    return max(1.0, float(after)) if after and after.isdigit() else None
