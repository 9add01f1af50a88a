"""Campaign-tagged links."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from bot.errors import BadInput

_UTM_OURS = ("utm_source", "utm_medium", "utm_campaign")
# Characters legal in a URI as they are; everything else (spaces, quotes, non-ASCII) is
# percent-encoded, which names the same resource (IRI → URI) and keeps the link whole when
# a platform's link detector stops at the first character it does not expect.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]"
# twitter-text and Mastodon do not end a link on "." or "~": they would leave it behind.
_BAD_ENDING = re.compile(r"[.~]+$")


def _uri(text: str) -> str:
    return quote(text, safe=_URI_SAFE)


def _link_ending(encoded: str) -> str:
    """Percent-encode a trailing "." or "~" (the same URL, RFC 3986 6.2.2.2), which X and
    Mastodon would otherwise cut off the link, taking the query after it along."""
    match = _BAD_ENDING.search(encoded)
    if not match:
        return encoded
    return encoded[: match.start()] + "".join("%2E" if c == "." else "%7E" for c in match.group())


def _value(text: str) -> str:
    return _link_ending(quote(text, safe=""))


def _host(netloc: str) -> str:
    """An internationalised host name in its ASCII (IDNA) form."""
    if netloc.isascii():
        return netloc
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")  # IPv6 literals are ASCII: never here
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = _uri(host)
    return _uri(userinfo) + at + host + colon + _uri(port)


def tag_url(url: str, platform: str, campaign: str) -> str:
    """`url` with utm_source=<platform>, utm_medium=social, utm_campaign=<campaign>.

    The article's own query is kept byte for byte, in order, except earlier values of
    these three parameters, which ours replace. An empty campaign adds no utm_campaign."""
    parts = urlsplit((url or "").strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadInput(f"url: {url!r} is not an http(s) URL")
    kept = [
        _uri(segment)
        for segment in parts.query.split("&")
        if segment and unquote_plus(segment.split("=", 1)[0]).lower() not in _UTM_OURS
    ]
    ours = [("utm_source", platform), ("utm_medium", "social"), ("utm_campaign", campaign)]
    kept += [f"{key}={_value(value)}" for key, value in ours if value]
    path = _link_ending(_uri(parts.path)) or "/"
    return urlunsplit((parts.scheme.lower(), _host(parts.netloc), path, "&".join(kept),
                       _uri(parts.fragment)))
