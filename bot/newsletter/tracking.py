"""Click and open tracking in a rendered digest (issue 14), once per variant.

Every article link of a rendered variant becomes `<base>/r/<token>?<TRACK>`, and the HTML
gets a 1×1 pixel `<base>/o/<token>.gif?<TRACK>`. The token is the signed
`[edition_id, article_id, destination]`: the redirect reads its destination from the
signature-checked token, so `/r/` is never an open redirect, and nothing is looked up to
answer it. Tokens carry no timestamp: a link in a year-old email still works. A campaign
with an A/B subject test adds the message's subject letter as a fourth element
(`[…, "b"]`, bot.domain.ab_test), so its clicks count per subject; three-element tokens
(every email sent before, and every edition without a test) read as before.

`TRACK` is a per-recipient placeholder (bot.newsletter.mime fills it in like the unsubscribe
link): `t=<send time>` for every list, so a click seconds after delivery can be told from a
reader's; plus `s=<signed subscriber id>` only on lists that keep a per-subscriber click
history (off by default: personal data).

The rewrite is string work on the already inlined HTML and the text part: premailer still
runs once per variant (DESIGN principle 3).
"""

from __future__ import annotations

import html as htmllib
import json
import re
import zlib
from dataclasses import dataclass, replace

from itsdangerous import BadSignature, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_decode

from bot.domain.ab_test import LETTERS
from bot.errors import BadInput
from bot.newsletter.values import MARKER

TRACK = MARKER + "TRACK%%"
# Subject letters a link may carry (an A/B subject test's).
VARIANTS = LETTERS
_LINK_SALT = "pressbot-link"
_READER_SALT = "pressbot-reader"
_HREF_RE = re.compile(r'href="(https?://[^"]+)"')
_PIXEL = ('<img src="{src}" width="1" height="1" alt="" '
          'style="display: block; width: 1px; height: 1px; border: 0;">')


class BadLink(BadInput):
    """A tracking token that is forged, truncated or not one at all."""


@dataclass(frozen=True)
class Link:
    edition_id: int
    article_id: int | None
    url: str
    variant: str = ""       # the A/B subject letter; "" when the edition has no test


class _Reader:
    """URLSafeSerializer.loads for one salt, without its per-call cost: itsdangerous derives
    the key (an HMAC) and builds a signer on every call, more than half of a redirect's
    time. The key is derived once and a signer with key_derivation="none" checks with it,
    which is the same HMAC: tokens are those URLSafeSerializer makes and reads."""

    def __init__(self, secret: str, salt: str):
        key = URLSafeSerializer(secret, salt=salt).make_signer().derive_key()
        self._signer = Signer(key, salt=salt, key_derivation="none")

    def loads(self, token: str):
        payload = self._signer.unsign(token.encode("ascii", "replace"))
        compressed = payload.startswith(b".")
        try:
            data = base64_decode(payload[1:] if compressed else payload)
            return json.loads(zlib.decompress(data) if compressed else data)
        except (ValueError, zlib.error) as exc:   # binascii.Error is a ValueError
            raise BadSignature(f"undecodable payload ({exc})") from None


class LinkSigner:
    """Makes and reads the tokens of tracked links and of readers (subscriber ids)."""

    def __init__(self, secret: str):
        self._links = URLSafeSerializer(secret, salt=_LINK_SALT)
        self._readers = URLSafeSerializer(secret, salt=_READER_SALT)
        self._read_links = _Reader(secret, _LINK_SALT)
        self._read_readers = _Reader(secret, _READER_SALT)

    def link_token(self, link: Link) -> str:
        payload = [link.edition_id, link.article_id, link.url]
        return self._links.dumps(payload + [link.variant] if link.variant else payload)

    def read_link(self, token: str) -> Link:
        try:
            payload = self._read_links.loads(token)
        except BadSignature:
            raise BadLink("this link is invalid (bad signature)") from None
        if not (isinstance(payload, list) and len(payload) in (3, 4) and _is_id(payload[0])
                and (payload[1] is None or _is_id(payload[1])) and isinstance(payload[2], str)
                and payload[2].startswith(("http://", "https://"))
                and (len(payload) == 3 or payload[3] in VARIANTS)):
            raise BadLink("this link is malformed")
        return Link(payload[0], payload[1], payload[2], payload[3] if len(payload) == 4 else "")

    def reader_token(self, subscriber_id: int) -> str:
        return self._readers.dumps(int(subscriber_id))

    def read_reader(self, token: str) -> int | None:
        """The subscriber id, or None for a token that does not check (the click still
        counts in the aggregates; it just joins no one's history)."""
        try:
            value = self._read_readers.loads(token)
        except BadSignature:
            return None
        return value if _is_id(value) else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def track_value(sent_at: int, reader: str | None = None) -> str:
    """What TRACK becomes for one recipient: the send time (Unix seconds) and, on lists
    that keep a click history, the reader token."""
    return f"t={int(sent_at)}" + (f"&s={reader}" if reader else "")


def parse_track(query: bytes) -> tuple[int | None, str | None]:
    """(send time, reader token) from a tracked URL's raw query string (both values are
    URL-safe as written: digits and itsdangerous' base64)."""
    values = {}
    for pair in query.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        values.setdefault(key, value)
    return read_track(values)


def read_track(query: dict) -> tuple[int | None, str | None]:
    """(send time, reader token) from a tracked URL's query; junk gives (None, …)."""
    raw = query.get("t")
    try:
        sent = int(raw) if raw is not None else None
    except ValueError:
        sent = None
    return sent, (query.get("s") or None)


def tracked(rendered, *, base_url: str, edition_id: int, article_urls: dict[str, int | None],
            signer: LinkSigner, variant: str = ""):
    """`rendered` (a RenderedEmail) with each link in `article_urls` (the URL as the
    template wrote it → article id) pointed at the redirect, and a pixel in the HTML.
    Other links (unsubscribe, the web version, sign-up) stay as they are. `variant`: the
    A/B subject letter the links count under ("" without a test)."""
    base = base_url.rstrip("/")
    cache: dict[str, str] = {}

    def redirect(url: str) -> str:
        if url not in cache:
            token = signer.link_token(Link(edition_id, article_urls[url], url, variant))
            cache[url] = f"{base}/r/{token}?{TRACK}"
        return cache[url]

    def in_html(match: re.Match) -> str:
        url = htmllib.unescape(match[1])
        if url not in article_urls:
            return match[0]
        return f'href="{htmllib.escape(redirect(url))}"'

    html = _HREF_RE.sub(in_html, rendered.html)
    pixel = _PIXEL.format(src=htmllib.escape(
        f"{base}/o/{signer.link_token(Link(edition_id, None, base + '/', variant))}.gif?{TRACK}"))
    at = html.rfind("</body>")
    html = html[:at] + pixel + html[at:] if at >= 0 else html + pixel
    text = rendered.text
    # Longest first, whole URLs only (followed by white space or the end): /a must not
    # rewrite the start of /a?b.
    for url in sorted(article_urls, key=len, reverse=True):
        text = re.sub(re.escape(url) + r"(?=\s|$)", lambda _m, u=url: redirect(u), text)
    return replace(rendered, html=html, text=text)
