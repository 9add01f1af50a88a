"""The publisher interface every platform adapter implements, and the errors it raises.

A publisher is built from plain credentials (never reads settings itself), does no work in
its constructor, never sleeps on a rate limit (it raises TransientError with the wait the
platform asked for), and translates the client library's errors into:
  TransientError(retry_after=…)  429, 5xx, network: retry later
  AuthError                      401/403 auth: the account needs attention; not retried
  DuplicateError                 the platform refused a duplicate (X's 403): recorded, not retried
  PermanentError                 other 4xx validation errors: recorded, not retried
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.errors import PermanentError, TransientError  # noqa: F401  (re-exported for adapters)


class AuthError(PermanentError):
    """The platform refused the credentials: flag the account for an editor."""


class DuplicateError(PermanentError):
    """The platform says this exact post was already made."""


@dataclass(frozen=True)
class PostRequest:
    """One post to make, as composed by bot.domain.snippets (a Snippet) plus what the
    adapter needs to make the call idempotent."""

    key: str                      # stable per share-post row, e.g. "pressbot-post-42"
    text: str
    url: str                      # the tagged article URL inside the text
    image_url: str | None = None  # the article's image (X media upload, Bluesky card thumb)
    facets: list[dict] = field(default_factory=list)   # Bluesky richtext facets (byte offsets)
    card: dict | None = None      # Bluesky external embed: {"uri","title","description","thumb"}
    parse_mode: str | None = None          # Telegram: "HTML"
    link_preview: dict | None = None       # Telegram: link_preview_options


@dataclass(frozen=True)
class Published:
    remote_id: str
    remote_url: str | None = None


@dataclass(frozen=True)
class Metrics:
    """A post's public counts as the platform reports them; None: it does not give that one
    (never guessed as 0)."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    views: int | None = None


class Publisher(Protocol):
    platform: str

    def publish(self, post: PostRequest) -> Published:
        """Make the post; raise one of the errors above when it was not made."""

    def check(self) -> str:
        """Verify the credentials against the platform; return the account's handle/name."""

    def metrics(self, remote_id: str) -> Metrics | None:
        """The post's public counts now, or None when this platform gives a bot none (the
        outbox, Telegram). Raises the errors above like publish (a 429: TransientError)."""
