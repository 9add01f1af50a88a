"""Issue 10: real-world feed files from public test suites (tests/data/feeds-corpus, see
tests/data/README.md), compared with feedparser's own reading of each file.

Every entry feedparser finds is stored or rejected with a reason a person would accept;
titles, links and dates are feedparser's (as plain text, canonical, UTC); no two entries
with distinct guids become one article; no traceback; the CLI's exit code is as documented.
"""

from __future__ import annotations

import calendar
import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.domain.articles import canonical_url, clean_title
from bot.ingest.feeds import NotAFeed, parse_feed
from bot.ingest.fetch import make_client
from bot.services.ingest import classify_target, fetch_options, get_or_add_source, poll_source
from bot.store import db
from bot.store.db import session_scope
from bot.store.models import Article
from tests.integration.test_cli import run

CORPUS = Path(__file__).resolve().parents[1] / "data" / "feeds-corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".xml", ".rdf", ".rss", ".atom"))

# Why an entry may be refused: it has nothing a reader could be shown.
ACCEPTED_REASONS = re.compile(
    r"item has no title, text, link or guid|item has no title and no text"
    r"|title is empty and the item has no text to make one from")


def name(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def oracle(path: Path):
    return feedparser.parse(path.read_bytes())


def is_feed(parsed) -> bool:
    return bool(parsed.entries or parsed.get("version"))


def expected_title(entry) -> str | None:
    detail = entry.get("title_detail") or {}
    if not entry.get("title"):
        return None
    if detail.get("type") == "text/plain":
        return " ".join(entry["title"].split())
    return clean_title(entry["title"])


def expected_date(entry) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc) if parsed else None


def test_the_corpus_is_a_few_hundred_files_from_each_origin():
    origins = {p.relative_to(CORPUS).parts[0] for p in FILES}
    assert origins == {"feedparser", "feedvalidator", "miniflux"}
    assert 300 <= len(FILES) <= 600
    assert sum(p.stat().st_size for p in FILES) < 5 * 1024 * 1024


def test_every_entry_is_parsed_as_feedparser_reads_it_or_rejected_for_a_reason():
    problems: list[str] = []
    entries = drafts = 0
    for path in FILES:
        fp = oracle(path)
        try:
            result = parse_feed(path.read_bytes(), path.resolve().as_uri())
        except NotAFeed:
            if is_feed(fp):
                problems.append(f"{name(path)}: refused, feedparser reads {len(fp.entries)}")
            continue
        entries += len(fp.entries)
        drafts += len(result.drafts)
        if len(result.drafts) + len(result.rejected) != len(fp.entries):
            problems.append(f"{name(path)}: {len(result.drafts)} drafts + "
                            f"{len(result.rejected)} rejected != {len(fp.entries)}")
            continue
        problems += [f"{name(path)}: rejected: {r.reason}" for r in result.rejected
                     if not ACCEPTED_REASONS.fullmatch(r.reason)]
        refused = {int(r.where.rsplit(" ", 1)[1]) for r in result.rejected}
        accepted = [e for n, e in enumerate(fp.entries, 1) if n not in refused]
        for entry, draft in zip(accepted, result.drafts):
            title, link = expected_title(entry), canonical_url(entry.get("link"))
            if title and title != draft.title:
                problems.append(f"{name(path)}: title {draft.title!r}, feedparser {title!r}")
            if link and link != draft.url:
                problems.append(f"{name(path)}: link {draft.url!r}, feedparser {link!r}")
            if expected_date(entry) != draft.published:
                problems.append(f"{name(path)}: date {draft.published}, "
                                f"feedparser {expected_date(entry)}")
    assert problems == []
    # Most entries are stored; the rest are test fragments with nothing to show.
    assert entries > 600 and drafts > 0.6 * entries


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "pressbot.db"
    db.upgrade(f"sqlite:///{path}")
    db.dispose_engines()
    return path


def identities(entries) -> int:
    """How many articles the entries name: a guid names one; without a guid, a link does;
    with neither, what they say (the same title and text twice is one article)."""
    keys = set()
    for entry in entries:
        link = canonical_url(entry.get("link"))
        text = (entry.get("title"), entry.get("summary"),
                tuple(c.get("value") for c in entry.get("content") or ()))
        keys.add(("guid", entry["id"]) if entry.get("id") else ("link", link) if link
                 else ("text", text))
    return len(keys)


def test_each_file_ingests_into_a_database_with_nothing_merged(migrated_sqlite, tmp_path):
    """A fresh database per file (copies of one migrated file), so a link one test file
    shares with another ("http://example.com/") is not a cross-source duplicate here."""
    problems: list[str] = []
    client = make_client(fetch_options(Settings(home=tmp_path / "home")))
    for n, path in enumerate(FILES):
        fp = oracle(path)
        url = f"sqlite:///{tmp_path / f'{n}.db'}"
        shutil.copy(migrated_sqlite, tmp_path / f"{n}.db")
        settings = Settings(home=tmp_path / "home", database_url=url)
        try:
            kind, source_url = classify_target(str(path))
            report = poll_source(settings, get_or_add_source(settings, source_url, kind),
                                 client=client, target=str(path), operator_named=True)
            with session_scope(url) as session:
                known = {a.id: a.published_known for a in session.scalars(select(Article))}
        finally:
            db.dispose_engines()
            (tmp_path / f"{n}.db").unlink()
        if not is_feed(fp):
            if report.status != "bad-input" or "is not a feed" not in report.error:
                problems.append(f"{name(path)}: {report.status} {report.error}")
            continue
        if report.status != "ok":
            problems.append(f"{name(path)}: {report.status}: {report.error}")
            continue
        found = report.added + report.updated + report.unchanged
        if len(found) + len(report.rejected) != len(fp.entries):
            problems.append(f"{name(path)}: {len(found)} stored + {len(report.rejected)} "
                            f"rejected != {len(fp.entries)}")
        refused = {int(r["where"].rsplit(" ", 1)[1]) for r in report.rejected}
        accepted = [e for i, e in enumerate(fp.entries, 1) if i not in refused]
        if len(known) != identities(accepted):
            problems.append(f"{name(path)}: {len(known)} articles for "
                            f"{identities(accepted)} distinct entries")
        undated = sum(1 for e in accepted if expected_date(e) is None)
        if sum(1 for k in known.values() if not k) > undated:
            problems.append(f"{name(path)}: more articles marked undated than undated entries")
    client.close()
    assert problems == []


def test_the_cli_ingests_the_whole_corpus_with_documented_exit_codes(database_url, tmp_path):
    result = run(tmp_path / "home", "ingest", "--json", *map(str, FILES),
                 DATABASE_URL=database_url, PRESSBOT_ALLOWED_PRIVATE_NETWORKS="")

    assert "Traceback" not in result.stderr
    not_feeds = [p for p in FILES if not is_feed(oracle(p))]
    # 2: some named files are not feeds (documented: "a page that is not a feed")
    assert result.returncode == (2 if not_feeds else 0), result.stderr[-2000:]
    report = json.loads(result.stdout)
    by_target = {s["target"]: s for s in report["sources"]}
    assert {t for t, s in by_target.items() if s["status"] == "bad-input"} == {
        str(p) for p in not_feeds}
    for path in FILES:
        if path in not_feeds:
            continue
        source = by_target[str(path)]
        total = source["added"] + source["updated"] + source["unchanged"] + source["rejected"]
        assert (source["status"], total) == ("ok", len(oracle(path).entries)), name(path)
