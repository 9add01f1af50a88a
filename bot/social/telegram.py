"""Telegram publisher: the Bot API's sendMessage over one httpx.Client.

The Bot API takes the token in the URL path (`/bot<token>/sendMessage`), so anything that
prints a URL would print the token: httpx's own request log, and its exceptions. Our error
messages are built from Telegram's answer, never from a URL, and httpx's log is redacted.

Nothing here sleeps on a rate limit: a 429 becomes TransientError(retry_after=…) and the
task layer reschedules (DESIGN principle 4)."""

from __future__ import annotations

import logging
import re

import httpx

from bot.social.base import (AuthError, Metrics, PermanentError, PostRequest, Published,
                             TransientError)

TIMEOUT = 30.0
_TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class TelegramPublisher:
    platform = "telegram"

    def __init__(self, bot_token: str, chat_id: str,
                 api_base: str = "https://api.telegram.org") -> None:
        self._token = bot_token
        self.chat_id = chat_id
        self.api_base = api_base.rstrip("/")
        self._http: httpx.Client | None = None

    # Built on first use: the constructor does no I/O and nothing survives a fork half-made.
    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            _redact_httpx_log()
            self._http = httpx.Client(base_url=f"{self.api_base}/bot{self._token}/",
                                      timeout=TIMEOUT)
        return self._http

    def publish(self, post: PostRequest) -> Published:
        payload = {"chat_id": self.chat_id, "text": post.text,
                   "parse_mode": post.parse_mode or "HTML"}
        if post.link_preview is not None:
            payload["link_preview_options"] = post.link_preview
        message = self._call("sendMessage", payload)
        message_id = message["message_id"]
        # Only a public chat has a link anyone can open; t.me/c/… works for members only.
        username = (message.get("chat") or {}).get("username")
        return Published(remote_id=str(message_id),
                         remote_url=f"https://t.me/{username}/{message_id}" if username else None)

    def check(self) -> str:
        return f"@{self._call('getMe', {})['username']}"

    def metrics(self, remote_id: str) -> Metrics | None:
        """None: the Bot API has no method that reads a message back, and the Message
        objects a bot gets carry no view count (channel views are visible to MTProto user
        clients only), so Telegram's counts are not available to pressbot."""
        return None

    def _call(self, method: str, payload: dict) -> dict:
        try:
            response = self.http.post(method, json=payload)
        except httpx.HTTPError as exc:
            # `from None`: the httpx exception holds the request, and its URL the token.
            raise TransientError(
                f"telegram: network error: {type(exc).__name__}: {self._scrub(str(exc))}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}  # a proxy's HTML error page
        if response.status_code == 200 and body.get("ok"):
            return body["result"]
        raise self._translate(response, body)

    def _translate(self, response: httpx.Response, body: dict) -> Exception:
        status = body.get("error_code") or response.status_code
        said = self._scrub(body.get("description") or response.reason_phrase or "no description")
        params = body.get("parameters") or {}
        message = f"telegram: HTTP {status}: {said}"
        if status == 429:
            wait = params.get("retry_after")
            return TransientError(message, float(wait) if wait is not None else None)
        if status >= 500:
            return TransientError(message)
        # 401: the token was revoked; 403: the bot was kicked or is not an admin of the chat;
        # 404: the token is malformed (the Bot API answers "Not Found" for the whole URL).
        if status in (401, 403, 404):
            return AuthError(message)
        if "migrate_to_chat_id" in params:
            # a group became a supergroup: the account's chat_id must change
            message += f" (the chat is now {params['migrate_to_chat_id']})"
        return PermanentError(message)

    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "<token>")
        return _TOKEN_IN_URL.sub("/bot<token>", text)


class _RedactBotTokens(logging.Filter):
    """httpx logs every request's URL at INFO, token included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = _TOKEN_IN_URL.sub("/bot<token>", message), ()
        return True


def _redact_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactBotTokens) for f in logger.filters):
        logger.addFilter(_RedactBotTokens())
