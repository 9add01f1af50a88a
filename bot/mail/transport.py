"""Carrying finished messages: over SMTP, or into the outbox folder (DESIGN principle 6).

A transport sends one message to one recipient and answers the server's reply, or raises:

- `MailDeferred` (a TransientError): a 4xx for this message, or the connection dropped
  after the message was handed over so its fate is unknown. Retry later, same Message-ID.
- `MailRejected` (a PermanentError): a 5xx for this message; `.mailbox_unknown` says
  whether it means the address does not exist.
- `TransportUnavailable` / `TransportRefused` (both `TransportDown`): nothing to do with
  this recipient — the server cannot be reached, refuses service, refuses our login or our
  sender address. The caller stops the batch instead of blaming every recipient in it.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import tempfile
import time
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import unquote, urlsplit

from bot.config import Settings
from bot.errors import BadInput, PermanentError, TransientError


class MailDeferred(TransientError):
    def __init__(self, message: str, *, code: int | None = None, reply: str = "", phase: str = ""):
        super().__init__(message)
        self.code, self.reply, self.phase = code, reply, phase


# Enhanced status codes and words servers use for "that mailbox does not exist".
# Not the bare "mailbox unavailable": it is RFC 5321's default text for every 550, policy
# rejections included.
_UNKNOWN_MAILBOX = re.compile(
    r"\b5\.1\.(1|10)\b|user unknown|unknown user|no such user|no such mailbox|"
    r"mailbox (does not|doesn't) exist|user not found|invalid recipient", re.I)


class MailRejected(PermanentError):
    def __init__(self, message: str, *, code: int | None = None, reply: str = "", phase: str = ""):
        super().__init__(message)
        self.code, self.reply, self.phase = code, reply, phase

    @property
    def mailbox_unknown(self) -> bool:
        """A hard bounce for the address itself (suppress it), as opposed to a policy or
        content rejection (which says nothing about whether the address exists)."""
        return (self.phase in ("rcpt", "data") and (self.code or 0) >= 500
                and bool(_UNKNOWN_MAILBOX.search(self.reply)))


class TransportDown(Exception):
    """Marker: the transport cannot send anything right now, whoever the recipient."""


class TransportUnavailable(TransportDown, TransientError):
    pass


class TransportRefused(TransportDown, PermanentError):
    pass


Meanwhile = Callable[[], None]


class Transport(Protocol):
    """`meanwhile`, if given, is run at most once during the send, always before the message
    body leaves (so before the server can have accepted it), and ideally while the server
    is busy with the envelope: the caller records the previous message's outcome there,
    which hides that database round trip without widening the duplicate window beyond one
    message. If it raises, nothing of this message is delivered. If send() raises, it may
    not have run."""

    def send(self, from_addr: str, to_addr: str, message: bytes, *,
             meanwhile: Meanwhile | None = None) -> str: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Transport": ...

    def __exit__(self, *exc) -> None: ...


def _run(meanwhile: Meanwhile | None) -> None:
    if meanwhile is not None:
        meanwhile()


class _Throttled:
    """A send rate in messages per second (0: unlimited), and the context manager."""

    def __init__(self, rate: float = 0.0, limiter=None) -> None:
        self._interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._limiter = limiter  # shared by all workers (bot.services.ratelimit), if any

    def _throttle(self) -> None:
        if self._limiter is not None:
            self._limiter.acquire()
            return
        if not self._interval:
            return
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + self._interval

    def close(self) -> None:
        if self._limiter is not None:
            self._limiter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- SMTP -----------------------------------------------------------------------------------------


class _Retry(Exception):
    """The server did not take the message and the connection is gone (a drop before the
    message was handed over, or a 421): safe to reconnect and send the same message again."""


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def _outcome(code: int, text: bytes, phase: str) -> Exception:
    reply = _reply(code, text)
    if code == 421:
        return _Retry(reply)
    if 400 <= code < 500:
        return MailDeferred(f"deferred at {phase}: {reply}", code=code, reply=reply, phase=phase)
    return MailRejected(f"rejected at {phase}: {reply}", code=code, reply=reply, phase=phase)


_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")
_OK = ((250,), (250, 251), (354,))   # MAIL, RCPT, DATA
# What may not appear in an address between < and > on the command line (injection).
_NOT_IN_ENVELOPE = re.compile(r"[\s<>\x00-\x1f\x7f]")


def _envelope_commands(conn: smtplib.SMTP, from_addr: str, to_addr: str) -> tuple[str, str, str]:
    """The command lines, written directly: smtplib's mail()/rcpt() re-parse each address
    with email.utils (twice per message, for addresses validated when they were stored)."""
    for address, phase in ((from_addr, "mail"), (to_addr, "rcpt")):
        if not address or "@" not in address or _NOT_IN_ENVELOPE.search(address):
            raise MailRejected(f"{address!r} is not a usable envelope address", phase=phase)
    utf8 = ""
    if not (from_addr + to_addr).isascii():
        if not conn.has_extn("smtputf8"):
            raise MailRejected(f"{to_addr}: the server does not accept internationalised "
                               "addresses (no SMTPUTF8)", phase="rcpt")
        conn.command_encoding, utf8 = "utf-8", " SMTPUTF8"
    return f"MAIL FROM:<{from_addr}>{utf8}", f"RCPT TO:<{to_addr}>", "DATA"
_DISCONNECTED = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)


SCHEMES = ("smtp", "smtps", "smtp+insecure")
IMPLICIT_TLS_PORT = 465   # "submissions" (RFC 8314): TLS from the first byte


class SmtpTransport(_Throttled):
    """`smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it, and required
    before a login), `smtps://…` or port 465 (TLS from the first byte), or
    `smtp+insecure://…`: the only way to send a password over a connection without TLS
    (a relay on the same host, say), so it is never done by accident. One connection,
    opened on first use and reused for every message until close()."""

    def __init__(self, url: str, *, timeout: float = 30.0, rate: float = 0.0,
                 tls_context: ssl.SSLContext | None = None, limiter=None) -> None:
        super().__init__(rate, limiter)
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise BadInput(f"PRESSBOT_SMTP_URL: expected smtp://host[:port], smtps://… or "
                           f"smtp+insecure://…, got {parts.scheme or url!r}")
        self.host = parts.hostname
        self.port = parts.port or (IMPLICIT_TLS_PORT if parts.scheme == "smtps" else 25)
        self.implicit_tls = parts.scheme == "smtps" or self.port == IMPLICIT_TLS_PORT
        self.plaintext_auth = parts.scheme == "smtp+insecure"
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()
        self._conn: smtplib.SMTP | None = None
        self.connections = 0   # how many times we connected (reconnects are visible to tests)

    def _open(self) -> smtplib.SMTP:
        try:
            if self.implicit_tls:
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=self.tls_context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            secure = self.implicit_tls
            if not secure and conn.has_extn("starttls"):
                conn.starttls(context=self.tls_context)
                conn.ehlo()
                secure = True
            if self.user:
                if not secure and not self.plaintext_auth:
                    conn.close()
                    raise TransportRefused(
                        f"SMTP {self.host}:{self.port} offers no STARTTLS: pressbot will not "
                        f"send the password in clear text. Use smtps:// (port 465), or "
                        f"smtp+insecure:// if the server is on a link nobody can read")
                conn.login(self.user, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportRefused(f"SMTP login refused: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPResponseException as exc:
            cls = TransportRefused if exc.smtp_code >= 500 else TransportUnavailable
            raise cls(f"SMTP {self.host}:{self.port}: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportUnavailable(f"cannot reach SMTP {self.host}:{self.port}: {exc}") from None
        self.connections += 1
        return conn

    def send(self, from_addr: str, to_addr: str, message: bytes, *,
             meanwhile: Meanwhile | None = None) -> str:
        self._throttle()
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._open()
            try:
                return self._transaction(self._conn, from_addr, to_addr, message, meanwhile)
            except _Retry as exc:
                self._drop()
                if attempt == 2:
                    raise TransportUnavailable(f"SMTP {self.host}:{self.port} is not taking "
                                               f"mail: {exc}") from None
        raise AssertionError("unreachable")

    def _transaction(self, conn: smtplib.SMTP, from_addr: str, to_addr: str, message: bytes,
                     meanwhile: Meanwhile | None) -> str:
        commands = _envelope_commands(conn, from_addr, to_addr)
        handed_over = False
        try:
            self._check(conn, self._open_transaction(conn, commands, meanwhile))
            body = (_DOT_AT_LINE_START.sub(b"..", message)
                    if message.startswith(b".") or b"\n." in message else message)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            conn.send(body + b".\r\n")
            handed_over = True
            code, text = conn.getreply()
        except _DISCONNECTED as exc:
            self._drop()
            if not handed_over:
                raise _Retry(f"connection lost: {exc}") from None
            # The server may have queued it before the line dropped: only a later retry
            # (with the same Message-ID) can settle it.
            raise MailDeferred(f"connection lost after the message was sent, outcome unknown: "
                               f"{exc}", phase="data") from None
        if code != 250:
            raise _outcome(code, text, "data")
        return _reply(code, text)

    def _open_transaction(self, conn: smtplib.SMTP, commands: tuple[str, str, str],
                          meanwhile: Meanwhile | None) -> list[tuple[int, bytes]]:
        """MAIL, RCPT and DATA, and their replies. With PIPELINING (RFC 2920) the three go
        in one packet and the replies come back together: two round trips a message instead
        of four, which is most of the time a message takes on a fast server. `meanwhile`
        runs while the server reads them."""
        pipelining = conn.has_extn("pipelining")
        if pipelining:
            conn.send("".join(f"{c}\r\n" for c in commands))
        try:
            _run(meanwhile)
        except BaseException:
            self._drop()   # half a transaction is open: abandon it, nothing was delivered
            raise
        if pipelining:
            return [conn.getreply() for _ in commands]
        replies = []
        for command, ok in zip(commands, _OK):
            conn.putcmd(command)
            replies.append(conn.getreply())
            if replies[-1][0] not in ok:
                break
        return replies

    def _check(self, conn: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> None:
        for (code, text), phase, ok in zip(replies, ("mail", "rcpt", "data"), _OK):
            if code in ok:
                continue
            error = _outcome(code, text, phase)
            if isinstance(error, _Retry):
                raise error
            if len(replies) == 3 and replies[2][0] == 354:
                conn.send(".\r\n")   # a server that opened DATA anyway: close it empty
                conn.getreply()
            self._reset(conn)
            if phase == "mail":
                # The server refuses our sender, not this recipient.
                cls = TransportUnavailable if isinstance(error, TransientError) else TransportRefused
                raise cls(f"SMTP refused the sender {error}")
            raise error

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except _DISCONNECTED:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._drop()
        super().close()


# -- Outbox ---------------------------------------------------------------------------------------


_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<?([^>\r\n]+)>?", re.I | re.M)


def message_id_of(message: bytes) -> str | None:
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace").strip() if found else None


class OutboxTransport(_Throttled):
    """Writes each message to `<folder>/<message-id>.eml`. Same Message-ID, same file: a
    retry replaces the file instead of adding one (written to a temporary file first and
    renamed, so a reader never sees half a message)."""

    def __init__(self, folder: Path, *, rate: float = 0.0, limiter=None) -> None:
        super().__init__(rate, limiter)
        self.folder = Path(folder)

    def send(self, from_addr: str, to_addr: str, message: bytes, *,
             meanwhile: Meanwhile | None = None) -> str:
        self._throttle()
        _run(meanwhile)
        self.folder.mkdir(parents=True, exist_ok=True)
        mid = message_id_of(message)
        stem = (re.sub(r"[^A-Za-z0-9._@+=-]", "_", mid) if mid
                else hashlib.sha256(message).hexdigest())
        path = self.folder / f"{stem}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(message)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return f"250 2.0.0 written to {path}"


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Verifying contexts only: the system's CAs, or PRESSBOT_SMTP_CA_FILE's instead."""
    ca_file = settings.smtp_ca_file
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"PRESSBOT_SMTP_CA_FILE: {ca_file}: not a readable PEM CA bundle ({exc})") from None


def build_transport(settings: Settings) -> Transport:
    """The one factory: SMTP when PRESSBOT_SMTP_URL is set, else the outbox."""
    from bot.services.ratelimit import shared_bucket  # with REDIS_URL: one rate for all workers

    if settings.smtp_url:
        parts = urlsplit(settings.smtp_url)
        return SmtpTransport(settings.smtp_url, timeout=settings.smtp_timeout,
                             rate=settings.send_rate, tls_context=tls_context(settings),
                             limiter=shared_bucket(settings, f"smtp:{parts.hostname}:{parts.port}"))
    return OutboxTransport(settings.home / "outbox" / "email", rate=settings.send_rate,
                           limiter=shared_bucket(settings, "outbox"))
