"""Small server-rendered SVG charts for the dashboard (issue 14): no script, no CDN, no
style attributes (the CSP allows none inline), only SVG presentation attributes, so the
page's Content-Security-Policy needs nothing new. Pure: rows in, markup out."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 180
BAR_WIDTH = 300
VALUE_WIDTH = 60


def bar_chart(rows: list[tuple[str, int]], *, title: str) -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value. The numbers
    are written next to the bars and the whole chart has a text title, so a screen reader
    (or a person who would rather read) gets the same figures."""
    top = max((value for _, value in rows), default=0) or 1
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        w = round(BAR_WIDTH * max(value, 0) / top)
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<g><title>{escape(label)}: {value}</title>'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="currentColor">{escape(short)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w}" height="{BAR_HEIGHT}" rx="3" '
            f'fill="#1a5fb4"></rect>'
            f'<text x="{LABEL_WIDTH + w + 6}" y="{y + 15}" font-size="12" '
            f'fill="currentColor">{value}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
