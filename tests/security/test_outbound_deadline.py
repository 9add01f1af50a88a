"""A fetch has one total deadline (PRESSBOT_FETCH_TIMEOUT), not a per-read timeout: a
server that trickles its body or its headers a byte at a time cannot hold `pressbot ingest`
or a worker for minutes. The servers below would take 50 s to finish; the deadline is 2 s.
What is asserted is the outcome (a timeout error, the server cut off early), not a time."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bot.errors import TransientError
from bot.ingest.fetch import FetchOptions, fetch, make_client
from bot.services.ingest import ingest_targets
from tests.support.httpserver import Route
from tests.support.outbound import LOCAL_POLICY

PAUSE = 0.25      # seconds between two bytes: well under any per-read timeout
BYTES = 200       # 200 bytes at that pace: 50 s without a total deadline
DEADLINE = 2.0


def trickle():
    for _ in range(BYTES):
        time.sleep(PAUSE)  # the attack itself: one byte, then a pause
        yield b" "


def test_a_trickled_body_ends_at_the_deadline(sqlite_settings, http_server):
    http_server.routes["/feed.xml"] = Route(stream=trickle)
    settings = sqlite_settings.model_copy(update={"fetch_timeout": DEADLINE})

    report = ingest_targets(settings, [http_server.url("/feed.xml")])

    [source] = report.sources
    assert source.status == "failed" and "timed out" in source.error
    assert http_server.streamed_bytes < BYTES // 4   # cut off, not read to the end


class TricklingHeaders:
    """A raw server that answers a status line, then one header byte per PAUSE."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(BYTES):
                    time.sleep(PAUSE)
                    conn.sendall(b"a")
                    self.sent += 1
            except OSError:
                pass  # the client hung up

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def slow_headers():
    server = TricklingHeaders()
    yield server
    server.close()


def test_trickled_headers_end_at_the_deadline(slow_headers):
    options = FetchOptions(user_agent="test", timeout=DEADLINE, policy=LOCAL_POLICY)
    with make_client(options) as client, pytest.raises(TransientError, match="timed out"):
        fetch(client, slow_headers.url, options)
    assert slow_headers.sent < BYTES // 4
