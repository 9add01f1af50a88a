"""The outages table: each outside system failing right now, with its last error and since
when (DESIGN principle 7). A row is set on a failure and deleted on the next success, so the
dashboard, `pressbot status` and /healthz read one small table instead of guessing from
overdue counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, UTCDateTime


class Outage(Base):
    __tablename__ = "outages"

    # "smtp", "redis", "account:3", "source:7" (bot.services.outages names them).
    system: Mapped[str] = mapped_column(String(100), primary_key=True)
    error: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime)     # first failure of this outage
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)   # the latest failure
    failures: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
