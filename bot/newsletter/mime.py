"""Per-recipient MIME: prepared once per variant, built per recipient by joining bytes.

The standard `EmailMessage` path re-encodes both bodies and re-folds every header for
each message (7-18 ms a message on the development machine, for 30-130 KB messages).
Here `prepare()` does that once: the common headers are encoded,
and each body is split at the placeholders left by `bot.newsletter.render` and its static
pieces are transfer-encoded ahead of time. `PreparedMessage.build()` then encodes only
the recipient's own values (a name, two links) and joins.

Transfer encoding, chosen per part at prepare time (`use_base64`):
- quoted-printable for a part whose letters are mostly Latin (English and French text,
  and HTML, which is mostly ASCII markup), even where base64 would be a few bytes smaller:
  spam filters read base64 text as disguise (SpamAssassin's MIME_BASE64_TEXT, and
  FONT_INVIS_MSGID only fires on parts that are not quoted-printable). Static pieces are
  encoded once, and a recipient's value is spliced in between soft line breaks ("=" CRLF,
  which decoders remove), so build() never touches the ~100 KB body; the .eml stays
  readable in the outbox and in test diffs.
- base64 only where it is the smaller and the letters are mostly not Latin (an Arabic
  text part, where quoted-printable would triple every letter): base64 cannot be spliced
  (its 3-byte groups straddle the values), so build() joins the raw pieces and runs
  `base64.encodebytes` over the part, which is C code at well over 500 MB/s.
Both keep body lines to 76 characters, and neither can contain "=_", which therefore
starts the boundary. build() costs ~0.07 ms without DKIM and ~1.7 ms with it (the RSA
signature; see _sign).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html as htmllib
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import Header
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from dkim.canonicalization import CanonicalizationPolicy

from bot.errors import PermanentError
from bot.newsletter.render import (ELSE, END, IF_NAME, MARKER, NAME, PREFERENCES_URL,
                                   UNSUBSCRIBE_URL, RenderedEmail)
from bot.newsletter.tracking import TRACK

_SLOTS = (NAME, UNSUBSCRIBE_URL, PREFERENCES_URL, TRACK)
_SLOT_RE = re.compile("(" + "|".join(map(re.escape, _SLOTS)) + ")")
_CHOICE_RE = re.compile(f"{re.escape(IF_NAME)}(.*?){re.escape(ELSE)}(.*?){re.escape(END)}", re.S)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SOFT_BREAK = b"=\r\n"
# Signed, and signed once more than present ("oversigned") where a second copy added in
# transit would change what the reader sees: From, Subject, and the unsubscribe pair,
# which RFC 8058 requires to be covered by the signature.
_SIGNED = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id",
           b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type",
           b"feedback-id",
           b"from", b"subject", b"reply-to", b"list-unsubscribe", b"list-unsubscribe-post")
# relaxed headers survive re-folding in transit; simple body, because our bodies are
# already canonical (QP/base64, CRLF, no trailing blanks) and it costs nothing.
_CANON = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None
    message_id: str
    unsubscribe_url: str | None = None
    preferences_url: str | None = None
    # The query of tracked links (bot.newsletter.tracking.track_value); a message built
    # without one (a preview) gets links that count as a reader's.
    track: str | None = None


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: bytes   # PEM, PKCS#1 or PKCS#8, RSA
    _rsa: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Parsed once: OpenSSL checks the key's consistency on load, which costs more
        # than a signature.
        try:
            key = serialization.load_pem_private_key(self.private_key, password=None)
        except (ValueError, TypeError) as exc:
            raise PermanentError(f"DKIM key for {self.domain}: not a usable PEM key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PermanentError(f"DKIM key for {self.domain}: only RSA keys are supported")
        object.__setattr__(self, "_rsa", key)

    @classmethod
    def from_settings(cls, settings: Any) -> DkimKey | None:
        """The configured key, read once; None unless domain, selector and key path are
        all set (bot.config)."""
        if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_key_path):
            return None
        path = Path(settings.dkim_key_path)
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise PermanentError(f"{path}: cannot read the DKIM key ({exc.strerror})") from None
        return cls(settings.dkim_domain, settings.dkim_selector, pem)


def message_id(edition_id: int, subscriber_id: int, domain: str) -> str:
    """Deterministic, so a retry carries the same id. The short hash is a checksum (it lets
    a bounce handler tell our ids from look-alikes), not a secret."""
    check = hashlib.sha256(f"{edition_id}.{subscriber_id}@{domain}".encode()).hexdigest()[:10]
    return f"<e{edition_id}.s{subscriber_id}.{check}@{domain}>"


def parse_message_id(value: str) -> tuple[int, int] | None:
    """(edition_id, subscriber_id) from one of our Message-IDs (e.g. quoted in a DSN)."""
    match = re.fullmatch(r"\s*<?e(\d+)\.s(\d+)\.([0-9a-f]{10})@([^>\s]+)>?\s*", value or "")
    if not match or message_id(int(match[1]), int(match[2]), match[4]) != \
            f"<e{match[1]}.s{match[2]}.{match[3]}@{match[4]}>":
        return None
    return int(match[1]), int(match[2])


# --- headers -----------------------------------------------------------------------------

def _clean(value: str | None) -> str:
    """One line: control characters (CR and LF above all: header injection) become spaces."""
    return _CONTROL.sub(" ", value or "").strip()


def _addr_spec(address: str) -> str:
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _CONTROL.search(address) or \
            any(c in address for c in " <>(),;\""):
        raise PermanentError(f"not a usable email address: {address!r}")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise PermanentError(f"not a usable email address: {address!r}") from None
    if not local.isascii():   # would need SMTPUTF8 (RFC 6531) end to end
        raise PermanentError(f"{address!r}: non-ASCII local part is not supported")
    return f"{local}@{domain}"


def _mailbox(name: str | None, address: str) -> str:
    """`name <address>` for a header, the name RFC 2047-encoded when it is not ASCII."""
    spec, name = _addr_spec(address), _clean(name)
    if not name:
        return spec
    if name.isascii():
        return formataddr((name, spec))    # quotes the name when it holds specials
    return Header(name, "utf-8").encode(linesep="\r\n") + f" <{spec}>"


def _header(name: str, value: str) -> bytes:
    """A header folded and encoded by the stdlib's modern folder (once per variant)."""
    return SMTP.header_factory(name, _clean(value)).fold(policy=SMTP).encode("ascii")


def _mailbox_header(name: str, mailbox: tuple[str | None, str] | str) -> bytes:
    if isinstance(mailbox, str):
        mailbox = parseaddr(mailbox)
    return f"{name}: {_mailbox(*mailbox)}\r\n".encode("ascii")


def _angle(value: str, what: str) -> str:
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    if _CONTROL.search(value) or " " in value or value.count("<") != 1:
        raise PermanentError(f"not a usable {what}: {value!r}")
    return value


# --- bodies ------------------------------------------------------------------------------

def _qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


_LINK = re.compile(r"(?:https?|mailto):\S+|%%PB:\w+%%")


def _latin_share(text: str) -> float:
    """The share of the letters of `text` that are Latin (ASCII or accented Latin), links
    and placeholders aside: an Arabic text part lists an ASCII link under each story."""
    letters = latin = 0
    for char in _LINK.sub(" ", text):
        if char.isalpha():
            letters += 1
            if char.isascii() or unicodedata.name(char, "").startswith("LATIN"):
                latin += 1
    return latin / letters if letters else 1.0


def use_base64(text: str, qp_size: int, raw_size: int) -> bool:
    """base64 for a part only when its letters are mostly not Latin and it is smaller
    (76-character lines plus CRLF: 78 bytes per 57 raw)."""
    base64_size = -(-raw_size // 57) * 78
    return base64_size < qp_size and _latin_share(text) < 0.5


class _Part:
    """One body split at its placeholders: static pieces, and the slots between them."""

    def __init__(self, text: str, content_type: str, boundary: bytes, escape_values: bool):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        pieces = _SLOT_RE.split(text)
        if MARKER in "".join(pieces[0::2]):
            raise PermanentError(f"{content_type}: unknown placeholder near "
                                 f"{text[text.index(MARKER):][:40]!r}")
        self.slots = tuple(pieces[1::2])
        self.escape_values = escape_values
        raw = [piece.replace("\n", "\r\n").encode("utf-8") for piece in pieces[0::2]]
        qp = [_qp(piece.encode("utf-8")) for piece in pieces[0::2]]
        self.base64 = use_base64(text, sum(map(len, qp)), sum(map(len, raw)))
        self.static = raw if self.base64 else qp
        cte = "base64" if self.base64 else "quoted-printable"
        self.head = (b"--" + boundary + b"\r\nContent-Type: " + content_type.encode()
                     + b'; charset="utf-8"\r\nContent-Transfer-Encoding: ' + cte.encode()
                     + b"\r\n\r\n")

    def encode(self, values: dict[str, str], out: list[bytes]) -> None:
        """Append this part, with `values` filled in, to `out`."""
        static = self.static
        out.append(self.head)
        if self.base64:
            chunks = [static[0]]
            for slot, piece in zip(self.slots, static[1:]):
                chunks += (self._value(values, slot).encode("utf-8"), piece)
            out.append(base64.encodebytes(b"".join(chunks)).replace(b"\n", b"\r\n"))
        else:
            out.append(static[0])
            for slot, piece in zip(self.slots, static[1:]):
                value = _qp(self._value(values, slot).encode("utf-8"))
                out += (_SOFT_BREAK, value, _SOFT_BREAK, piece)
        out.append(b"\r\n")

    def _value(self, values: dict[str, str], slot: str) -> str:
        value = values[slot]
        return htmllib.escape(value) if self.escape_values else value


def _choose(text: str, named: bool) -> str:
    """Resolve the IF_NAME … ELSE … END greeting choice for one kind of recipient."""
    return _CHOICE_RE.sub(lambda m: m[1] if named else m[2], text)


# --- the message -------------------------------------------------------------------------

class PreparedMessage:
    """One variant, ready to be built for any number of recipients. Nothing changes after
    prepare(), so one instance serves a whole batch."""

    def __init__(self, head: bytes, boundary: bytes, parts: dict[bool, tuple[_Part, _Part]],
                 date: bytes | None, mailto: str | None, dkim_key: DkimKey | None):
        self._head = head            # From, Reply-To, Subject, MIME-Version, List-Id
        self._content_type = (b'Content-Type: multipart/alternative; boundary="' + boundary
                              + b'"\r\n\r\n')
        self._closing = b"--" + boundary + b"--\r\n"
        self._parts = parts          # does the recipient have a name? → (text, html)
        self._date = date
        self._mailto = mailto
        self._dkim = dkim_key
        self._links = {slot for pair in parts.values() for part in pair
                       for slot in part.slots if slot != NAME}

    def build(self, r: Recipient) -> bytes:
        """The complete RFC 5322 message for `r`: CRLF line endings, body lines of at most
        76 characters, header lines under 998 (a long link can pass 78), DKIM-signed when
        prepare() was given a key."""
        name = _clean(r.name)
        values = {NAME: name, UNSUBSCRIBE_URL: _url(r.unsubscribe_url),
                  PREFERENCES_URL: _url(r.preferences_url), TRACK: r.track or "t=0"}
        for slot in self._links:
            if not values[slot]:
                raise PermanentError(f"{r.message_id}: the message needs {slot} "
                                     "and the recipient has none")
        out = [self._head, b"To: ", _mailbox(name, r.email).encode("ascii"),
               b"\r\nDate: ", self._date or _now(),
               b"\r\nMessage-ID: ", _angle(r.message_id, "Message-ID").encode("ascii"), b"\r\n"]
        out += self._unsubscribe_headers(values[UNSUBSCRIBE_URL])
        out.append(self._content_type)
        text, html = self._parts[bool(name)]
        text.encode(values, out)
        html.encode(values, out)
        out.append(self._closing)
        message = b"".join(out)
        if self._dkim is not None:
            message = _sign(message, self._dkim) + message
        return message

    def _unsubscribe_headers(self, url: str) -> list[bytes]:
        targets = [f"<{url}>"] if url else []
        if self._mailto:
            targets.append(f"<{self._mailto}>")
        if not targets:
            return []
        # Folded between the entries (RFC 2369 allows it): a token-bearing URL is long.
        lines = [b"List-Unsubscribe: ", ",\r\n ".join(targets).encode("ascii"), b"\r\n"]
        if url:   # RFC 8058 one-click needs an https URL to POST to
            lines.append(ONE_CLICK)
        return lines


def prepare(rendered: RenderedEmail, *, from_addr: tuple[str | None, str] | str,
            reply_to: tuple[str | None, str] | str | None = None, list_id: str | None = None,
            unsubscribe_mailto: str | None = None, date: datetime | None = None,
            dkim: DkimKey | None = None, feedback_id: str | None = None) -> PreparedMessage:
    """Once per variant: encode the common headers and the bodies' static pieces.

    `from_addr` / `reply_to`: (name, address) or a "Name <address>" string. `list_id`:
    "<name.domain>" (brackets added when missing); a list message is also marked
    `Precedence: bulk` (auto-responders stay quiet, RFC 3834). `feedback_id`: Gmail's
    Feedback-ID ("campaign:list:type:sender", complaint rates per campaign in Postmaster
    Tools). `date`: fixed Date header (tests, previews); None: the time of each build()."""
    if MARKER in rendered.subject:
        raise PermanentError("the subject cannot hold per-recipient placeholders")
    digest = hashlib.sha256("\0".join((rendered.subject, rendered.text, rendered.html))
                            .encode("utf-8")).hexdigest()
    boundary = b"=_pb" + digest[:24].encode("ascii")  # deterministic: same input, same bytes
    head = _mailbox_header("From", from_addr)
    if reply_to:
        head += _mailbox_header("Reply-To", reply_to)
    head += _header("Subject", rendered.subject) + b"MIME-Version: 1.0\r\n"
    if list_id:
        head += _header("List-Id", list_id if "<" in list_id else f"<{list_id.strip()}>")
        head += b"Precedence: bulk\r\n"
    if feedback_id:
        head += _header("Feedback-ID", feedback_id)
    parts = {}
    for named in (True, False):
        if not named and IF_NAME not in rendered.text + rendered.html:
            parts[False] = parts[True]  # no greeting choice: one body serves both
            break
        parts[named] = (_Part(_choose(rendered.text, named), "text/plain", boundary, False),
                        _Part(_choose(rendered.html, named), "text/html", boundary, True))
    stamp = None
    if date is not None:
        stamp = format_datetime(date if date.tzinfo else date.replace(tzinfo=timezone.utc))
    return PreparedMessage(head, boundary, parts, stamp.encode("ascii") if stamp else None,
                           _mailto(unsubscribe_mailto), dkim)


def _mailto(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.lower().startswith("mailto:"):
        value = "mailto:" + value
    return _url(value)


def _url(value: str | None) -> str:
    value = (value or "").strip()
    if value and (_CONTROL.search(value) or not value.isascii() or " " in value
                  or any(c in value for c in "<>\"")):
        raise PermanentError(f"not a usable link: {value!r}")
    return value


def _now() -> bytes:
    return format_datetime(datetime.now(timezone.utc)).encode("ascii")


def _fields_value(fields: list[tuple[bytes, bytes]]) -> bytes:
    return b"; ".join(b"=".join(pair) for pair in fields)


def _sign(message: bytes, key: DkimKey) -> bytes:
    """The DKIM-Signature header for `message` (rsa-sha256, relaxed/simple), exactly as
    `dkim.sign()` makes it (tests/unit/test_mime.py compares the two byte for byte).

    Why not call dkim.sign(): dkimpy does the RSA operation in pure Python (two 1024-bit
    `pow`s), ~14 ms a message, four times the whole stdlib MIME path this module exists to
    avoid. So dkimpy still parses and canonicalises the headers and lays out the header
    field, and OpenSSL (cryptography) signs the digest: ~1 ms."""
    split = message.index(b"\r\n\r\n") + 2
    headers, _ = dkim.rfc822_parse(message[:split] + b"\r\n")  # the header block only
    body = _CANON.canonicalize_body(message[split + 2:])
    domain, selector = key.domain.encode("ascii"), key.selector.encode("ascii")
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", _CANON.to_c_value()),
              (b"d", domain), (b"i", b"@" + domain), (b"q", b"dns/txt"), (b"s", selector),
              (b"t", str(int(time.time())).encode("ascii")), (b"h", b" : ".join(_SIGNED)),
              (b"bh", base64.b64encode(hashlib.sha256(body).digest())),
              (b"b", b"0" * 60)]   # dkimpy's trick: b= folds onto a line of its own
    unsigned = dkim.RE_BTAG.sub(b"\\1", dkim.fold(_fields_value(fields), namelen=14,
                                                     linesep=b"\r\n"))
    hasher = hashlib.sha256()
    dkim.hash_headers(hasher, _CANON, _CANON.canonicalize_headers(headers), _SIGNED,
                      (b"DKIM-Signature", b" " + unsigned), dict(fields))
    signature = key._rsa.sign(hasher.digest(), padding.PKCS1v15(),
                              asym_utils.Prehashed(hashes.SHA256()))
    fields[-1] = (b"b", base64.b64encode(signature))
    value = dkim.fold(_fields_value(fields) + b"\r\n", namelen=14, linesep=b"\r\n")
    return b"DKIM-Signature: " + value
