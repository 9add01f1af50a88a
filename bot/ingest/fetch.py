"""HTTP fetching for sources: conditional GET, gzip, a total deadline, a size cap, a
redirect limit and a clear User-Agent, through the outbound policy (bot/net: no private
addresses, http(s) only). Errors leave as TransientError or PermanentError (OutboundRefused
for a refused address or scheme)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

import httpx

from bot.errors import PermanentError, TransientError
from bot.net.policy import OutboundPolicy, OutboundRefused
from bot.net.transport import deadline, guarded_client


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str
    # Total seconds for one fetch, redirects and the whole body included (not per read: a
    # server trickling a byte every few seconds must not hold a worker for minutes).
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    policy: OutboundPolicy = OutboundPolicy()   # public addresses only, unless allowed


@dataclass(frozen=True)
class Fetched:
    """A response worth looking at. `content` is None when the server said 304."""

    url: str                      # after redirects
    status: int
    content: bytes | None
    content_type: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def make_client(options: FetchOptions) -> httpx.Client:
    """One client per poll run: connections are reused across the sources of one host."""
    return guarded_client(
        options.policy,
        headers={
            "User-Agent": options.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                      "text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5",
        },
        timeout=options.timeout,
        follow_redirects=True,
        max_redirects=options.max_redirects,
    )


def fetch(client: httpx.Client, url: str, options: FetchOptions, *,
          etag: str | None = None, last_modified: str | None = None) -> Fetched:
    scheme = urlsplit(url).scheme
    if scheme.lower() not in ("http", "https"):
        raise OutboundRefused(f"{url}: refused: only http and https URLs are fetched"
                              f"{'' if scheme else ' (no scheme)'}")
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with deadline(options.timeout), client.stream("GET", url, headers=headers) as response:
            _raise_for_status(response)
            if response.status_code == 304:
                return _fetched(response, None)
            return _fetched(response, _read_capped(response, options.max_bytes))
    except OutboundRefused as exc:
        message = str(exc)
        raise OutboundRefused(message if message.startswith(url) else f"{url}: {message}") from None
    except httpx.TooManyRedirects as exc:
        raise PermanentError(f"{url}: more than {options.max_redirects} redirects") from exc
    except httpx.InvalidURL as exc:
        raise PermanentError(f"{url}: invalid URL ({exc})") from exc
    except httpx.UnsupportedProtocol as exc:
        raise OutboundRefused(f"{url}: refused: only http and https URLs are fetched") from exc
    except httpx.TimeoutException as exc:
        raise TransientError(f"{url}: timed out (no complete answer within {options.timeout:g}s)") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{url}: {type(exc).__name__}: {exc or 'connection failed'}") from exc
    except httpx.DecodingError as exc:
        raise PermanentError(f"{url}: could not decode the response ({exc})") from exc


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        # Refuse before reading a byte of it.
        raise PermanentError(
            f"{response.url}: body is {int(declared):,} bytes, over the {max_bytes:,}-byte cap")
    chunks, size = [], 0
    # iter_bytes yields decoded (gunzipped) bytes, so a gzip bomb hits the cap too.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PermanentError(f"{response.url}: body exceeds the {max_bytes:,}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


def _fetched(response: httpx.Response, content: bytes | None) -> Fetched:
    return Fetched(
        url=str(response.url),
        status=response.status_code,
        content=content,
        content_type=response.headers.get("content-type"),
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    where = f"{response.url}: HTTP {status} {response.reason_phrase}".rstrip()
    if status == 429 or status >= 500 or status == 408:
        raise TransientError(where, retry_after=retry_after_seconds(response.headers.get("retry-after")))
    raise PermanentError(where)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
