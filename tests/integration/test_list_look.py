"""A list's brand, languages and sections (issue 13): set through `lists add` and the
service, checked, kept apart from the list's other settings, and used by the digest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.articles import ArticleDraft
from bot.errors import BadInput
from bot.services import digests, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.mailing import Edition
from bot.store.models import Source, SourceKind

NOW = datetime(2026, 7, 14, 5, 0, tzinfo=timezone.utc)


def run(home, *args):
    env = {**os.environ, "PRESSBOT_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def _list(settings, name="morning", **look):
    return subscribers.add_list(settings, name, title="The Morning Brief", from_email="news@example.org",
                                from_name="Example News", **look)


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_lists_add_takes_brand_languages_and_sections(tmp_path):
    home = tmp_path / "data"
    ok = run(home, "lists", "add", "morning", "--title", "The Morning Brief", "--from-email",
             "news@example.org", "--from-name", "Example News", "--logo-url",
             "https://img.example.org/logo.png", "--brand-color", "#B3261E", "--footer",
             "Example News Ltd\\n12 Harbour Street, Portsmouth", "--copyright", "Example News Ltd",
             "--only-language", "en", "--only-language", "fr", "--section", "City",
             "--section", "Sport")
    assert ok.returncode == 0, ok.stderr
    assert "postal address" not in ok.stderr
    [row] = json.loads(run(home, "lists", "list", "--json").stdout)
    assert {k: row[k] for k in ("logo_url", "brand_color", "footer_text", "copyright_holder",
                                "languages", "sections")} == {
        "logo_url": "https://img.example.org/logo.png", "brand_color": "#b3261e",
        "footer_text": "Example News Ltd\n12 Harbour Street, Portsmouth",
        "copyright_holder": "Example News Ltd", "languages": ["en", "fr"],
        "sections": ["City", "Sport"]}
    changed = run(home, "lists", "set", "morning", "--brand-color", "#123456", "--section", "",
                  "--json")
    assert changed.returncode == 0, changed.stderr
    row = json.loads(changed.stdout)
    assert (row["brand_color"], row["sections"], row["languages"], row["copyright_holder"]) == \
        ("#123456", None, ["en", "fr"], "Example News Ltd")    # only what was given changed
    assert run(home, "lists", "set", "morning", "--logo-url", "ftp://x").returncode == 2
    bare = run(home, "lists", "add", "evening", "--title", "E", "--from-email", "e@example.org",
               "--from-name", "E")
    assert bare.returncode == 0 and "no postal address" in bare.stderr
    bad = run(home, "lists", "add", "night", "--title", "N", "--from-email", "n@example.org",
              "--from-name", "N", "--brand-color", "pink")
    assert bad.returncode == 2 and "--brand-color" in bad.stderr and "'pink'" in bad.stderr
    assert [r["name"] for r in json.loads(run(home, "lists", "list", "--json").stdout)] == \
        ["evening", "morning"]                                # nothing stored for the bad one


def test_changing_the_sending_settings_keeps_the_brand_and_vice_versa(settings):
    _list(settings, brand_color="#0b6e4f", footer_text="Le Matin SA\n1 rue du Port", languages=["fr"])
    base = dict(title="The Morning Brief", from_email="news@example.org", from_name="Example News")
    row = subscribers.update_list(settings, "morning", **base, max_articles=5)
    assert (row["brand_color"], row["footer_text"], row["languages"]) == \
        ("#0b6e4f", "Le Matin SA\n1 rue du Port", ["fr"])
    row = subscribers.update_list(settings, "morning", **base, max_articles=5, brand_color="",
                                  sections=["Ville"])
    assert (row["brand_color"], row["sections"], row["footer_text"]) == \
        (None, ["Ville"], "Le Matin SA\n1 rue du Port")
    with pytest.raises(BadInput, match="--logo-url"):
        subscribers.update_list(settings, "morning", **base, logo_url="javascript:alert(1)")
    with pytest.raises(BadInput, match="--only-language"):
        _list(settings, "other", languages=["xx-nope"])


def _articles(settings):
    with session_scope(settings.effective_database_url) as s:
        source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        seen = NOW - timedelta(hours=2)
        body = "<p>" + "word " * 700 + "</p>"
        drafts = [ArticleDraft(title=f"Story in {lang}", url=f"https://news.example.org/{lang}",
                               guid=lang, summary="Summary.", body_html=body, author="Jane Okafor",
                               image="https://img.example.org/a.jpg", image_alt="A quay at dawn",
                               published=seen, language=lang)
                  for lang in ("en", "fr-CA", "ar", None)]
        store_drafts(s, source, drafts, now=seen)


def test_a_list_takes_only_articles_in_its_languages_with_author_and_word_count(settings):
    _list(settings, "bilingual", languages=["en", "fr"])
    _list(settings, "everything")
    _articles(settings)
    editions = {name: digests.build_edition(settings, name, scheduled_for=NOW, now=NOW)
                for name in ("bilingual", "everything")}
    with session_scope(settings.effective_database_url) as s:
        content = {name: s.get(Edition, eid).content for name, eid in editions.items()}
    assert sorted(a["title"] for a in content["bilingual"]["articles"]) == \
        ["Story in en", "Story in fr-CA"]                      # not ar, not the unknown one
    assert len(content["everything"]["articles"]) == 4
    article = content["bilingual"]["articles"][0]
    assert article["author"] == "Jane Okafor" and article["words"] == 700
    assert article["image_alt"] == "A quay at dawn"           # stored, and frozen in the edition
