"""A send-rate limit shared by every worker: a token bucket kept in Redis, one per
transport (issue 5: "Send rate per transport is limited by a token bucket kept in Redis,
shared by all workers").

The bucket is a GCRA, the token bucket written as one number: the key holds the moment
(microseconds, Redis's clock, so every host agrees) at which the bucket is next full
enough. A Lua script takes a token atomically and returns how long the caller must wait
for it; the caller's slot is reserved, so waiters never spin or race. With `burst` tokens
the bucket lets that many go at once after a quiet spell; the default 1 spaces every
message 1/rate apart, whichever process sends it.

Used by bot.mail.transport when REDIS_URL is set; without Redis (embedded mode, one worker)
the transport keeps its in-process throttle.
"""

from __future__ import annotations

import time
from typing import Callable

import redis

from bot.mail.transport import TransportUnavailable

KEY_PREFIX = "pressbot:send-rate:"

# KEYS[1]: the bucket. ARGV: microseconds per token, tokens the bucket holds.
# Returns the microseconds to wait before sending (0: now).
TAKE = """
local interval = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * interval
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
           'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
"""


class RedisTokenBucket:
    """`acquire()` blocks until this process may send one message. Connects on first use."""

    def __init__(self, url: str, name: str, rate: float, *, burst: int = 1,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.url, self.key = url, KEY_PREFIX + name
        self.interval_us = max(1, round(1_000_000 / rate))
        self.burst = max(1, int(burst))
        self._sleep = sleep
        self._client: redis.Redis | None = None
        self._take = None

    def acquire(self) -> float:
        """Take a token, waiting for it; returns the seconds waited."""
        try:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url)
                self._take = self._client.register_script(TAKE)
            wait = int(self._take(keys=[self.key], args=[self.interval_us, self.burst])) / 1e6
        except redis.RedisError as exc:
            # Without the shared bucket we cannot know our share of the rate: stop the
            # batch (its rows go back, the task retries) rather than send over it.
            raise TransportUnavailable(f"send-rate bucket {self.key} in Redis: {exc}") from None
        if wait > 0:
            self._sleep(wait)
        return wait

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def shared_bucket(settings, name: str) -> RedisTokenBucket | None:
    """The bucket for transport `name` when the rate is to be shared through Redis."""
    if settings.redis_url and settings.send_rate > 0 and settings.shared_send_rate:
        return RedisTokenBucket(settings.redis_url, name, settings.send_rate)
    return None
