"""The click redirect (/r/<token>) under load, with counting on (issue 14).

    .venv/bin/python bench/redirect.py [--requests 20000] [--connections 32] [--redis redis://127.0.0.1:6379/15]

Starts `uvicorn bot.web.app:create_app` (one process) on a fresh SQLite database holding one
sent edition, and a local load generator (asyncio, keep-alive connections, a bounded number
of requests) on the same machine. Every request is a reader's click (a browser agent, an
old send time). At the end it checks that every click was counted: drained from the web
process's buffer into the database (or, with --redis, into Redis and folded by the
dispatcher's step). Target: ≥ 2,000 requests/s. Record results in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.newsletter.tracking import Link, LinkSigner  # noqa: E402
from bot.services import engagement  # noqa: E402
from bot.store import db  # noqa: E402
from bot.store.db import session_scope  # noqa: E402
from bot.store.engagement import EngagementCount  # noqa: E402
from bot.store.mailing import Edition, EditionStatus, MailingList  # noqa: E402

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(home: Path, redis_url: str | None) -> tuple[Settings, int]:
    url = f"sqlite:///{home / 'bench.db'}"
    db.upgrade(url)
    settings = Settings(home=home, database_url=url, secret_key="bench-secret", redis_url=redis_url)
    with session_scope(url) as s:
        mlist = MailingList(name="bench", title="Bench", from_name="B", from_email="b@example.org")
        s.add(mlist)
        s.flush()
        now = datetime.now(timezone.utc)
        edition = Edition(list_id=mlist.id, status=EditionStatus.SENT, scheduled_for=now,
                          window_end=now, content={"articles": []}, sent_at=now)
        s.add(edition)
        s.flush()
        return settings, edition.id


async def client(port: int, paths: list[bytes], start: asyncio.Event, done: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()
    for path in paths:
        writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\nUser-Agent: " + AGENT.encode()
                     + b"\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 302"):
            raise SystemExit(f"unexpected answer: {head[:200]!r}")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        if length:
            await reader.readexactly(length)
        done[0] += 1
    writer.close()


async def load(port: int, paths: list[bytes], connections: int) -> float:
    start, done = asyncio.Event(), [0]
    shares = [paths[i::connections] for i in range(connections)]
    tasks = [asyncio.create_task(client(port, share, start, done)) for share in shares]
    await asyncio.sleep(0.5)    # connections open before the clock starts
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    assert done[0] == len(paths)
    return elapsed


def counted(settings: Settings, edition_id: int) -> int:
    with session_scope(settings.effective_database_url) as s:
        return sum(s.scalars(EngagementCount.__table__.select().with_only_columns(
            EngagementCount.count).where(EngagementCount.edition_id == edition_id)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default=None, help="REDIS_URL for the counts buffer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings, edition_id = prepare(home, args.redis)
        if args.redis:
            import redis

            r = redis.Redis.from_url(args.redis)
            r.delete(*engagement.redis_keys(settings))
        signer = LinkSigner(settings.effective_secret_key())
        paths = []
        for i in range(args.requests):
            token = signer.link_token(Link(edition_id, None, f"https://news.example.org/story/{i % 20}"
                                                             "?utm_source=newsletter&utm_medium=email"))
            paths.append(f"/r/{token}?t=1700000000".encode())
        port = free_port()
        env = {**os.environ, "PRESSBOT_HOME": str(home), "DATABASE_URL": settings.database_url,
               "PRESSBOT_SECRET_KEY": "bench-secret", "PRESSBOT_BASE_URL": f"http://127.0.0.1:{port}"}
        env.pop("REDIS_URL", None)
        if args.redis:
            env["REDIS_URL"] = args.redis
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bot.web.app:create_app", "--port",
             str(port), "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 120     # importing the app is slow on a busy machine
            while True:
                if server.poll() is not None:
                    raise SystemExit("uvicorn exited")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("uvicorn did not start") from None
                    time.sleep(0.1)
            asyncio.run(load(port, paths[:500], min(args.connections, 8)))   # warm-up
            elapsed = asyncio.run(load(port, paths, args.connections))
            total = args.requests + 500
            for _ in range(100):            # the web process drains within FLUSH_SECONDS
                if args.redis:
                    engagement.fold(settings)
                if counted(settings, edition_id) >= total:
                    break
                time.sleep(0.1)
            seen = counted(settings, edition_id)
        finally:
            server.terminate()
            server.wait(10)
    print(f"{args.requests} redirects over {args.connections} connections in {elapsed:.2f} s: "
          f"{args.requests / elapsed:,.0f} requests/s; counted {seen} of {total} "
          f"({'Redis, folded' if args.redis else 'straight to SQLite'})")
    if seen != total:
        raise SystemExit("not every click was counted")


if __name__ == "__main__":
    main()
