"""Tables of the dispatcher: what each tick did, and which due work it already enqueued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, UTCDateTime, utcnow


class DispatchTick(Base):
    """One dispatch that acted (held the lock): when, who, and how much it enqueued."""

    __tablename__ = "dispatch_ticks"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holder: Mapped[str] = mapped_column(String(200))        # host:pid of the dispatcher
    scheduled: Mapped[int] = mapped_column(Integer, default=0)   # new share posts given a slot
    sources: Mapped[int] = mapped_column(Integer, default=0)     # poll tasks enqueued
    posts: Mapped[int] = mapped_column(Integer, default=0)       # publish tasks enqueued
    editions: Mapped[int] = mapped_column(Integer, default=0)    # build tasks enqueued
    batches: Mapped[int] = mapped_column(Integer, default=0)     # delivery batch tasks enqueued
    already_queued: Mapped[int] = mapped_column(Integer, default=0)  # due, enqueued earlier
    error: Mapped[str | None] = mapped_column(Text)


class DispatchMark(Base):
    """"Item X, due at T, was enqueued at E." A tick enqueues due work once per due time:
    work still waiting in the queue is not enqueued again each minute, while work whose due
    time moved (a retry after a 429, an expired lease) is."""

    __tablename__ = "dispatch_marks"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)   # source, post, edition, batch
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
