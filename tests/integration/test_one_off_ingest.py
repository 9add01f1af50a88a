"""`pressbot ingest PATH` reads a local file or folder once: it adds no source of its own
(one that the scheduler would never poll); its articles belong to the built-in one-off
source. `sources add PATH` is the way to have a folder read on every poll, and every form
`sources list` shows is accepted back by `sources add`."""

from __future__ import annotations

from datetime import timedelta

from bot.services import articles, ingest
from bot.store.models import utcnow

STORY = "Harbour reopens\nURL: https://news.example.org/harbour\n\nThe harbour reopened today.\n"


def test_a_file_ingested_once_leaves_no_source_that_is_never_polled(settings, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    first = ingest.ingest_targets(settings, [str(story)])
    [report] = first.sources
    assert report.status == "ok" and len(report.added) == 1, report
    [source] = ingest.list_sources(settings)
    assert source["url"] == ingest.ONE_OFF_SOURCE_URL and source["next_poll_at"] is None
    assert source["failure_count"] == 0

    story.write_text(STORY.replace("reopened today", "reopened today, an hour late"))
    second = ingest.ingest_targets(settings, [str(story), str(story.parent)])
    assert second.sources[0].updated[0].id == report.added[0].id   # the same article, updated
    assert [s["url"] for s in ingest.list_sources(settings)] == [ingest.ONE_OFF_SOURCE_URL]
    assert len(articles.list_articles(settings)) == 1


def test_a_bad_one_off_file_is_reported_and_is_no_failing_source(settings, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    [report] = ingest.ingest_targets(settings, [str(bad)]).sources
    assert report.status == "bad-input" and "bad.json" in report.error
    assert all(s["failure_count"] == 0 for s in ingest.list_sources(settings))


def test_sources_add_accepts_what_sources_list_shows(settings, tmp_path):
    root = settings.effective_files_root / "desk"
    root.mkdir(parents=True)
    (root / "story.txt").write_text(STORY)
    ingest.add_source(settings, "https://news.example.org/feed.xml")
    ingest.add_source(settings, str(root))
    ingest.add_source(settings, ingest.WEBHOOK_SOURCE_URL)
    story = tmp_path / "once.txt"
    story.write_text(STORY.replace("harbour", "ferry"))
    ingest.ingest_targets(settings, [str(story)])
    listed = ingest.list_sources(settings)
    assert {s["url"] for s in listed} == {"https://news.example.org/feed.xml", root.as_uri(),
                                          ingest.WEBHOOK_SOURCE_URL, ingest.ONE_OFF_SOURCE_URL}
    for row in listed:   # each form given back: the same source, no duplicate
        assert ingest.add_source(settings, row["url"]) == row["id"]
    assert len(ingest.list_sources(settings)) == len(listed)


def test_a_folder_added_as_a_source_is_polled_by_the_scheduler(settings):
    root = settings.effective_files_root / "desk"
    root.mkdir(parents=True)
    (root / "story.txt").write_text(STORY)
    source_id = ingest.add_source(settings, str(root))
    assert source_id in ingest.due_source_ids(settings, now=utcnow() + timedelta(seconds=1))
    report = ingest.poll_source(settings, source_id)
    assert report.status == "ok" and len(report.added) == 1
    [row] = [s for s in ingest.list_sources(settings) if s["id"] == source_id]
    assert row["next_poll_at"] is not None   # polled again, like a feed
