"""What the outbound policy costs a fetch (issue 11): conditional GETs answered 304 by a
local server, through pressbot's guarded client (resolve, check, connect to the checked
address, per-fetch deadline) and through a plain httpx.Client, alternating rounds.

    .venv/bin/python bench/outbound.py [--fetches 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ingest.fetch import FetchOptions, fetch, make_client  # noqa: E402
from tests.support.httpserver import LocalServer, Route  # noqa: E402
from tests.support.outbound import LOCAL_POLICY  # noqa: E402


def rate(client: httpx.Client, url: str, options: FetchOptions, fetches: int) -> float:
    start = time.perf_counter()
    for _ in range(fetches):
        assert fetch(client, url, options, etag='"e"').not_modified
    return fetches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fetches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = LocalServer()
    server.routes["/feed.xml"] = Route(b"<rss/>", etag='"e"')
    server.start()
    options = FetchOptions(user_agent="bench", policy=LOCAL_POLICY)
    guarded, plain = [], []
    try:
        for _ in range(args.rounds):
            with make_client(options) as client:
                guarded.append(rate(client, server.url("/feed.xml"), options, args.fetches))
            with httpx.Client(follow_redirects=True) as client:
                plain.append(rate(client, server.url("/feed.xml"), options, args.fetches))
    finally:
        server.stop()
    g, p = statistics.median(guarded), statistics.median(plain)
    print(f"guarded client   {g:7.0f} fetches/s (304, median of {args.rounds} rounds)")
    print(f"plain httpx      {p:7.0f} fetches/s   (guarded = {g / p:.2f} × plain)")


if __name__ == "__main__":
    main()
