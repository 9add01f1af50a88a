"""Share snippets over arbitrary Unicode: every text fits by the platform's own count."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls_with_indices, parse_tweet

from bot.domain.snippets import (
    PLATFORMS,
    PlatformRules,
    SnippetInput,
    compose,
    hashtags_from_categories,
    platform_length,
)
from bot.domain.snippets.bluesky import short_url
from bot.domain.snippets.telegram import visible_text
from bot.domain.snippets.text import clusters, grapheme_count, plain

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Arbitrary Unicode (every code point but surrogates), short and long.
any_text = st.one_of(st.text(max_size=40), st.text(min_size=200, max_size=600))
# Words people do write, so shortening has spaces to cut at, and emoji to keep whole.
WORDS = ["Climate", "change", "économie", "气候变化", "تغير", "المناخ", "@jack", "#AI",
         "&amp;", "<b>", "e\u0301\u0323", "👨\u200d👩\u200d👧\u200d👦", "👍🏽", "🇺🇦",
         "example.com", "https://t.co/x", "a" * 30]
wordy_text = st.lists(st.sampled_from(WORDS), max_size=120).map(" ".join)
texts = st.one_of(any_text, wordy_text)

_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_~é ü中", min_size=1, max_size=12)
urls = st.builds(
    lambda scheme, host, tld, path, query: f"{scheme}://{host}.{tld}/{'/'.join(path)}{query}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["com", "org", "de", "co.uk", "news"]),
    st.lists(_SEGMENT, max_size=4),
    st.sampled_from(["", "?id=7", "?a=1&b=x%20y", "?utm_source=rss&p=2", "?q=caf%C3%A9"]),
)
items = st.builds(
    SnippetInput,
    title=texts, summary=texts, url=urls,
    categories=st.lists(st.one_of(st.text(max_size=30), st.sampled_from(WORDS)),
                        max_size=6).map(tuple),
    site_name=st.text(max_size=30),
)
campaigns = st.text(max_size=20)


def _check(platform: str, item: SnippetInput, campaign: str, rules: PlatformRules | None = None):
    snip = compose(platform, item, campaign=campaign, rules=rules)
    assert snip.length == platform_length(platform, snip.text, rules) <= snip.limit
    assert snip.length > 0
    return snip


@SETTINGS
@given(item=items, campaign=campaigns)
def test_x_fits_and_keeps_the_link(item, campaign):
    snip = _check("x", item, campaign)
    assert unicodedata.is_normalized("NFC", snip.text)
    assert parse_tweet(snip.text).valid
    assert snip.text.count(snip.url) == 1
    assert snip.url in [e["url"] for e in extract_urls_with_indices(snip.text)]


@SETTINGS
@given(item=items, campaign=campaigns,
       limit=st.integers(min_value=150, max_value=1000), reserved=st.integers(1, 40))
def test_mastodon_fits_any_instance_and_keeps_the_link(item, campaign, limit, reserved):
    snip = _check("mastodon", item, campaign, PlatformRules.mastodon(limit, reserved))
    assert snip.text.count(snip.url) == 1
    found = extract_urls_with_indices(snip.text, extract_urls_without_protocol=False)
    assert snip.url in [e["url"] for e in found]


@SETTINGS
@given(item=items, campaign=campaigns)
def test_bluesky_fits_and_facets_point_at_their_bytes(item, campaign):
    snip = _check("bluesky", item, campaign)
    data = snip.text.encode("utf-8")
    assert len(data) <= 3000
    assert snip.text.count(short_url(snip.url)) == 1 and snip.url not in snip.text
    assert snip.length == grapheme_count(snip.text)
    links = 0
    for facet in snip.facets:
        part = data[facet["index"]["byteStart"]:facet["index"]["byteEnd"]]
        (feature,) = facet["features"]
        if feature["$type"] == "app.bsky.richtext.facet#link":
            # Any link in the text is shown short, as Bluesky's client posts it.
            assert part == short_url(feature["uri"]).encode()
            links += feature["uri"] == snip.url
        else:
            assert feature["$type"] == "app.bsky.richtext.facet#tag"
            assert part == ("#" + feature["tag"]).encode()
    assert links == 1
    tagged = {f["features"][0].get("tag") for f in snip.facets}
    assert all(tag[1:] in tagged for tag in snip.hashtags)


@SETTINGS
@given(item=items, campaign=campaigns)
def test_telegram_fits_and_keeps_the_link(item, campaign):
    snip = _check("telegram", item, campaign)
    shown = visible_text(snip.text)
    assert shown.count(snip.url) == 1
    href = snip.url.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#x27;")
    assert snip.text.count(f'<a href="{href}">') == 1
    assert snip.link_preview["url"] == snip.url


# Titles built from clusters that are easy to split wrongly.
CLUSTERS = ["👨\u200d👩\u200d👧\u200d👦", "👍🏽", "🇫🇷", "\u00e9\u0302", "क्ष", "字", "ab", " "]


@SETTINGS
@given(title=st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=400).map("".join),
       platform=st.sampled_from(PLATFORMS))
def test_a_cut_title_ends_on_a_grapheme_boundary(title, platform):
    item = SnippetInput(title=title, summary="", url="https://n.example.com/a")
    snip = compose(platform, item, campaign="c")
    head = visible_text(snip.text) if platform == "telegram" else snip.text
    head = head.split("\n\n")[0]
    whole = plain(title)
    if whole and head != whole:
        assert head.endswith("…")
        kept = clusters(head[:-1])
        assert kept == clusters(whole)[:len(kept)]


@SETTINGS
@given(categories=st.lists(st.text(max_size=40), max_size=8), title=any_text)
def test_hashtags_are_tags_on_every_platform(categories, title):
    tags = hashtags_from_categories(categories, title)
    assert len({t.casefold() for t in tags}) == len(tags)
    for tag in tags:
        body = tag[1:]
        assert tag.startswith("#") and body and unicodedata.is_normalized("NFC", body)
        assert all(unicodedata.category(c)[0] in "LMN" or c == "_" for c in body)
        assert any(unicodedata.category(c)[0] == "L" for c in body)
        assert unicodedata.category(body[0])[0] != "M"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_property_platforms_are_all_covered(platform):
    # A guard: a new platform must get its own property test above.
    assert platform in {"x", "mastodon", "bluesky", "telegram"}
