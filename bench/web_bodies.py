"""The web process's memory under unsigned 256 MB webhook POSTs (issue 11), with the body
limit as shipped (1 MB) and with it raised to 1 GB, which is how the webhook behaved before
(it read the whole body, then checked the signature).

    .venv/bin/python bench/web_bodies.py [--mb 256] [--posts 2]

Runs `uvicorn --factory bot.web.app:app_factory` in a child process on a throwaway SQLite
data folder, sends the POSTs chunked (no Content-Length: the limit must count) and then
with a Content-Length (refused before reading), and prints the child's resident memory
before and after, and its peak (VmHWM)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024   # kB → MB
    return fields


def body(total: int, chunk: int = MB):
    left = total
    while left > 0:
        piece = b"[" * min(chunk, left)
        left -= len(piece)
        yield piece


def post(base: str, total: int, declared: bool) -> str:
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(total)
    try:
        return str(httpx.post(base + "/api/hooks/articles", content=body(total), headers=headers,
                              timeout=300).status_code)
    except httpx.HTTPError as exc:   # the server answered 413 and closed while we wrote
        return type(exc).__name__


def run(limit: int, mb: int, posts: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        env = {**os.environ, "PRESSBOT_HOME": home, "PRESSBOT_WEBHOOK_SECRET": "bench",
               "PRESSBOT_WEBHOOK_MAX_BYTES": str(limit)}
        env.pop("DATABASE_URL", None)
        child = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "bot.web.app:app_factory",
                                  "--port", str(port), "--log-level", "warning"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=2)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            before = memory(child.pid)
            answers = [post(base, mb * MB, declared=False) for _ in range(posts)]
            answers += [post(base, mb * MB, declared=True) for _ in range(posts)]
            after = memory(child.pid)
            print(f"limit {limit // MB:>5} MB: RSS {before['VmRSS']} MB -> {after['VmRSS']} MB, "
                  f"peak {after['VmHWM']} MB; answers {answers}")
        finally:
            child.terminate()
            child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--posts", type=int, default=2)
    args = parser.parse_args()
    run(1 * MB, args.mb, args.posts)
    run(1024 * MB, args.mb, args.posts)


if __name__ == "__main__":
    main()
