"""Issue 10: what counts as one article. Within a source a distinct guid is a distinct
article; URL and content match only across sources or without a guid. Real ingests of
feed files into SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services.ingest import ingest_targets
from bot.store.db import session_scope
from bot.store.models import Article, Source
from tests.support.httpserver import Route

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"


def articles(settings) -> list[Article]:
    with session_scope(settings.effective_database_url) as s:
        rows = list(s.scalars(select(Article).order_by(Article.id)))
        s.expunge_all()
        return rows


def test_podcast_episodes_sharing_one_link_stay_distinct_articles(settings):
    path = str(FEEDS / "podcast_one_link.xml")
    first = ingest_targets(settings, [path]).sources[0]

    assert first.status == "ok" and len(first.added) == 12 and first.updated == []
    stored = articles(settings)
    assert len(stored) == 12
    assert {a.url for a in stored} == {"https://podcast.example.org/show"}
    assert len({a.guid for a in stored}) == 12

    again = ingest_targets(settings, [path]).sources[0]
    assert len(again.unchanged) == 12 and again.added == again.updated == []


def test_fragment_links_relative_links_and_untitled_items(settings):
    report = ingest_targets(settings, [str(FEEDS / "live_fragments.xml")]).sources[0]

    assert report.status == "ok" and report.rejected == []
    stored = articles(settings)
    assert [a.title for a in stored] == [
        "Ferry back in service", "Harbour closed", "Storm warning issued",
        "Mastodon-style post with no title."]
    # a local file's relative links resolve against the channel link, not file:///
    assert {a.url for a in stored[:3]} == {"https://news.example.org/live/storm-day"}
    assert [a.guid for a in stored[:3]] == [
        f"https://news.example.org/live/storm-day#update-{n}" for n in (3, 2, 1)]
    assert 'href="https://news.example.org/live/storm-day"' in stored[3].body_html
    # no date in the feed: dated at ingest, and marked as such
    assert not any(a.published_known for a in stored)


def test_one_story_in_two_sources_is_one_article(settings, http_server):
    item = ("<item><title>Shared story</title><link>https://news.example.org/shared</link>"
            "<guid isPermaLink='false'>{guid}</guid><description>Same text.</description></item>")
    for name, guid in (("a", "a-1"), ("b", "b-77")):
        http_server.routes[f"/{name}.xml"] = Route(
            f"<rss version='2.0'><channel><title>{name}</title>{item.format(guid=guid)}"
            "</channel></rss>".encode())
    report = ingest_targets(settings, [http_server.url("/a.xml"), http_server.url("/b.xml")])

    assert [len(r.added) for r in report.sources] == [1, 0]
    assert len(report.sources[1].unchanged) == 1
    assert len(articles(settings)) == 1


def test_a_failed_ingest_of_a_url_keeps_no_source(settings, http_server):
    http_server.routes["/gone.xml"] = Route(b"not here", status=404)
    report = ingest_targets(settings, [http_server.url("/gone.xml")])

    assert report.sources[0].status in ("failed", "bad-input")
    assert "not kept as a source" in report.sources[0].note
    with session_scope(settings.effective_database_url) as s:
        assert s.scalars(select(Source)).all() == []


def test_a_page_whose_feed_is_already_a_source_ingests_into_that_source(settings, http_server):
    http_server.routes["/feed.xml"] = Route(
        b"<rss version='2.0'><channel><title>t</title><item><title>One</title>"
        b"<link>https://news.example.org/1</link></item></channel></rss>")
    feed = http_server.url("/feed.xml")
    http_server.routes["/"] = Route(
        f'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        f'href="{feed}"></head><body>home</body></html>'.encode(), content_type="text/html")
    first = ingest_targets(settings, [feed]).sources[0]
    assert len(first.added) == 1

    report = ingest_targets(settings, [http_server.url("/")]).sources[0]

    assert report.status == "ok", report.error
    assert report.source_id == first.source_id
    assert f"which is already source {first.source_id}; ingesting it" in report.note
    assert len(report.unchanged) == 1
    with session_scope(settings.effective_database_url) as s:
        assert [src.url for src in s.scalars(select(Source))] == [feed]


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_the_cli_says_a_failed_url_was_not_kept(settings, http_server, tmp_path):
    from tests.integration.test_cli import run

    http_server.routes["/gone.xml"] = Route(b"not here", status=404)
    result = run(tmp_path / "home", "ingest", http_server.url("/gone.xml"),
                 DATABASE_URL=settings.effective_database_url,
                 PRESSBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")

    assert result.returncode in (1, 2), result.stderr
    assert "not kept as a source" in result.stderr
    listed = run(tmp_path / "home", "sources", "list", "--json",
                 DATABASE_URL=settings.effective_database_url)
    assert listed.returncode == 0 and "gone.xml" not in listed.stdout


def test_migration_0015_makes_stored_markup_titles_plain_text(database_url):
    from alembic import command
    from sqlalchemy import text

    from bot.store import db

    cfg = db.alembic_config(database_url)
    engine = db.get_engine(database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
        conn.execute(text("INSERT INTO sources (id, kind, url, poll_interval, failure_count, "
                          "created_at) VALUES (1, 'feed', 'https://x.example/f', 900, 0, "
                          "CURRENT_TIMESTAMP)"))
        for n, title in enumerate(["<script>alert(1)</script>Budget vote <img src=\"x\"> ends",
                                   "Use the <p> element", "Q&A: 5 < 6"], start=1):
            conn.execute(text(
                "INSERT INTO articles (id, source_id, title, summary, body_html, categories, "
                "published_at, published_known, content_hash, revision, first_seen_at) VALUES "
                "(:id, 1, :title, '', '', '[]', CURRENT_TIMESTAMP, true, 'h', 0, "
                "CURRENT_TIMESTAMP)"), {"id": n, "title": title})
        command.upgrade(cfg, "head")
        titles = conn.execute(text("SELECT title FROM articles ORDER BY id")).scalars().all()

    assert titles == ["Budget vote ends", "Use the <p> element", "Q&A: 5 < 6"]
