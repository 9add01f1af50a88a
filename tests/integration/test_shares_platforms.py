"""Issue 4's "done when": a new article with four configured accounts yields four scheduled
posts, published once each, in their slots, to local servers speaking each platform's API
through the real client libraries; a failing platform neither blocks the others nor loops."""

from __future__ import annotations

import html
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.snippets.bluesky import short_url
from bot.domain.snippets.text import grapheme_count
from bot.services import shares
from bot.services.ingest import ingest_targets
from bot.store.db import session_scope
from bot.store.models import Article
from tests.integration.test_cli import ROOT, run
from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_mastodon import FakeMastodon
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.fake_x import FakeX


@pytest.fixture
def platforms():
    x, masto, bsky, tg = FakeX().start(), FakeMastodon(token="m-token").start(), FakeBluesky(), FakeTelegram()
    bsky.start()
    tg.start()
    yield {"x": x, "mastodon": masto, "bluesky": bsky, "telegram": tg}
    for server in (x, masto, bsky, tg):
        server.stop()


def add_accounts(settings, p, **rules):
    ck, cs, at, ats = p["x"].keys
    shares.add_account(settings, "gazette-x", "x", credentials={
        "consumer_key": ck, "consumer_secret": cs, "access_token": at,
        "access_token_secret": ats, "api_host": p["x"].base}, **rules)
    shares.add_account(settings, "gazette-masto", "mastodon", credentials={
        "api_base_url": p["mastodon"].base, "access_token": "m-token"}, **rules)
    shares.add_account(settings, "gazette-bsky", "bluesky", credentials={
        "handle": p["bluesky"].handle, "app_password": p["bluesky"].password,
        "base_url": p["bluesky"].xrpc}, **rules)
    shares.add_account(settings, "gazette-tg", "telegram", credentials={
        "bot_token": TOKEN, "chat_id": "@newsroom", "api_base": p["telegram"].base}, **rules)


def posted(p) -> dict[str, int]:
    return {"x": len(p["x"].tweets), "mastodon": len(p["mastodon"].statuses),
            "bluesky": len(p["bluesky"].records), "telegram": len(p["telegram"].messages)}


def ingest_one_new_article(settings) -> int:
    ingest_targets(settings, [str(ROOT / "examples" / "articles" / "harbour-ferry-resumes.html")])
    with session_scope(settings.effective_database_url) as s:
        [article] = s.query(Article).all()
        # The example is from 2024: date it now, or the recency window keeps it unshared.
        article.published_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        return article.id


def test_four_accounts_four_posts_each_published_once_in_its_slot(settings, platforms):
    add_accounts(settings, platforms, min_gap_minutes=10)
    article_id = ingest_one_new_article(settings)
    now = datetime.now(timezone.utc)
    assert shares.schedule_new_articles(settings, now=now) == 4
    assert shares.publish_due(settings, now=now - timedelta(seconds=1)).sent == []  # not yet
    report = shares.publish_due(settings, now=now)
    assert len(report.sent) == 4, shares.list_shares(settings)
    assert shares.publish_due(settings, now=now + timedelta(hours=1)).sent == []
    assert posted(platforms) == {"x": 1, "mastodon": 1, "bluesky": 1, "telegram": 1}

    [status] = platforms["mastodon"].requests_to("/api/v1/statuses", "POST")
    assert status.headers["idempotency-key"].startswith("pressbot-post-")
    [record] = platforms["bluesky"].records
    text = record["record"]["text"].encode()
    for facet in record["record"]["facets"]:
        feature = facet["features"][0]
        span = text[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()
        # A link shows as Bluesky's client shows it; its facet keeps the full tagged URL.
        assert span == (short_url(feature["uri"]) if "uri" in feature else "#" + feature["tag"])
    [link] = [f["features"][0]["uri"] for f in record["record"]["facets"] if "uri" in f["features"][0]]
    assert "utm_source=bluesky" in link and link not in record["record"]["text"]
    [message] = platforms["telegram"].messages
    assert message["parse_mode"] == "HTML" and "utm_source=telegram" in message["text"]
    rows = {r["platform"]: r for r in shares.list_shares(settings)}
    assert all(r["state"] == "sent" and r["remote_id"] for r in rows.values())
    assert rows["bluesky"]["remote_url"].startswith("https://bsky.app/profile/")


def test_a_rate_limited_platform_retries_after_its_reset_and_blocks_nobody(settings, platforms):
    add_accounts(settings, platforms)
    ingest_one_new_article(settings)
    now = datetime.now(timezone.utc)
    shares.schedule_new_articles(settings, now=now)
    platforms["x"].rate_limit_next(int(time.time()) + 900)
    report = shares.publish_due(settings, now=now)
    assert len(report.sent) == 3 and len(report.retrying) == 1
    assert posted(platforms) == {"x": 0, "mastodon": 1, "bluesky": 1, "telegram": 1}
    [x_row] = [r for r in shares.list_shares(settings) if r["platform"] == "x"]
    retry_at = datetime.fromisoformat(x_row["scheduled_at"])
    assert timedelta(seconds=880) <= retry_at - now <= timedelta(seconds=960)
    assert "429" in x_row["last_error"]
    assert shares.publish_due(settings, now=retry_at - timedelta(seconds=1)).sent == []
    assert len(shares.publish_due(settings, now=retry_at).sent) == 1
    assert posted(platforms)["x"] == 1


def test_bad_credentials_give_one_clear_error_and_pause_the_account(settings, platforms):
    add_accounts(settings, platforms)
    shares.add_account(settings, "broken-masto", "mastodon", credentials={
        "api_base_url": platforms["mastodon"].base, "access_token": "wrong"})
    ingest_targets(settings, [str(ROOT / "examples" / "articles")])
    now = datetime.now(timezone.utc)
    shares.schedule_new_articles(settings, now=now)
    far = now + timedelta(days=2)  # every slot is due by then
    report = shares.publish_due(settings, now=far)
    assert report.paused_accounts == ["broken-masto"]
    assert shares.publish_due(settings, now=far + timedelta(hours=1)).failed == []  # no retry loop
    failed = shares.list_shares(settings, failed=True)
    assert [r["account"] for r in failed] == ["broken-masto"]
    assert "401" in failed[0]["last_error"]
    good = [r for r in shares.list_shares(settings) if r["account"] != "broken-masto"]
    assert good and all(r["state"] == "sent" for r in good)
    [broken] = [a for a in shares.list_accounts(settings) if a["name"] == "broken-masto"]
    assert broken["needs_attention"]


def test_compose_gives_a_valid_text_for_every_platform_and_example(sqlite_settings, tmp_path):
    ingest_targets(sqlite_settings, [str(ROOT / "examples"), str(ROOT / "examples" / "feed.xml")])
    with session_scope(sqlite_settings.effective_database_url) as s:
        ids = [a.id for a in s.query(Article)]
    assert len(ids) >= 6
    for article_id in ids:
        for platform in ("x", "mastodon", "bluesky", "telegram"):
            snippet = shares.compose_share(sqlite_settings, article_id, platform)
            assert 0 < snippet.length <= snippet.limit, (article_id, platform)
            shown = {"telegram": html.escape(snippet.url),
                     "bluesky": short_url(snippet.url)}.get(platform, snippet.url)
            assert shown in snippet.text


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_cli_compose_prints_the_platform_count(tmp_path):
    home = tmp_path / "data"
    assert run(home, "ingest", str(ROOT / "examples" / "feed.xml")).returncode == 0
    article = json.loads(run(home, "articles", "list", "--json").stdout)[0]
    for platform in ("x", "bluesky"):
        result = run(home, "share", "compose", str(article["id"]), "--platform", platform, "--json")
        assert result.returncode == 0, result.stderr
        snippet = json.loads(result.stdout)
        assert set(snippet) >= {"platform", "text", "url", "length", "limit"}
        assert 0 < snippet["length"] <= snippet["limit"]
        assert ("facets" in snippet) == (platform == "bluesky")
    # Bluesky: the shown text has the short link, `length` its graphemes, the facet the full URL.
    assert snippet["url"] not in snippet["text"] and short_url(snippet["url"]) in snippet["text"]
    assert snippet["length"] == grapheme_count(snippet["text"])
    assert snippet["url"] in [f["features"][0].get("uri") for f in snippet["facets"]]
    bad = run(home, "share", "compose", str(article["id"]), "--platform", "myspace")
    assert bad.returncode == 2 and "myspace" in bad.stderr


def test_accounts_check_verifies_credentials_and_clears_or_sets_attention(sqlite_settings, platforms):
    from bot.social.base import AuthError

    add_accounts(sqlite_settings, platforms)
    shares.add_account(sqlite_settings, "broken-tg", "telegram", credentials={
        "bot_token": "1:wrong", "chat_id": "@newsroom", "api_base": platforms["telegram"].base})
    assert shares.check_account(sqlite_settings, "gazette-masto").startswith("@")
    assert shares.check_account(sqlite_settings, "gazette-bsky") == "@" + platforms["bluesky"].handle
    with pytest.raises(AuthError) as caught:
        shares.check_account(sqlite_settings, "broken-tg")
    assert "1:wrong" not in str(caught.value)
    [broken] = [a for a in shares.list_accounts(sqlite_settings) if a["name"] == "broken-tg"]
    assert broken["needs_attention"] and broken["credentials"] == "stored (encrypted)"
