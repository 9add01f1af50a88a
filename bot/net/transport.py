"""An httpx client that connects only where the outbound policy allows, and gives up when
a fetch's total deadline has passed.

Why a network backend of our own rather than a check before the request: a name checked
and then handed to the HTTP client is resolved a second time when the client connects, and
a hostile DNS server can answer differently the second time (DNS rebinding). Here the name
is resolved once, every address is checked, and the socket is opened to that very address;
TLS still verifies the certificate for the name (httpcore passes the origin's host as SNI),
and the Host header is the request's. Every connection goes through it, so each redirect
hop is checked too.

Why the deadline lives in the socket reads: httpx's timeouts are per read, so a server
that sends one byte every few seconds (or trickles its headers) never times out. Each read
and connect here waits at most until the deadline set by `deadline()` for the current
fetch (a context variable: the pooled connection serves whichever fetch uses it).

Libraries considered: `advocate` is for requests only and unmaintained since 2020;
`ssrfguard` (httpx, pins the validated address, 0.x, one maintainer) does the pinning but
not the deadline, and wrapping its backend would mean replacing its transport's private
pool; the 150 lines below do both with httpcore's public NetworkBackend interface.
"""

from __future__ import annotations

import socket
import ssl
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator

import httpcore
import httpx

from bot.net.policy import OutboundPolicy, OutboundRefused

# A name with many addresses, each silently dropping packets, would cost one connect
# timeout per address: try a few (enough for dual-stack failover), not all.
MAX_CONNECT_ATTEMPTS = 4

_deadline: ContextVar[float | None] = ContextVar("pressbot_fetch_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every connect, read and write of the client(s) used inside ends by `seconds` from
    now (or an enclosing deadline, if sooner). Past it they raise httpx timeouts."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamped(timeout: float | None, expired: type[Exception]) -> float | None:
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the fetch's total time ran out")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait is cut short at the current fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _clamped(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, connect to a checked address (never to the name)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = _resolve(host, port)
        # A name answering with a public and a private address is refused whole: that is
        # what a rebinding attack looks like, and trying the public one first would only
        # make the attack depend on luck.
        if not addresses or not all(self.policy.permits(a) for a in addresses):
            raise self.policy.refusal(host)
        failure: Exception | None = None
        for address in addresses[:MAX_CONNECT_ATTEMPTS]:
            try:
                return _DeadlineStream(self._sockets.connect_tcp(
                    address, port, _clamped(timeout, httpcore.ConnectTimeout),
                    local_address=local_address, socket_options=socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise OutboundRefused("refused: unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` names, in the resolver's order, each once. An IP literal in any
    spelling the C library accepts (2130706433, 0x7f.1, 0177.0.0.1) comes back as the
    address it means, and is checked as that."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"{host}: name not resolved "
                                    f"({getattr(exc, 'strerror', None) or exc})") from None
    found: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in found:
            address = sockaddr[0]
            if family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3]:
                address = f"{address.split('%')[0]}%{sockaddr[3]}"  # keep the zone: refused
            found.append(address)
    return found


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (TLS, pooling, HTTP/1.1) over the guarded backend. Each request
    is checked for its scheme first, so a redirect to file:// or gopher:// goes nowhere."""

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | bool = True,
                 limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ssl_context = httpx.create_ssl_context(verify=verify)
        super().__init__(verify=ssl_context, limits=limits)
        self.policy = policy
        # httpcore takes the backend as a constructor argument (public API), so the pool
        # httpx built is replaced with one made the same way around our backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_scheme(str(request.url), request.url.scheme)
        return super().handle_request(request)


def guarded_client(policy: OutboundPolicy, **client_options: Any) -> httpx.Client:
    """An httpx.Client whose every connection obeys `policy`. Environment proxies are not
    used (a proxy resolves the name itself, out of the policy's reach)."""
    return httpx.Client(transport=GuardedTransport(policy), **client_options)
