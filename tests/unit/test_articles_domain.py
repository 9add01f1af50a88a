"""The pure rules that normalise and identify articles."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.articles import (
    ArticleDraft, canonical_url, clean_categories, clean_title, content_hash, summarize,
    title_from_text, truncate_words,
)
from bot.domain.sources import next_poll_after_failure, next_poll_after_success
from bot.ingest.fetch import retry_after_seconds
from bot.ingest.language import detect_language, normalize_language


@pytest.mark.parametrize("raw, expected", [
    ("https://News.Example.org/a?utm_source=x&utm_medium=y&id=3#comments",
     "https://news.example.org/a?id=3"),
    ("https://news.example.org/a?fbclid=abc&gclid=def&page=2", "https://news.example.org/a?page=2"),
    ("http://news.example.org:80/a", "http://news.example.org/a"),
    ("https://news.example.org:8443/a", "https://news.example.org:8443/a"),
    ("https://news.example.org", "https://news.example.org/"),
    ("https://user:pw@news.example.org/a", "https://news.example.org/a"),
    ("https://news.example.org/a?b=2&a=1&UTM_Campaign=z", "https://news.example.org/a?b=2&a=1"),
    ("  https://news.example.org/a  ", "https://news.example.org/a"),
    # the rest of the query byte for byte: no "=" added, nothing re-encoded or reordered
    ("https://news.example.org/feed?rss", "https://news.example.org/feed?rss"),
    ("https://news.example.org/a?t=1:2&x=%2F&y=a+b", "https://news.example.org/a?t=1:2&x=%2F&y=a+b"),
    ("https://news.example.org/a?z=1;k=2&utm_source=rss&b", "https://news.example.org/a?z=1;k=2&b"),
    ("https://news.example.org/a?utm%5Fsource=x&id=4&mc_cid=1", "https://news.example.org/a?id=4"),
    ("https://[2001:db8::1]:8080/a?b", "https://[2001:db8::1]:8080/a?b"),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "javascript:alert(1)", "ftp://x/y", "/relative", "mailto:a@b"])
def test_canonical_url_refuses_what_is_not_a_web_page(raw):
    assert canonical_url(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("<b>Breaking:</b>  rates   rise", "Breaking: rates rise"),
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("Use &amp;lt;b&amp;gt; for bold", "Use &lt;b&gt; for bold"),  # decoded once, not twice
    ("Caf\u0065\u0301 culture", "Caf\u00e9 culture"),                   # NFC
    ("\n  Line\tbreaks\n", "Line breaks"),
    ("<span></span><br/>", ""),
    ("مرحبا <i>بالعالم</i>", "مرحبا بالعالم"),
    # script/style are code, not words; inline tags sit inside words, block tags between
    ("<script>alert('x')</script>Budget vote <img src=x onerror=alert(1)> ends in tie",
     "Budget vote ends in tie"),
    ("<style>p{}</style>Flat, 40 ft<sup>2</sup>, H<sub>2</sub>O", "Flat, 40 ft2, H2O"),
    ("One<br>two<p>three</p>", "One two three"),
])
def test_clean_title(raw, expected):
    assert clean_title(raw) == expected


@pytest.mark.parametrize("text, expected", [
    ("Just setting up my twttr. More soon!", "Just setting up my twttr."),
    ("Is it on? Yes.", "Is it on? Yes."),           # a first "sentence" this short is no title
    ("No full stop at all", "No full stop at all"),
    ("word " * 60, ("word " * 19).strip() + "…"),   # bounded, cut on a word
    ("   ", ""),
])
def test_title_from_text(text, expected):
    assert title_from_text(text) == expected


def test_content_hash_of_stored_articles_does_not_move_with_the_title_cleaner():
    # content_hash reads the body as before issue 10 (every tag a space), so articles
    # stored then are not all "updated" on the next poll.
    draft = ArticleDraft(title="T", body_html="<p>ft<sup>2</sup></p>")
    assert content_hash(draft) == content_hash(draft.with_(body_html="<p>ft <sup>2</sup></p>"))


def test_summary_prefers_description_then_lead_paragraph():
    assert summarize("<p>The <b>description</b></p>", "<p>Lead</p>") == "The description"
    assert summarize("", "<figure>img</figure><p> </p><p>First <em>real</em> para.</p><p>Second</p>") \
        == "First real para."
    assert summarize(None, "") == ""


def test_summary_is_cut_at_a_word_boundary():
    text = "word " * 200
    cut = summarize(text, None, limit=50)
    assert len(cut) <= 50 and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert truncate_words("short", 50) == "short"


def test_categories_kept_as_written_without_repeats():
    assert clean_categories(["Économie", "économie", " <b>Politics</b> ", "", "سياسة", "東京"]) == (
        "Économie", "Politics", "سياسة", "東京")


def test_content_hash_ignores_invisible_differences_only():
    a = ArticleDraft(title="T", body_html="<p>Hello   world</p>")
    assert content_hash(a) == content_hash(a.with_(body_html="<p>Hello world</p>\n"))
    assert content_hash(a) != content_hash(a.with_(body_html="<p>Hello there</p>"))
    assert content_hash(a) != content_hash(a.with_(title="T2"))


def test_backoff_doubles_and_is_capped_and_honours_retry_after():
    now = datetime(2026, 11, 28, tzinfo=timezone.utc)
    rng = random.Random(0)
    waits = [next_poll_after_failure(now, 900, n, 86400, rng=rng) - now for n in (1, 2, 3, 10)]
    assert timedelta(seconds=900) <= waits[0] <= timedelta(seconds=990)
    assert timedelta(seconds=1800) <= waits[1] <= timedelta(seconds=1980)
    assert timedelta(seconds=3600) <= waits[2] <= timedelta(seconds=3960)
    assert waits[3] <= timedelta(seconds=86400 * 1.1)
    assert next_poll_after_failure(now, 60, 1, 86400, retry_after=7200, rng=rng) - now == timedelta(seconds=7200)
    assert next_poll_after_success(now, 900) == now + timedelta(seconds=900)


def test_retry_after_in_seconds_or_http_date():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Sat, 28 Nov 2026 12:05:00 GMT", now=now) == 300
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize("raw, expected", [
    ("fr-FR", "fr"), ("en_US", "en"), ("AR", "ar"), ("pt-BR", "pt-br"), ("", None), (None, None), ("*", None),
])
def test_normalize_language(raw, expected):
    assert normalize_language(raw) == expected


def test_detect_language_when_there_is_enough_text():
    assert detect_language("Le conseil municipal a voté hier soir le budget de la ville pour l'année prochaine.") == "fr"
    assert detect_language("أعلنت الحكومة اليوم عن ميزانية جديدة للعام المقبل تشمل زيادة في الإنفاق") == "ar"
    assert detect_language("Short") is None
