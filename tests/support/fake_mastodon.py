"""A real HTTP server on loopback speaking the part of the Mastodon API pressbot uses, with
Mastodon's own rules and error bodies, so tests can drive the real Mastodon.py client.

What it copies from Mastodon (app/validators/status_length_validator.rb,
app/services/post_status_service.rb, config/initializers/rack_attack.rb, Doorkeeper):
- length: each URL (twitter-text's extractor, protocol required) counts as
  characters_reserved_per_url, `@user@domain` as `@user`, the rest in grapheme clusters;
  over the limit -> 422 {"error": "Validation failed: Text character limit of N exceeded"}.
- Idempotency-Key: remembered per account for an hour; a repeat answers the status made
  the first time and creates nothing (checked before validation, as Mastodon does).
- a bad or missing Bearer token on authenticated endpoints -> 401 "The access token is invalid";
  the instance endpoints need no token.
- GET /api/v1/statuses/:id: the status with its favourites/reblogs/replies counts, 404
  {"error": "Record not found"} for one that is gone; reads count against the
  authenticated API limit (`api_limit` per 5 minutes), with rack-attack's headers.
- 429 from the rate limiter: X-RateLimit-Limit/Remaining/Reset (ISO 8601, microseconds, UTC)
  and {"error": "Too many requests"}.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import regex
from twitter_text import extract_urls_with_indices

AUTHENTICATED = {"/api/v1/accounts/verify_credentials", "/api/v1/statuses"}
STATUS_PATH = re.compile(r"^/api/v1/statuses/(\d+)$")
# rack-attack's throttle_authenticated_api: 1,500 requests per 5 minutes per token.
API_LIMIT, API_PERIOD = 1500, 300
REMOTE_MENTION = re.compile(r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", re.IGNORECASE)


@dataclass
class Seen:
    method: str
    path: str                 # without the query string and trailing slash
    headers: dict[str, str]   # lower-cased names
    body: bytes
    form: dict[str, str] = field(default_factory=dict)   # the decoded form or JSON body


@dataclass
class Forced:
    status: int
    body: bytes
    headers: dict[str, str]
    content_type: str


class FakeMastodon:
    def __init__(self, token: str = "test-token", username: str = "pressbot",
                 max_characters: int = 500, characters_reserved_per_url: int = 23,
                 idempotency_window: float = 3600.0) -> None:
        self.token = token
        self.username = username
        self.max_characters = max_characters
        self.characters_reserved_per_url = characters_reserved_per_url
        self.idempotency_window = idempotency_window
        self.requests: list[Seen] = []
        self.statuses: list[dict] = []
        self._forced: dict[str, list[Forced]] = {}
        self._idempotency: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()   # handler threads share the lists above
        self._next_id = 110_000_000_000_000_001
        self.api_limit = API_LIMIT     # reads per window (a test may lower it)
        self._api_used, self._api_window = 0, 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, b"")

            def do_POST(self) -> None:
                server._handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)   # a quick stop() between tests

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeMastodon":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- scripting ---------------------------------------------------------------------

    def force(self, path: str, status: int, body: dict | str, headers: dict[str, str] | None = None,
              times: int = 1) -> None:
        """Answer the next `times` requests to `path` with this response instead."""
        if isinstance(body, dict):
            payload, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
        else:
            payload, ctype = body.encode(), "text/html"
        self._forced.setdefault(path, []).extend(
            [Forced(status, payload, headers or {}, ctype)] * times)

    def rate_limit(self, path: str = "/api/v1/statuses", reset_in: float = 120.0) -> datetime:
        """The next request to `path` is throttled as rack-attack does; returns the reset time."""
        reset = datetime.now(timezone.utc) + timedelta(seconds=reset_in)
        self.force(path, 429, {"error": "Too many requests"}, {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        })
        return reset

    def requests_to(self, path: str, method: str | None = None) -> list[Seen]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # -- the API -----------------------------------------------------------------------

    def status_length(self, text: str) -> int:
        out, pos = [], 0
        for entity in extract_urls_with_indices(text, extract_urls_without_protocol=False):
            start, end = entity["indices"]
            out += [text[pos:start], "x" * self.characters_reserved_per_url]
            pos = end
        out.append(text[pos:])
        countable = REMOTE_MENTION.sub(r"\1@\3", "".join(out))
        return len(regex.findall(r"\X", countable))

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urlsplit(handler.path).path.rstrip("/")   # Rails ignores a trailing slash
        headers = {k.lower(): v for k, v in handler.headers.items()}
        seen = Seen(handler.command, path, headers, body, self._decode(headers, body))
        with self._lock:
            self.requests.append(seen)
            forced = self._forced.get(path)
            if forced:
                f = forced.pop(0)
                return self._send(handler, f.status, f.body, f.content_type, f.headers)
            route = {("GET", "/api/v1/instance"): self._instance_v1,
                     ("GET", "/api/v2/instance"): self._instance_v2,
                     ("GET", "/api/v1/accounts/verify_credentials"): self._verify_credentials,
                     ("POST", "/api/v1/statuses"): self._post_status}.get((handler.command, path))
            match = STATUS_PATH.match(path)
            if route is None and match and handler.command == "GET":
                return self._get_status(handler, match.group(1))
            if route is None:
                return self._json(handler, 404, {"error": "Record not found"})
            if path in AUTHENTICATED and headers.get("authorization") != f"Bearer {self.token}":
                return self._json(handler, 401, {"error": "The access token is invalid"})
            status, payload = route(seen)
            self._json(handler, status, payload)

    @staticmethod
    def _decode(headers: dict[str, str], body: bytes) -> dict[str, str]:
        # Mastodon.py posts a status as a form unless it carries a poll or media attributes.
        if not body:
            return {}
        if headers.get("content-type", "").startswith("application/json"):
            return json.loads(body)
        return {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}

    def _configuration(self) -> dict:
        return {"statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                             "characters_reserved_per_url": self.characters_reserved_per_url}}

    def _instance_v1(self, seen: Seen) -> tuple[int, dict]:
        return 200, {"uri": "127.0.0.1", "title": "Fake Mastodon", "version": "4.3.0",
                     "configuration": self._configuration()}

    def _instance_v2(self, seen: Seen) -> tuple[int, dict]:
        return 200, {"domain": "127.0.0.1", "title": "Fake Mastodon", "version": "4.3.0",
                     "api_versions": {"mastodon": 2}, "configuration": self._configuration()}

    def _account(self) -> dict:
        return {"id": "1", "username": self.username, "acct": self.username,
                "display_name": "Pressbot", "url": f"{self.base}/@{self.username}",
                "created_at": "2024-01-01T00:00:00.000Z"}

    def _verify_credentials(self, seen: Seen) -> tuple[int, dict]:
        return 200, {**self._account(), "source": {"privacy": "public", "language": "en"}}

    def _post_status(self, seen: Seen) -> tuple[int, dict]:
        key = seen.headers.get("idempotency-key")
        now = time.monotonic()
        if key and key in self._idempotency and now - self._idempotency[key][0] < self.idempotency_window:
            return 200, self._idempotency[key][1]
        text = seen.form.get("status", "")
        if self.status_length(text) > self.max_characters:
            return 422, {"error": "Validation failed: Text character limit of "
                                  f"{self.max_characters} exceeded"}
        status_id = str(self._next_id)
        self._next_id += 1
        status = {"id": status_id, "uri": f"{self.base}/users/{self.username}/statuses/{status_id}",
                  "url": f"{self.base}/@{self.username}/{status_id}",
                  "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                  "content": f"<p>{html.escape(text)}</p>",
                  "visibility": seen.form.get("visibility", "public"),
                  "language": seen.form.get("language"), "account": self._account(),
                  "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
                  "favourites_count": 0, "reblogs_count": 0, "replies_count": 0}
        self.statuses.append(status)
        if key:
            self._idempotency[key] = (now, status)
        return 200, status

    def set_counts(self, status_id: str, **counts: int) -> None:
        """favourites_count, reblogs_count, replies_count of a status made here."""
        next(s for s in self.statuses if s["id"] == status_id).update(counts)

    def _get_status(self, handler, status_id: str) -> None:
        now = time.time()
        if now >= self._api_window + API_PERIOD:
            self._api_window, self._api_used = now, 0
        reset = datetime.fromtimestamp(self._api_window + API_PERIOD, timezone.utc)
        self._api_used += 1
        limits = {"X-RateLimit-Limit": str(self.api_limit),
                  "X-RateLimit-Remaining": str(max(0, self.api_limit - self._api_used)),
                  "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if self._api_used > self.api_limit:
            return self._json(handler, 429, {"error": "Too many requests"}, limits)
        status = next((s for s in self.statuses if s["id"] == status_id), None)
        if status is None:
            return self._json(handler, 404, {"error": "Record not found"}, limits)
        self._json(handler, 200, status, limits)

    def _json(self, handler, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send(handler, status, json.dumps(payload).encode(), "application/json; charset=utf-8",
                   headers or {})

    @staticmethod
    def _send(handler, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        handler.send_response(status)   # also sends Date, which Mastodon.py uses for clock skew
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
