"""Telegram: HTML parse mode, at most 4096 characters of text after entity parsing."""

from __future__ import annotations

import html
import re

from bot.errors import BadInput

LIMIT = 4096
# The tags Telegram's HTML parse mode accepts (Bot API, "HTML style").
ALLOWED_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "tg-emoji", "code", "pre", "blockquote",
})
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>")
# Telegram decodes only these named entities, and numeric ones.
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def escape_text(text: str) -> str:
    return html.escape(text, quote=False)


def escape_attribute(text: str) -> str:
    return html.escape(text, quote=True)


def visible_text(markup: str) -> str:
    """The message text Telegram keeps once it has parsed the tags and entities."""
    return html.unescape(_TAG.sub("", markup))


def telegram_length(markup: str) -> int:
    """Length after entity parsing, in UTF-16 code units: Telegram's clients and the MTProto
    entity offsets count those, and they are never fewer than code points, so a text within
    the limit in these units is within it however the server counts."""
    return len(visible_text(markup).encode("utf-16-le")) // 2


def check_markup(markup: str, where: str = "telegram template") -> None:
    """Refuse what Telegram would refuse: unknown tags, stray `<`, `>` or `&`.

    Variables are escaped before rendering, so anything caught here came from the template."""
    for match in _TAG.finditer(markup):
        if match.group(1).lower() not in ALLOWED_TAGS:
            raise BadInput(f"{where}: tag <{match.group(1)}> is not allowed in Telegram HTML")
    rest = _ENTITY.sub("", _TAG.sub("", markup))
    for char in "<>&":
        if char in rest:
            raise BadInput(f"{where}: unescaped {char!r} outside a tag or entity")


def link_preview(url: str) -> dict:
    """`link_preview_options` for sendMessage: preview the article, with its large image."""
    return {"url": url, "prefer_large_media": True}
