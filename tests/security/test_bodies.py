"""Request bodies are bounded for every route, counted while they stream, before anything
parses them or checks a signature: an unsigned 256 MB POST to the webhook used to be read
whole first. Over real HTTP against the app served by uvicorn."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from bot.web.app import create_app
from bot.web.hooks import signed_headers
from bot.web.limits import TooDeep, json_depth, parse_json
from tests.support.webserver import AppServer

MB = 1024 * 1024


class Counting:
    """Wraps the app as the server sees it: counts the body bytes the app pulled in (the
    server drops what the app never asks for), the largest of any one request."""

    def __init__(self, app) -> None:
        self.app, self.most = app, 0

    async def __call__(self, scope, receive, send):
        pulled = 0

        async def counted():
            nonlocal pulled
            message = await receive()
            pulled += len(message.get("body", b""))
            self.most = max(self.most, pulled)
            return message
        await self.app(scope, counted, send)


@pytest.fixture
def served(sqlite_settings):
    settings = sqlite_settings.model_copy(update={"webhook_max_bytes": MB, "form_max_bytes": 64 * 1024,
                                                  "upload_max_bytes": 2 * MB})
    app = Counting(create_app(settings))
    with AppServer(app) as server:
        server.app = app
        yield settings, server


def chunks(total: int, size: int = 64 * 1024):
    """A body of `total` bytes, sent chunked (no Content-Length)."""
    def body():
        left = total
        while left > 0:
            piece = b"x" * min(size, left)
            left -= len(piece)
            yield piece
    return body()


def raw_request(port: int, head: bytes) -> bytes:
    """Send only a request head (a Content-Length promising a huge body) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return answer


def test_unsigned_declared_huge_webhook_body_is_refused_before_reading(served):
    _settings, server = served
    head = (b"POST /api/hooks/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 268435456\r\n\r\n")
    answer = raw_request(server.port, head)   # not a byte of the 256 MB was sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_chunked_webhook_body_is_cut_off_at_the_limit(served):
    _settings, server = served
    body = chunks(64 * MB)
    try:
        response = httpx.post(server.base + "/api/hooks/articles", content=body,
                              headers={"Content-Type": "application/json"}, timeout=30)
        status = response.status_code
    except (httpx.RemoteProtocolError, httpx.WriteError):
        status = 413   # the server answered and closed while we were still writing
    assert status == 413
    # The app read the limit and at most one of the server's reads past it, of the 64 MB.
    assert server.app.most < 2 * MB


def test_signed_webhook_body_over_the_limit_is_413_too(served):
    settings, server = served
    body = json.dumps({"title": "big", "url": "https://news.example.org/big",
                       "body_text": "word " * (MB // 4)}).encode()
    response = httpx.post(server.base + "/api/hooks/articles", content=body,
                          headers={"Content-Type": "application/json",
                                   **signed_headers(settings.webhook_secret, body)})
    assert response.status_code == 413
    assert "at most 1048576 bytes" in response.json()["detail"]


def test_deeply_nested_signed_json_is_refused_not_a_500(served):
    settings, server = served
    for body in (b"[" * 100_000, b"[" * 200 + b"]" * 200):
        response = httpx.post(server.base + "/api/hooks/articles", content=body,
                              headers={"Content-Type": "application/json",
                                       **signed_headers(settings.webhook_secret, body)})
        assert response.status_code == 422, body[:10]
        assert "nested deeper" in response.json()["error"]


@pytest.mark.parametrize("path", ["/subscribe", "/admin/login", "/api/campaigns"])
def test_forms_and_api_calls_have_a_small_cap(served, path):
    _settings, server = served
    body = chunks(8 * MB)
    try:
        status = httpx.post(server.base + path, content=body, timeout=30,
                            headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code
    except (httpx.RemoteProtocolError, httpx.WriteError):
        status = 413
    assert status == 413
    assert server.app.most < MB   # of the 8 MB sent


def test_csv_upload_has_its_own_larger_cap(served):
    _settings, server = served
    # Above the form cap, under the upload cap: not refused for its size (the login check
    # answers instead); above the upload cap: 413 before the login check.
    middle = httpx.post(server.base + "/admin/subscribers/import", files={"file": ("a.csv", b"x" * (MB // 2))},
                        follow_redirects=False)
    assert middle.status_code != 413
    big = httpx.post(server.base + "/admin/subscribers/import", files={"file": ("a.csv", b"x" * (3 * MB))},
                     follow_redirects=False)
    assert big.status_code == 413


def test_a_content_length_that_is_not_a_number_is_refused(served):
    _settings, server = served
    answer = raw_request(server.port, b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n")
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] in (b"400",)


def test_json_depth_is_measured_without_recursion():
    assert json_depth([[1, {"a": [2]}]], 4) and not json_depth([[1, {"a": [2]}]], 3)
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert not json_depth(deep, 32)
    assert parse_json(b'{"a": [1, 2]}') == {"a": [1, 2]}
    with pytest.raises(TooDeep, match="nested deeper than 32"):
        parse_json(b"[" * 40 + b"]" * 40)
    with pytest.raises(ValueError):
        parse_json(b"{not json")
