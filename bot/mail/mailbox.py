"""The bounce mailbox over IMAP or POP3: read a bounded number of messages, remove each one
once the caller has dealt with it. Standard library clients (imaplib, poplib).

    with open_mailbox("imaps://bounces:secret@mail.example.org/INBOX", timeout=20) as box:
        for key, raw in box.messages(limit=50):
            handle(raw)          # raises: the message stays for the next poll
            box.remove(key)

IMAP reads with BODY.PEEK (nothing is marked seen while we work), then flags each handled
message \\Deleted — or COPYs it to `move_to` first — and expunges when the mailbox is
closed, so a poll that dies half way leaves the unhandled messages where they were.
POP3 marks with DELE, which the server carries out only at QUIT: a connection that drops
removes nothing (the messages come again, and handling them is idempotent).

Errors become TransientError (the server is down, slow, or refused the login: retried at
the next tick) with the server's own words; a URL we cannot use is a BadInput.
"""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import unquote, urlsplit

from bot.errors import BadInput, TransientError

SCHEMES = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}


@dataclass(frozen=True)
class MailboxURL:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str

    @property
    def safe(self) -> str:
        """For logs and errors: no password."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_url(url: str) -> MailboxURL:
    parts = urlsplit(url or "")
    if parts.scheme not in SCHEMES:
        raise BadInput(f"PRESSBOT_BOUNCE_MAILBOX_URL: scheme {parts.scheme!r} is not one of "
                       f"{', '.join(SCHEMES)} (e.g. imaps://user:password@mail.example.org/INBOX)")
    if not parts.hostname or not parts.username:
        raise BadInput("PRESSBOT_BOUNCE_MAILBOX_URL: needs a user and a host "
                       "(imaps://user:password@mail.example.org/INBOX)")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise BadInput("PRESSBOT_BOUNCE_MAILBOX_URL: the port is not a number") from None
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if parts.scheme.startswith("pop3") and folder != "INBOX":
        raise BadInput("PRESSBOT_BOUNCE_MAILBOX_URL: POP3 has no folders (drop the path)")
    return MailboxURL(parts.scheme, parts.hostname, port, unquote(parts.username),
                      unquote(parts.password or ""), folder)


class _IMAP:
    def __init__(self, url: MailboxURL, timeout: float, move_to: str | None):
        self.url, self.move_to, self.removed = url, move_to, 0
        cls = imaplib.IMAP4_SSL if url.scheme == "imaps" else imaplib.IMAP4
        kwargs = {"ssl_context": ssl.create_default_context()} if url.scheme == "imaps" else {}
        self.conn = cls(url.host, url.port, timeout=timeout, **kwargs)
        if url.scheme == "imap" and "STARTTLS" in self.conn.capabilities:
            self.conn.starttls(ssl.create_default_context())
        self.conn.login(url.user, url.password)
        _ok(self.conn.select(_quote(url.folder)), f"SELECT {url.folder}")

    def messages(self, limit: int) -> Iterator[tuple[bytes, bytes]]:
        typ, data = self.conn.uid("SEARCH", None, "UNDELETED")
        _ok((typ, data), "UID SEARCH")
        for uid in (data[0] or b"").split()[:limit]:
            typ, fetched = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")
            _ok((typ, fetched), f"UID FETCH {uid.decode()}")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is not None:
                yield uid, raw

    def remove(self, key: bytes) -> None:
        if self.move_to:
            _ok(self.conn.uid("COPY", key, _quote(self.move_to)), f"UID COPY to {self.move_to}")
        _ok(self.conn.uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE \\Deleted")
        self.removed += 1

    def close(self) -> None:
        try:
            if self.removed:
                self.conn.expunge()
            self.conn.close()
        finally:
            self.conn.logout()


class _POP3:
    def __init__(self, url: MailboxURL, timeout: float):
        if url.scheme == "pop3s":
            self.conn = poplib.POP3_SSL(url.host, url.port, timeout=timeout,
                                        context=ssl.create_default_context())
        else:
            self.conn = poplib.POP3(url.host, url.port, timeout=timeout)
            try:
                self.conn.stls(ssl.create_default_context())
            except poplib.error_proto:
                pass   # the server offers no STLS: a plain local server (tests, localhost)
        self.conn.user(url.user)
        self.conn.pass_(url.password)

    def messages(self, limit: int) -> Iterator[tuple[int, bytes]]:
        count, _ = self.conn.stat()
        for number in range(1, min(count, limit) + 1):
            _, lines, _ = self.conn.retr(number)
            yield number, b"\r\n".join(lines) + b"\r\n"

    def remove(self, key: int) -> None:
        self.conn.dele(key)

    def close(self) -> None:
        self.conn.quit()   # the DELEs take effect here


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple, what: str) -> None:
    typ, data = answer
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise TransientError(f"bounce mailbox: {what} answered {typ} {detail}".strip())


@contextmanager
def open_mailbox(url: str, *, timeout: float, move_to: str | None = None):
    """A connected, logged-in mailbox with messages(limit) and remove(key)."""
    where = parse_url(url)
    box = None
    try:
        box = (_IMAP(where, timeout, move_to) if where.scheme.startswith("imap")
               else _POP3(where, timeout))
        yield box
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        said = exc.args[0] if exc.args else exc
        said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        said = " ".join(said.split())
        raise TransientError(f"bounce mailbox {where.safe}: {said}") from None
    except (OSError, socket.timeout) as exc:
        raise TransientError(f"bounce mailbox {where.safe}: {exc}") from None
    finally:
        if box is not None:
            try:
                box.close()
            except (imaplib.IMAP4.error, poplib.error_proto, OSError):
                pass  # the server went away: nothing removed that was not expunged/QUIT
