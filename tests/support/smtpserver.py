"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, in a thread of the test process).

It records every message it accepts (envelope, Message-ID, optionally the bytes), and can
be told to misbehave: answer a given reply for some recipients (at RCPT), for the next N
messages, or for the n-th MAIL or DATA command (a 421 also closes the connection, as real
servers do); "drop" closes the connection without answering — at MAIL that is before the
message was handed over, at DATA after it (the client cannot know whether it went through).
It can also stall before answering the message that reaches a given count, so a test can
kill the client exactly while a message is in flight.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str | None
    content: bytes | None

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]


class RecordingHandler:
    def __init__(self, keep_content: bool = True, pipelining: bool = False) -> None:
        self.keep_content = keep_content
        self.pipelining = pipelining
        self.messages: list[Received] = []        # accepted (answered 250)
        self.accepted_at: list[float] = []        # time.monotonic() of each, in order
        self.attempts: list[Received] = []        # every message that reached end of DATA
        self.rcpt_replies: dict[str, str] = {}    # address → reply at RCPT
        self.next_replies: list[str] = []         # replies (or "drop") for the next messages
        # ("mail" | "data", n) → reply or "drop" for the n-th such command since start.
        self.plan: dict[tuple[str, int], str] = {}
        self.mail_commands = self.data_commands = 0
        self.hold_at: int | None = None
        # While set, every MAIL gets this reply (a "421 …" also closes the connection):
        # a server refusing service until the test clears it. `refused` counts them.
        self.refuse: str | None = None
        self.refused = 0
        self.held = threading.Event()
        self.release = threading.Event()
        self._changed = threading.Condition()

    def fail_next(self, reply: str, n: int = 1) -> None:
        """Answer `reply` ("451 …", "421 …", "550 …" or "drop") to the next n messages."""
        self.next_replies.extend([reply] * n)

    @staticmethod
    def _act(server, action: str) -> str:
        if action == "drop":
            server.transport.close()    # no answer at all: the client sees the line go dead
        elif action.startswith("421"):
            asyncio.get_running_loop().call_soon(server.transport.close)
        return action

    # -- hooks (aiosmtpd calls these on its event loop) --

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads pipelined commands one line at a time anyway; advertising it makes
        # clients send MAIL, RCPT and DATA in one go (RFC 2920).
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        if self.refuse:
            self.refused += 1
            return self._act(server, self.refuse)
        action = self.plan.get(("mail", self.mail_commands))
        if action:
            return self._act(server, action)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        received = self._parse(envelope)
        self.attempts.append(received)
        action = self.plan.get(("data", self.data_commands)) or (
            self.next_replies.pop(0) if self.next_replies else None)
        if action:
            return self._act(server, action)
        count = self._record(received)
        if self.hold_at is not None and count >= self.hold_at:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return f"250 2.0.0 Ok: queued as {count}"

    def _parse(self, envelope) -> Received:
        content = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(content)
        return Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                        (headers.get("Message-ID") or "").strip() or None,
                        content if self.keep_content else None)

    def _record(self, message: Received) -> int:
        with self._changed:
            self.messages.append(message)
            self.accepted_at.append(time.monotonic())
            self._changed.notify_all()
            return len(self.messages)

    # -- for the test --

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.messages) >= count, timeout)

    def recipients(self) -> Counter:
        return Counter(r for m in list(self.messages) for r in m.rcpt_tos)

    def by_recipient(self, address: str) -> list[Received]:
        return [m for m in list(self.messages) if address in m.rcpt_tos]


class _CountingController(Controller):
    """Counts connections: each one gets its own SMTP protocol instance."""

    connections = 0

    def factory(self):
        self.connections += 1
        return SMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """`options` go to aiosmtpd: ssl_context= for implicit TLS, tls_context= and
    require_starttls= for STARTTLS, authenticator= and auth_required= for AUTH."""

    def __init__(self, keep_content: bool = True, pipelining: bool = False, **options) -> None:
        self.handler = RecordingHandler(keep_content, pipelining)
        self.port = free_port()
        self.scheme = "smtps" if options.get("ssl_context") else "smtp"
        self.controller = _CountingController(self.handler, hostname="127.0.0.1", port=self.port,
                                              **options)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        # The controller opens one connection itself to check that the server is up.
        return self.controller.connections - 1

    @property
    def messages(self) -> list[Received]:
        return list(self.handler.messages)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
