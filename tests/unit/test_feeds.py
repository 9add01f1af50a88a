"""bot.ingest.feeds: RSS/Atom bytes into drafts, and what it refuses."""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.errors import BadInput
from bot.ingest.feeds import FeedRejected, NotAFeed, looks_like_html, parse_feed

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "feed.xml"
RSS = "application/rss+xml"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# -- Formats ----------------------------------------------------------------------------------


def test_rss20_example_feed_gives_full_drafts():
    result = parse_feed(EXAMPLE.read_bytes(), "https://news.example.org/feed.xml", RSS)

    assert result.title == "The Harbour Gazette"
    assert result.language == "en"
    assert result.rejected == [] and result.warnings == []
    assert len(result.drafts) == 5
    first = result.drafts[0]
    assert first.title == "Council approves new ferry timetable for the summer season"
    # canonical: tracking parameters gone
    assert first.url == "https://news.example.org/2024/05/14/ferry-timetable"
    assert first.guid == "harbour-gazette-10421"
    assert first.author == "Maya Lindqvist"
    assert first.categories == ("Transport", "Council")
    assert first.image == "https://news.example.org/media/2024/05/ferry.jpg"
    assert first.published == utc(2024, 5, 14, 6, 45)  # +0100 turned into UTC
    # the description is the summary; content:encoded is the body, links made absolute
    assert first.summary.startswith("Crossings every 20 minutes")
    assert 'href="https://news.example.org/tags/ferries"' in first.body_html
    assert 'src="https://news.example.org/media/2024/05/ferry-map.png"' in first.body_html


def test_rss20_example_feed_languages_categories_and_images():
    drafts = parse_feed(EXAMPLE.read_bytes(), "https://news.example.org/feed.xml", RSS).drafts
    french, arabic, qa, lifeboat = drafts[1], drafts[2], drafts[3], drafts[4]

    assert french.language == "fr"             # the item's own dc:language wins
    assert arabic.language == "en"             # otherwise the feed's, normalised
    assert french.categories == ("Économie", "Port")
    assert "ثقافة" in arabic.categories
    assert arabic.image == "https://news.example.org/media/2024/05/books-thumb.jpg"  # thumbnail
    assert qa.image == "https://news.example.org/media/2024/05/parking.png"         # enclosure
    assert lifeboat.image == "https://news.example.org/media/2024/05/lifeboat.jpg"  # type=image/*
    assert qa.title == "Q&A: what the new parking zones mean for residents"
    # a permalink guid is kept as the guid even though it equals the link
    assert french.guid == french.url


def test_description_equal_to_body_gives_the_lead_paragraph_as_summary():
    qa = parse_feed(EXAMPLE.read_bytes(), "https://news.example.org/feed.xml", RSS).drafts[3]

    assert qa.summary == "Permits, prices and the streets affected — your questions answered."
    assert "Zone C" in qa.body_html


def test_rss091_with_netscape_doctype_parses_without_fetching_the_dtd(monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("feedparser tried to fetch the DTD")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    result = parse_feed(load("rss091.xml"), "https://news.example.org/rss091.xml")

    assert [d.title for d in result.drafts] == [
        "Tide tables for the week", "Café owners welcome longer opening hours"]
    assert result.language == "en"
    assert result.drafts[0].url == "https://news.example.org/tides/week-20"


def test_rss10_rdf_items_dates_and_subjects():
    result = parse_feed(load("rss10.rdf"), "https://news.example.org/index.rdf")

    assert result.title == "Harbour Gazette (RDF)"
    assert result.language == "de"
    bridge = result.drafts[0]
    assert bridge.title == "Brückenarbeiten beginnen im Juni"
    assert bridge.author == "Lena Vogel"
    assert bridge.categories == ("Verkehr",)
    # dc:date is RSS 1.0's publication date
    assert bridge.published == utc(2024, 5, 9, 6, 0)
    assert result.drafts[1].published == utc(2024, 5, 8, 14, 30)


def test_atom10_xml_base_html_title_text_summary_and_language():
    result = parse_feed(load("atom10.xml"), "https://news.example.org/pt/atom.xml",
                        "application/atom+xml")

    assert result.title == "Gazeta do Porto"
    assert result.language == "pt-br"
    festival, works = result.drafts
    assert festival.title == "Festival de música confirmado"
    assert festival.url == "https://news.example.org/pt/2024/05/festival"   # via xml:base
    assert festival.guid == "tag:news.example.org,2024:pt/5501"
    assert festival.author == "Ana Souza"
    assert festival.categories == ("Cultura", "Música")
    assert festival.summary == "A 5 < 6 edição do festival acontece em agosto."  # type="text"
    assert 'href="https://news.example.org/pt/programa"' in festival.body_html
    assert festival.published == utc(2024, 5, 13, 21, 0)
    assert festival.updated == utc(2024, 5, 14, 11, 15)
    assert festival.language == "pt-br"
    # only <updated>: it is the best publication date there is
    assert works.published == works.updated == utc(2024, 5, 12, 10, 30)
    assert works.summary == "As obras devem durar três meses."


def test_rss_item_without_updated_has_no_updated_date():
    # feedparser's FeedParserDict answers "updated" with the published date; we must not.
    first = parse_feed(EXAMPLE.read_bytes(), "https://news.example.org/feed.xml", RSS).drafts[0]

    assert first.published is not None
    assert first.updated is None


# -- Bad items among good ones ----------------------------------------------------------------


def test_bad_items_are_reported_with_their_position_and_the_rest_ingest():
    url = "https://news.example.org/mixed.xml"
    result = parse_feed(load("mixed_items.xml"), url, RSS)

    # item 4 has only a description: valid RSS 2.0, titled by its first sentence
    assert [d.title for d in result.drafts] == [
        "First good item", "Item with a garbage date",
        "Neither title nor link nor guid: nothing to name this by.", "Last good item"]
    assert [(r.where, r.reason) for r in result.rejected] == [
        (f"{url} item 3", "title is empty and the item has no text to make one from"),
    ]
    assert f"{url} item 4: no title; made one from the item's text" in result.warnings
    # a garbage date costs the date, not the article, and says so
    assert result.drafts[1].published is None
    assert any(w.startswith(f"{url} item 2:") and "the day after tomorrow" in w
               for w in result.warnings)
    assert result.drafts[0].published == utc(2024, 5, 1, 9, 0)


def test_an_exception_while_building_one_item_rejects_only_that_item(monkeypatch):
    from bot.ingest import feeds

    real = feeds._author

    def explode_on_second(entry):
        if entry.get("title") == "Item with a garbage date":
            raise RuntimeError("boom")
        return real(entry)

    monkeypatch.setattr(feeds, "_author", explode_on_second)
    result = parse_feed(load("mixed_items.xml"), "https://x.example/f.xml", RSS)

    assert [d.title for d in result.drafts] == [
        "First good item", "Neither title nor link nor guid: nothing to name this by.",
        "Last good item"]
    assert ("https://x.example/f.xml item 2", "RuntimeError: boom") in [
        (r.where, r.reason) for r in result.rejected]


def test_items_without_link_or_date_still_ingest():
    result = parse_feed(load("sparse.xml"), "https://news.example.org/sparse.xml")

    url_guid, opaque, bare = result.drafts
    assert url_guid.url == url_guid.guid == "https://news.example.org/2024/05/07/url-guid"
    assert opaque.url is None and opaque.guid == "gazette-opaque-77"
    assert bare.url is None and bare.guid is None
    assert bare.title == "No link, no guid, no date"
    assert bare.published is None and bare.updated is None
    assert bare.summary == "Still an article: it has a title."
    assert result.rejected == []


# -- Malformed documents ----------------------------------------------------------------------


def test_not_well_formed_xml_recovers_items_and_warns_with_the_line():
    result = parse_feed(load("not_wellformed.xml"), "https://news.example.org/b.xml", RSS)

    assert [d.title for d in result.drafts] == [
        "Before the break", "Fish & chips prices rise", "After the break"]
    assert len(result.warnings) == 1
    assert "line 11" in result.warnings[0]          # the stray "&"
    assert "not well-formed" in result.warnings[0]


def test_line_number_is_the_documents_own_when_it_has_no_xml_declaration():
    # feedparser prepends a declaration line of its own; the warning must not count it.
    content = load("not_wellformed.xml").split(b"\n", 1)[1]
    result = parse_feed(content, "https://news.example.org/b.xml", RSS)

    assert "line 10" in result.warnings[0]


def test_html_page_is_not_a_feed_and_names_the_feed_it_links_to():
    with pytest.raises(NotAFeed) as caught:
        parse_feed(load("page.html"), "https://news.example.org/", "text/html; charset=utf-8")

    assert isinstance(caught.value, BadInput)
    assert "https://news.example.org/ is not a feed (HTML page" in str(caught.value)
    assert caught.value.feeds[0].url == "https://news.example.org/feed/"


def test_html_page_without_feed_links_says_so():
    page = b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</p></body></html>"
    with pytest.raises(NotAFeed, match=r"https://x\.example/ is not a feed \(HTML page; "
                                       r"no <link rel=alternate> feed found\)"):
        parse_feed(page, "https://x.example/", None)


@pytest.mark.parametrize("content", [b"", b"   \n", b'{"items": []}', b"<foo><bar/></foo>"])
def test_documents_that_are_no_feed_raise_not_a_feed(content):
    with pytest.raises(NotAFeed, match="is not a feed"):
        parse_feed(content, "https://x.example/feed", None)


def test_empty_but_valid_feed_is_not_an_error():
    content = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    result = parse_feed(content, "https://x.example/feed", RSS)

    assert result.title == "Quiet" and result.drafts == [] and result.rejected == []


# -- Entity expansion -------------------------------------------------------------------------


def test_billion_laughs_is_not_expanded_and_the_rest_of_the_feed_reads():
    content = load("billion_laughs.xml")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = parse_feed(content, "https://evil.example.net/feed", RSS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert time.perf_counter() - started < 5  # a generous bound: a blowup takes minutes
    # the reference stays as written, and a warning says why
    assert [d.title for d in result.drafts] == ["&lol9;"]
    assert any("9 not expanded" in w for w in result.warnings)


def quadratic_blowup(entity_size: int = 50_000, references: int = 20_000) -> bytes:
    # One flat entity referenced many times: no nesting, but 1 GB once expanded
    # (feedparser alone would keep such a "safe" entity).
    return (b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * entity_size
            + b'">\n]>\n<rss version="2.0"><channel><title>t</title><item><title>'
            + b"&a;" * references + b"</title></item></channel></rss>")


def test_quadratic_blowup_is_not_expanded_in_bounded_memory():
    content = quadratic_blowup()
    tracemalloc.start()
    try:
        result = parse_feed(content, "https://evil.example.net/feed", RSS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert "A" * 100 not in result.drafts[0].title
    assert any("1 not expanded" in w for w in result.warnings)


def test_short_plain_and_character_entities_are_expanded():
    content = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY co "ACME Ltd">'
               b'<!ENTITY eacute "&#233;">]>\n<rss version="2.0"><channel><title>t</title>'
               b'<item><title>&co; caf&eacute;</title><link>https://x.example/1</link></item>'
               b'</channel></rss>')
    result = parse_feed(content, "https://x.example/feed", RSS)

    assert result.drafts[0].title == "ACME Ltd café"
    assert not any("entit" in w for w in result.warnings)


@pytest.mark.parametrize("variant", [
    # a comment holding "<a" must not end the prolog early
    b'<?xml version="1.0"?>\n<!-- <a --><!DOCTYPE rss [<!ENTITY x "&y;">]>\n',
    # nor a "]>" inside a comment inside the internal subset
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [ <!-- ]> --> <!ENTITY x "&#38;&#38;"> ]>\n',
    # nor a ">" inside a quoted system id
    b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "a>b" [<!ENTITY x "y' + b"y" * 40 + b'">]>\n',
    # external entities (XXE) are entities too
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
    # parameter entities
    b'<!DOCTYPE rss [<!ENTITY % p "<!ENTITY x \'y\'>"> %p;]>\n',
])
def test_unsafe_entity_declarations_are_dropped_wherever_the_prolog_hides_them(variant):
    content = variant + b'<rss version="2.0"><channel><title>&x;</title><item><title>' \
        b'Kept</title></item></channel></rss>'
    result = parse_feed(content, "https://evil.example.net/feed", RSS)

    assert result.title == "&x;"   # never expanded: neither y, nor a file, nor a long text
    assert [d.title for d in result.drafts] == ["Kept"]
    assert any("1 not expanded" in w for w in result.warnings)


def test_an_entity_declaration_outside_a_readable_doctype_refuses_the_feed():
    # "head" (before the first <name) holds a declaration no DOCTYPE encloses
    content = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "b"> ]]> <!ENTITY x "&a;&a;">'
               b'<rss version="2.0"><channel><title>&x;</title></channel></rss>')
    with pytest.raises(FeedRejected, match="entity declarations outside a readable DOCTYPE"):
        parse_feed(content, "https://evil.example.net/feed", RSS)


@pytest.mark.parametrize("declaration", [b'<?xml version="1.0"?>',
                                         b'<?xml version="1.0" encoding="utf-16"?>'])
def test_utf16_cannot_hide_an_entity_declaration(declaration):
    content = quadratic_blowup(100, 10).replace(b'<?xml version="1.0"?>', declaration)
    content = content.decode("ascii").encode("utf-16")
    result = parse_feed(content, "https://evil.example.net/feed", None)

    assert "A" * 100 not in result.drafts[0].title
    assert any("1 not expanded" in w for w in result.warnings)


def test_entity_text_inside_an_item_is_not_a_declaration():
    content = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>XML tips</title>'
               b"<item><title>Why &lt;!ENTITY&gt; is dangerous</title>"
               b"<description><![CDATA[<p>Never expand <!ENTITY lol> blindly.</p>]]>"
               b"</description><link>https://x.example/1</link></item></channel></rss>")
    result = parse_feed(content, "https://x.example/feed", RSS)

    assert result.drafts[0].title == "Why <!ENTITY> is dangerous"


# -- Encodings --------------------------------------------------------------------------------


def test_windows1252_declared_utf8_by_http_is_read_and_warned_about():
    result = parse_feed(load("windows1252.xml"), "https://news.example.org/cp.xml",
                        "application/rss+xml; charset=utf-8")

    assert result.title == "Café Gazette – édition spéciale"
    draft = result.drafts[0]
    assert draft.title == "L’été au café du port"
    assert draft.summary == "Crème brûlée à 2 €."
    assert any("windows-1252" in w.lower() for w in result.warnings)


def test_windows1252_without_any_declaration_is_read():
    result = parse_feed(load("windows1252.xml"), "file:///feeds/cp.xml", None)

    assert result.drafts[0].title == "L’été au café du port"
    assert result.warnings == [
        "no character encoding declared and the text is not UTF-8; read as windows-1252"]


def test_utf8_without_declaration_or_content_type_is_read_as_utf8():
    content = ('<rss version="2.0"><channel><title>Ünïcödé</title><item><title>Żółć</title>'
               "<link>https://x.example/1</link></item></channel></rss>").encode("utf-8")
    result = parse_feed(content, "https://x.example/feed")

    assert result.title == "Ünïcödé"
    assert result.drafts[0].title == "Żółć"
    assert result.warnings == []


# -- Sanitising -------------------------------------------------------------------------------


def test_nothing_active_survives_into_body_title_or_summary():
    draft = parse_feed(load("xss.xml"), "https://evil.example.net/feed", RSS).drafts[0]
    body = draft.body_html.lower()

    assert "<script" not in body and "document.cookie" not in body
    assert "javascript:" not in body
    assert "data:" not in body
    assert "onerror" not in body and "onclick" not in body and "onmouseover" not in body
    assert "<iframe" not in body and "style=" not in body and "<svg" not in body
    assert "Styled" in draft.body_html          # the harmless text stays
    assert draft.title == "Innocent headline"   # script text does not leak into the title
    assert draft.summary == "Summary"


# -- looks_like_html --------------------------------------------------------------------------


@pytest.mark.parametrize("content, content_type, expected", [
    (b"<!DOCTYPE html><html><body></body></html>", None, True),
    (b"\n  <html><head></head></html>", "application/octet-stream", True),
    (b"<p>just a fragment</p>", "text/html; charset=utf-8", True),
    (b'<?xml version="1.0"?><rss version="2.0"></rss>', "text/html", False),  # mislabelled RSS
    (b'<?xml version="1.0"?><!-- hi --><feed xmlns="http://www.w3.org/2005/Atom"/>', None, False),
    (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "text/xml", False),
    ('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"), "text/html", False),
    (b'{"version": "https://jsonfeed.org/version/1.1"}', "application/json", False),
])
def test_looks_like_html(content, content_type, expected):
    assert looks_like_html(content, content_type) is expected


def test_plain_text_titles_keep_their_angle_brackets():
    content = (b'<rss version="2.0"><channel><title>Tips &amp; tricks: 5 &lt; 6</title>'
               b"<item><title>Use the &lt;p&gt; element</title>"
               b"<link>https://x.example/1</link></item></channel></rss>")
    result = parse_feed(content, "https://x.example/feed", RSS)

    assert result.title == "Tips & tricks: 5 < 6"
    assert result.drafts[0].title == "Use the <p> element"


def test_line_number_in_a_utf16_document_with_a_bom_and_no_declaration():
    content = load("not_wellformed.xml").split(b"\n", 1)[1].decode("utf-8").encode("utf-16")
    result = parse_feed(content, "https://news.example.org/b.xml", "application/rss+xml")

    assert any("line 10" in w for w in result.warnings)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_byte_order_mark_outranks_a_charset_label(codec):
    text = EXAMPLE.read_text(encoding="utf-8").replace('encoding="UTF-8"', "")
    content = ("\ufeff" + text).encode(codec)  # "utf-16-be" writes no BOM by itself
    result = parse_feed(content, "https://news.example.org/feed.xml",
                        "application/rss+xml; charset=utf-8")

    assert len(result.drafts) == 5
    assert result.drafts[1].categories == ("Économie", "Port")


# -- Relative links and item identity ---------------------------------------------------------

RELATIVE = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Relative</title><link>https://blog.example.org/</link>%s
<item><title>One</title><link>posts/1</link>
<description>&lt;a href="about.html"&gt;about&lt;/a&gt; &lt;img src="/i.png"&gt;</description></item>
<item xml:base="https://cdn.example.net/x/"><title>Two</title><link>2</link></item>
</channel></rss>"""


def test_a_local_feed_files_relative_links_resolve_against_its_alternate_link():
    result = parse_feed(RELATIVE % b"", "file:///srv/feeds/relative.xml")

    one, two = result.drafts
    assert one.url == "https://blog.example.org/posts/1"
    assert 'href="https://blog.example.org/about.html"' in one.body_html
    assert 'src="https://blog.example.org/i.png"' in one.body_html
    assert two.url == "https://cdn.example.net/x/2"          # xml:base outranks the feed


def test_the_self_link_outranks_the_alternate_link_and_the_fetch_url():
    self_link = b'<atom:link rel="self" href="https://feeds.example.com/b/rss"/>'
    result = parse_feed(RELATIVE % self_link, "https://mirror.example.net/relative.xml")

    assert result.drafts[0].url == "https://feeds.example.com/b/posts/1"


def test_without_feed_links_the_fetch_url_is_the_base():
    content = (b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
               b'<link>/a?rss</link></item></channel></rss>')
    result = parse_feed(content, "https://news.example.org/feeds/all.xml")

    assert result.drafts[0].url == "https://news.example.org/a?rss"


def test_items_told_apart_only_by_fragment_keep_distinct_identities():
    content = (b'<rss version="2.0"><channel><title>t</title>'
               b'<item><title>a</title><link>https://x.example/live#update-1</link></item>'
               b'<item><title>b</title><link>https://x.example/live#update-2</link></item>'
               b'<item><title>c</title><link>https://x.example/live#update-3</link>'
               b'<guid isPermaLink="false">own-guid</guid></item></channel></rss>')
    a, b, c = parse_feed(content, "https://x.example/feed").drafts

    assert a.url == b.url == c.url == "https://x.example/live"
    assert (a.guid, b.guid, c.guid) == (
        "https://x.example/live#update-1", "https://x.example/live#update-2", "own-guid")


def test_html_titles_become_plain_text():
    content = (b'<rss version="2.0"><channel><title>t</title><item><title>'
               b'&lt;script&gt;alert(1)&lt;/script&gt;Budget vote &lt;img src="x.png"&gt; ends'
               b' in tie</title></item><item><title>40 ft&lt;sup&gt;2&lt;/sup&gt; flat</title>'
               b'</item></channel></rss>')
    result = parse_feed(content, "https://x.example/feed")

    assert [d.title for d in result.drafts] == ["Budget vote ends in tie", "40 ft2 flat"]


def test_atom_title_precedence_as_feedparsers_own_tests_expect():
    # feedparser's node_precedence/atom10_title.xml: "entries[0]['title'] ==
    # entries[1]['title'] == 'Correct Value'", whatever an <image><title> inside says.
    path = (Path(__file__).resolve().parents[1] / "data" / "feeds-corpus" / "feedparser"
            / "wellformed" / "node_precedence" / "atom10_title.xml")
    result = parse_feed(path.read_bytes(), "https://x.example/feed")

    assert [d.title for d in result.drafts] == ["Correct Value", "Correct Value"]
