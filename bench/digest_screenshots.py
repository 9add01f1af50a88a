"""Screenshots of the en/fr/ar digests at phone and desktop widths, in headless Chromium.

    .venv/bin/python bench/digest_screenshots.py [OUT_DIR]     (default bench/screenshots)

For each language and width (375 and 1000 px) it saves `digest-<lang>-<width>.png` and
`digest-<lang>-<width>-gmail.png`: the same HTML with the attributes of <html> and <body>
removed, as Gmail does, which must still read right-to-left for Arabic. Images are
answered by the page's request router with generated SVG pictures (no network).
The browser test tests/browser/test_digest_look.py uses the same helpers and checks the
layout with the DOM; this script is for looking at it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (375, 1000)
LANGUAGES = ("en", "fr", "ar")
_PALETTE = ("#3b6e8f", "#8f5b3b", "#4f7f3a", "#6a4f8f", "#8f3b55", "#3b8f84")


def picture(url: str) -> bytes:
    """A stand-in photo for `url`: a gradient with the file's name, 1200×630."""
    name = url.rsplit("/", 1)[-1].split(".")[0]
    colour = _PALETTE[sum(map(ord, name)) % len(_PALETTE)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="630">'
            f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
            f'<stop offset="0" stop-color="{colour}"/><stop offset="1" stop-color="#222"/>'
            f'</linearGradient></defs><rect width="1200" height="630" fill="url(#g)"/>'
            f'<text x="60" y="560" font-family="sans-serif" font-size="90" fill="#fff">{name}</text>'
            f'</svg>').encode()


def gmail(html: str) -> str:
    """What Gmail keeps of the document's root: <html> and <body> without attributes."""
    html = re.sub(r"<html\b[^>]*>", "<html>", html, count=1, flags=re.I)
    return re.sub(r"<body\b[^>]*>", "<body>", html, count=1, flags=re.I)


def rendered_html(language: str) -> str:
    """The `language` sample digest as a reader without a name on file gets it."""
    from bot.newsletter.mime import Recipient, prepare
    from bot.newsletter.render import render_digest
    from tests.support.digest_samples import LISTS, SITE, snapshot

    rendered = render_digest(snapshot(language), LISTS[language], settings_view=SITE)
    message = prepare(rendered, from_addr=("Example News", "news@example.org")).build(Recipient(
        "reader@example.org", None, "<e42.s1@example.org>",
        "https://news.example.org/unsubscribe/t", "https://news.example.org/preferences/t"))
    return html_part(message)


def html_part(message: bytes) -> str:
    import email
    from email import policy

    parsed = email.message_from_bytes(message, policy=policy.default)
    return parsed.get_body(("html",)).get_content()


def load(page, html: str, width: int) -> None:
    """Show `html` in `page` at `width` CSS pixels, images answered locally."""
    page.set_viewport_size({"width": width, "height": 900})
    page.route("https://img.example.org/**", lambda route: route.fulfill(
        status=200, content_type="image/svg+xml", body=picture(route.request.url)))
    page.set_content(html, wait_until="load")


def main(out_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(device_scale_factor=1)
        for language in LANGUAGES:
            html = rendered_html(language)
            for width in WIDTHS:
                for suffix, variant in (("", html), ("-gmail", gmail(html))):
                    load(page, variant, width)
                    path = out_dir / f"digest-{language}-{width}{suffix}.png"
                    page.screenshot(path=str(path), full_page=True)
                    print(path, path.stat().st_size, "bytes")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "screenshots")
