"""Editor accounts, API tokens and throttles (bot/services/editors.py, throttle.py), the
`pressbot users` / `pressbot tokens` commands, and the retry service behind the
dashboard's retry buttons."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.errors import BadInput
from bot.services import dispatch, editors, retries, throttle
from bot.store.db import session_scope
from bot.store.editors import ApiToken, User
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList, Subscriber
from tests.support.web import PASSWORD, client_for, login

PRESSBOT = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv")) / "bin" / "pressbot"


def test_passwords_are_stored_as_argon2id_hashes(settings):
    editors.add_user(settings, "Ed@Example.com", PASSWORD, role="admin", name="Ed")
    with session_scope(settings.effective_database_url) as session:
        user = session.scalar(select(User))
    assert user.email == "ed@example.com"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert editors.authenticate(settings, "ED@example.com", PASSWORD).role == "admin"
    assert editors.authenticate(settings, "ed@example.com", PASSWORD + "x") is None
    assert editors.authenticate(settings, "nobody@example.com", PASSWORD) is None


@pytest.mark.parametrize("email, password, role, message", [
    ("ed@example.com", "short", "editor", "too short"),
    ("ed@example.com", PASSWORD, "owner", "unknown role 'owner'"),
    ("not an address", PASSWORD, "editor", "not an address"),
])
def test_bad_accounts_are_refused_with_the_reason(sqlite_settings, email, password, role, message):
    with pytest.raises(BadInput, match=message):
        editors.add_user(sqlite_settings, email, password, role=role)


def test_a_second_account_for_one_address_is_refused(sqlite_settings):
    editors.add_user(sqlite_settings, "ed@example.com", PASSWORD)
    with pytest.raises(BadInput, match="already an editor"):
        editors.add_user(sqlite_settings, "ED@example.com", PASSWORD)


def test_a_password_change_or_disabling_ends_existing_sessions(settings):
    ed = editors.add_user(settings, "ed@example.com", PASSWORD)
    sid = editors.start_session(settings, ed.id)
    assert editors.session_editor(settings, sid) == ed
    editors.update_user(settings, ed.id, password="a brand new passphrase")
    assert editors.session_editor(settings, sid) is None
    assert editors.authenticate(settings, "ed@example.com", PASSWORD) is None
    current = editors.authenticate(settings, "ed@example.com", "a brand new passphrase")
    sid = editors.start_session(settings, current.id)
    editors.update_user(settings, ed.id, active=False)
    assert editors.session_editor(settings, sid) is None
    assert editors.authenticate(settings, "ed@example.com", "a brand new passphrase") is None


def test_a_logged_in_browser_is_logged_out_by_a_password_change(sqlite_settings):
    client = client_for(sqlite_settings, login_as="ed@example.com")
    assert client.get("/admin/calendar", follow_redirects=False).status_code == 200
    ed = [u for u in editors.list_users(sqlite_settings) if u["email"] == "ed@example.com"][0]
    editors.update_user(sqlite_settings, ed["id"], password="a brand new passphrase")
    response = client.get("/admin/calendar", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


def test_tokens_are_stored_hashed_and_can_be_revoked(settings):
    editors.add_user(settings, "ed@example.com", PASSWORD)
    token = editors.create_token(settings, "ed@example.com", "cms")
    with session_scope(settings.effective_database_url) as session:
        row = session.scalar(select(ApiToken))
    assert token.startswith("pb_") and token not in (row.token_hash, row.prefix)
    assert editors.token_editor(settings, token).email == "ed@example.com"
    assert editors.token_editor(settings, token + "x") is None
    assert editors.token_editor(settings, "not-a-token") is None
    editors.revoke_token(settings, row.id)
    assert editors.token_editor(settings, token) is None


def test_a_token_for_an_unknown_editor_is_refused(sqlite_settings):
    with pytest.raises(BadInput, match="no editor with the address"):
        editors.create_token(sqlite_settings, "nobody@example.com", "cms")


def test_throttle_counts_within_a_window_and_forgets_after_it(settings):
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    window = timedelta(minutes=15)
    results = [throttle.hit(settings, "login:x", limit=3, window=window, now=t0)[0] for _ in range(4)]
    assert results == [True, True, True, False]
    assert throttle.blocked(settings, "login:x", limit=3, window=window, now=t0 + timedelta(minutes=5)) == 601
    assert throttle.blocked(settings, "login:x", limit=3, window=window, now=t0 + window) == 0
    assert throttle.hit(settings, "login:x", limit=3, window=window, now=t0 + window)[0] is True
    throttle.clear(settings, "login:x")
    assert throttle.blocked(settings, "login:x", limit=1, window=window, now=t0) == 0


def _cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(home), COLUMNS="200")
    return subprocess.run([str(PRESSBOT), *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=home.parent, timeout=120)


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_users_add_and_tokens_create_from_the_command_line(tmp_path):
    home = tmp_path / "data"
    added = _cli(home, "users", "add", "chief@example.com", "--role", "admin", "--name", "Chief",
                 "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "chief@example.com (admin)" in added.stdout
    again = _cli(home, "users", "add", "chief@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "already an editor" in again.stderr
    unknown = _cli(home, "users", "set", "nobody@example.com", "--role", "admin")
    assert unknown.returncode == 2 and "no editor with the address nobody@example.com" in unknown.stderr
    disabled = _cli(home, "users", "set", "CHIEF@example.com", "--disabled")
    assert disabled.returncode == 2 and "only active admin" in disabled.stderr
    created = _cli(home, "tokens", "create", "chief@example.com", "--name", "cms")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("pb_") and "cannot be shown again" in created.stderr
    listed = _cli(home, "tokens", "list")
    assert "cms" in listed.stdout and token not in listed.stdout

    from bot.config import Settings
    settings = Settings(home=home)
    assert editors.token_editor(settings, token).role == "admin"
    client = client_for(settings)
    login(client, "chief@example.com")
    assert client.get("/admin/calendar").status_code == 200


def _failed_edition(settings, now: datetime) -> tuple[int, int]:
    with session_scope(settings.effective_database_url) as session:
        mlist = MailingList(name="daily", title="Daily", from_name="Gazette",
                            from_email="news@gazette.example.org")
        reader = Subscriber(email="reader@example.net", status="active")
        session.add_all([mlist, reader])
        session.flush()
        edition = Edition(list_id=mlist.id, status=EditionStatus.SENT, scheduled_for=now - timedelta(days=1),
                          window_end=now - timedelta(days=1), created_at=now - timedelta(days=1),
                          content={"articles": []}, sent_at=now - timedelta(days=1))
        session.add(edition)
        session.flush()
        delivery = Delivery(edition_id=edition.id, subscriber_id=reader.id, state=DeliveryState.FAILED,
                            attempts=1, smtp_reply="550 5.7.1 rejected by policy")
        session.add(delivery)
        session.flush()
        return edition.id, delivery.id


def test_resending_failures_makes_them_due_for_the_next_tick(settings):
    now = datetime.now(timezone.utc)
    edition_id, delivery_id = _failed_edition(settings, now)
    assert not [j for j in dispatch.due_email_jobs(settings, now) if j.kind == "batch"]

    assert retries.retry_delivery(settings, delivery_id, now=now) == edition_id
    with session_scope(settings.effective_database_url) as session:
        assert session.get(Edition, edition_id).status == EditionStatus.SENDING
        assert session.get(Delivery, delivery_id).state == DeliveryState.DEFERRED
    jobs = [j for j in dispatch.due_email_jobs(settings, now) if j.kind == "batch"]
    assert [(j.item_id, j.due_at) for j in jobs] == [(edition_id, now)]
    with pytest.raises(BadInput, match="only a failed delivery"):
        retries.retry_delivery(settings, delivery_id, now=now)


def test_resend_refuses_an_edition_that_never_went_out(settings):
    now = datetime.now(timezone.utc)
    edition_id, _ = _failed_edition(settings, now)
    with session_scope(settings.effective_database_url) as session:
        session.get(Edition, edition_id).status = EditionStatus.CANCELLED
    with pytest.raises(BadInput, match="is cancelled"):
        retries.resend_failed(settings, edition_id)
