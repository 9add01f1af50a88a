"""Digest sending: N confirmed subscribers in PostgreSQL, a 10-article edition, delivered to
Postfix's smtp-sink on loopback.

Reports, in one run:
  (a) pressbot's send (claim, render once per variant, build, SMTP, record per message), in
      messages/s, and its peak RSS, each size in a fresh process;
  (b) the limit: one pre-built message replayed over one reused smtplib connection;
  (c) the naive pipeline on a sample: per recipient Jinja render + premailer + EmailMessage,
      sent over one reused connection;
  (d) the same send through the real Celery worker (`celery -A tasks worker`, prefork, two
      processes, as `pressbot run` starts it) on Redis: the bench builds the edition and
      creates the deliveries, enqueues `pressbot.deliver_batch` messages as the build task
      does, and times from the first enqueue until no row is pending or claimed.
Targets (issue 3): (a) ≥ 0.6 × (b); (a) ≥ 20 × (c); peak RSS ≤ 250 MB and flat (≤ +10 %)
from 10,000 to 100,000 subscribers. Issue 5: (d) ≥ 0.9 × (a).

    apt-get install postfix      # for /usr/sbin/smtp-sink only; the daemon is never started
    .venv/bin/python bench/digest_send.py [--sizes 10000,100000] [--replay 20000] [--naive 300]
                                          [--database-url postgresql+psycopg://…/test]
                                          [--redis-url redis://127.0.0.1:6379/13] [--rounds 1]
                                          [--no-celery]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.domain.articles import ArticleDraft  # noqa: E402
from bot.services import digests, subscribers  # noqa: E402
from bot.store import db  # noqa: E402
from bot.store.articles import store_drafts  # noqa: E402
from bot.store.mailing import Subscriber, SubscriberStatus, Subscription  # noqa: E402
from bot.store.models import Source, SourceKind  # noqa: E402

SINK = "/usr/sbin/smtp-sink"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A Redis database of the bench's own (and a queue named per run): nothing else is touched.
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
ROOT = Path(__file__).resolve().parents[1]
FROM = "news@gazette.example.org"
SUMMARY = ("The council met on Tuesday to discuss the budget for the coming year; members argued "
           "over transport, housing and the state of the harbour and its ferries.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    # -u: smtp-sink refuses to run as root without a user to switch to.
    sink = subprocess.Popen([SINK, "-u", "postfix", f"127.0.0.1:{port}", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start")


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def schema_for(n: int, path: str = "inproc", round_: int = 0) -> str:
    return f"bench_digest_{path}_{n}_{round_}"


def reset_schema(base_url: str, schema: str, create: bool) -> None:
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if create:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()


def prepare_database(base_url: str, n: int, home: Path, schema: str) -> str:
    """A fresh schema with one list, n confirmed subscribers and 10 new articles. No
    ANALYZE afterwards, on purpose: a send right after a big import meets stale planner
    statistics, and has to be fast anyway."""
    reset_schema(base_url, schema, create=True)
    url = schema_url(base_url, schema)
    db.upgrade(url)
    settings = Settings(home=home, database_url=url)
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_email=FROM,
                         from_name="Gazette", schedule="daily 07:00", timezone="Europe/Paris")
    now = datetime.now(timezone.utc)
    engine = db.get_engine(url)
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            conn.execute(insert(Subscriber), [
                {"email": f"reader{i:06d}@example.net", "name": f"Reader {i}",
                 "status": SubscriberStatus.CONFIRMED, "created_at": now, "confirmed_at": now}
                for i in range(start, min(n, start + 10_000))])
        ids = conn.execute(select(Subscriber.id).order_by(Subscriber.id)).scalars().all()
        for start in range(0, n, 10_000):
            conn.execute(insert(Subscription), [
                {"subscriber_id": i, "list_id": 1, "topics": [], "active": True, "created_at": now}
                for i in ids[start:start + 10_000]])
        del ids
    with db.session_scope(url) as s:
        source = Source(kind=SourceKind.FEED, url="bench:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        drafts = [ArticleDraft(title=f"Story {i}: the harbour ferry runs again after the storm",
                               url=f"https://gazette.example.org/city/{i}", guid=f"g{i}",
                               summary=SUMMARY, categories=(("City", "Politics", "Sport")[i % 3],),
                               image=f"https://gazette.example.org/img/{i}.jpg",
                               published=now - timedelta(hours=i + 1), language="en")
                  for i in range(10)]
        store_drafts(s, source, drafts, now=now - timedelta(hours=1))
    db.dispose_engines()
    return url


def peak_rss_mb() -> float:
    """VmHWM, this process image's own high-water mark. Not getrusage's ru_maxrss: Linux
    carries that over exec from the forking parent, so a child started by a parent that had
    just built 100,000 subscribers would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_send(url: str, home: str, port: int) -> None:
    """In a process of its own, so that its peak RSS is the send's alone."""
    # No send rate (the default): nothing throttles either path; see bench_settings.
    settings = bench_settings(Path(home), url, port)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    edition_id = digests.build_edition(settings, "morning", scheduled_for=now, now=now)
    rows = digests.create_deliveries(settings, edition_id)
    created = time.perf_counter()
    rss_created = peak_rss_mb()
    report = digests.send_edition(settings, edition_id)
    done = time.perf_counter()
    assert report.sent == rows, report
    print(json.dumps({"rows": rows, "prepare_s": created - started, "send_s": done - created,
                      "rate": rows / (done - created), "rss_created_mb": rss_created,
                      "peak_rss_mb": peak_rss_mb()}))


def bench_settings(home: Path, url: str, port: int, **extra) -> Settings:
    """The settings both paths send with, given explicitly so that no PRESSBOT_* variable
    or pressbot.toml of the machine changes them: SMTP to the sink, 500 rows a batch, and
    no send rate. send_rate 0 means no throttle at all: the in-process path has no Redis,
    and the Celery path's shared token bucket (bot.services.ratelimit) is only made when
    send_rate > 0, so neither path is limited by anything but its own work."""
    return Settings(home=home, database_url=url, smtp_url=f"smtp://127.0.0.1:{port}",
                    send_rate=0.0, batch_size=500, **extra)


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment that makes the worker's get_settings() equal `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(settings.home), DATABASE_URL=settings.database_url,
               REDIS_URL=settings.redis_url, PRESSBOT_QUEUE=settings.queue,
               PRESSBOT_SMTP_URL=settings.smtp_url, PRESSBOT_SEND_RATE="0",
               PRESSBOT_BATCH_SIZE=str(settings.batch_size),
               PRESSBOT_WORKER_CONCURRENCY=str(settings.worker_concurrency),
               PYTHONUNBUFFERED="1")
    return env


def start_worker(settings: Settings, log: Path) -> subprocess.Popen:
    """The worker exactly as `pressbot run` starts it (bot.runner.celery_argv: prefork,
    --concurrency from settings, our queue only, --loglevel warning), in a process group
    of its own; ready when it answers a broadcast ping."""
    from bot.runner import celery_argv
    from bot.tasks import make_app

    with open(log, "w") as fh:
        proc = subprocess.Popen(celery_argv(settings, "worker"), stdout=fh, stderr=subprocess.STDOUT,
                                env=worker_env(settings), cwd=ROOT, process_group=0)
    app = make_app(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text()}")
        if app.control.ping(timeout=0.5):
            return proc
    stop_worker(proc)
    raise SystemExit(f"the worker did not answer a ping in 60 s:\n{log.read_text()}")


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # warm shutdown: the queue is empty by now
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def clean_redis(settings: Settings) -> None:
    """Drop what this run's queue left in the bench's Redis database (bindings, the
    unacked bookkeeping, the pidbox bindings of the ping)."""
    from bot import broker

    client = broker.redis_client(settings)
    try:
        keys = [settings.queue, *client.keys(f"*{settings.queue}*"), *client.keys("_kombu.*"),
                *client.keys("unacked*")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def celery_send(base_url: str, redis_url: str, n: int, home: Path, port: int,
                round_: int) -> dict:
    """(d): the same edition size through the real worker. The bench does what the
    `pressbot.build_edition` task does (build, create the rows, enqueue
    dispatch_email.batches_for(due) batch messages after the commit), then, standing in
    for the dispatcher's later ticks, enqueues batches_for(pending) again whenever the
    queue has drained while rows are still pending (an edition larger than
    MAX_BATCH_MESSAGES × batch_size needs more than one fan-out). Done when no row of the
    edition is pending or claimed: polled every 50 ms (two index probes)."""
    from bot import broker
    from bot.services import dispatch_email
    from bot.services.dispatch import DELIVER_BATCH
    from bot.store.mailing import Delivery, DeliveryState
    from bot.tasks import enqueuer, make_app

    schema = schema_for(n, "celery", round_)
    url = prepare_database(base_url, n, home, schema)
    settings = bench_settings(home, url, port, redis_url=redis_url, worker_concurrency=2,
                              queue=f"bench-digest-{uuid.uuid4().hex[:8]}")
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"worker-{n}.log"
    worker = start_worker(settings, log)
    try:
        enqueue = enqueuer(settings, make_app(settings))
        engine = db.get_engine(url)
        table, pending_state, claimed_state = (Delivery.__tablename__, DeliveryState.PENDING,
                                               DeliveryState.CLAIMED)
        # Two probes of ix_deliveries_edition_state: cheap at any size, so the poll does
        # not take CPU from the worker (a count over 100,000 rows every 50 ms would).
        any_open = text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE edition_id = :e AND state = "
                        f"'{pending_state}') OR EXISTS (SELECT 1 FROM {table} WHERE "
                        f"edition_id = :e AND state = '{claimed_state}')")
        count_open = text(f"SELECT count(*) FROM {table} WHERE edition_id = :e AND state = :s")
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        edition_id = digests.build_edition(settings, "morning", scheduled_for=now, now=now)
        rows = digests.create_deliveries(settings, edition_id)
        created = time.perf_counter()
        messages = dispatch_email.batches_for(settings, digests.due_count(settings, edition_id))
        for _ in range(messages):
            enqueue(DELIVER_BATCH, [edition_id])
        last_check, last_open = time.monotonic(), None
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while conn.execute(any_open, {"e": edition_id}).scalar():
                if broker.queue_depth(settings) == 0:
                    pending = conn.execute(count_open, {"e": edition_id, "s": pending_state}).scalar()
                    more = dispatch_email.batches_for(settings, pending) if pending else 0
                    for _ in range(more):
                        enqueue(DELIVER_BATCH, [edition_id])
                    messages += more
                if time.monotonic() - last_check > 120:  # no progress for two minutes: stuck
                    still = sum(conn.execute(count_open, {"e": edition_id, "s": state}).scalar()
                                for state in (pending_state, claimed_state))
                    if still == last_open:
                        raise SystemExit(f"no progress in 120 s ({still} rows open):\n"
                                         f"{log.read_text()[-4000:]}")
                    last_check, last_open = time.monotonic(), still
                time.sleep(0.05)
        done = time.perf_counter()
        info = digests.edition_info(settings, edition_id)
    finally:
        stop_worker(worker)
        clean_redis(settings)
        db.dispose_engines()
    sent = info["deliveries"].get(DeliveryState.SENT, 0)
    assert sent == rows, info
    return {"rows": rows, "prepare_s": created - started, "send_s": done - created,
            "rate": rows / (done - created), "messages": messages, "status": info["status"],
            "schema": schema}


def run_child(url: str, home: Path, port: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", url, str(home), str(port)],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the send failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def one_message(url: str, home: Path) -> tuple[bytes, dict, object, object]:
    """A real digest message (as pressbot builds it), the edition's content, list and site."""
    from bot.newsletter.render import SiteInfo
    from bot.services.sending import Variants

    settings = Settings(home=home, database_url=url)
    now = datetime.now(timezone.utc)
    edition_id = digests.build_edition(settings, "morning", scheduled_for=now, now=now, preview=True)
    variants = Variants(settings, edition_id, previewing=True)
    variants.load()
    key = variants.key("en", ())
    variants.prepare({key: ("en", ())})
    message = variants.build(key, 1, "reader000001@example.net", "Reader 1")
    return message, variants.content, variants.mlist, SiteInfo.from_settings(settings)


def replay(port: int, message: bytes, n: int) -> float:
    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(n):
        conn.sendmail(FROM, f"reader{i:06d}@example.net", message)
    elapsed = time.perf_counter() - started
    conn.quit()
    return n / elapsed


def naive(port: int, content: dict, mlist, site, n: int) -> float:
    """What pressbot does not do: everything per recipient."""
    from bot.newsletter.render import render_digest

    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(n):
        rendered = render_digest(content, mlist, settings_view=site)
        msg = EmailMessage()
        msg["From"], msg["To"] = f"Gazette <{FROM}>", f"Reader {i} <reader{i:06d}@example.net>"
        msg["Subject"], msg["Date"] = rendered.subject, format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(domain="gazette.example.org")
        msg["List-Unsubscribe"] = f"<https://news.example.org/unsubscribe/{i}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        conn.sendmail(FROM, f"reader{i:06d}@example.net", msg.as_bytes())
    elapsed = time.perf_counter() - started
    conn.quit()
    return n / elapsed


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--replay", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--rounds", type=int, default=1,
                        help="send each size this many times on each path (fresh schema each)")
    parser.add_argument("--no-celery", action="store_true", help="skip (d)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_send(args.child[0], args.child[1], int(args.child[2]))
        return
    import tempfile

    print(f"load average before: {load_average()}", flush=True)
    port = free_port()
    sink = start_sink(port)
    results: dict[int, list[dict]] = {}
    queued: dict[int, list[dict]] = {}
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(args.rounds):
                for n in (int(s) for s in args.sizes.split(",")):
                    home = Path(tmp) / f"home{n}-{round_}"
                    schema = schema_for(n, "inproc", round_)
                    schemas.append(schema)
                    url = prepare_database(args.database_url, n, home, schema)
                    r = run_child(url, home, port)
                    results.setdefault(n, []).append(r)
                    print(f"(a) pressbot, {n:,} subscribers: {r['rate']:,.0f} msg/s "
                          f"(creating the rows: {r['prepare_s']:.1f} s), "
                          f"peak RSS {r['peak_rss_mb']:.0f} MB "
                          f"({r['rss_created_mb']:.0f} MB before sending); load {load_average()}", flush=True)
                    if args.no_celery:
                        continue
                    schemas.append(schema_for(n, "celery", round_))
                    q = celery_send(args.database_url, args.redis_url, n,
                                    Path(tmp) / f"celery{n}-{round_}", port, round_)
                    queued.setdefault(n, []).append(q)
                    print(f"(d) Celery worker ×2 on Redis, {n:,} subscribers: {q['rate']:,.0f} msg/s "
                          f"({q['messages']} batch messages; creating the rows: "
                          f"{q['prepare_s']:.1f} s) = {q['rate'] / r['rate']:.2f} × (a); load {load_average()}",
                          flush=True)
            message, content, mlist, site = one_message(url, home)
            limit = replay(port, message, args.replay)
            print(f"(b) replay of one {len(message):,}-byte message: {limit:,.0f} msg/s", flush=True)
            slow = naive(port, content, mlist, site, args.naive)
            print(f"(c) naive per-recipient pipeline: {slow:,.1f} msg/s", flush=True)
    finally:
        sink.terminate()
        sink.wait(10)
        db.dispose_engines()
        for schema in schemas:
            reset_schema(args.database_url, schema, create=False)
    largest = results[max(results)][-1]
    smallest = results[min(results)][-1]
    print(f"\n(a)/(b) = {largest['rate'] / limit:.2f} (target ≥ 0.6); "
          f"(a)/(c) = {largest['rate'] / slow:.0f} (target ≥ 20); "
          f"RSS {smallest['peak_rss_mb']:.0f} → {largest['peak_rss_mb']:.0f} MB "
          f"({(largest['peak_rss_mb'] / smallest['peak_rss_mb'] - 1) * 100:+.0f} %; target ≤ 250 MB, ≤ +10 %)")
    for n in sorted(queued):
        ratios = ", ".join(f"{q['rate'] / r['rate']:.2f}" for q, r in zip(queued[n], results[n]))
        inproc = ", ".join(f"{r['rate']:,.0f}" for r in results[n])
        celery = ", ".join(f"{q['rate']:,.0f}" for q in queued[n])
        print(f"(d)/(a) at {n:,}: {ratios} (target ≥ 0.9); (a) {inproc} msg/s; (d) {celery} msg/s")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
