"""A stand-in for the part of X's API that pressbot uses, on a real loopback HTTP server.

Real tweepy talks to it (XPublisher(api_host=fake.base)). It checks OAuth 1.0a signatures
against the real X URLs (the publisher rewrites the host only after signing), enforces the
weighted 280 limit with twitter-text, refuses duplicate text, and answers with X's own
status codes and error bodies. Tests can queue forced responses (429, 503, …) and read
back every request it received."""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from oauthlib.oauth1.rfc5849 import signature, utils
from twitter_text import parse_tweet

LIMIT = 280
MAX_IMAGE_BYTES = 5 * 1024 * 1024
UPLOAD_PATH = "/1.1/media/upload.json"
READ_LIMIT = 900   # GET /2/tweets/:id per user per 15 minutes (X's documented user limit)

# X's real bodies. v2 answers in RFC 7807 "problem" shape, v1.1 with an "errors" list.
UNAUTHORIZED_V2 = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                   "detail": "Unauthorized"}
UNAUTHORIZED_V1 = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content.",
             "type": "about:blank", "title": "Forbidden", "status": 403}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
            "status": 429}
UNAVAILABLE = {"title": "Service Unavailable", "detail": "Service Unavailable",
               "type": "about:blank", "status": 503}
# Seen from X as 400 (and by some as 403); the text is X's, the shape its problem body.
TOO_LONG = {"detail": "Your Tweet text is too long. For more information on how Twitter determines "
                      "text length see https://github.com/twitter/twitter-text.",
            "type": "about:blank", "title": "Bad Request", "status": 400}


def not_found(tweet_id: str) -> dict:
    """X's answer for a deleted or unknown post: HTTP 200, no data, a problem in errors."""
    return {"errors": [{"value": tweet_id, "detail": f"Could not find tweet with id: [{tweet_id}].",
                        "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                        "resource_id": tweet_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found"}]}


def invalid_request(parameter: str, value, message: str) -> dict:
    return {"errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"}


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid, tiny RGB PNG (so tweepy's type sniffing sees a real image)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: object            # JSON (dict), multipart ({name: bytes}) or raw bytes
    oauth: dict[str, str] = field(default_factory=dict)


@dataclass
class Forced:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # only a request to this path consumes it (None: any API path)


class FakeX:
    def __init__(self, consumer_key="ck-test", consumer_secret="cs-test",
                 access_token="1234-at-test", access_token_secret="ats-test",
                 username="pressbot_news") -> None:
        self.keys = (consumer_key, consumer_secret, access_token, access_token_secret)
        self.username = username
        self.user_id = access_token.split("-")[0]
        self.requests: list[Seen] = []
        self.tweets: list[dict] = []          # accepted posts: {"id", "text", "media_ids"}
        self.media: dict[str, bytes] = {}     # uploaded media by media_id_string
        self.forced: deque[Forced] = deque()
        self.image = png()
        self._ids = itertools.count(1_850_000_000_000_000_001)
        self.read_limit = READ_LIMIT    # GET /2/tweets/:id per window (a test may lower it)
        self._read_left, self._read_reset = READ_LIMIT, 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, b"")

            def do_POST(self) -> None:
                fake._handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for one, at the end of every test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})

    # -- test-facing --------------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeX":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def to(self, path: str, method: str | None = None) -> list[Seen]:
        return [r for r in self.requests
                if urlsplit(r.path).path == path and method in (None, r.method)]

    def fail_next(self, status: int, body: dict, headers: dict[str, str] | None = None,
                  path: str | None = None) -> None:
        self.forced.append(Forced(status, body, headers or {}, path))

    def rate_limit_next(self, reset_at: int, path: str | None = None,
                        extra: dict[str, str] | None = None) -> None:
        """A 429 as X sends it: the 15-minute window spent, reset at `reset_at` (epoch s)."""
        headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": str(reset_at), **(extra or {})}
        self.fail_next(429, TOO_MANY, headers, path)

    # -- serving --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = urlsplit(handler.path).path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        seen = Seen(handler.command, handler.path, headers, _parse_body(headers, raw),
                    _oauth_params(headers.get("authorization", "")))
        with self._lock:  # one request at a time: the duplicate check must not race
            self.requests.append(seen)
            status, body, out = self._route(handler.command, path, seen)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        out.setdefault("Content-Type", "application/json; charset=utf-8")
        for key, value in out.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _route(self, method: str, path: str, seen: Seen) -> tuple[int, dict | bytes, dict]:
        if path.startswith("/img/"):  # the article image, not part of X
            if path == "/img/photo.png":
                return 200, self.image, {"Content-Type": "image/png"}
            return 404, b"not found", {"Content-Type": "text/plain"}
        for forced in list(self.forced):
            if forced.path in (None, path):
                self.forced.remove(forced)
                return forced.status, forced.body, dict(forced.headers)
        if not self._signed(method, path, seen):
            return 401, (UNAUTHORIZED_V1 if path == UPLOAD_PATH else UNAUTHORIZED_V2), {}
        if (method, path) == ("POST", "/2/tweets"):
            return self._create_tweet(seen.body)
        if (method, path) == ("GET", "/2/users/me"):
            return 200, {"data": {"id": self.user_id, "name": "Pressbot News",
                                  "username": self.username}}, {}
        if (method, path) == ("POST", UPLOAD_PATH):
            return self._upload(seen.body)
        if method == "GET" and path.startswith("/2/tweets/"):
            return self._lookup(path.rsplit("/", 1)[1], seen)
        return 404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, {}

    def _signed(self, method: str, path: str, seen: Seen) -> bool:
        """The OAuth 1.0a header names our consumer and token and its HMAC-SHA1 signature
        verifies against the URL tweepy signed (the real X host, before the rewrite)."""
        ck, cs, at, ats = self.keys
        oauth = seen.oauth
        if oauth.get("oauth_consumer_key") != ck or oauth.get("oauth_token") != at:
            return False
        host = "https://upload.twitter.com" if path == UPLOAD_PATH else "https://api.twitter.com"
        params = signature.collect_parameters(
            uri_query=urlsplit(seen.path).query,
            headers={"Authorization": seen.headers["authorization"]})
        base = signature.signature_base_string(
            method, signature.base_string_uri(host + path), signature.normalize_parameters(params))
        key = f"{utils.escape(cs)}&{utils.escape(ats)}".encode()
        expected = base64.b64encode(hmac.digest(key, base.encode(), "sha1")).decode()
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))

    def _create_tweet(self, body) -> tuple[int, dict, dict]:
        body = body if isinstance(body, dict) else {}
        text = body.get("text", "")
        media_ids = (body.get("media") or {}).get("media_ids", [])
        if not text and not media_ids:
            return 400, invalid_request("text", text, "Text is required without media."), {}
        if parse_tweet(text).weightedLength > LIMIT:
            return 400, TOO_LONG, {}
        unknown = [m for m in media_ids if m not in self.media]
        if unknown:
            return 400, invalid_request("media.media_ids", unknown[0],
                                        "Your media IDs are invalid."), {}
        if any(t["text"] == text for t in self.tweets):
            return 403, DUPLICATE, {}
        tweet = {"id": str(next(self._ids)), "text": text, "media_ids": media_ids,
                 "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                                    "quote_count": 0, "bookmark_count": 0,
                                    "impression_count": 0}}
        self.tweets.append(tweet)
        return 201, {"data": {"edit_history_tweet_ids": [tweet["id"]], "id": tweet["id"],
                              "text": text}}, {}

    def set_metrics(self, tweet_id: str, **counts: int) -> None:
        """What X counts for a post: like_count, retweet_count, reply_count, quote_count,
        bookmark_count, impression_count (each 0 until set)."""
        tweet = next(t for t in self.tweets if t["id"] == tweet_id)
        tweet["public_metrics"].update(counts)

    def _lookup(self, tweet_id: str, seen: Seen) -> tuple[int, dict, dict]:
        """GET /2/tweets/:id. Its own limit per user and 15-minute window, with X's headers
        on every answer; `tweet.fields` chooses the fields, as on X."""
        now = int(time.time())
        if now >= self._read_reset:
            self._read_reset, self._read_left = now + 900, self.read_limit
        if self._read_left <= 0:
            return 429, TOO_MANY, self._read_headers()
        self._read_left -= 1
        tweet = next((t for t in self.tweets if t["id"] == tweet_id), None)
        if tweet is None:
            return 200, not_found(tweet_id), self._read_headers()
        fields = parse_qs(urlsplit(seen.path).query).get("tweet.fields", [""])[0].split(",")
        data = {"id": tweet["id"], "text": tweet["text"],
                "edit_history_tweet_ids": [tweet["id"]]}
        if "public_metrics" in fields:
            data["public_metrics"] = dict(tweet["public_metrics"])
        return 200, {"data": data}, self._read_headers()

    def _read_headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": str(self.read_limit), "x-rate-limit-remaining": str(self._read_left),
                "x-rate-limit-reset": str(self._read_reset)}

    def _upload(self, body) -> tuple[int, dict, dict]:
        data = body.get("media") if isinstance(body, dict) else None
        if not data:
            return 400, {"errors": [{"code": 38, "message": "media parameter is missing."}]}, {}
        if len(data) > MAX_IMAGE_BYTES:
            return 400, {"errors": [{"code": 324,
                                     "message": "File size exceeds 5242880 bytes."}]}, {}
        media_id = next(self._ids)
        self.media[str(media_id)] = data
        return 200, {"media_id": media_id, "media_id_string": str(media_id), "size": len(data),
                     "expires_after_secs": 86400, "image": {"image_type": "image/png"}}, {}


def _oauth_params(header: str) -> dict[str, str]:
    if not header.startswith("OAuth "):
        return {}
    return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}


def _parse_body(headers: dict[str, str], raw: bytes):
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return json.loads(raw or b"null")
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in message.iter_parts()}
    return raw
