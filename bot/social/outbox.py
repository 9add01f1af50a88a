"""The outbox publisher: writes what would be posted as JSON lines under
PRESSBOT_HOME/outbox/social/<platform>.jsonl. Idempotent by key, like the platforms that
honour an idempotency key: the same key twice writes once and answers the same id."""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from bot.social.base import Metrics, PostRequest, Published


class OutboxPublisher:
    def __init__(self, folder: Path, platform: str, account: str) -> None:
        self.platform = platform
        self.account = account
        self.path = folder / f"{platform}.jsonl"

    def publish(self, post: PostRequest) -> Published:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as fh:
            # The lock makes look-then-append atomic across worker processes.
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            for line in fh:
                if json.loads(line)["key"] == post.key:
                    return Published(remote_id=post.key)
            record = {"account": self.account, "platform": self.platform,
                      "at": datetime.now(timezone.utc).isoformat(), **asdict(post)}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
        return Published(remote_id=post.key)

    def check(self) -> str:
        return f"outbox ({self.path})"

    def metrics(self, remote_id: str) -> Metrics | None:
        return None   # nobody saw an outbox post
