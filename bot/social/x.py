"""X (Twitter) publisher: tweepy's v2 Client for posts, its v1.1 API for the media upload.

Both use OAuth 1.0a user context. Nothing here sleeps on a rate limit: a 429 becomes
TransientError(retry_after=…) and the task layer reschedules (DESIGN principle 4)."""

from __future__ import annotations

import io
import logging
import mimetypes
import time
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

from bot.net.policy import OutboundPolicy
from bot.social.images import download_image
from bot.social.base import (AuthError, DuplicateError, Metrics, PermanentError, PostRequest,
                             Published, TransientError)

log = logging.getLogger(__name__)

TIMEOUT = 30.0                     # seconds, every call to X and the image download
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's own limit for an image upload
X_HOSTS = ("https://api.twitter.com", "https://upload.twitter.com", "https://api.x.com")


class _XAdapter(HTTPAdapter):
    """Mounted on tweepy's sessions. Gives every request a timeout (tweepy.Client passes
    none, so a stalled connection would hold a worker forever) and, when `api_host` is set
    (tests), sends the request there instead. The rewrite happens after OAuth signing, so
    the signature still covers the real X URL, as X would check it."""

    def __init__(self, api_host: str | None) -> None:
        super().__init__()
        self._target = urlsplit(api_host) if api_host else None

    def send(self, request, timeout=None, **kwargs):
        if self._target is not None:
            url = urlsplit(request.url)
            request.url = urlunsplit((self._target.scheme, self._target.netloc,
                                      url.path, url.query, url.fragment))
            kwargs["proxies"] = None  # the stand-in is local; never route it via a proxy
        return super().send(request, timeout=timeout or TIMEOUT, **kwargs)


class XPublisher:
    platform = "x"

    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str,
                 access_token_secret: str, api_host: str | None = None,
                 outbound: OutboundPolicy | None = None) -> None:
        self._keys = (consumer_key, consumer_secret, access_token, access_token_secret)
        self._api_host = api_host
        # The article image URL comes from a feed: fetched under the outbound policy.
        self._outbound = outbound or OutboundPolicy()
        self._client: tweepy.Client | None = None
        self._api: tweepy.API | None = None

    # Built on first use: the constructor does no I/O and nothing survives a fork half-made.
    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            ck, cs, at, ats = self._keys
            self._client = tweepy.Client(consumer_key=ck, consumer_secret=cs, access_token=at,
                                         access_token_secret=ats, wait_on_rate_limit=False)
            self._mount(self._client.session)
        return self._client

    @property
    def api(self) -> tweepy.API:
        if self._api is None:
            self._api = tweepy.API(tweepy.OAuth1UserHandler(*self._keys), timeout=TIMEOUT,
                                   retry_count=0, wait_on_rate_limit=False)
            self._mount(self._api.session)
        return self._api

    def _mount(self, session: requests.Session) -> None:
        adapter = _XAdapter(self._api_host)
        for prefix in X_HOSTS:
            session.mount(prefix, adapter)

    def publish(self, post: PostRequest) -> Published:
        media_id = self._upload_image(post.image_url) if post.image_url else None
        try:
            response = self.client.create_tweet(
                text=post.text, media_ids=[media_id] if media_id else None)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise translate(exc) from exc
        tweet_id = str(response.data["id"])
        return Published(remote_id=tweet_id, remote_url=f"https://x.com/i/web/status/{tweet_id}")

    def check(self) -> str:
        try:
            response = self.client.get_me(user_auth=True)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise translate(exc) from exc
        return f"@{response.data.username}"

    def metrics(self, remote_id: str) -> Metrics:
        """GET /2/tweets/:id with public_metrics (user context: the app's own limit).
        reposts are plain reposts (quotes are posts of their own); views are X's
        impression_count, None where X leaves it out."""
        try:
            response = self.client.get_tweet(remote_id, tweet_fields=["public_metrics"],
                                             user_auth=True)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise translate(exc) from exc
        if response.data is None:
            # X answers a deleted or hidden post with 200 and a "resource-not-found" error.
            said = "; ".join(e.get("detail", "") for e in response.errors or []) or "not found"
            raise PermanentError(f"x: post {remote_id} is gone: {said}")
        counts = response.data.public_metrics or {}
        return Metrics(likes=counts.get("like_count"), reposts=counts.get("retweet_count"),
                       replies=counts.get("reply_count"), views=counts.get("impression_count"))

    def _upload_image(self, image_url: str) -> str | None:
        """The uploaded image's media id, or None: a post without its picture beats no post,
        so any failure here (download, size, upload, even X's refusal) is logged and
        dropped."""
        try:
            data, content_type = download_image(image_url, max_bytes=MAX_IMAGE_BYTES, timeout=TIMEOUT,
                                              policy=self._outbound)
            # tweepy guesses the media type from the file name once imghdr is gone
            # (Python 3.13), so the name must carry the right extension.
            ext = mimetypes.guess_extension(content_type) or ".jpg"
            media = self.api.media_upload(filename=f"image{ext}", file=io.BytesIO(data))
            return media.media_id_string
        except Exception as exc:  # noqa: BLE001  (deliberately any failure: see docstring)
            log.warning("x: posting without the image %s: %s", image_url, exc)
            return None


def translate(exc: Exception) -> Exception:
    """tweepy's or requests' exception as the error the task layer understands."""
    if not isinstance(exc, tweepy.HTTPException):
        # requests' network errors, and tweepy.API wrapping them as "Failed to send request"
        return TransientError(f"x: network error: {exc}")
    status = exc.response.status_code
    said = "; ".join(map(str, exc.api_messages)) or exc.response.reason or "no message"
    message = f"x: HTTP {status}: {said}"
    if isinstance(exc, tweepy.TooManyRequests):
        wait = _retry_after(exc.response.headers)
        return TransientError(message + (f" (retry in {wait:.0f}s)" if wait else ""), wait)
    if isinstance(exc, tweepy.TwitterServerError):
        return TransientError(message)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthError(message)
    if isinstance(exc, tweepy.Forbidden):
        # X answers 403 for content as well as for the account: v2 says "…duplicate
        # content." (v1.1: code 187), and over-long text has been seen as 403 as well as
        # 400. Only the rest (suspended, app permissions, not enrolled) need an editor.
        if 187 in exc.api_codes or "duplicate" in said.lower():
            return DuplicateError(message)
        if "too long" in said.lower():
            return PermanentError(message)
        return AuthError(message)
    return PermanentError(message)


def _retry_after(headers) -> float | None:
    """Seconds until X lifts the limit that was hit. The reset headers are epoch seconds.
    Posting also has 24-hour caps with their own headers: when one of those is spent, its
    reset (hours away) is the one that matters, not the 15-minute window's."""
    resets = []
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        reset = headers.get(f"{prefix}-reset")
        spent = prefix == "x-rate-limit" or headers.get(f"{prefix}-remaining") == "0"
        if reset and reset.isdigit() and spent:
            resets.append(int(reset))
    return max(1.0, max(resets) - time.time()) if resets else None
