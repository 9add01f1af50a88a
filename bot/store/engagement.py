"""Tables of engagement figures (issue 14, migration 0013): aggregates, and the click
history of lists that opt in. Raw hits are never stored: the redirect buffers counts and
the dispatcher tick adds them here (bot.services.engagement)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.engagement import EngagementKind  # noqa: F401 (the kind column's values)
from bot.store.models import Base, UTCDateTime


class EngagementCount(Base):
    """How many times one edition's link (or its pixel: url '') was hit, by kind."""

    __tablename__ = "engagement_counts"
    __table_args__ = (UniqueConstraint("edition_id", "kind", "url", "variant",
                                       name="uq_engagement_counts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text, default="", server_default="")
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The subject the message had in an A/B test ("a", "b", "w": bot.domain.ab_test);
    # '' for editions without one (migration 0017).
    variant: Mapped[str] = mapped_column(String(1), default="", server_default="")


class SubscriberClick(Base):
    """One reader's click, kept only for lists with track_subscriber_clicks on."""

    __tablename__ = "subscriber_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
