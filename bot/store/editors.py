"""Tables of the web app: editor accounts, their API tokens, and the throttle counters
that slow down password guessing and subscribe-form abuse."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, UTCDateTime, utcnow


class Role:
    ADMIN = "admin"     # settings, users, accounts, plus everything an editor does
    EDITOR = "editor"   # campaigns and posts
    ALL = (ADMIN, EDITOR)


class User(Base):
    """An editor who logs in to the dashboard. The password is kept as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)   # normalised, lower case
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(16), default=Role.EDITOR)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped when the password changes or the account is disabled: sessions carry the
    # version they were made with, so older session cookies stop working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The dashboard's language and time zone for this editor (issue 14); NULL follows the
    # site's (English, PRESSBOT_TIMEZONE), so a site-wide change reaches who never chose.
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))


class EditorSession(Base):
    """A dashboard login. The cookie carries a random id; only its sha256 is kept here,
    so logging out (deleting the row) ends the session even for a saved copy of the cookie."""

    __tablename__ = "editor_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for /api. Only its sha256 is stored (the token is 256 random bits,
    so a slow hash adds nothing); the first characters are kept to tell tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Throttle(Base):
    """Hits of one key (e.g. "login:ip:203.0.113.9") in a fixed window. In the database,
    not in process memory, so every web worker counts against the same limit."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(Integer, default=0)
