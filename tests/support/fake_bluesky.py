"""A stand-in Bluesky PDS on loopback, spoken to by the real atproto client.

It serves the XRPC subset the publisher uses, with the PDS's own limits and error bodies:
createSession (30 per 5 minutes per account, 429 with `ratelimit-*` headers),
refreshSession (rotates the refresh JWT and revokes the old one, as the PDS does once its
grace period is over), getSession, getProfile (login looks the profile up), uploadBlob and
createRecord (app.bsky.feed.post: 300 graphemes / 3000 bytes, thumb blob ≤ 1,000,000 bytes),
getPosts (the AppView's post views with like/repost/reply counts, at most 25 URIs; a post
that is gone is simply missing from the answer, as on Bluesky).
Tokens are real HS256 JWTs, since atproto reads `exp` from the access JWT to decide when to
refresh. Every request is recorded; `force()` scripts the next answer to a method."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import regex

LOGIN_LIMIT, LOGIN_WINDOW = 30, 300   # createSession: per account, per 5 minutes
MAX_GRAPHEMES, MAX_TEXT_BYTES = 300, 3000
MAX_THUMB_BYTES = 1_000_000
MAX_GET_POSTS = 25                    # app.bsky.feed.getPosts: uris maxLength
POST = "app.bsky.feed.post"
_B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"


@dataclass
class Call:
    method: str
    nsid: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers or {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cid_for(data: bytes, codec: int = 0x71) -> str:
    """A CIDv1 (sha2-256) in base32, as the PDS writes them: dag-cbor records, raw blobs."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


class FakeBluesky:
    def __init__(self, handle: str = "newsroom.test", password: str = "abcd-efgh-ijkl-mnop",
                 did: str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz", access_ttl: int = 7200) -> None:
        self.handle, self.password, self.did = handle, password, did
        self.access_ttl = access_ttl          # seconds an access JWT lives
        self.calls: list[Call] = []
        self.records: list[dict] = []         # createRecord bodies that were accepted
        self.counts: dict[str, dict] = {}     # at:// URI → likeCount, repostCount, …
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self._secret = uuid.uuid4().bytes
        self._live_refresh: set[str] = set()  # jti of refresh JWTs not yet rotated or revoked
        self._logins: deque[float] = deque()
        self._forced: dict[str, deque] = defaultdict(deque)
        self._last_tid = 0
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
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- test controls ----------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def xrpc(self) -> str:
        return self.base + "/xrpc"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def count(self, nsid: str) -> int:
        return sum(1 for call in self.calls if call.nsid == nsid)

    def calls_to(self, nsid: str) -> list[Call]:
        return [call for call in self.calls if call.nsid == nsid]

    def force(self, nsid: str, status: int, body: dict | bytes | None = None,
              headers: dict[str, str] | None = None) -> None:
        """The next call to `nsid` gets this answer instead of the real one."""
        self._forced[nsid].append((status, body, headers or {}))

    def revoke_sessions(self) -> None:
        """Every refresh JWT stops working (password change, app password revoked)."""
        self._live_refresh.clear()

    # -- tokens -----------------------------------------------------------------------

    def _jwt(self, payload: dict) -> str:
        head = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
        body = _b64(json.dumps(payload).encode())
        sig = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(sig)}"

    def mint_session(self, access_ttl: int) -> dict:
        """A valid session whose access JWT expires in `access_ttl` seconds (negative: it
        has already), for tests that start from a session saved some time ago."""
        return self._session(access_ttl)

    def _session(self, access_ttl: int | None = None) -> dict:
        access_ttl = self.access_ttl if access_ttl is None else access_ttl
        now = int(time.time())
        jti = uuid.uuid4().hex
        self._live_refresh.add(jti)
        aud = "did:web:" + urlsplit(self.base).hostname
        access = {"scope": "com.atproto.appPass", "sub": self.did, "aud": aud,
                  "iat": now, "exp": now + access_ttl}
        refresh = {"scope": "com.atproto.refresh", "sub": self.did, "aud": aud, "jti": jti,
                   "iat": now, "exp": now + 90 * 86400}
        return {"accessJwt": self._jwt(access), "refreshJwt": self._jwt(refresh),
                "handle": self.handle, "did": self.did, "active": True,
                "didDoc": self._did_doc()}

    def _did_doc(self) -> dict:
        # atproto takes the PDS address for the session from here, as it does on bsky.social
        return {"@context": ["https://www.w3.org/ns/did/v1"], "id": self.did,
                "alsoKnownAs": [f"at://{self.handle}"],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                             "serviceEndpoint": self.base}]}

    def _bearer(self, headers: dict[str, str], scope: str) -> dict:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        try:
            head, body, sig = auth[7:].split(".")
            good = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
            payload = json.loads(_unb64(body))
        except ValueError:
            raise XrpcError(401, "InvalidToken", "Token could not be verified") from None
        if not hmac.compare_digest(good, _unb64(sig)):
            raise XrpcError(401, "InvalidToken", "Token could not be verified")
        if payload.get("scope") != scope:
            raise XrpcError(401, "InvalidToken", "Bad token scope")
        if payload["exp"] <= time.time():
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        if scope == "com.atproto.refresh" and payload["jti"] not in self._live_refresh:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        return payload

    # -- methods ----------------------------------------------------------------------

    def create_session(self, call: Call, params: dict) -> dict:
        now = time.time()
        while self._logins and self._logins[0] <= now - LOGIN_WINDOW:
            self._logins.popleft()
        reset = int((self._logins[0] if self._logins else now) + LOGIN_WINDOW)
        limits = {"ratelimit-limit": str(LOGIN_LIMIT), "ratelimit-reset": str(reset),
                  "ratelimit-policy": f"{LOGIN_LIMIT};w={LOGIN_WINDOW}"}
        if len(self._logins) >= LOGIN_LIMIT:
            raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded",
                            {**limits, "ratelimit-remaining": "0"})
        self._logins.append(now)  # failed logins count too
        body = call.json()
        if (body.get("identifier") not in (self.handle, self.did)
                or body.get("password") != self.password):
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._session()

    def refresh_session(self, call: Call, params: dict) -> dict:
        payload = self._bearer(call.headers, "com.atproto.refresh")
        self._live_refresh.discard(payload["jti"])  # rotation: the old refresh JWT is spent
        return self._session()

    def get_session(self, call: Call, params: dict) -> dict:
        self._bearer(call.headers, "com.atproto.appPass")
        return {"handle": self.handle, "did": self.did, "active": True, "didDoc": self._did_doc()}

    def get_profile(self, call: Call, params: dict) -> dict:
        self._bearer(call.headers, "com.atproto.appPass")
        if params.get("actor") not in (self.handle, self.did):
            raise XrpcError(400, "InvalidRequest", "Profile not found")
        return {"did": self.did, "handle": self.handle, "displayName": "Newsroom",
                "followersCount": 0, "followsCount": 0, "postsCount": len(self.records)}

    def upload_blob(self, call: Call, params: dict) -> dict:
        self._bearer(call.headers, "com.atproto.appPass")
        mime = call.headers.get("content-type", "application/octet-stream")
        cid = cid_for(call.body, codec=0x55)
        self.blobs[cid] = (call.body, mime)
        return {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime,
                         "size": len(call.body)}}

    def create_record(self, call: Call, params: dict) -> dict:
        self._bearer(call.headers, "com.atproto.appPass")
        body = call.json()
        if body.get("repo") not in (self.did, self.handle):
            raise XrpcError(400, "InvalidRequest", "Input/repo must be the authenticated account")
        record = body.get("record") or {}
        if body.get("collection") != record.get("$type") or record.get("$type") != POST:
            raise XrpcError(400, "InvalidRequest", f"Input/collection: only {POST} here")
        self._check_post(record)
        rkey = self._tid()
        self.records.append(body)
        cid = cid_for(json.dumps(record, sort_keys=True).encode())
        self.counts[f"at://{self.did}/{POST}/{rkey}"] = {
            "cid": cid, "record": record, "likeCount": 0, "repostCount": 0, "replyCount": 0,
            "quoteCount": 0}
        return {"uri": f"at://{self.did}/app.bsky.feed.post/{rkey}", "cid": cid,
                "commit": {"cid": cid_for(cid.encode()), "rev": rkey}, "validationStatus": "valid"}

    def get_posts(self, call: Call, params: dict) -> dict:
        self._bearer(call.headers, "com.atproto.appPass")
        uris = params.get("uris") or []
        if len(uris) > MAX_GET_POSTS:
            raise XrpcError(400, "InvalidRequest",
                            f"Error: uris must not have more than {MAX_GET_POSTS} elements")
        author = {"did": self.did, "handle": self.handle, "displayName": "Newsroom"}
        return {"posts": [{"uri": uri, "cid": post["cid"], "author": author,
                           "record": post["record"], "indexedAt": post["record"]["createdAt"],
                           **{k: v for k, v in post.items() if k.endswith("Count")}}
                          for uri in uris if (post := self.counts.get(uri))]}

    def _check_post(self, record: dict) -> None:
        bad = "Invalid app.bsky.feed.post record: "
        text = record.get("text")
        if not isinstance(text, str) or "createdAt" not in record:
            raise XrpcError(400, "InvalidRequest", bad + 'Record must have the property "text"')
        if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:
            raise XrpcError(400, "InvalidRequest",
                            bad + f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise XrpcError(400, "InvalidRequest",
                            f"{bad}Record/text must not be longer than {MAX_TEXT_BYTES} characters")
        # Stricter than the PDS (which does not cross-check facets against the text): a
        # facet outside the text is always our bug, so the stand-in refuses it.
        for i, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
                raise XrpcError(400, "InvalidRequest",
                                bad + f"Record/facets/{i}/index is not a byte range of the text")
        thumb = ((record.get("embed") or {}).get("external") or {}).get("thumb")
        if thumb is not None:
            cid = (thumb.get("ref") or {}).get("$link")
            if cid not in self.blobs:
                raise XrpcError(400, "InvalidRequest", f"Could not find blob: {cid}")
            if (thumb.get("size", 0) > MAX_THUMB_BYTES
                    or not thumb.get("mimeType", "").startswith("image/")):
                raise XrpcError(400, "InvalidRequest", f"{bad}Record/embed/external/thumb "
                                f"must be an image of at most {MAX_THUMB_BYTES} bytes")

    def _tid(self) -> str:
        """A record key as the PDS makes them: microseconds since the epoch, base32-sortable."""
        value = max(int(time.time() * 1_000_000), self._last_tid + 1)
        self._last_tid = value
        n, out = value << 10, ""
        for _ in range(13):
            out = _B32_SORT[n & 31] + out
            n >>= 5
        return out

    METHODS = {
        ("POST", "com.atproto.server.createSession"): create_session,
        ("POST", "com.atproto.server.refreshSession"): refresh_session,
        ("GET", "com.atproto.server.getSession"): get_session,
        ("GET", "app.bsky.actor.getProfile"): get_profile,
        ("POST", "com.atproto.repo.uploadBlob"): upload_blob,
        ("POST", "com.atproto.repo.createRecord"): create_record,
        ("GET", "app.bsky.feed.getPosts"): get_posts,
    }

    # -- HTTP -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(handler.path)
        nsid = url.path.removeprefix("/xrpc/")
        # Single values, but a list for getPosts' repeated `uris`.
        params = {k: (v if k == "uris" else v[0]) for k, v in parse_qs(url.query).items()}
        call = Call(handler.command, nsid, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.calls.append(call)
            forced = self._forced[nsid].popleft() if self._forced[nsid] else None
            if forced:
                status, payload, headers = forced
            else:
                method = self.METHODS.get((handler.command, nsid))
                try:
                    if method is None:
                        raise XrpcError(501, "MethodNotImplemented", "Method Not Implemented")
                    status, payload, headers = 200, method(self, call, params), {}
                except XrpcError as exc:
                    status, headers = exc.status, exc.headers
                    payload = {"error": exc.error, "message": exc.message}
        if isinstance(payload, dict):
            data, ctype = json.dumps(payload).encode(), "application/json; charset=utf-8"
        else:
            data, ctype = payload or b"", "text/html"
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
