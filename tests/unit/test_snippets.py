"""Share snippets: exact outputs and the rules behind them."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest

from bot.domain.snippets import (
    PlatformRules,
    SnippetInput,
    SnippetTooLong,
    compose,
    hashtags_from_categories,
    platform_length,
    tag_url,
)
from bot.errors import BadInput

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
ARTICLE = SnippetInput(
    title="Heat wave hits Europe",
    summary="Temperatures passed 40 °C in Spain.",
    url="https://news.example.com/2024/heat?id=7",
    categories=("Climate change", "Europe"),
    site_name="Example News",
)


def url_for(platform: str) -> str:
    return (f"https://news.example.com/2024/heat?id=7&utm_source={platform}"
            "&utm_medium=social&utm_campaign=summer")


# -- exact outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky"])
def test_plain_text_platforms(platform):
    snip = compose(platform, ARTICLE, campaign="summer")
    url = url_for(platform)
    # Bluesky shows the link as its client does; the facet keeps the full URL.
    shown = "news.example.com/2024/heat?id..." if platform == "bluesky" else url
    assert snip.text == ("Heat wave hits Europe\n\nTemperatures passed 40 °C in Spain.\n\n"
                         f"{shown}\n\n#ClimateChange")
    assert snip.url == url
    assert snip.hashtags == ("#ClimateChange",)  # "Europe" is in the title already


def test_x_counts_the_url_as_23():
    snip = compose("x", ARTICLE, campaign="summer")
    # 21 + 2 + 35 + 2 + 23 (URL) + 2 + 14
    assert (snip.length, snip.limit) == (99, 280)
    assert snip.to_json() == {"platform": "x", "text": snip.text, "url": snip.url,
                              "length": 99, "limit": 280}


def test_mastodon_counts_the_url_as_reserved():
    assert compose("mastodon", ARTICLE, campaign="summer").length == 99
    rules = PlatformRules.mastodon(max_characters=1000, characters_reserved_per_url=30)
    snip = compose("mastodon", ARTICLE, campaign="summer", rules=rules)
    assert (snip.length, snip.limit) == (106, 1000)


def test_bluesky_counts_graphemes_and_adds_facets_and_card():
    item = dataclasses.replace(ARTICLE, image="https://i.example/a.jpg")
    snip = compose("bluesky", item, campaign="summer")
    url = url_for("bluesky")
    shown = "news.example.com/2024/heat?id..."
    assert snip.length == len(snip.text) == 21 + 2 + 35 + 2 + len(shown) + 2 + 14
    data = snip.text.encode()
    start = data.index(shown.encode())
    assert snip.facets == [
        {"index": {"byteStart": start, "byteEnd": start + len(shown)},
         "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]},
        {"index": {"byteStart": len(data) - 14, "byteEnd": len(data)},
         "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "ClimateChange"}]},
    ]
    assert snip.card == {"uri": url, "title": "Heat wave hits Europe",
                         "description": "Temperatures passed 40 °C in Spain.",
                         "thumb": "https://i.example/a.jpg"}
    assert snip.to_json()["facets"] == snip.facets


def test_telegram_html():
    snip = compose("telegram", ARTICLE, campaign="summer")
    url = url_for("telegram")
    href = url.replace("&", "&amp;")
    assert snip.text == ("<b>Heat wave hits Europe</b>\n\nTemperatures passed 40 °C in Spain.\n\n"
                         f'<a href="{href}">{href}</a>\n\n#ClimateChange')
    assert snip.parse_mode == "HTML"
    assert snip.link_preview == {"url": url, "prefer_large_media": True}
    assert snip.length == 21 + 2 + 35 + 2 + len(url) + 2 + 14
    assert "facets" not in snip.to_json()


def test_telegram_escapes_markup_and_ampersands():
    item = SnippetInput(title="<script>alert(1)</script> & <b>co</b>", summary="R&D > 5 &amp; more",
                        url="https://news.example.com/a")
    snip = compose("telegram", item, campaign="")
    assert snip.text.startswith(
        "<b>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;</b>\n\n"
        "R&amp;D &gt; 5 &amp;amp; more\n\n")
    # Telegram shows the title as written, so it counts as written.
    assert snip.length == len("<script>alert(1)</script> & <b>co</b>\n\nR&D > 5 &amp; more\n\n"
                              "https://news.example.com/a?utm_source=telegram&utm_medium=social")


def test_telegram_template_with_a_foreign_tag_is_refused():
    with pytest.raises(BadInput, match="<div>"):
        compose("telegram", ARTICLE, campaign="c", template="<div>{{ title }}</div> {{ url }}")
    with pytest.raises(BadInput, match="unescaped"):
        compose("telegram", ARTICLE, campaign="c", template="{{ title }} -> {{ url }}")


# -- counting ---------------------------------------------------------------------------


def test_platform_length_by_each_platforms_rules():
    assert platform_length("x", "日本 ok") == 7              # CJK weighs 2
    assert platform_length("x", FAMILY) == 2                # one emoji sequence weighs 2
    assert platform_length("x", "go https://example.com/" + "a" * 80) == 26
    assert platform_length("mastodon", FAMILY + "e\u0301") == 2
    assert platform_length("mastodon", "go https://example.com/" + "a" * 80) == 26
    assert platform_length("bluesky", "🇫🇷👍🏽" + FAMILY) == 3
    assert platform_length("telegram", "<b>a&amp;b</b> 😀") == 6  # emoji: 2 UTF-16 units


def test_unknown_platform_is_bad_input():
    with pytest.raises(BadInput, match="myspace"):
        compose("myspace", ARTICLE, campaign="c")


# -- hashtags -----------------------------------------------------------------------------


def test_hashtags_camel_case_any_script():
    tags = hashtags_from_categories(
        ["climate change", "Économie", "تغير المناخ", "COVID-19", "don't panic", "science/tech",
         "2024", "!!!", "", "Climate Change", "#News", "気候 変動"], title="Daily briefing")
    assert tags == ("#ClimateChange", "#Économie", "#تغير_المناخ", "#COVID19", "#DontPanic",
                    "#ScienceTech", "#News", "#気候_変動")


def test_hashtags_skip_what_the_title_contains():
    title = "Europe's #ClimateChange plan: what Green Deal means"
    tags = hashtags_from_categories(["Europe", "climate change", "green deal", "Energy"], title)
    assert tags == ("#Energy",)


def test_hashtags_are_nfc_and_start_with_a_letter():
    (tag,) = hashtags_from_categories(["\u0301e\u0301conomie"], "")
    assert tag == "#Économie" and unicodedata.is_normalized("NFC", tag)


def test_default_hashtags_follow_category_tags():
    snip = compose("x", ARTICLE, campaign="c", default_hashtags=("#News", "climate change"))
    assert snip.hashtags == ("#ClimateChange", "#News")


# -- links ----------------------------------------------------------------------------------


def test_tag_url_keeps_the_articles_query():
    url = "https://news.example.com/p?b=2&a=x%20y&utm_source=rss&utm_content=top#part"
    assert tag_url(url, "mastodon", "spring sale") == (
        "https://news.example.com/p?b=2&a=x%20y&utm_content=top&utm_source=mastodon"
        "&utm_medium=social&utm_campaign=spring%20sale#part")


def test_tag_url_encodes_what_links_cannot_hold():
    assert tag_url("https://news.example.com/café", "x", "") == (
        "https://news.example.com/caf%C3%A9?utm_source=x&utm_medium=social")
    # A trailing "." would be left out of the link by X and Mastodon.
    assert tag_url("https://news.example.com/", "x", "v1.").endswith("utm_campaign=v1%2E")
    assert tag_url("https://bücher.example/", "x", "").startswith("https://xn--bcher-kva.example/")
    with pytest.raises(BadInput):
        tag_url("javascript:alert(1)", "x", "c")


# -- shortening -----------------------------------------------------------------------------


def test_summary_is_cut_first_at_a_word_boundary():
    item = SnippetInput(title="Short title", summary="word " * 80, url="https://n.example.com/a",
                        categories=("Politics",))
    snip = compose("x", item, campaign="c")
    title, summary, url, tags = snip.text.split("\n\n")
    assert (title, url, tags) == ("Short title", snip.url, "#Politics")
    assert summary.endswith("word…") and snip.length <= 280
    assert snip.length >= 275  # the summary keeps what room there is


def test_hashtags_go_before_the_title_is_cut():
    item = SnippetInput(title="Title " * 45, summary="Summary", url="https://n.example.com/a",
                        categories=("One", "Two"))
    snip = compose("x", item, campaign="c")
    assert snip.hashtags == ()
    assert snip.text.startswith("Title Title") and snip.text.split("\n\n")[0].endswith("Title…")
    assert snip.length <= 280


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "telegram"])
def test_a_500_character_title_fits(platform):
    item = SnippetInput(title="Längere Überschrift " * 25, summary="Zusammenfassung " * 300,
                        url="https://n.example.com/a", categories=("Politik", "Wirtschaft"))
    snip = compose(platform, item, campaign="c")
    assert snip.length <= snip.limit
    shown = {"telegram": snip.url.replace("&", "&amp;"),
             "bluesky": "n.example.com/a?utm_source..."}.get(platform, snip.url)
    assert shown in snip.text


def test_empty_title_uses_the_site_name_or_nothing():
    item = SnippetInput(title="  ", summary="What happened", url="https://n.example.com/a",
                        site_name="Example News")
    assert compose("x", item, campaign="c").text.startswith("Example News\n\nWhat happened\n\n")
    bare = SnippetInput(title="", summary="What happened", url="https://n.example.com/a")
    assert compose("x", bare, campaign="c").text.startswith("What happened\n\nhttps://")
    assert compose("telegram", bare, campaign="c").text.startswith("What happened\n\n<a ")


def test_zwj_family_emoji_is_never_split():
    item = SnippetInput(title=FAMILY * 600, summary="", url="https://n.example.com/a")
    for platform in ("x", "mastodon", "bluesky"):
        snip = compose(platform, item, campaign="c")
        head = snip.text.split("\n\n")[0]
        assert head.endswith("…") and head[:-1].replace(FAMILY, "") == ""
        assert snip.length <= snip.limit


def test_combining_marks_and_flags_stay_whole():
    item = SnippetInput(title=("e\u0301\u0302🇫🇷" * 200), summary="", url="https://n.example.com/a")
    snip = compose("x", item, campaign="c")
    head = snip.text.split("\n\n")[0][:-1]
    assert head.replace("\u00e9\u0302🇫🇷", "") == ""  # NFC: é + combining circumflex


def test_bluesky_facet_bytes_after_emoji_in_title():
    item = SnippetInput(title=f"{FAMILY} Family day 🇫🇷", summary="", url="https://n.example.com/a",
                        categories=("Société",))
    snip = compose("bluesky", item, campaign="c")
    data = snip.text.encode("utf-8")
    link, tag = snip.facets
    assert link["index"]["byteStart"] == len(f"{FAMILY} Family day 🇫🇷\n\n".encode())
    assert data[link["index"]["byteStart"]:link["index"]["byteEnd"]] == b"n.example.com/a?utm_source..."
    assert link["features"][0]["uri"] == snip.url
    assert data[tag["index"]["byteStart"]:tag["index"]["byteEnd"]] == "#Société".encode()


def test_title_hashtags_and_mentions_are_kept_and_tagged_on_bluesky():
    item = SnippetInput(title="Ask @jack about #AI", summary="", url="https://n.example.com/a",
                        categories=("AI", "Tech"))
    snip = compose("bluesky", item, campaign="c")
    assert snip.text.startswith("Ask @jack about #AI\n\n")
    tags = [f["features"][0]["tag"] for f in snip.facets if "tag" in f["features"][0]]
    assert tags == ["AI", "Tech"]


def test_bluesky_byte_limit_with_heavy_combining_marks():
    heavy = ("a" + "\u0301" * 30 + " ") * 100  # 100 graphemes, 6,100 bytes
    item = SnippetInput(title=heavy, summary="", url="https://n.example.com/a")
    snip = compose("bluesky", item, campaign="c")
    assert len(snip.text.encode("utf-8")) <= 3000 and snip.length <= 300


def test_too_long_even_without_title_is_refused():
    rules = PlatformRules.mastodon(max_characters=20)
    with pytest.raises(SnippetTooLong, match="limit of 20"):
        compose("mastodon", ARTICLE, campaign="c", rules=rules)


# -- templates ------------------------------------------------------------------------------


def test_template_text_and_templates_dir(tmp_path):
    snip = compose("x", ARTICLE, campaign="c", template="{{ site_name }}: {{ title }} {{ url }}")
    assert snip.text == f"Example News: Heat wave hits Europe {snip.url}"
    (tmp_path / "social").mkdir()
    (tmp_path / "social" / "mastodon.txt").write_text("{{ title|upper }}\n{{ url }}\n")
    snip = compose("mastodon", ARTICLE, campaign="c", templates_dir=tmp_path)
    assert snip.text == f"HEAT WAVE HITS EUROPE\n{snip.url}"


def test_template_errors_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="tittle"):
        compose("x", ARTICLE, campaign="c", template="{{ tittle }} {{ url }}")
    with pytest.raises(BadInput, match="line 1"):
        compose("x", ARTICLE, campaign="c", template="{% if %}")
    with pytest.raises(BadInput, match="not found"):
        compose("x", ARTICLE, campaign="c", templates_dir=tmp_path)


def test_a_summary_is_dropped_rather_than_left_as_a_stub():
    # 251 + 2 + 23 fits; "S…" would squeeze in too (280), but says nothing.
    item = SnippetInput(title="Title " * 42, summary="Summary", url="https://n.example.com/a")
    snip = compose("x", item, campaign="c")
    assert snip.text == ("Title " * 42).strip() + f"\n\n{snip.url}"
