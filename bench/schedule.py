"""Scheduling share posts (issue 10): how long placing N new articles takes, and in how
many dispatch ticks.

Reports, in one run:
  (a) the pure rules: N slots in a row on one account (4 an hour, 10 min apart, quiet
      22:00-07:00 Europe/Paris) with domain.posting.Timeline, and, for the smaller N, with
      the implementation it replaced (tests/unit/posting_reference.py), which rescanned
      every taken slot on every pass;
  (b) the dispatch: N new articles bulk-inserted (published over the last day, as after a
      `pressbot ingest` of a big folder) on 1 and on 4 accounts, then `dispatch.run_tick`
      until nothing is left to schedule: ticks, the slowest tick, total time, posts
      scheduled and articles not shared. "window 48 h" is the default recency window (an
      account can take ~190 of them before their window closes; the rest are out of reach,
      not even read); "window ∞" gives every article a slot (a recency window of a million
      hours), to time the slotting itself at volume.

    .venv/bin/python bench/schedule.py [--sizes 10000,100000] [--old 300,600]
                                       [--database-url postgresql+psycopg://…/test] [--no-db]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import datetime, time as clock, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.domain.posting import PostingRules, Timeline  # noqa: E402
from bot.services import dispatch, share_scheduling, shares  # noqa: E402
from bot.store import db  # noqa: E402
from bot.store.db import session_scope  # noqa: E402
from bot.store.models import Article, PostState, SharePost, SocialAccount, Source, SourceKind  # noqa: E402
from tests.unit import posting_reference  # noqa: E402

RULES = PostingRules(max_per_hour=4, min_gap=timedelta(minutes=10), quiet_start=clock(22),
                     quiet_end=clock(7), tz="Europe/Paris")
T0 = datetime(2026, 11, 28, 8, tzinfo=timezone.utc)


def pure(n: int) -> float:
    timeline, cursor = Timeline(RULES), T0
    started = time.perf_counter()
    for _ in range(n):
        cursor = timeline.place(cursor)
    return time.perf_counter() - started


def pure_old(n: int) -> float:
    taken: list[datetime] = []
    started = time.perf_counter()
    for _ in range(n):
        taken.append(posting_reference.next_slot(T0, taken, RULES))
    return time.perf_counter() - started


def fresh_schema(base_url: str) -> tuple[str, callable]:
    if base_url.startswith("sqlite"):
        path = Path(f"/tmp/bench-schedule-{uuid.uuid4().hex[:8]}.db")
        url = f"sqlite:///{path}"
        db.upgrade(url)
        return url, lambda: (db.dispose_engines(), path.unlink(missing_ok=True))
    schema = f"bench_schedule_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    url = f"{base_url}{sep}options=-csearch_path%3D{schema}"
    db.upgrade(url)

    def drop():
        db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return url, drop


def seed(url: str, n: int, accounts: int, recency_hours: int | None, now: datetime) -> Settings:
    # A queue of its own: the dispatch lock is named after it, and on PostgreSQL it is an
    # advisory lock of the whole server: the default name would stall other dispatchers.
    settings = Settings(home=Path("/tmp/bench-schedule-home"), database_url=url,
                        queue=f"bench-schedule-{uuid.uuid4().hex[:8]}")
    for i, platform in enumerate(["x", "mastodon", "bluesky", "telegram"][:accounts]):
        account_id = shares.add_account(settings, f"bench-{platform}", platform)
        if recency_hours:
            share_scheduling.set_recency_hours(settings, account_id, recency_hours)
    with session_scope(url) as s:
        for account in s.scalars(select(SocialAccount)):
            account.created_at = now - timedelta(days=1)
        source = Source(kind=SourceKind.FILES, url="bench:folder", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        step = timedelta(days=1) / n
        for start in range(0, n, 10_000):
            s.execute(insert(Article), [
                {"source_id": source.id, "guid": f"b{i}", "url": f"https://news.example.org/b{i}",
                 "title": f"Story {i}", "summary": "", "body_html": "", "categories": [],
                 "published_at": now - i * step, "published_known": True,
                 "content_hash": f"b{i}", "revision": 0, "first_seen_at": now}
                for i in range(start, min(n, start + 10_000))])
    return settings


def ticks(settings: Settings, now: datetime) -> dict:
    enqueued: list = []
    durations: list[float] = []
    report = None
    while report is None or report.scheduling_left:
        started = time.perf_counter()
        report = dispatch.run_tick(settings, lambda task, args: enqueued.append(task),
                                   now=now + timedelta(minutes=len(durations)))
        durations.append(time.perf_counter() - started)
    with session_scope(settings.effective_database_url) as s:
        articles = s.scalar(select(func.count(Article.id)))
        accounts = s.scalar(select(func.count(SocialAccount.id)))
        scheduled = s.scalar(select(func.count(SharePost.id))
                             .where(SharePost.state == PostState.SCHEDULED))
    return {"ticks": len(durations), "slowest": max(durations), "total": sum(durations),
            "scheduled": scheduled, "not_shared": articles * accounts - scheduled}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--old", default="300,600")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-db", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    old = [int(s) for s in args.old.split(",") if s]

    print("(a) pure rules, one account: N slots in a row")
    for n in sorted(set(old + sizes)):
        new = pure(n)
        line = f"  N={n:>7}: Timeline {new:8.3f} s ({new / n * 1e6:6.1f} µs/slot)"
        if n in old:
            before = pure_old(n)
            line += f"   old next_slot {before:8.2f} s ({before / new:,.0f} × slower)"
        print(line, flush=True)
    if args.no_db:
        return

    print(f"(b) dispatch ticks on {args.database_url.split('://')[0]}")
    for n in sizes:
        for accounts in (1, 4):
            for label, hours in (("48 h", None), ("∞", 1_000_000)):
                url, drop = fresh_schema(args.database_url)
                try:
                    now = datetime.now(timezone.utc).replace(microsecond=0)
                    settings = seed(url, n, accounts, hours, now)
                    r = ticks(settings, now)
                finally:
                    drop()
                print(f"  N={n:>7} accounts={accounts} window {label:>4}: {r['ticks']:>4} ticks, "
                      f"slowest {r['slowest']:6.2f} s, total {r['total']:7.1f} s, "
                      f"{r['scheduled']:>7} scheduled, {r['not_shared']:>7} not shared", flush=True)


if __name__ == "__main__":
    main()
