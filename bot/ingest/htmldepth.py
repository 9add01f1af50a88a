"""Bounding how deeply nested an HTML fragment is, in one linear pass, before nh3 sees it.

html5ever (under nh3) does work proportional to the depth of the open-element stack for
each new element, so nesting is quadratic: 100k nested <div> took 180 s, 20k take 2 s.
No article needs more than a few dozen levels. Past MAX_DEPTH the tags are dropped and
their text kept (flattened), so the sanitiser's input is never deeper than that.

This pass only needs to be right about cost, not about HTML: whatever it leaves goes
through nh3's allowlist next. It approximates the tree builder where real articles need
it (void elements, an unclosed <p> or <li> closed by the next one, raw text in <script>)
and otherwise over-counts, which can only flatten sooner. Every search moves forward, and a
'>' found once is reused, so text like "a < b" repeated cannot make it quadratic.
"""

from __future__ import annotations

import re

MAX_DEPTH = 200

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr", "keygen", "frame", "basefont", "isindex"})
RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
                      "noframes", "noscript", "plaintext"})
# An open one of these is closed by the next of its group (an unclosed <p>, <li>, cell...).
_SIBLINGS = {"p": {"p"}, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"},
             "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"},
             "option": {"option"}, "optgroup": {"optgroup", "option"}}
# Blocks that close an open <p> (most common unclosed element in hand-written HTML).
_CLOSES_P = frozenset({"address", "article", "aside", "blockquote", "div", "dl", "fieldset",
                       "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
                       "hr", "main", "nav", "ol", "pre", "section", "table", "ul"})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)")


def flatten_deep(html: str, max_depth: int = MAX_DEPTH) -> str:
    """`html` with every tag that would open deeper than `max_depth` removed (its text
    stays). Returns `html` itself when nothing was that deep."""
    if html.count("<") - html.count("</") <= max_depth:
        return html  # fewer opening tags than the limit: nothing to count
    out: list[str] = []
    stack: list[str] = []
    dropped: dict[str, int] = {}     # open tags removed, per name: their end tags go too
    lower = html.lower()
    pos = copied = 0
    next_gt = -1
    while True:
        lt = html.find("<", pos)
        if lt < 0:
            break
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break
            pos = end + 3
            continue
        if next_gt <= lt:
            next_gt = html.find(">", lt + 1)
            if next_gt < 0:
                break              # no complete tag after here
        match = _TAG.match(html, lt, next_gt)
        if match is None:
            pos = lt + 1
            continue
        closing, name = match.group(1) == "/", match.group(2).lower()
        end = next_gt + 1
        pos = end
        if closing:
            if dropped.get(name):
                dropped[name] -= 1
                out.append(html[copied:lt])
                copied = end
            elif name in stack:
                while stack.pop() != name:
                    pass
            continue
        if name in VOID:
            continue
        if stack and (stack[-1] in _SIBLINGS.get(name, ()) or
                      (stack[-1] == "p" and name in _CLOSES_P)):
            stack.pop()
        if len(stack) >= max_depth:
            dropped[name] = dropped.get(name, 0) + 1
            out.append(html[copied:lt])
            copied = end
        else:
            stack.append(name)
        if name in RAW_TEXT:
            # Its content is text to the tree builder: skip to its end tag.
            close = lower.find(f"</{name}", end)
            pos = close if close >= 0 else len(html)
    if not out:
        return html
    out.append(html[copied:])
    return "".join(out)
