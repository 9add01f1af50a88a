"""The digest's look (issue 13): brand, lead story with image, byline and read time,
sections, subject, the forwarded/preferences footer, and right-to-left that survives a
client dropping the attributes of <html> and <body> (Gmail)."""

from __future__ import annotations

import re
from dataclasses import replace

import lxml.html
import pytest

from bot.newsletter import brand as brands
from bot.newsletter.digest_view import read_minutes, sections, summary_without_title
from bot.newsletter.render import ListInfo, SiteInfo, render_digest
from bot.newsletter.values import FSI, PDI
from tests.support.digest_samples import LISTS, SITE, snapshot


def _render(language="en", content=None, mlist=None, site=SITE):
    return render_digest(content or snapshot(language), mlist or LISTS[language], settings_view=site)


def _tree(html: str):
    return lxml.html.document_fromstring(html.encode("utf-8"))


def _gmail(html: str):
    """The document as Gmail shows it: <html> and <body> without their attributes."""
    tree = _tree(html)
    for element in (tree, tree.body):
        element.attrib.clear()
    return tree


def _lead(tree):
    return tree.xpath("//h1/ancestor::td[1]")[0]


# -- brand ----------------------------------------------------------------------------------------


def test_brand_colour_logo_footer_and_copyright_are_shown():
    mlist = replace(LISTS["en"], logo_url="https://img.example.org/masthead.png",
                    footer_text="Morning Brief Ltd\n1 Quay Road, Bristol BS1 4AA",
                    copyright_holder="Morning Brief Ltd")
    html = _render(mlist=mlist).html
    tree = _tree(html)
    logo = tree.xpath("//img[@src='https://img.example.org/masthead.png']")
    assert logo and logo[0].get("alt") == "The Morning Brief" and logo[0].get("height") == "48"
    assert not tree.xpath("//p[contains(@class, 'pb-title-text')]")   # the logo stands instead
    footer = tree.xpath("//td[contains(@style, 'border-top:1px')]")[-1].text_content()
    assert "Morning Brief Ltd" in footer and "1 Quay Road, Bristol BS1 4AA" in footer
    assert "© 2026 Morning Brief Ltd" in footer
    card = tree.xpath("//table[contains(@class, 'pb-container')]")[0]
    assert "border-top:4px solid #b3261e" in card.get("style")
    links = tree.xpath("//a[contains(@class, 'pb-link')]")
    assert links and all("color:#b3261e" in a.get("style").replace(" ", "") for a in links)
    text = _render(mlist=mlist).text
    assert "1 Quay Road, Bristol BS1 4AA" in text and f"{FSI}© 2026 Morning Brief Ltd{PDI}" in text


def test_site_defaults_apply_to_a_list_without_a_brand():
    site = replace(SITE, brand_logo_url="https://img.example.org/site.png", brand_color="#fbc02d")
    mlist = replace(LISTS["en"], brand_color=None)
    tree = _tree(_render(mlist=mlist, site=site).html)
    assert tree.xpath("//img[@src='https://img.example.org/site.png']")
    assert "Example News Ltd" in tree.text_content()           # SITE's footer
    # A yellow too light to read as link text on white is darkened for text, kept for rules.
    link = tree.xpath("//a[contains(@class, 'pb-link')]")[0].get("style").replace(" ", "")
    colour = re.search(r"color:(#[0-9a-f]{6})", link)[1]
    assert colour != "#fbc02d" and brands.contrast(colour, "#ffffff") >= 4.5
    assert "#fbc02d" in tree.xpath("//table[contains(@class, 'pb-container')]")[0].get("style")


@pytest.mark.parametrize("value, expected", [("#ABC", "#aabbcc"), ("1a5fb4", "#1a5fb4"), ("", None)])
def test_brand_colours_are_checked(value, expected):
    assert brands.check_color(value) == expected


@pytest.mark.parametrize("value", ["red", "#12345", "javascript:x", "#1a5fb4; background: url(x)"])
def test_a_bad_brand_colour_is_refused_by_name(value):
    with pytest.raises(brands.BadInput, match="--brand-color"):
        brands.check_color(value)


def test_a_bad_colour_from_the_environment_falls_back_instead_of_breaking_every_digest():
    brand = brands.resolve(LISTS["fr"], replace(SITE, brand_color="not a colour"))
    assert brand.color == "#0b6e4f"                             # the list's own
    brand = brands.resolve(replace(LISTS["fr"], brand_color=None), replace(SITE, brand_color="nope"))
    assert brand.color == brands.DEFAULT_COLOR


# -- the lead -------------------------------------------------------------------------------------


def test_lead_has_its_image_full_width_with_a_height_and_its_own_alt_text():
    tree = _tree(_render().html)
    lead = _lead(tree)
    img = lead.xpath(".//img")[0]
    assert img.get("src") == "https://img.example.org/ferry.jpg"
    assert img.get("width") == "536" and img.get("height") == "281"    # 1200×630 shape
    assert img.get("alt") == "An electric ferry moored at the harbour at dawn"
    assert "width:100%" in img.get("style").replace(" ", "")


def test_an_image_without_a_description_is_decorative_not_the_headline():
    content = snapshot("en")
    content["articles"][0] = {**content["articles"][0], "image_alt": None,
                              "image_width": 1000, "image_height": 500}
    img = _lead(_tree(_render(content=content).html)).xpath(".//img")[0]
    assert img.get("alt") == ""
    assert img.get("height") == "268"                                  # the image's own shape
    content["articles"][0]["image_caption"] = "The ferry at dawn"
    assert _lead(_tree(_render(content=content).html)).xpath(".//img")[0].get("alt") == \
        "The ferry at dawn"


def test_bylines_show_author_date_and_read_time():
    rendered = _render()
    lead = _lead(_tree(rendered.html))
    meta = lead.xpath(".//p[contains(@class, 'pb-muted')]")[0]
    assert meta.text_content() == "By Jane Okafor · Jul 14, 2026 · 5 min read"
    assert [b.text for b in meta.xpath("bdi")] == ["Jane Okafor", "Jul 14, 2026", "5 min read"]
    assert f"By {FSI}Jane Okafor{PDI} · {FSI}Jul 14, 2026{PDI} · {FSI}5 min read{PDI}" in rendered.text


def test_the_lead_does_not_repeat_its_title_as_its_summary():
    content = snapshot("en")
    title = content["articles"][0]["title"]
    content["articles"][0] = {**content["articles"][0], "summary": title}
    rendered = _render(content=content)
    assert rendered.text.count(title) == 1
    assert len(_lead(_tree(rendered.html)).xpath(".//p[contains(@class, 'pb-text')]")) == 0
    assert summary_without_title("City library open late", "City library open late. The room "
                                 "stays open.") == "The room stays open."
    assert summary_without_title("A title", "Another summary") == "Another summary"


def test_read_time_rounds_up_and_is_absent_without_a_word_count():
    assert [read_minutes(w) for w in (0, None, "x", 1, 230, 231)] == [0, 0, 0, 1, 1, 2]


# -- sections, subject, footer ----------------------------------------------------------------------


def _views(*categories):
    return [{"title": str(i), "category": c, "categories": [c] if c else []}
            for i, c in enumerate(categories)]


def test_a_category_becomes_a_section_only_with_two_stories():
    groups = sections(_views("Sport", "Culture", "Sport", "سياسة", "Tech", ""), "More news")
    assert [(g["label"], [v["title"] for v in g["articles"]]) for g in groups] == [
        ("Sport", ["0", "2"]), ("More news", ["1", "3", "4", "5"])]
    eight = sections(_views(*[f"C{i}" for i in range(8)]), "More news")
    assert [g["label"] for g in eight] == ["More news"]


def test_a_lists_own_sections_come_in_its_order():
    views = _views("Sport", "Culture", "Sport", "Tech")
    views[3]["categories"] = ["Tech", "culture"]
    groups = sections(views, "More news", ("Culture", "Sport", "Weather"))
    assert [(g["label"], [v["title"] for v in g["articles"]]) for g in groups] == [
        ("Culture", ["1", "3"]), ("Sport", ["0", "2"])]


def test_the_subject_leads_with_the_headline():
    assert _render().subject == ("Council approves the harbour ferry budget after an all-night "
                                 "session · The Morning Brief")


def test_forwarded_line_and_preferences_box():
    tree = _tree(_render().html)
    subscribe = tree.xpath("//a[normalize-space()='Subscribe']")[0]
    assert subscribe.get("href") == "https://news.example.org/subscribe?list=morning&lang=en"
    assert "Forwarded this email?" in subscribe.getparent().text_content()
    box = tree.xpath("//table[contains(@class, 'pb-box')]")[0]
    assert "Your subscription" in box.text_content()
    assert box.xpath(".//a[@href='%%PB:PREFERENCES_URL%%']")


# -- direction and language -------------------------------------------------------------------------


def test_an_arabic_digest_stays_right_to_left_without_html_and_body_attributes():
    tree = _gmail(_render("ar").html)
    wrapper = tree.body.xpath("./table")[0]
    assert (wrapper.get("dir"), wrapper.get("lang")) == ("rtl", "ar")
    card = tree.xpath("//table[contains(@class, 'pb-container')]")[0]
    assert (card.get("dir"), card.get("lang")) == ("rtl", "ar")
    assert "direction:rtl" in card.get("style").replace(" ", "")
    # Every block of text sits under an element that says its direction, and its alignment
    # is right for Arabic blocks, left for the English and French stories.
    for td in tree.xpath("//td[normalize-space()]"):
        holder = td.xpath("ancestor-or-self::*[@dir][1]")[0]
        expected = "right" if holder.get("dir") == "rtl" else "left"
        if td.get("align") in ("left", "right") and "View" not in td.text_content() \
                and "عرض" not in td.text_content():
            assert td.get("align") == expected, td.text_content()[:40]
    english = tree.xpath("//td[@lang='en']")
    assert english and all(td.get("dir") == "ltr" for td in english)


def test_the_lists_label_inside_a_story_of_another_language_carries_the_lists_lang():
    content = snapshot("ar")
    content["articles"].insert(0, content["articles"].pop(3))   # an English lead
    lead = _lead(_tree(_render("ar", content=content).html))
    assert (lead.get("lang"), lead.get("dir")) == ("en", "ltr")
    kicker = lead.xpath(".//p[contains(@class, 'pb-kicker')]/span")[0]
    assert (kicker.get("lang"), kicker.get("dir"), kicker.text) == ("ar", "rtl", "الخبر الرئيسي")


def test_dates_take_the_language_of_their_block_and_are_isolated():
    tree = _tree(_render("en").html)
    arabic = tree.xpath("//td[@lang='ar']")[0]
    assert "13 يوليو 2026" in [b.text for b in arabic.xpath(".//bdi")]
    french = tree.xpath("//td[@lang='fr']")[0]
    assert "13 juil. 2026" in [b.text for b in french.xpath(".//bdi")]
    tree = _tree(_render("ar").html)
    english = tree.xpath("//td[@lang='en']")[0]
    assert "Jul 14, 2026" in [b.text for b in english.xpath(".//bdi")]   # 21:00 UTC is the 14th in Beirut


def test_a_story_in_a_language_without_a_catalogue_has_the_lists_words_with_their_lang():
    content = snapshot("en")
    content["articles"][1] = {**content["articles"][1], "language": "de"}
    story = _tree(_render(content=content).html).xpath("//td[@lang='de']")[0]
    meta = story.xpath(".//p[contains(@class, 'pb-muted')]")[0]
    assert (meta.get("lang"), meta.get("dir")) == ("en", "ltr")
    assert meta.text_content().startswith("By Tom Reyes")


def test_the_preheader_is_hidden_without_tiny_or_transparent_text():
    tree = _tree(_render().html)
    preheader = tree.body[0]
    style = preheader.get("style").replace(" ", "")
    assert "display:none" in style and "mso-hide:all" in style
    assert preheader.get("aria-hidden") == "true"
    assert "font-size" not in style and "transparent" not in style and "opacity" not in style
    assert preheader.text_content().startswith("Councillors voted 31 to 12")


def test_site_info_reads_the_brand_settings():
    from bot.config import Settings

    settings = Settings(brand_footer="A\nB", brand_color="#123456", brand_copyright="X")
    site = SiteInfo.from_settings(settings)
    assert (site.brand_footer, site.brand_color, site.brand_copyright) == ("A\nB", "#123456", "X")
    assert ListInfo.from_model(type("L", (), {
        "name": "n", "title": "t", "language": "en", "from_name": "f", "from_email": "e@x.org",
        "reply_to": None, "timezone": "UTC", "template": "digest", "logo_url": None,
        "brand_color": "#000000", "footer_text": None, "copyright_holder": None,
        "sections": ["A"]})()).sections == ("A",)


def test_an_edition_takes_the_first_paragraph_that_is_not_the_title_as_summary():
    from bot.services.digests import own_summary

    title = "City library to stay open until midnight during exam season"
    body = (f"<p>{title}</p><p>The central library on Market Square will open until "
            "midnight on weekdays.</p><p>More.</p>")
    assert own_summary(title, title, body) == ("The central library on Market Square will "
                                               "open until midnight on weekdays.")
    assert own_summary(title, "Its own teaser.", body) == "Its own teaser."
    assert own_summary(title, title, f"<p>{title}</p>") == ""


def test_a_story_whose_source_gave_no_date_shows_none():
    content = snapshot("en")
    content["articles"][0]["date_known"] = False
    meta = _lead(_tree(_render(content=content).html)).xpath(".//p[contains(@class, 'pb-muted')]")[0]
    assert meta.text_content() == "By Jane Okafor · 5 min read"
