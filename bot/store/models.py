"""Tables. Constraints, not code, are what make duplicates impossible."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stores UTC, hands back aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pressbot stores UTC only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class SourceKind:
    FEED = "feed"            # RSS or Atom
    WORDPRESS = "wordpress"  # WordPress REST API
    WEBHOOK = "webhook"      # pushed by a CMS
    FILES = "files"          # article files or a folder of them
    ALL = (FEED, WORDPRESS, WEBHOOK, FILES)


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    discovered_from: Mapped[str | None] = mapped_column(String(2048))
    poll_interval: Mapped[int] = mapped_column(Integer, default=900)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    articles: Mapped[list["Article"]] = relationship(back_populates="source")


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        # A source's guid names one article (NULL guids are distinct in both databases).
        UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),
        Index("ix_articles_published_at", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    guid: Mapped[str | None] = mapped_column(String(2048))
    # Not unique: within a source a distinct guid is a distinct article, and a feed may give
    # several items one link (a podcast's episodes, #fragments). Indexed for cross-source dedup.
    url: Mapped[str | None] = mapped_column(String(2048), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(2048))
    image_alt: Mapped[str | None] = mapped_column(Text)   # the image's own alt text or caption
    author: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # False when the source gave no usable date: published_at is then the time the article
    # was first seen, not a publication date (recency rules must not trust it).
    published_known: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # How many times the article changed after it was first ingested (0: never).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[Source] = relationship(back_populates="articles")

    @property
    def is_updated(self) -> bool:
        return self.revision > 0


class SocialAccount(Base):
    """A social account pressbot posts to, with its posting rules."""

    __tablename__ = "social_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # Fernet token of a JSON object; NULL means "take them from settings" (or the outbox).
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    campaign: Mapped[str] = mapped_column(String(100), default="social")
    max_per_hour: Mapped[int] = mapped_column(Integer, default=4)
    min_gap_minutes: Mapped[int] = mapped_column(Integer, default=10)
    quiet_start: Mapped[str | None] = mapped_column(String(5))   # "22:00", local time
    quiet_end: Mapped[str | None] = mapped_column(String(5))     # "07:00"
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    template: Mapped[str | None] = mapped_column(Text)           # editors' own; NULL: templates/social
    active: Mapped[bool] = mapped_column(default=True)
    needs_attention: Mapped[str | None] = mapped_column(Text)    # why the account is paused
    # Shares only go to articles published within this many hours (NULL: the setting
    # PRESSBOT_SHARE_RECENCY_HOURS): a backfilled archive never floods the account.
    recency_hours: Mapped[int | None] = mapped_column(Integer)
    # The first run's outbox accounts: always the outbox, even once PRESSBOT_<PLATFORM>_*
    # credentials are set (their demo posts must never reach a real account).
    demo: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostState:
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class SharePost(Base):
    """One share of one article on one account: claimed, published, recorded."""

    __tablename__ = "share_posts"
    __table_args__ = (
        UniqueConstraint("article_id", "account_id", name="uq_share_posts_article_account"),
        Index("ix_share_posts_state_due", "state", "scheduled_at"),
        # The scheduler looks at one account's slots at a time.
        Index("ix_share_posts_account_slot", "account_id", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=PostState.SCHEDULED)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str | None] = mapped_column(Text)  # an editor's edit; NULL: composed at publish
    # An editor chose this time: newest-first slotting never moves it (it moves only
    # automatically slotted posts, later, to let a fresher article go first).
    pinned: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Bumped by an explicit re-share, so the platform's idempotency key changes with it.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(512))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Public engagement counts fetched back from the platform (issue 14, migration 0014;
    # bot/services/post_metrics.py). NULL: the platform does not give that count.
    likes: Mapped[int | None] = mapped_column(Integer)
    reposts: Mapped[int | None] = mapped_column(Integer)
    replies: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    metrics_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metrics_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    metrics_note: Mapped[str | None] = mapped_column(Text)

    @property
    def idempotency_key(self) -> str:
        return f"pressbot-post-{self.id}-{self.generation}"
