"""Article files into ArticleDraft: each format, the JSON schema's errors, and encodings."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.errors import BadInput
from bot.ingest.files import (
    SUPPORTED_SUFFIXES, article_from_json, decode_bytes, iter_article_files, parse_article_file,
)

UTC = timezone.utc
DATA = Path(__file__).resolve().parents[1] / "data" / "articles"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"


# -- HTML ---------------------------------------------------------------------------------


def test_html_article_metadata_and_canonical_url():
    draft = parse_article_file(DATA / "og-and-jsonld.html")
    assert draft.title == "Council approves new river path (OG)"
    assert draft.url == "https://tribune.example.net/news/river-path"   # utm and #top gone
    assert draft.guid is None
    assert draft.summary == "Six kilometres of path will link the old mill to the estuary."
    assert draft.image == "https://tribune.example.net/img/river-path.jpg"
    assert draft.author == "Tomas Riedel"
    assert draft.language == "en"
    assert draft.categories == ("City", "Walking", "Environment", "Cycling")
    assert draft.published == datetime(2024, 6, 1, 7, 0, tzinfo=UTC)


def test_html_body_keeps_the_story_and_drops_active_content():
    body = parse_article_file(DATA / "og-and-jsonld.html").body_html
    assert "three new footbridges" in body
    assert 'href="https://tribune.example.net/docs/river-path.pdf"' in body
    for bad in ("<script", "INJECTED-SCRIPT-TEXT", "onclick", "onmouseover", "javascript:"):
        assert bad not in body


def test_html_body_drops_nav_footer_and_share_clutter():
    body = parse_article_file(DATA / "og-and-jsonld.html").body_html
    for clutter in ("Sign in to your account", "FOOTER-COPYRIGHT", "Share This", "Facebook Twitter"):
        assert clutter not in body


def test_html_json_ld_graph_and_heading_equal_to_title_not_repeated():
    draft = parse_article_file(DATA / "graph-keywords.html")
    assert draft.title == "Orchard festival returns after two-year break"
    assert draft.url == "https://valley.example.com/2024/09/orchard-festival"
    assert draft.author == "Lena Haas"
    assert draft.language == "de"
    assert draft.categories == ("Culture", "apples", "festivals", "harvest")
    assert draft.updated == datetime(2024, 9, 14, 8, 30, tzinfo=UTC)
    assert "<h1" not in draft.body_html
    # No description: the summary is the lead paragraph.
    assert draft.summary.startswith("The orchard festival in the upper valley returns")


def test_html_malformed_json_ld_does_not_stop_the_page():
    draft = parse_article_file(DATA / "malformed-jsonld.html")
    assert draft.title == "Nueva biblioteca en el barrio norte"
    assert draft.published == datetime(2024, 2, 10, 10, 0, tzinfo=UTC)
    assert draft.url is None


def test_html_title_made_only_of_markup_is_bad_input():
    with pytest.raises(BadInput, match=r"markup-title\.html: no title"):
        parse_article_file(DATA / "markup-title.html")


# -- Markdown -----------------------------------------------------------------------------


def test_markdown_first_heading_is_the_title_and_leaves_the_body():
    draft = parse_article_file(DATA / "no-frontmatter-title.md")
    assert draft.title == "Night trains return to the coast line"
    assert "<h1" not in draft.body_html
    assert "Night trains return" not in draft.body_html
    assert "<h2>Stops</h2>" in draft.body_html
    assert draft.url is None and draft.published is None


def test_markdown_raw_html_and_javascript_links_are_not_passed_through():
    body = parse_article_file(DATA / "no-frontmatter-title.md").body_html
    assert "<script" not in body
    # Raw HTML is shown as text (markdown-it html=False), not handed to the sanitiser.
    assert "&lt;script&gt;" in body
    assert 'href="javascript' not in body
    assert '<a href="https://rail.example.org/night"' in body


def test_markdown_front_matter_fields_and_aliases():
    draft = parse_article_file(DATA / "frontmatter.md")
    assert draft.title == "Market hall reopens"
    assert draft.url == "https://news.example.org/city/market-hall"
    assert draft.published == datetime(2024, 7, 1, tzinfo=UTC)
    assert draft.summary == "The renovated market hall opens its doors on Saturday."
    assert draft.image == "https://news.example.org/img/market.jpg"
    assert draft.author == "Ines Duarte, Paul Berg"
    assert draft.language == "pt-br"
    assert draft.categories == ("City", "Food", "Markets")


def test_markdown_bad_front_matter_date_names_the_key(tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: T\ndate: last week\n---\nBody\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"bad\.md: field 'date': not an ISO 8601 date: 'last week'"):
        parse_article_file(path)


def test_markdown_without_any_title_is_bad_input(tmp_path):
    path = tmp_path / "untitled.md"
    path.write_text("Just a paragraph.\n\n## A subheading\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"untitled\.md: no title"):
        parse_article_file(path)


# -- Plain text ---------------------------------------------------------------------------


def test_text_title_repeated_title_and_trailing_boilerplate():
    draft = parse_article_file(DATA / "scraped.txt")
    assert draft.title == "Ferry fares frozen for another year"
    assert "Ferry fares frozen" not in draft.body_html
    assert draft.body_html.startswith("<p>The island ferry company")
    for clutter in ("CATEGORIES", "Share This", "Facebook", "Transport"):
        assert clutter not in draft.body_html
    assert draft.categories == ("Transport", "Islands")
    assert "Fridays &amp; Saturdays" in draft.body_html
    # Hard-wrapped lines are one paragraph.
    assert "unchanged. The company said" in draft.body_html
    assert draft.body_html.count("<p>") == 3


def test_text_empty_categories_block_and_other_markers(tmp_path):
    path = tmp_path / "post.txt"
    text = "Title\n\nOne <b>paragraph</b>.\n\ncategories:\nShare this:\nTwitter\n"
    path.write_text(text, encoding="utf-8")
    draft = parse_article_file(path)
    assert draft.body_html == "<p>One &lt;b&gt;paragraph&lt;/b&gt;.</p>"
    assert draft.categories == ()


def test_text_related_marker_cuts_the_rest(tmp_path):
    path = tmp_path / "post.txt"
    path.write_text("Title\nBody line.\n\nRelated Posts\nAnother story\n", encoding="utf-8")
    draft = parse_article_file(path)
    assert draft.body_html == "<p>Body line.</p>"


def test_text_empty_file_is_bad_input(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\n  \n")
    with pytest.raises(BadInput, match=r"empty\.txt: no title"):
        parse_article_file(path)


# -- JSON ---------------------------------------------------------------------------------


def test_json_file_is_validated_and_sanitised():
    draft = parse_article_file(DATA / "post.json")
    assert draft.title == "Bridge inspection closes lane & footpath"
    assert draft.url == "https://news.example.org/city/bridge-inspection"   # fbclid gone
    assert draft.guid == "4711"
    assert draft.image == "https://news.example.org/img/bridge.jpg"
    assert draft.language == "en"
    assert draft.categories == ("City", "Roads")
    assert draft.published == datetime(2024, 8, 20, 6, 0, tzinfo=UTC)
    assert draft.summary.startswith("The west lane of the Stone Bridge is closed until Friday")
    assert "<script" not in draft.body_html and "javascript:" not in draft.body_html
    assert 'href="https://news.example.org/roads"' in draft.body_html


def test_json_body_text_becomes_escaped_paragraphs():
    draft = article_from_json(
        {"title": "T", "url": "https://a.example/x", "body_text": "<b>one</b>\nstill one\n\ntwo"},
        "hook")
    assert draft.body_html == "<p>&lt;b&gt;one&lt;/b&gt; still one</p>\n<p>two</p>"


VALID = {"title": "A title", "url": "https://news.example.org/a"}


@pytest.mark.parametrize(("changes", "message"), [
    ({"published": "yesterday"}, "post.json: field 'published': not an ISO 8601 date: 'yesterday'"),
    ({"updated": 1717000000}, "post.json: field 'updated': not an ISO 8601 date: 1717000000"),
    ({"title": None}, "post.json: field 'title': required"),
    ({"title": "   "}, "post.json: field 'title': required"),
    ({"title": "<b><i></i></b>"}, "post.json: field 'title': empty once markup is removed"),
    ({"title": 12}, "post.json: field 'title': expected a string, got a number"),
    ({"url": None}, "post.json: field 'url': required"),
    ({"url": "ftp://news.example.org/a"}, "post.json: field 'url': not an absolute http(s) URL"),
    ({"url": "/relative"}, "post.json: field 'url': not an absolute http(s) URL"),
    ({"image": "javascript:alert(1)"}, "post.json: field 'image': not an absolute http(s) URL"),
    ({"categories": "Politics"}, "post.json: field 'categories': expected a list of strings"),
    ({"categories": ["ok", 3]}, "post.json: field 'categories': expected a list of strings"),
    ({"language": "English!"}, "post.json: field 'language': not a language tag"),
    ({"summary": ["x"]}, "post.json: field 'summary': expected a string, got a list"),
    ({"body_html": {"x": 1}}, "post.json: field 'body_html': expected a string, got an object"),
])
def test_json_errors_name_the_file_and_field(changes, message):
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(BadInput) as err:
        article_from_json(data, "post.json")
    assert str(err.value).startswith(message)


def test_json_that_is_not_an_object_or_not_json(tmp_path):
    with pytest.raises(BadInput, match=r"hook: expected a JSON object, got a list"):
        article_from_json([VALID], "hook")
    path = tmp_path / "broken.json"
    path.write_text('{"title": "x",', encoding="utf-8")
    with pytest.raises(BadInput, match=r"broken\.json: not valid JSON"):
        parse_article_file(path)


def test_json_minimal_article_leaves_optional_fields_empty():
    draft = article_from_json(dict(VALID), "x")
    assert (draft.published, draft.updated, draft.image, draft.guid) == (None, None, None, None)
    assert draft.categories == () and draft.body_html == ""


# -- Files, suffixes, encodings -----------------------------------------------------------


def test_unsupported_suffix_names_the_file(tmp_path):
    path = tmp_path / "story.docx"
    path.write_bytes(b"PK")
    with pytest.raises(BadInput, match=r"story\.docx: unsupported file type '\.docx'"):
        parse_article_file(path)


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"gone\.txt: cannot read"):
        parse_article_file(tmp_path / "gone.txt")


def test_cp1252_text_file(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("Café “déjà vu” – naïve\n\nBody text.\n".encode("cp1252"))
    assert parse_article_file(path).title == "Café “déjà vu” – naïve"


def test_html_meta_charset_iso_8859_1_reads_as_browsers_do(tmp_path):
    path = tmp_path / "latin.html"
    html = ('<html><head><meta charset="iso-8859-1"><title>L’été à Montréal</title></head>'
            "<body><p>Texte de l’article.</p></body></html>")
    path.write_bytes(html.encode("cp1252"))   # 0x92 for ’, as such pages really are
    assert parse_article_file(path).title == "L’été à Montréal"


def test_html_meta_charset_is_used_before_the_cp1252_guess(tmp_path):
    path = tmp_path / "cyrillic.htm"
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "<title>Новости города</title></head><body><p>Текст.</p></body></html>")
    path.write_bytes(html.encode("cp1251"))
    assert parse_article_file(path).title == "Новости города"


def test_decode_bytes_bom_stray_byte_and_garbage():
    assert decode_bytes("\ufeffTitre é".encode("utf-8")) == "Titre é"
    # Mostly UTF-8 with one bad byte stays UTF-8 rather than turning into mojibake.
    assert decode_bytes("Crème brûlée ".encode("utf-8") + b"\xff") == "Crème brûlée \ufffd"
    assert isinstance(decode_bytes(bytes(range(256)), html=True), str)
    assert decode_bytes(b'<meta charset="no-such-codec">caf\xe9', html=True).endswith("café")


def test_iter_article_files_is_sorted_recursive_and_skips_hidden(tmp_path):
    for name in ("b.md", "a.HTML", "sub/c.txt", "sub/deeper/d.json", "notes.docx",
                 ".hidden.md", ".git/e.html", "sub/.cache/f.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_article_files(tmp_path)]
    assert found == ["a.HTML", "b.md", "sub/c.txt", "sub/deeper/d.json"]


def test_iter_article_files_needs_a_folder(tmp_path):
    with pytest.raises(BadInput, match="not a folder"):
        iter_article_files(tmp_path / "nope")


def test_every_example_article_parses():
    paths = iter_article_files(EXAMPLES)
    assert {p.suffix for p in paths} == {".html", ".md", ".txt", ".json"}
    assert {p.suffix for p in paths} <= SUPPORTED_SUFFIXES
    drafts = [parse_article_file(p) for p in paths]
    assert all(d.title and d.body_html and d.summary for d in drafts)
    assert any("Économie" in d.categories and d.language == "fr" for d in drafts)
    assert any(d.language == "ar" for d in drafts)


def test_txt_url_line_under_the_title_gives_the_article_its_address(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Ferry back\nURL: https://news.example.org/ferry?utm_source=x\n\nFerry back\n\n"
                    "The ferry runs again.\n")
    draft = parse_article_file(path)
    assert draft.url == "https://news.example.org/ferry"
    assert "URL:" not in draft.body_html and "The ferry runs again." in draft.body_html


def test_txt_url_line_elsewhere_stays_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Ferry back\n\nThe ferry runs again.\n\nURL: https://news.example.org/x\n")
    draft = parse_article_file(path)
    assert draft.url is None and "URL:" in draft.body_html
