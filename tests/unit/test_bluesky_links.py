"""Bluesky's link text (issue 14): shown short as Bluesky's own client shows it (social-app's
toShortUrl / shortenLinks), counted short, with the full address in the facet."""

from __future__ import annotations

import pytest

from bot.domain.snippets import SnippetInput, compose, platform_length
from bot.domain.snippets.bluesky import links, post_text, short_url
from bot.domain.snippets.rules import DEFAULT_RULES, fits

UTM = ("https://news.example.com/2026/11/harbour-reopens-after-the-storm"
       "?utm_source=bluesky&utm_medium=social&utm_campaign=morning-digest")


@pytest.mark.parametrize("url, shown", [
    (UTM, "news.example.com/2026/11/harb..."),            # path + query over 15: 13 kept, "..."
    ("https://example.com", "example.com"),
    ("https://example.com/", "example.com"),
    ("https://example.com/abcd/efg?h=1#i", "example.com/abcd/efg?h=1#i"),  # 15: kept whole
    ("https://example.com/abcd/efg?h=1#ij", "example.com/abcd/efg?h=1..."),  # 16: cut
    ("HTTPS://Example.COM:443/x", "example.com/x"),        # host lower-cased, default port dropped
    ("http://example.com:8080/x", "example.com:8080/x"),
    ("https://example.com/caf\u00e9", "example.com/caf%C3%A9"),  # as the URL parser encodes it
    ("ftp://example.com/file", "ftp://example.com/file"),  # not http(s): as it is
])
def test_short_url_is_bluesky_clients_link_text(url, shown):
    assert short_url(url) == shown


@pytest.mark.parametrize("text, found", [
    ("see https://a.example/x.", ["https://a.example/x"]),             # final "." left out
    ("(https://a.example/x)", ["https://a.example/x"]),                # unmatched ")" left out
    ("https://a.example/wiki/A_(b)", ["https://a.example/wiki/A_(b)"]),
    ("xhttps://a.example/x and example.com", []),                      # not after a space; no scheme
])
def test_links_are_found_as_bluesky_detects_them(text, found):
    assert [text[s:e] for s, e in links(text)] == found


def test_post_text_shortens_every_link_and_facets_point_at_the_short_text_with_the_full_uri():
    text = f"Ferry 🚢 back: {UTM} and https://other.example/a-long-path-here #City"

    shown, facets = post_text(text, UTM)

    assert shown == ("Ferry 🚢 back: news.example.com/2026/11/harb... and "
                     "other.example/a-long-path-... #City")
    data = shown.encode("utf-8")
    got = [(data[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(), f["features"][0])
           for f in facets]
    assert got == [
        ("news.example.com/2026/11/harb...", {"$type": "app.bsky.richtext.facet#link", "uri": UTM}),
        ("other.example/a-long-path-...", {"$type": "app.bsky.richtext.facet#link",
                                           "uri": "https://other.example/a-long-path-here"}),
        ("#City", {"$type": "app.bsky.richtext.facet#tag", "tag": "City"}),
    ]
    # An editor's text that kept the short text is linked to the article's full URL.
    again, facets = post_text(shown, UTM)
    assert again == shown and facets[0]["features"][0]["uri"] == UTM


def test_the_link_costs_its_short_text_not_its_full_length():
    assert len(UTM) == 129
    text = "Harbour reopens " + UTM
    assert platform_length("bluesky", text) == 16 + 32
    # 300 graphemes: a text that fits with the link short would not with it whole.
    long_text = "a" * 250 + " " + UTM
    assert fits("bluesky", long_text, DEFAULT_RULES["bluesky"])


def test_a_composed_post_keeps_the_summary_the_full_link_used_to_crowd_out():
    item = SnippetInput(title="Harbour reopens after the storm", summary="word " * 60,
                        url="https://news.example.com/2026/11/harbour-reopens-after-the-storm")
    snip = compose("bluesky", item, campaign="morning-digest")

    assert snip.url in snip.facets[0]["features"][0]["uri"] and snip.url not in snip.text
    assert snip.length == platform_length("bluesky", snip.text) <= 300
    # The text keeps 300 - title - short link - breaks of summary; with the ~130-character
    # link in full it kept about 100 characters less.
    summary = snip.text.split("\n\n")[1]
    assert len(summary) > 300 - 31 - 32 - 8 - 10
