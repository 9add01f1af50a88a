"""bot.ingest.discover: feeds named by <link rel="alternate">."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from bot.ingest.discover import FeedLink, choose_feed, discover_feeds

PAGE = (Path(__file__).resolve().parents[1] / "data" / "feeds" / "page.html").read_bytes()


def test_finds_feeds_absolute_deduplicated_xml_first():
    links = discover_feeds(PAGE, "https://news.example.org/about/")

    assert links == [
        FeedLink("https://news.example.org/feed/", "application/rss+xml",
                 "The Harbour Gazette » Feed"),
        FeedLink("https://news.example.org/comments/feed/", "application/rss+xml",
                 "The Harbour Gazette » Comments Feed"),
        # rel="ALTERNATE home", type with a parameter and odd case; relative to the page
        FeedLink("https://news.example.org/about/atom.xml", "application/atom+xml", "Atom"),
        # JSON Feed comes first in the page but after the feeds we can read
        FeedLink("https://news.example.org/feed.json", "application/feed+json", "JSON Feed"),
    ]


def test_leaves_out_non_feed_alternates_and_unsafe_urls():
    urls = [link.url for link in discover_feeds(PAGE, "https://news.example.org/")]

    assert not any("wp-json" in u for u in urls)            # WordPress's application/json
    assert "https://news.example.org/fr/" not in urls        # hreflang alternate, no type
    assert not any(u.startswith("javascript:") for u in urls)
    assert not any("site.css" in u for u in urls)


def test_choose_feed_takes_the_first_rss_or_atom_passing_over_comment_feeds():
    links = discover_feeds(PAGE, "https://news.example.org/")

    assert choose_feed(links).url == "https://news.example.org/feed/"
    assert choose_feed(links[1:]).url == "https://news.example.org/atom.xml"


def test_choose_feed_falls_back_to_a_comments_feed_and_ignores_json_feed():
    comments = FeedLink("https://x.example/comments/feed/", "application/rss+xml", "Comments")
    json_feed = FeedLink("https://x.example/feed.json", "application/feed+json")

    assert choose_feed([json_feed, comments]) == comments
    assert choose_feed([json_feed]) is None
    assert choose_feed([]) is None


def test_base_href_changes_what_relative_links_mean():
    page = ('<html><head><base href="https://cdn.example.net/site/">'
            '<link rel="alternate" type="application/rss+xml" href="rss.xml"></head></html>')

    assert discover_feeds(page, "https://x.example/page")[0].url == \
        "https://cdn.example.net/site/rss.xml"


def test_str_input_with_an_xml_declaration_and_links_in_body():
    page = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            '<body><link rel="alternate" type="application/atom+xml" href="/atom"/></body></html>')

    links = discover_feeds(page, "https://x.example/a/b")
    assert [(link.url, link.type, link.title) for link in links] == [
        ("https://x.example/atom", "application/atom+xml", None)]


def test_rdf_feeds_count_as_rss():
    page = '<link rel="alternate" type="application/rdf+xml" href="/index.rdf">'
    links = discover_feeds(page, "https://x.example/")

    assert choose_feed(links).url == "https://x.example/index.rdf"


@pytest.mark.parametrize("garbage", [
    b"", "", "   ", b"\x00\x01\x02\xff\xfe", "<<<>>>", "<html><head><link rel=alternate",
    b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", "<link rel='alternate' type='application/rss+xml'"
    " href='http://[::1'>", "<link rel=alternate type=application/rss+xml href=''>",
])
def test_garbage_never_raises(garbage):
    assert discover_feeds(garbage, "https://x.example/") == []


def test_feed_link_is_frozen():
    link = FeedLink("https://x.example/feed", "application/rss+xml")
    with pytest.raises(FrozenInstanceError):
        link.url = "https://evil.example/"  # type: ignore[misc]
