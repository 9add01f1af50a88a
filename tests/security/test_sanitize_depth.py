"""Deeply nested HTML cost the sanitiser quadratic time (100k nested <div>: 180 s). Depth
is bounded before nh3 runs: tags past MAX_DEPTH are dropped and their text kept. These
tests assert the result (text kept, depth bounded, shallow HTML untouched), not a time."""

from __future__ import annotations

import pytest

from bot.errors import BadInput
from bot.ingest import feeds, files
from bot.ingest.htmldepth import MAX_DEPTH, flatten_deep
from bot.ingest.sanitize import MAX_HTML_CHARS, sanitize_html

ATTACK = "<div>" * 100_000 + "<p>The deepest sentence.</p>" + "</div>" * 100_000


def test_100k_nested_divs_are_sanitised_keeping_their_text():
    # The <p> is past the limit too: flattened, so its text stays and its tag goes.
    assert sanitize_html(ATTACK) == "The deepest sentence."


def test_nesting_past_the_limit_is_flattened_not_kept():
    # blockquote survives the allowlist, so the depth that reaches nh3 can be counted.
    deep = "<blockquote>" * 5000 + "quoted" + "</blockquote>" * 5000
    cleaned = sanitize_html(deep)
    assert cleaned.count("<blockquote>") == MAX_DEPTH
    assert cleaned.count("</blockquote>") == MAX_DEPTH and "quoted" in cleaned


def test_a_pushed_article_with_the_attack_is_stored_with_its_text():
    draft = files.article_from_json({"title": "Deep", "url": "https://news.example.org/deep",
                                     "body_html": ATTACK}, "webhook body")
    assert draft.body_html == "The deepest sentence."


def test_a_feed_item_with_the_attack_is_ingested():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
            b'<title>Deep</title><link>https://news.example.org/deep</link><description><![CDATA['
            + ATTACK.encode() + b"]]></description></item></channel></rss>")
    [draft] = feeds.parse_feed(feed, "https://news.example.org/feed.xml").drafts
    assert "The deepest sentence." in draft.body_html


def test_ordinary_articles_are_left_as_they_are():
    article = ("<article><h2>Title</h2><p>One<p>Two<ul><li>a<li>b<li><ul><li>nested</ul></ul>"
               "<table><tr><td>1<td>2<tr><td>3</table><blockquote><p>q<br>r</p></blockquote>"
               "<script>var s = '<div><div><div>';</script></article>") * 50
    assert flatten_deep(article, max_depth=6) == article


def test_unclosed_paragraphs_and_items_do_not_count_as_depth():
    page = "<p>para" * 1000 + "<ul>" + "<li>item" * 1000 + "</ul>"
    assert flatten_deep(page, max_depth=4) == page


@pytest.mark.parametrize("text", ["a < b and c > d " * 50_000, "<a " * 100_000,
                                  "<!--" * 100_000, "</div>" * 100_000])
def test_odd_text_passes_through_the_depth_pass_unchanged(text):
    assert flatten_deep(text, max_depth=10) == text


def test_an_article_over_the_size_limit_is_refused_by_name():
    with pytest.raises(BadInput, match="over the 5,000,000-character limit"):
        sanitize_html("<p>" + "x" * MAX_HTML_CHARS + "</p>")
