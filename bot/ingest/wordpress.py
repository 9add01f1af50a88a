"""The WordPress REST API (/wp-json/wp/v2/posts?_embed=1) into ArticleDrafts.

Pure: `wp_posts_url` says what to fetch, `parse_wp_posts` reads the decoded JSON.
WordPress HTML-escapes every "rendered" string (titles carry `&#8217;`, term names
`&amp;`); each is decoded exactly once, by clean_title / clean_categories / summarize.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from bot.domain.articles import (
    ArticleDraft, ParseResult, Rejection, canonical_url, clean_categories, clean_title,
    plain_text, summarize, to_utc,
)
from bot.errors import BadInput
from bot.ingest.sanitize import sanitize_html

# The REST API refuses per_page above 100 (rest_invalid_param).
WP_MAX_PER_PAGE = 100


def wp_posts_url(site_url: str, *, page: int = 1, per_page: int = 50,
                 after: datetime | None = None) -> str:
    """The posts collection URL, newest changes first, with authors, terms and featured
    images embedded. `after` asks only for posts modified since then."""
    if page < 1 or not 1 <= per_page <= WP_MAX_PER_PAGE:
        raise ValueError(f"page must be >= 1 and per_page 1..{WP_MAX_PER_PAGE}")
    params = [("_embed", "1"), ("per_page", str(per_page)), ("page", str(page)),
              ("orderby", "modified"), ("order", "desc")]
    if after is not None:
        # With an explicit offset WordPress converts to the site's time zone before
        # comparing with post_modified (WP_Date_Query::build_mysql_datetime); a naive
        # string would be read as site-local time.
        params.append(("modified_after", to_utc(after).isoformat(timespec="seconds")))
    return f"{_site_root(site_url)}/wp-json/wp/v2/posts?{urlencode(params)}"


def parse_wp_posts(data: object, site_url: str) -> ParseResult:
    """Drafts from one page of posts; a post that cannot be used is a Rejection naming its
    position. A body that is not a list (a WP_Error object, say) raises BadInput."""
    if not isinstance(data, list):
        raise BadInput(_not_a_list(data, site_url))
    site = _site_root(site_url)
    result = ParseResult()
    for n, post in enumerate(data, start=1):
        where = f"{site_url} post {n}"
        if isinstance(post, dict) and post.get("id") is not None:
            where += f" (id {post['id']})"
        try:
            result.drafts.append(_draft(post, site))
        except BadInput as exc:
            result.rejected.append(Rejection(where=where, reason=str(exc)))
        except Exception as exc:  # one odd post must not cost us the rest of the page
            result.rejected.append(Rejection(where=where, reason=f"{type(exc).__name__}: {exc}"))
    return result


def _site_root(site_url: str) -> str:
    """The site's address without query, fragment or trailing slash; a path is kept
    (WordPress in a sub-folder answers under it)."""
    parts = urlsplit(site_url.strip())
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _not_a_list(data: object, site_url: str) -> str:
    if isinstance(data, dict) and "code" in data:
        status = data.get("data", {}).get("status") if isinstance(data.get("data"), dict) else None
        suffix = f" (HTTP {status})" if status else ""
        return (f"{site_url}: WordPress error {data.get('code')}: "
                f"{data.get('message') or 'no message'}{suffix}")
    return f"{site_url}: expected a JSON list of posts, got {type(data).__name__}"


def _draft(post: object, site: str) -> ArticleDraft:
    if not isinstance(post, dict):
        raise BadInput(f"not a post object (got {type(post).__name__})")
    status = post.get("status")
    if status not in (None, "publish"):
        raise BadInput(f"status is {status!r}, not published")
    title = clean_title(sanitize_html(_rendered(post.get("title"))))
    if not title:
        raise BadInput("title is empty" if post.get("title") is not None else "post has no title")
    if (post.get("content") or {}).get("protected"):
        # The API withholds the body; the post is not meant for everyone.
        raise BadInput("post is password-protected")
    link = canonical_url(post.get("link"))
    body = sanitize_html(_rendered(post.get("content")), base_url=link or site + "/")
    embedded = post.get("_embedded") if isinstance(post.get("_embedded"), dict) else {}
    return ArticleDraft(
        title=title,
        url=link,
        guid=_guid(post, site),
        summary=summarize(_excerpt(_rendered(post.get("excerpt"))), body),
        body_html=body,
        image=_featured_image(embedded),
        image_alt=_featured_image_alt(embedded),
        author=_author(embedded),
        language=None,
        categories=_categories(embedded),
        published=_gmt(post.get("date_gmt")),
        updated=_gmt(post.get("modified_gmt")),
    )


def _rendered(field: object) -> str:
    if isinstance(field, dict):
        field = field.get("rendered")
    return field if isinstance(field, str) else ""


def _guid(post: dict, site: str) -> str:
    # guid.rendered went through esc_url (`&` as `&#038;`); decoded it equals the <guid>
    # of the same post in the site's RSS feed, so both sources name one article.
    guid = html.unescape(_rendered(post.get("guid"))).strip()
    if guid:
        return guid
    if post.get("id") is None:
        raise BadInput("post has neither guid nor id")
    return f"{site}#post-{post['id']}"


# "Continue reading <title>" / "Read more" links that themes append to excerpts.
_MORE_LINK = re.compile(
    r"<a\b[^>]*(?:class=[\"'][^\"']*\b(?:more-link|read-more)\b[^>]*>|>\s*(?:continue reading"
    r"|read more)\b).*?</a>", re.I | re.S)
_MORE_TAIL = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|(?:continue reading|read more)\s*"
                        r"(?:→|»|…|\.\.\.)?)\s*$", re.I)


def _excerpt(rendered: str) -> str:
    """The excerpt without the "[…]" or "Continue reading" tail, as escaped text so that
    summarize() decodes it exactly once."""
    text = plain_text(_MORE_LINK.sub(" ", rendered))
    previous = None
    while previous != text:  # "… […] Continue reading" has two tails
        previous, text = text, _MORE_TAIL.sub("", text)
    return html.escape(text, quote=False)


def _categories(embedded: dict) -> tuple[str, ...]:
    """Category names, then tag names. WordPress's default "Uncategorized" says nothing."""
    terms = [term for group in _list(embedded.get("wp:term")) for term in _list(group)
             if isinstance(term, dict) and isinstance(term.get("name"), str)]
    ordered = [t for t in terms if t.get("taxonomy") == "category"]
    ordered += [t for t in terms if t.get("taxonomy") == "post_tag"]
    return clean_categories([t["name"] for t in ordered if t.get("slug") != "uncategorized"])


def _featured_image(embedded: dict) -> str | None:
    for media in _list(embedded.get("wp:featuredmedia"))[:1]:
        # A private attachment embeds as an error object ({"code": "rest_forbidden", ...}).
        if isinstance(media, dict) and isinstance(media.get("source_url"), str):
            return media["source_url"] if canonical_url(media["source_url"]) else None
    return None


def _featured_image_alt(embedded: dict) -> str | None:
    """The media library's alt text, else its caption (rendered HTML): the digest's lead
    image needs the picture's own description, not the headline."""
    for media in _list(embedded.get("wp:featuredmedia"))[:1]:
        if isinstance(media, dict):
            alt = media.get("alt_text")
            text = alt if isinstance(alt, str) and alt.strip() else _rendered(media.get("caption"))
            return " ".join(plain_text(text).split()) or None
    return None


def _author(embedded: dict) -> str | None:
    for author in _list(embedded.get("author"))[:1]:
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            return clean_title(author["name"]) or None
    return None


def _gmt(value: object) -> datetime | None:
    """WordPress's *_gmt fields are naive ISO strings in UTC; drafts have null."""
    if not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError:  # "0000-00-00T00:00:00" from old databases
        return None


def _list(value: object) -> list:
    return value if isinstance(value, list) else []
