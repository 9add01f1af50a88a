"""Page metadata: which source wins, and that broken or odd pages still give what they can."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.ingest.htmlmeta import (
    PageMeta, extract_meta, find_page_date, language_code, parse_date, parse_iso_date,
)

UTC = timezone.utc


def page(head: str = "", body: str = "", html_attrs: str = "") -> str:
    return f"<!doctype html><html {html_attrs}><head>{head}</head><body>{body}</body></html>"


def ld(json_text: str) -> str:
    return f'<script type="application/ld+json">{json_text}</script>'


ARTICLE_LD = ld("""{"@context": "https://schema.org", "@type": "NewsArticle",
  "headline": "Headline from JSON-LD", "description": "Description from JSON-LD",
  "datePublished": "2024-05-30T12:00:00Z", "dateModified": "2024-05-31T12:00:00Z",
  "author": {"@type": "Person", "name": "Ada Byline"}, "articleSection": "Science",
  "image": "https://cdn.example.org/ld.jpg", "inLanguage": "it-IT"}""")


def test_open_graph_wins_over_json_ld():
    head = (
        '<meta property="og:title" content="Title from OG">'
        '<meta property="og:description" content="Description from OG">'
        '<meta property="og:image" content="https://cdn.example.org/og.jpg">'
        '<meta property="article:published_time" content="2024-06-01T09:00:00+02:00">'
        '<meta property="article:modified_time" content="2024-06-02T09:00:00+02:00">'
        '<meta property="article:section" content="Politics">'
        '<meta property="og:locale" content="pt_BR">'
        + ARTICLE_LD
    )
    meta = extract_meta(page(head))
    assert meta.title == "Title from OG"
    assert meta.description == "Description from OG"
    assert meta.image == "https://cdn.example.org/og.jpg"
    assert meta.published == datetime(2024, 6, 1, 7, 0, tzinfo=UTC)
    assert meta.modified == datetime(2024, 6, 2, 7, 0, tzinfo=UTC)
    assert meta.section == "Politics"
    assert meta.language == "pt-br"


def test_json_ld_fills_what_open_graph_lacks():
    meta = extract_meta(page("<title>Tab title | Site</title>" + ARTICLE_LD, "<h1>Page heading</h1>"))
    assert meta.title == "Headline from JSON-LD"
    assert meta.description == "Description from JSON-LD"
    assert meta.image == "https://cdn.example.org/ld.jpg"
    assert meta.published == datetime(2024, 5, 30, 12, 0, tzinfo=UTC)
    assert meta.modified == datetime(2024, 5, 31, 12, 0, tzinfo=UTC)
    assert meta.author == "Ada Byline"
    assert meta.section == "Science"
    assert meta.language == "it"


def test_title_falls_back_to_title_element_then_first_h1():
    assert extract_meta(page("<title> Tab  title </title>", "<h1>Heading</h1>")).title == "Tab title"
    assert extract_meta(page("", "<h1>First <em>heading</em></h1><h1>Second</h1>")).title == "First heading"


def test_graph_with_author_reference_and_type_list():
    graph = ld("""{"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": "https://x.example/#page", "name": "Not the article"},
        {"@type": "Person", "@id": "https://x.example/#p1", "name": "Lena Haas"},
        {"@type": "Person", "@id": "https://x.example/#p2", "name": "Omar Idris"},
        {"@type": ["CreativeWork", "ReportageNewsArticle"], "headline": "From the graph",
         "author": [{"@id": "https://x.example/#p1"}, {"@id": "https://x.example/#p2"}],
         "datePublished": "2024-09-14T08:00:00+02:00"}]}""")
    meta = extract_meta(page(graph))
    assert meta.title == "From the graph"
    assert meta.author == "Lena Haas, Omar Idris"
    assert meta.published == datetime(2024, 9, 14, 6, 0, tzinfo=UTC)


def test_top_level_json_ld_list_skips_non_article_nodes():
    items = ld("""[{"@type": "BreadcrumbList", "name": "Crumbs"},
                   {"@type": "BlogPosting", "headline": "The post", "keywords": ["a", "b"]}]""")
    meta = extract_meta(page(items))
    assert meta.title == "The post"
    assert meta.tags == ("a", "b")


def test_malformed_json_ld_is_ignored_and_the_rest_still_read():
    head = (
        '<meta property="og:title" content="Still here">'
        + ld('{"@type": "NewsArticle", "headline": "Broken", "datePublished": }')
        + ld('{"@type": "Article", "datePublished": "2024-01-02T03:04:05Z", "author": "Kim Lee"}')
    )
    meta = extract_meta(page(head))
    assert meta.title == "Still here"
    assert meta.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert meta.author == "Kim Lee"


def test_repeated_article_tags_then_keywords_string():
    head = (
        '<meta property="article:tag" content="Rail">'
        '<meta property="article:tag" content="Strikes">'
        + ld('{"@type": "NewsArticle", "keywords": "Unions, Rail ,  Wages"}')
    )
    assert extract_meta(page(head)).tags == ("Rail", "Strikes", "Unions", "Wages")


def test_canonical_link_beats_og_url_and_relative_canonical_is_resolved():
    head = ('<link rel="canonical" href="/news/a-story">'
            '<meta property="og:url" content="https://news.example.org/amp/a-story">')
    assert extract_meta(page(head)).url == "https://news.example.org/news/a-story"
    only_og = '<meta property="og:url" content="https://news.example.org/og">'
    assert extract_meta(page(only_og)).url == "https://news.example.org/og"


def test_image_falls_back_to_twitter_and_is_made_absolute():
    head = ('<meta name="twitter:image" content="/img/card.png">'
            '<meta property="og:url" content="https://news.example.org/a/b">')
    assert extract_meta(page(head)).image == "https://news.example.org/img/card.png"


def test_language_from_html_lang_then_og_locale():
    assert extract_meta(page(html_attrs='lang="fr-FR"')).language == "fr"
    assert extract_meta(page('<meta property="og:locale" content="fr_FR">')).language == "fr"
    assert extract_meta(page(html_attrs='lang="not a language"')).language is None


def test_time_element_is_the_last_resort_for_published():
    body = ('<aside><time datetime="2020-01-01">old</time></aside>'
            '<article><time datetime="2024-03-05T10:00:00+01:00">5 March</time></article>')
    assert extract_meta(page("", body)).published == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def test_author_profile_url_is_not_a_name():
    head = ('<meta property="article:author" content="https://social.example/jane">'
            '<meta name="author" content="Jane Doe">')
    assert extract_meta(page(head)).author == "Jane Doe"


def test_entities_are_decoded_once_only():
    # The source says "&amp;lt;" — the editor wrote the text "&lt;", not a tag.
    head = '<meta property="og:title" content="Tom &amp; Jerry &amp;lt;3">'
    assert extract_meta(page(head)).title == "Tom & Jerry &lt;3"


def test_markup_only_title_candidates_are_skipped():
    head = '<meta property="og:title" content="&lt;b&gt;&lt;/b&gt;"><title>Real title</title>'
    assert extract_meta(page(head)).title == "Real title"


def test_xml_declaration_and_empty_input_do_not_crash():
    xhtml = '<?xml version="1.0" encoding="utf-8"?>' + page("<title>XHTML page</title>")
    assert extract_meta(xhtml).title == "XHTML page"
    assert extract_meta("") == PageMeta()
    assert extract_meta("   ") == PageMeta()


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01T10:00:00+02:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
    ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
    ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),   # naive is UTC
    ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
    ("Fri, 01 Mar 2024 10:00:00 +0100", datetime(2024, 3, 1, 9, 0, tzinfo=UTC)),
    ("yesterday", None),
    ("", None),
    (None, None),
])
def test_parse_date(text, expected):
    parsed = parse_date(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_parse_iso_date_refuses_rfc_2822():
    assert parse_iso_date("Fri, 01 Mar 2024 10:00:00 +0100") is None


@pytest.mark.parametrize(("tag", "code"), [
    ("fr_FR", "fr"), ("EN-gb", "en"), ("pt_BR", "pt-br"), ("ar", "ar"),
    ("french", None), ("", None), (None, None), ("e", None),
])
def test_language_code(tag, code):
    assert language_code(tag) == code


# -- Issue 10: site names, and dates outside article metadata ------------------------------


@pytest.mark.parametrize(("head", "title"), [
    ('<meta property="og:site_name" content="The Gazette"><title>Ferry back | The Gazette</title>',
     "Ferry back"),
    ('<meta property="og:site_name" content="The Gazette"><title>The Gazette - Ferry back</title>',
     "Ferry back"),
    ('<meta property="og:site_name" content="Other"><title>Ferry back | The Gazette</title>',
     "Ferry back | The Gazette"),                 # not the site's name: kept
    ('<meta property="og:site_name" content="The Gazette"><title>The Gazette</title>',
     "The Gazette"),                              # only the site name: kept
    ('<title>Ferry back | News - Gazette</title></head><body><h1>Ferry back</h1>',
     "Ferry back"),                               # no site name, but the page's headline
])
def test_page_titles_lose_the_site_name(head, title):
    assert extract_meta(f"<html><head>{head}</head><body></body></html>").title == title


@pytest.mark.parametrize("head", [
    '<meta name="date" content="2022-05-05">',
    '<meta name="DC.date" content="2022-05-05">',
    '<meta name="dcterms.created" content="2022-05-05">',
    '<script type="application/ld+json">{"@type": "WebPage", "datePublished": "2022-05-05"}'
    '</script>',
])
def test_dates_in_dublin_core_meta_and_webpage_json_ld(head):
    page = f"<html><head><title>t</title>{head}</head><body><p>x</p></body></html>"
    assert extract_meta(page).published == datetime(2022, 5, 5, tzinfo=UTC)


def test_htmldate_finds_a_date_written_in_the_text():
    page = ("<html><head><title>Harbour news</title></head><body><article><h1>Harbour news</h1>"
            "<p class='byline'>Published 2022-5-5 by the desk</p><p>Story.</p></article>"
            "</body></html>")
    assert extract_meta(page).published is None
    assert find_page_date(page) == datetime(2022, 5, 5, tzinfo=UTC)
    assert find_page_date("<html><body><p>No date here.</p></body></html>") is None
