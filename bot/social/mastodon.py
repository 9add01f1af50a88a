"""Mastodon publisher over Mastodon.py (DESIGN principle 4: a thin edge).

Duplicates: Mastodon remembers an `Idempotency-Key` per account for an hour and answers a
repeat with the status it already made, so a retry after "posted, but the row was not
committed" (principle 2) returns the same status instead of posting twice.
"""

from __future__ import annotations

import time

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from bot.social.base import (AuthError, Metrics, PermanentError, PostRequest, Published,
                             TransientError)

DEFAULT_LIMITS = (500, 23)   # Mastodon's stock max_characters and characters_reserved_per_url


class MastodonPublisher:
    platform = "mastodon"

    def __init__(self, api_base_url: str, access_token: str, *, timeout: float = 30.0) -> None:
        self.api_base_url = api_base_url
        self._access_token = access_token
        self._timeout = timeout
        self._client: Mastodon | None = None
        self._limits: tuple[int, int] | None = None

    @property
    def client(self) -> Mastodon:
        # Built on first use: constructing the publisher must not touch the network.
        if self._client is None:
            self._client = Mastodon(
                api_base_url=self.api_base_url,
                access_token=self._access_token,
                # "wait" would sleep inside a worker; we raise and let the task reschedule.
                ratelimit_method="throw",
                request_timeout=self._timeout,
                # "none" skips the version lookup (a GET /api/v1/instance) that the other
                # modes make; we only call endpoints every supported Mastodon has.
                version_check_mode="none",
                user_agent="pressbot",
            )
        return self._client

    def limits(self) -> tuple[int, int]:
        """(max_characters, characters_reserved_per_url), read once per publisher."""
        if self._limits is None:
            self._limits = self._read_limits()
        return self._limits

    def _read_limits(self) -> tuple[int, int]:
        # v2 exists from Mastodon 4.0; v1 carries the same configuration block from 3.4.2.
        # Anything else (older servers, forks, an outage) gets the stock values, which are
        # the safe side: instances rarely lower the limit, and the server still enforces it.
        for fetch in (self.client.instance_v2, self.client.instance_v1):
            try:
                statuses = ((fetch() or {}).get("configuration") or {}).get("statuses") or {}
            except MastodonError:
                continue
            if statuses.get("max_characters"):
                return (int(statuses["max_characters"]),
                        int(statuses.get("characters_reserved_per_url") or DEFAULT_LIMITS[1]))
        return DEFAULT_LIMITS

    def publish(self, post: PostRequest) -> Published:
        try:
            # PostRequest carries no language: Mastodon then uses the account's default
            # posting language or detects it.
            status = self.client.status_post(post.text, idempotency_key=post.key,
                                             visibility="public")
        except MastodonError as exc:
            raise self._translate(exc) from exc
        return Published(remote_id=str(status["id"]), remote_url=status.get("url"))

    def check(self) -> str:
        try:
            account = self.client.account_verify_credentials()
        except MastodonError as exc:
            raise self._translate(exc) from exc
        return f"@{account['acct']}"

    def metrics(self, remote_id: str) -> Metrics:
        """GET /api/v1/statuses/:id: favourites, boosts and replies as this server knows
        them (a remote server's boosts reach it late or not at all). Mastodon shows no views."""
        try:
            status = self.client.status(remote_id)
        except MastodonError as exc:
            raise self._translate(exc) from exc
        return Metrics(likes=status.get("favourites_count"), reposts=status.get("reblogs_count"),
                       replies=status.get("replies_count"))

    def _translate(self, exc: MastodonError) -> Exception:
        if isinstance(exc, MastodonRatelimitError):
            # In "throw" mode Mastodon.py raises this on a 429 without the status or body,
            # but it has already parsed X-RateLimit-Reset (ISO 8601, corrected for clock
            # skew by the server's Date header) into an epoch on the client. It drops a
            # reset that is already past; Mastodon always sends one with a 429, so None
            # means "the window just reset": the 1 s floor.
            reset = self.client.ratelimit_reset
            wait = max(1.0, reset - time.time()) if reset is not None else 1.0
            return TransientError("mastodon: HTTP 429: rate limited", retry_after=wait)
        if isinstance(exc, MastodonNetworkError):   # connection refused, DNS, timeouts
            return TransientError(f"mastodon: network error: {exc}")
        if isinstance(exc, MastodonAPIError):
            # Mastodon.py's HTTP errors carry (message, status, reason, Mastodon's "error").
            args = exc.args
            status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
            if status is None:
                # E.g. a 2xx whose body is not JSON (a proxy page): the post may have
                # been made, so retry; the idempotency key makes that safe.
                return TransientError(f"mastodon: unexpected response: {exc}")
            detail = args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else "")
            message = f"mastodon: HTTP {status}: {detail}"
            if isinstance(exc, MastodonServerError) or status >= 500 or status == 429:
                return TransientError(message)
            if status in (401, 403):   # revoked token, missing scope, disabled/unconfirmed login
                return AuthError(message)
            return PermanentError(message)   # 422 validation (e.g. over the limit), 404, …
        # MastodonIllegalArgumentError and the like: our call was wrong; retrying won't help.
        return PermanentError(f"mastodon: {exc}")
