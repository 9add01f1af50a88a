"""Article HTML through nh3 with an allowlist: nothing active survives. Its size and
nesting depth are bounded first (nh3's tree builder is quadratic in depth)."""

from __future__ import annotations

from urllib.parse import urljoin

import nh3

from bot.errors import BadInput
from bot.ingest.htmldepth import flatten_deep

# No article body is this long; refused rather than sanitised (the caller reports it).
MAX_HTML_CHARS = 5_000_000

# What an article body needs to read well in a digest or on a page; nothing that runs.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "*": {"dir", "lang"},
}
# data: and javascript: are refused by leaving them out; mailto is fine in a link.
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize_html(fragment: str | None, base_url: str | None = None) -> str:
    """Clean `fragment`; relative links and images become absolute against `base_url`."""
    if not fragment:
        return ""
    if len(fragment) > MAX_HTML_CHARS:
        raise BadInput(f"article HTML is {len(fragment):,} characters, over the "
                       f"{MAX_HTML_CHARS:,}-character limit")
    fragment = flatten_deep(fragment)

    def absolutize(element: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src") and base_url:
            return urljoin(base_url, value.strip())
        return value

    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=absolutize,
        strip_comments=True,
    ).strip()
