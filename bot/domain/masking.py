"""Secrets inside URLs kept out of what people see: a feed, database, broker or SMTP URL
may carry `user:password@`; pages, listings and error messages show `user:***@`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def mask_url(url: str | None) -> str | None:
    """The URL with its password (if any) replaced by ***; anything else unchanged,
    including text that is no URL at all."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Unparseable (a bad port or bracket): hide everything before the last @.
        scheme, sep, _rest = url.partition("://")
        return f"{scheme}{sep}{MASK}@{url.rsplit('@', 1)[1]}" if sep else url
    if not password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostport}"))


_USERINFO_IN_TEXT = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*):[^\s/@]+@")


def mask_text(text: str | None) -> str | None:
    """Every `scheme://user:password@` inside free text (an error message quoting a URL)
    with the password masked."""
    return _USERINFO_IN_TEXT.sub(rf"\g<head>:{MASK}@", text) if text and "@" in text else text
