"""Editor accounts and their API tokens: create, authenticate, list, disable.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106's
low-memory profile); a hash made with older parameters is upgraded at the next login.
API tokens are 256 random bits shown once; only their sha256 is stored. Dashboard
sessions are rows too (the sha256 of the cookie's random id), so logging out, a password
change or a disabled account ends them on the server, whatever copies of the cookie exist."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput
from bot.store.db import session_scope
from bot.store.editors import ApiToken, EditorSession, Role, User

TOKEN_PREFIX = "pb_"
SESSION_LIFETIME = timedelta(hours=12)   # an editor logs in once a working day
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the address is unknown, so a login for a missing account costs
# the same time as one with a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Editor:
    """Who is logged in, as the web layer sees it."""
    id: int
    email: str
    name: str | None
    role: str
    session_version: int
    # The dashboard's language and time zone chosen by this editor; None follows the site's.
    language: str | None = None
    timezone: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def label(self) -> str:
        return self.name or self.email


def _editor(user: User) -> Editor:
    return Editor(user.id, user.email, user.name, user.role, user.session_version,
                  user.language, user.timezone)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def editor_address(raw: str) -> str:
    """Editors log in with their address in any case: the whole address is lower-cased
    (subscribers keep their local part's case; a login should not depend on it)."""
    return normalize_email(raw).lower()


def login_identity(raw: str) -> str:
    """The address as `authenticate` looks it up, so a lock keyed on it cannot be dodged by
    writing the address another way (case, full-width letters in the domain); text that is
    no address at all, lower-cased."""
    try:
        return editor_address(raw)
    except BadInput:
        return (raw or "").strip().lower()


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"the password is too short: at least {MIN_PASSWORD} characters")
    return password


def check_role(role: str) -> str:
    if role not in Role.ALL:
        raise BadInput(f"unknown role {role!r}: use one of {', '.join(Role.ALL)}")
    return role


def add_user(settings: Settings, email: str, password: str, *, role: str = Role.EDITOR,
             name: str | None = None) -> Editor:
    address = editor_address(email)
    check_role(role)
    check_password(password)
    with session_scope(settings.effective_database_url) as session:
        if session.scalar(select(User.id).where(User.email == address)) is not None:
            raise BadInput(f"there is already an editor with the address {address}")
        user = User(email=address, name=name or None, role=role,
                    password_hash=_hasher.hash(password), active=True, session_version=1)
        session.add(user)
        session.flush()
        return _editor(user)


def list_users(settings: Settings) -> list[dict]:
    with session_scope(settings.effective_database_url) as session:
        users = session.scalars(select(User).order_by(User.email)).all()
        return [{"id": u.id, "email": u.email, "name": u.name, "role": u.role,
                 "active": u.active, "last_login_at": u.last_login_at,
                 "language": u.language, "timezone": u.timezone} for u in users]


def check_language(language: str) -> str:
    """A dashboard language: one the admin catalogue has (bot/web/i18n.py)."""
    from bot.web.i18n import LANGUAGES

    if language not in LANGUAGES:
        raise BadInput(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    return language


def check_timezone(name: str) -> str:
    """An IANA time zone name (Europe/Paris, Asia/Tokyo, UTC)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris "
                       f"or Asia/Tokyo") from None
    return name


# What `set_preferences` takes for "no choice of mine: follow the site's".
SITE_DEFAULT = ""


def set_preferences(settings: Settings, user_id: int, *, language: str | None = None,
                    timezone: str | None = None) -> Editor:
    """The editor's dashboard language and time zone. None leaves one as it is; "" (SITE_DEFAULT)
    goes back to following the site's. Both are checked before either is stored."""
    if language:
        check_language(language)
    if timezone:
        check_timezone(timezone)
    with session_scope(settings.effective_database_url) as session:
        user = session.get(User, user_id)
        if user is None:
            raise BadInput(f"no editor with id {user_id}")
        if language is not None:
            user.language = language or None
        if timezone is not None:
            user.timezone = timezone or None
        session.flush()
        return _editor(user)


def user_id(settings: Settings, email: str) -> int:
    """The id of the editor with this address; BadInput when there is none."""
    address = editor_address(email)
    with session_scope(settings.effective_database_url) as session:
        found = session.scalar(select(User.id).where(User.email == address))
    if found is None:
        raise BadInput(f"no editor with the address {address}")
    return found


def update_user(settings: Settings, user_id: int, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> Editor:
    """Change an editor's role, password or whether they may log in. A password change or
    a disabled account ends the editor's sessions everywhere."""
    with session_scope(settings.effective_database_url) as session:
        user = session.get(User, user_id)
        if user is None:
            raise BadInput(f"no editor with id {user_id}")
        if role is not None:
            check_role(role)
        if (role not in (None, Role.ADMIN) or active is False) and _last_admin(session, user):
            raise BadInput(f"{user.email} is the only active admin: make someone else an admin "
                           f"first, or nobody could change settings and users")
        if role is not None:
            user.role = role
        if password is not None:
            user.password_hash = _hasher.hash(check_password(password))
            user.session_version += 1
        if active is not None and active != user.active:
            user.active = active
            user.session_version += 1
        if password is not None or active is False:
            session.execute(delete(EditorSession).where(EditorSession.user_id == user.id))
        return _editor(user)


def _last_admin(session, user: User) -> bool:
    others = session.scalar(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True),
                                                  User.id != user.id).limit(1))
    return user.role == Role.ADMIN and user.active and others is None


def authenticate(settings: Settings, email: str, password: str) -> Editor | None:
    """The editor with this address and password, or None (unknown, wrong or disabled)."""
    try:
        address = editor_address(email)
    except BadInput:
        address = None
    with session_scope(settings.effective_database_url) as session:
        user = (session.scalar(select(User).where(User.email == address))
                if address else None)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = _now()
        return _editor(user)


def start_session(settings: Settings, user_id: int) -> str:
    """A new dashboard session for the editor: the id for the cookie (only its sha256 is
    stored). Expired sessions of anyone are cleared on the way."""
    sid = secrets.token_urlsafe(32)
    now = _now()
    with session_scope(settings.effective_database_url) as session:
        session.execute(delete(EditorSession).where(EditorSession.expires_at <= now))
        session.add(EditorSession(id_hash=_token_hash(sid), user_id=user_id, created_at=now,
                                  expires_at=now + SESSION_LIFETIME))
    return sid


def end_session(settings: Settings, sid: str) -> None:
    """Logging out: the session is gone from the database, so a saved copy of the cookie
    no longer works either."""
    with session_scope(settings.effective_database_url) as session:
        session.execute(delete(EditorSession).where(EditorSession.id_hash == _token_hash(sid)))


def session_editor(settings: Settings, sid: str) -> Editor | None:
    """The editor a session cookie's id names, if the session exists, has not expired and
    the account is active."""
    with session_scope(settings.effective_database_url) as session:
        row = session.execute(select(EditorSession, User).join(User, User.id == EditorSession.user_id)
                              .where(EditorSession.id_hash == _token_hash(sid))).first()
        if row is None:
            return None
        stored, user = row
        if stored.expires_at <= _now() or not user.active:
            return None
        return _editor(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(settings: Settings, email: str, name: str) -> str:
    """A new API token for the editor; returned once, never stored in clear."""
    address = editor_address(email)
    if not name.strip():
        raise BadInput("a token needs a name (what it is for, e.g. 'cms')")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(settings.effective_database_url) as session:
        user = session.scalar(select(User).where(User.email == address))
        if user is None:
            raise BadInput(f"no editor with the address {address}: add one with `pressbot users add`")
        session.add(ApiToken(user_id=user.id, name=name.strip()[:100], token_hash=_token_hash(token),
                             prefix=token[:10]))
    return token


def list_tokens(settings: Settings) -> list[dict]:
    with session_scope(settings.effective_database_url) as session:
        rows = session.execute(select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
                               .order_by(ApiToken.id)).all()
        return [{"id": t.id, "editor": email, "name": t.name, "prefix": t.prefix,
                 "created_at": t.created_at, "last_used_at": t.last_used_at,
                 "revoked": t.revoked_at is not None} for t, email in rows]


def revoke_token(settings: Settings, token_id: int) -> None:
    with session_scope(settings.effective_database_url) as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise BadInput(f"no API token with id {token_id}")
        token.revoked_at = token.revoked_at or _now()


def token_editor(settings: Settings, token: str) -> Editor | None:
    """The active editor a bearer token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with session_scope(settings.effective_database_url) as session:
        row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                              .where(ApiToken.token_hash == _token_hash(token))).first()
        if row is None:
            return None
        api_token, user = row
        if api_token.revoked_at is not None or not user.active:
            return None
        now = _now()
        # Written at most once a minute: a busy integration should not turn reads into writes.
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
            api_token.last_used_at = now
        return _editor(user)
