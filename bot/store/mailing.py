"""Tables of the email side: lists, subscribers, consent, suppression, editions, deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false as sa_false
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, UTCDateTime, utcnow


class MailingList(Base):
    """A newsletter: who it is from, what it carries, and when it goes out."""

    __tablename__ = "mailing_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)      # slug, used in List-Id
    title: Mapped[str] = mapped_column(String(200))
    from_name: Mapped[str] = mapped_column(String(200))
    from_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(16), default="en")
    template: Mapped[str] = mapped_column(String(100), default="digest")
    # "daily 07:00" or "weekly mon 08:00", in `timezone` (see bot.domain.schedules).
    schedule: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    max_articles: Mapped[int] = mapped_column(Integer, default=10)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every article
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Brand (migration 0006). NULL: the site's default (PRESSBOT_BRAND_* settings).
    logo_url: Mapped[str | None] = mapped_column(String(2048))        # masthead image, https
    brand_color: Mapped[str | None] = mapped_column(String(7))        # "#rrggbb"
    footer_text: Mapped[str | None] = mapped_column(Text)             # publisher, postal address (CAN-SPAM)
    copyright_holder: Mapped[str | None] = mapped_column(String(200))  # "© <year> <holder>"
    # Only articles in these languages ("en", "fr"); NULL or empty: every language.
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    # Section headings in this order (category names); NULL or empty: grouped by category
    # where a category has at least two stories (bot.newsletter.sections).
    sections: Mapped[list[str] | None] = mapped_column(JSON)
    # Per-subscriber click history (migration 0013): personal data, so off unless the list
    # opts in (GDPR); the aggregate counts are kept either way.
    track_subscriber_clicks: Mapped[bool] = mapped_column(default=False, server_default=sa_false())


class SubscriberStatus:
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)       # normalised
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the last confirmation mail went out: a pending address gets at most one per
    # PRESSBOT_CONFIRM_RESEND_HOURS however often the form is posted (issue 11).
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Subscription(Base):
    """A subscriber on a list, with the topics (categories) they chose; empty: all."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "list_id", name="uq_subscriptions"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"), index=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """Proof of consent and of its withdrawal: when, how, from where."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_lists.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))     # subscribe, confirm, import, unsubscribe…
    method: Mapped[str] = mapped_column(String(32))     # web, csv, cli, api, one-click, bounce…
    origin: Mapped[str | None] = mapped_column(String(200))  # IP address, file name, operator
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """Addresses never to mail again, kept as a hash so an erased address is not stored."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)   # sha256 of the normalised address
    reason: Mapped[str] = mapped_column(String(32))     # unsubscribed, bounced, complained, erased
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EditionStatus:
    PENDING = "pending"      # built, deliveries being created or waiting for their time
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"      # nothing new to send
    FAILED = "failed"        # could not be rendered
    CANCELLED = "cancelled"
    PREVIEW = "preview"      # made by `digest render` / preview; never delivered
    # Planned by an editor (a moved schedule slot or a one-off campaign): content is frozen
    # when `scheduled_for` comes, like any scheduled digest.
    SCHEDULED = "scheduled"


class Edition(Base):
    """The frozen content of one digest for one list: a retry or a resend is identical."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("list_id", "scheduled_for", name="uq_editions_list_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=EditionStatus.PENDING)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    # Articles first seen in [window_start, window_end) were eligible.
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict] = mapped_column(JSON, default=dict)   # snapshot: intro, articles…
    subject: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The list-schedule run this edition stands in for, when an editor moved or cancelled
    # it: the schedule must not also produce that run.
    replaces_slot: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320))   # editor's email; NULL: the schedule


class DeliveryState:
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DEFERRED = "deferred"      # 4xx: retried later, same Message-ID
    FAILED = "failed"          # 5xx
    SUPPRESSED = "suppressed"  # not sent: the address is on the suppression list
    # Not claimable yet: the rest of a campaign's list waiting for its A/B subject test to
    # pick a winner (bot.services.ab_tests releases them as pending).
    HELD = "held"


class Delivery(Base):
    """One edition to one subscriber: claimed, sent, recorded."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
        Index("ix_deliveries_edition_state", "edition_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    # NULL once the subscriber is erased; the row stays as history without the address.
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first bounce, complaint or soft-bounce report that came back for this message
    # (bot.services.bounces): set once, so a report delivered twice changes nothing.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounce: Mapped[str | None] = mapped_column(String(300))
    # A/B subject test (migration 0017, bot.domain.ab_test): "a" / "b" in the sample, "w"
    # for the rest (the winner's subject); NULL when the edition has no test.
    subject_variant: Mapped[str | None] = mapped_column(String(1))
