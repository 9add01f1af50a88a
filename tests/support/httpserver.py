"""A real HTTP server on loopback for tests: routes with bodies, status codes, ETag /
Last-Modified handling, gzip, and streamed bodies; it records every request it gets."""

from __future__ import annotations

import gzip
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    # A generator of chunks sent without Content-Length (to test size caps while streaming).
    stream: Callable[[], Iterable[bytes]] | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.streamed_bytes = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server._handle(self, self.rfile.read(length))

        # Another loopback address (127.0.0.2, ::1) stands for another machine in the
        # outbound-policy tests (tests/security/test_outbound_*.py).
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self._httpd = server_class((host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self.requests.append(Seen(handler.command, handler.path, headers, body))
        route = self.routes.get(handler.path)
        if route is None:
            self._send(handler, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        out = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            out["ETag"] = route.etag
        if route.last_modified:
            out["Last-Modified"] = route.last_modified
        if route.status == 200 and self._not_modified(route, headers):
            self._send(handler, 304, {k: v for k, v in out.items() if k != "Content-Type"}, b"")
            return
        if route.stream is not None:
            self._stream(handler, route, out)
            return
        payload = route.body
        if route.gzip and "gzip" in headers.get("accept-encoding", ""):
            payload = gzip.compress(payload)
            out["Content-Encoding"] = "gzip"
        self._send(handler, route.status, out, payload)

    @staticmethod
    def _not_modified(route: Route, headers: dict[str, str]) -> bool:
        if route.etag and headers.get("if-none-match") == route.etag:
            return True
        return bool(route.last_modified and headers.get("if-modified-since") == route.last_modified)

    @staticmethod
    def _send(handler, status: int, headers: dict[str, str], payload: bytes) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        if "Content-Length" not in headers and status != 304:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)

    def _stream(self, handler, route: Route, headers: dict[str, str]) -> None:
        handler.send_response(route.status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for chunk in route.stream():
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.streamed_bytes += len(chunk)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: that is what a size cap does
        handler.close_connection = True
