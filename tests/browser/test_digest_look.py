"""The en/fr/ar digests in Chromium at a phone's and a desktop's width, as sent and as
Gmail shows them (attributes of <html> and <body> dropped): no sideways scrolling on a
phone, thumbnails above their story there and beside it on a desktop, long headlines in a
few lines, and an Arabic digest that still reads right to left. Screenshots are saved
next to the test's temporary files (bench/digest_screenshots.py makes them for people)."""

from __future__ import annotations

import pytest

from bench.digest_screenshots import gmail, load, rendered_html

pytestmark = pytest.mark.slow

# Story rows: the thumbnail's box, the headline's box and its line count.
_STORIES = """() => Array.from(document.querySelectorAll('.pb-storycol')).map(col => {
  const h3 = col.querySelector('h3'), td = col.closest('td');
  const thumb = td.querySelector('.pb-thumbcol img');
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {title: h3.textContent.trim(), dir: getComputedStyle(h3).direction,
          align: getComputedStyle(h3).textAlign, h3: box(h3),
          lines: Math.round(h3.getBoundingClientRect().height / parseFloat(getComputedStyle(h3).lineHeight)),
          thumb: thumb ? box(thumb) : null};
})"""


@pytest.fixture(scope="module")
def digests():
    return {language: rendered_html(language) for language in ("en", "fr", "ar")}


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("stripped", [False, True], ids=["as-sent", "gmail"])
def test_a_phone_gets_stacked_thumbnails_and_no_sideways_scrolling(page, digests, language,
                                                                    stripped, tmp_path):
    html = gmail(digests[language]) if stripped else digests[language]
    load(page, html, 375)
    page.screenshot(path=str(tmp_path / f"digest-{language}-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    stories = page.evaluate(_STORIES)
    with_thumbs = [s for s in stories if s["thumb"]]
    assert with_thumbs
    for story in with_thumbs:
        assert story["thumb"]["bottom"] <= story["h3"]["top"], story["title"]   # above, not beside
        assert story["lines"] <= 4, story                                       # not 6-7 lines
    card = page.locator("table.pb-container").bounding_box()
    image = page.locator("img.pb-fluid").bounding_box()
    assert card["width"] <= 375 and image["width"] >= card["width"] - 2 * 16 - 1   # full width


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_desktop_gets_thumbnails_beside_their_stories(page, digests, language, tmp_path):
    load(page, digests[language], 1000)
    page.screenshot(path=str(tmp_path / f"digest-{language}-1000.png"), full_page=True)
    for story in (s for s in page.evaluate(_STORIES) if s["thumb"]):
        assert story["thumb"]["top"] < story["h3"]["bottom"], story["title"]      # same row
        if story["dir"] == "rtl":
            assert story["thumb"]["left"] >= story["h3"]["right"]                # picture at the start: right
        else:
            assert story["thumb"]["right"] <= story["h3"]["left"]


def test_arabic_reads_right_to_left_without_html_and_body_attributes(page, digests, tmp_path):
    load(page, gmail(digests["ar"]), 1000)
    page.screenshot(path=str(tmp_path / "digest-ar-1000-gmail.png"), full_page=True)
    assert page.evaluate("document.documentElement.getAttribute('dir')") is None
    card = page.locator("table.pb-container").bounding_box()
    h1 = page.locator("h1")
    assert h1.evaluate("e => getComputedStyle(e).direction") == "rtl"
    # The headline hugs the card's right edge (32 px padding), not its left.
    range_box = h1.evaluate("""e => { const r = document.createRange(); r.selectNodeContents(e);
                                      const b = r.getBoundingClientRect(); return {left: b.left, right: b.right}; }""")
    assert card["x"] + card["width"] - range_box["right"] <= 33
    assert range_box["left"] - card["x"] > 33
    stories = page.evaluate(_STORIES)
    arabic = [s for s in stories if s["dir"] == "rtl"]
    english = [s for s in stories if s["title"].startswith("Council approves")]
    assert arabic and all(s["align"] in ("right", "start") for s in arabic)
    assert english and english[0]["dir"] == "ltr"             # an English story stays LTR
    footer = page.get_by_text("12 Harbour Street, Portsmouth PO1 2AB, United Kingdom")
    assert footer.count() == 1                                 # the address keeps its order
