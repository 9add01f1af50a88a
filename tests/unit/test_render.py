"""Rendering digests and confirmations once per variant: golden files, escaping, RTL,
localised dates, campaign links, inlining and the clip limit."""

from __future__ import annotations

import shutil

import lxml.html
import pytest

from bot.newsletter import render
from bot.newsletter.render import (CLIP_LIMIT, ELSE, END, IF_NAME, NAME, PREFERENCES_URL,
                                   UNSUBSCRIBE_URL, ListInfo, SiteInfo, TemplateFailed,
                                   render_confirmation, render_digest)

SITE = SiteInfo("Example News", "https://news.example.org")
LISTS = {
    "en": ListInfo("morning", "Morning Brief", "en", "Example News", "news@example.org",
                   "desk@example.org", "America/New_York"),
    "fr": ListInfo("matin", "Le Matin", "fr", "Exemple Infos", "infos@example.org", None,
                   "Europe/Paris"),
    "ar": ListInfo("sabah", "نشرة الصباح", "ar", "أخبار المثال", "akhbar@example.org", None,
                   "Asia/Beirut"),
}


def _snapshot() -> dict:
    """A fixed edition: the lead, a French and an Arabic story, hostile text, a bad link."""
    return {
        "edition_id": 42, "list": "morning", "date": "2025-11-28",
        "intro": "Good morning. Three stories & a surprise.",
        "web_url": "https://news.example.org/editions/42",
        "articles": [
            {"id": 1, "title": "Council passes the <script>alert('x')</script> budget",
             "url": "https://news.example.org/2025/11/budget?ref=home&utm_source=rss",
             "summary": "After a long night the council agreed on a budget. <img src=x onerror=alert(1)>",
             "image": "https://img.example.org/budget.jpg", "categories": ["Politics", "City"],
             "language": "en", "published": "2025-11-28T03:30:00+00:00"},
            {"id": 2, "title": "Les marchés de Noël ouvrent", "url": "https://news.example.org/fr/noel",
             "summary": "Vin chaud, lumières et foule.", "image": None, "categories": ["Culture"],
             "language": "fr", "published": "2025-11-27T18:00:00+00:00"},
            {"id": 3, "title": "افتتاح معرض الكتاب في بيروت",
             "url": "https://news.example.org/ar/book-fair",
             "summary": "يفتتح المعرض أبوابه يوم الجمعة بمشاركة مئات الناشرين.",
             "image": "https://img.example.org/fair.jpg", "categories": ["Culture"],
             "language": "ar", "published": "2025-11-27T09:15:00+00:00"},
            {"id": 4, "title": "Derby ends in a draw", "url": "javascript:alert(document.cookie)",
             "summary": "Nobody scored.", "image": "javascript:alert(1)", "categories": ["Sport"],
             "language": "en", "published": "2025-11-27T21:00:00+00:00"},
            {"id": 5, "title": "Weather: a mild weekend", "url": "https://news.example.org/weather",
             "summary": "", "image": None, "categories": [], "language": "en",
             "published": "2025-11-28T05:00:00+00:00"},
        ],
    }


def _render(language: str = "en", content: dict | None = None, **kwargs):
    return render_digest(content or _snapshot(), LISTS[language], settings_view=SITE, **kwargs)


def _tree(html: str):
    return lxml.html.document_fromstring(html.encode("utf-8"))


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_digest_matches_golden_files(language, golden):
    rendered = _render(language)
    golden.check(f"digest-{language}/subject.txt", rendered.subject + "\n")
    golden.check(f"digest-{language}/body.txt", rendered.text)
    golden.check(f"digest-{language}/body.html", rendered.html)


def test_plain_text_titles_are_escaped_and_nothing_active_reaches_the_html():
    html = _render().html
    assert "Council passes the &lt;script&gt;alert('x')&lt;/script&gt; budget" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    tree = _tree(html)
    assert not tree.xpath("//script")
    for element in tree.iter():
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), (element.tag, attribute)
            assert "javascript:" not in value.lower(), (element.tag, attribute, value)
    # the story with the javascript: link is still listed, without a link
    assert tree.xpath("//h3[normalize-space()='Derby ends in a draw']")
    assert not tree.xpath("//h3[normalize-space()='Derby ends in a draw']//a")


def test_subject_and_text_are_not_html_escaped():
    rendered = _render()
    assert "<script>alert('x')</script>" in rendered.subject
    assert "Three stories & a surprise." in rendered.text
    assert "&amp;" not in rendered.text


def test_lead_first_then_a_section_per_category_of_two_stories_then_more_news():
    text = _render().text
    order = [text.index(marker) for marker in (
        "== Top story ==", "Council passes", "== Culture ==", "Les marchés", "افتتاح",
        "== More news ==", "Derby", "Weather")]
    assert order == sorted(order)
    assert "== Politics ==" not in text  # the lead's category gets no group of its own
    assert "== Sport ==" not in text     # one story: no heading of its own


def test_topics_select_one_variant():
    rendered = _render(topics=("culture",))
    assert rendered.articles == 2
    assert "Les marchés de Noël ouvrent" in rendered.html  # the lead of this variant
    assert "Council passes" not in rendered.text and "Derby" not in rendered.text


def test_rtl_articles_render_in_rtl_blocks():
    tree = _tree(_render("en").html)
    assert tree.get("dir") == "ltr" and tree.get("lang") == "en"
    arabic = tree.xpath("//*[@dir='rtl']")
    assert len(arabic) == 1 and arabic[0].get("lang") == "ar"
    assert "افتتاح معرض الكتاب" in arabic[0].text_content()
    french = tree.xpath("//*[@lang='fr']")
    assert french and french[0].get("dir") == "ltr"


def test_an_arabic_list_is_rtl_throughout():
    tree = _tree(_render("ar").html)
    assert tree.get("dir") == "rtl" and tree.get("lang") == "ar"
    assert "إلغاء الاشتراك" in tree.text_content()          # the footer, in Arabic
    english = tree.xpath("//*[@lang='en' and @dir='ltr']")  # English stories stay LTR
    assert any("Derby ends in a draw" in e.text_content() for e in english)


def test_dates_are_localised_with_babel():
    assert "28 novembre 2025" in _render("fr").text.split("\n\n")[0]
    assert "28 نوفمبر 2025" in _render("ar").text.split("\n\n")[0]
    en = _render("en")
    assert "November 28, 2025" in en.text.split("\n\n")[0]
    # published 03:30 UTC is still the 27th in New York: dates are the list's local dates
    assert "Nov 27, 2025" in en.text.split("Council passes", 1)[1].split("\n\n")[0]


def test_article_links_carry_campaign_parameters_and_keep_their_query():
    html, text = _render().html, _render().text
    tagged = ("https://news.example.org/2025/11/budget?ref=home&utm_source=newsletter"
              "&utm_medium=email&utm_campaign=morning-2025-11-28")
    assert tagged in text
    assert tagged.replace("&", "&amp;") in html
    assert "utm_source=rss" not in text + html


def test_media_queries_survive_inlining_and_styles_are_inlined():
    html = _render().html
    tree = _tree(html)
    styles = " ".join(style.text for style in tree.xpath("//style"))
    assert "@media only screen and (max-width: 620px)" in styles
    assert "@media (prefers-color-scheme: dark)" in styles
    assert "color-scheme: light dark" in styles
    assert "font-family: Georgia" not in styles        # inlined, not kept twice
    assert "data-premailer" not in html
    h2 = tree.xpath("//h2")[0]
    assert "text-transform:uppercase" in h2.get("style").replace(" ", "")
    assert "pb-h2" in h2.get("class")                  # classes kept for the @media rules
    metas = {m.get("name"): m.get("content") for m in tree.xpath("//meta[@name]")}
    assert metas["color-scheme"] == metas["supported-color-schemes"] == "light dark"
    for img in tree.xpath("//img"):
        assert img.get("width") and img.get("alt") is not None
        assert img.get("height") is None or img.get("height").isdigit()   # never height="auto"
    container = tree.xpath("//table[contains(@class, 'pb-container')]")[0]
    assert container.get("width") == "600"


def test_preheader_is_hidden_and_first_in_the_body():
    tree = _tree(_render().html)
    first = tree.body[0]
    assert "display: none" in first.get("style") or "display:none" in first.get("style")
    assert first.text_content().startswith("After a long night the council agreed")


def test_per_recipient_placeholders_survive_escaping_and_premailer():
    rendered = _render()
    tree = _tree(rendered.html)
    hrefs = [a.get("href") for a in tree.xpath("//a")]
    assert UNSUBSCRIBE_URL in hrefs and PREFERENCES_URL in hrefs
    greeting = f"{IF_NAME}Hello {NAME},{ELSE}Hello,{END}"
    assert greeting in rendered.html and greeting in rendered.text
    assert f"Unsubscribe: {UNSUBSCRIBE_URL}" in rendered.text


def test_content_cannot_smuggle_in_a_placeholder():
    content = _snapshot()
    content["articles"][0]["title"] = f"Click {UNSUBSCRIBE_URL} now"
    content["articles"][1]["url"] = f"https://news.example.org/{UNSUBSCRIBE_URL}"
    rendered = _render(content=content)
    assert rendered.html.count(UNSUBSCRIBE_URL) == 1   # the footer's own link only
    assert rendered.text.count(UNSUBSCRIBE_URL) == 1


def test_a_long_edition_is_trimmed_under_the_clip_limit_with_a_link_to_the_rest():
    content = _snapshot()
    content["articles"] = [
        {"id": i, "title": f"Story {i}: " + "a long headline about the news " * 3,
         "url": f"https://news.example.org/story/{i}", "summary": "A long summary. " * 40,
         "image": f"https://img.example.org/{i}.jpg", "categories": [f"Section {i % 7}"],
         "language": "en", "published": "2025-11-27T12:00:00+00:00"} for i in range(200)]
    rendered = _render(content=content)
    size = len(rendered.html.encode("utf-8"))
    assert size <= CLIP_LIMIT - render.RECIPIENT_ALLOWANCE
    assert rendered.articles == 200 and 0 < rendered.omitted < 200
    kept = 200 - rendered.omitted
    assert f"Story {kept - 1}:" in rendered.html and f"Story {kept}:" not in rendered.html
    label = f"{rendered.omitted} more stories — read the web version"
    link = _tree(rendered.html).xpath("//a[normalize-space()=$label]", label=label)
    assert link and link[0].get("href") == "https://news.example.org/editions/42"
    assert f"{label}: https://news.example.org/editions/42" in rendered.text
    assert f"Story {kept}:" not in rendered.text       # the text part lists the same stories


def test_a_short_edition_is_not_trimmed():
    rendered = _render()
    assert rendered.omitted == 0 and "more stories" not in rendered.html


@pytest.mark.parametrize("language, expected", [
    ("en", "1 more story"), ("fr", "1 autre article"), ("ar", "مقال آخر")])
def test_the_trimmed_count_uses_the_languages_plural_rules(language, expected):
    label = render._more_label(render.messages(language), render._locale(language), 1)
    assert label.startswith(expected)
    assert render._more_label(render.messages("ar"), render._locale("ar"), 2).startswith("مقالان")


def _broken_templates(tmp_path, relative: str, line: int, text: str):
    root = tmp_path / "templates"
    shutil.copytree(render.DEFAULT_TEMPLATES_DIR / "email", root / "email")
    path = root / relative
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(line - 1, text + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return SiteInfo("Example News", "https://news.example.org", root), path


def test_a_template_syntax_error_names_the_file_and_line(tmp_path):
    site, path = _broken_templates(tmp_path, "email/digest/body.html", 20, "{% if %}")
    with pytest.raises(TemplateFailed) as failure:
        render_digest(_snapshot(), LISTS["en"], settings_view=site)
    assert f"{path}, line 20" in str(failure.value)
    assert failure.value.template == str(path) and failure.value.lineno == 20


def test_a_template_runtime_error_names_the_file_and_line(tmp_path):
    site, path = _broken_templates(tmp_path, "email/_base/body.txt", 3, "{{ no_such_variable }}")
    with pytest.raises(TemplateFailed) as failure:
        render_digest(_snapshot(), LISTS["en"], settings_view=site)
    assert f"{path}, line 3" in str(failure.value)
    assert "no_such_variable" in str(failure.value)


def test_a_missing_template_is_named(tmp_path):
    root = tmp_path / "templates"
    shutil.copytree(render.DEFAULT_TEMPLATES_DIR / "email", root / "email")
    (root / "email" / "digest" / "subject.txt").unlink()
    with pytest.raises(TemplateFailed, match="digest/subject.txt: template not found"):
        render_digest(_snapshot(), LISTS["en"], settings_view=SiteInfo("x", "https://x.org", root))


@pytest.mark.parametrize("language, words", [
    ("en", "Confirm my subscription"), ("fr", "Confirmer mon abonnement"), ("ar", "تأكيد اشتراكي")])
def test_confirmation_email_carries_the_confirm_link(language, words):
    url = "https://news.example.org/confirm/tok.en?list=1&x=2"
    rendered = render_confirmation(LISTS[language], SITE, url, name="Ana <Admin>")
    tree = _tree(rendered.html)
    assert tree.get("lang") == language
    assert [a.get("href") for a in tree.xpath("//a")].count(url) == 2   # button + fallback
    assert words in tree.text_content() and words in rendered.text
    assert url in rendered.text and LISTS[language].title in rendered.subject
    assert "Ana &lt;Admin&gt;" in rendered.html and "Ana <Admin>" in rendered.text
    assert "%%PB:" not in rendered.html + rendered.text + rendered.subject
    assert "@media" in rendered.html


def test_confirmation_refuses_a_non_http_link():
    with pytest.raises(render.PermanentError):
        render_confirmation(LISTS["en"], SITE, "javascript:alert(1)")


def test_a_list_renders_with_its_own_template(tmp_path):
    from dataclasses import replace

    root = tmp_path / "templates"
    shutil.copytree(render.DEFAULT_TEMPLATES_DIR / "email", root / "email")
    shutil.copytree(root / "email" / "digest", root / "email" / "weekend")
    (root / "email" / "weekend" / "subject.txt").write_text("Weekend edition: {{ list.title }}")
    site = SiteInfo("Example News", "https://news.example.org", templates_dir=root)
    weekend = replace(LISTS["en"], template="weekend")
    assert render_digest(_snapshot(), weekend, settings_view=site).subject == "Weekend edition: Morning Brief"
    assert render_digest(_snapshot(), LISTS["en"], settings_view=site).subject != \
        "Weekend edition: Morning Brief"
