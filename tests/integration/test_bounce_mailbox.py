"""The bounce mailbox against a real Dovecot (IMAP and POP3), on SQLite and PostgreSQL: a
digest goes out through a real SMTP server with a VERP Return-Path per delivery, a bounce
to one of those addresses lands in the mailbox, and the dispatcher's tick suppresses the
right subscriber once and removes the message. Out-of-office replies change nothing;
`mailto:` unsubscribes unsubscribe."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import dispatch
from bot.services.bounce_mailbox import poll
from bot.store.db import session_scope
from bot.store.mailing import Consent, Delivery, Subscriber, Suppression
from tests.integration.test_digest_delivery import (DOMAIN, NOW, add_articles, add_subscribers,
                                                    build_and_create, make_list, send)
from tests.support import dovecot
from tests.support.smtpserver import SmtpServer

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
pytestmark = pytest.mark.skipif(not dovecot.available(),
                                reason="Dovecot is not installed (.ci/run installs it)")
VERP = re.compile(rf"^bounces\+d(\d+)\.[0-9a-f]{{12}}@{re.escape(DOMAIN)}$")


@pytest.fixture
def mailbox():
    server = dovecot.Dovecot()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def bounce_settings(settings, mailbox):
    return settings.model_copy(update={
        "bounce_address": f"bounces@{DOMAIN}", "bounce_mailbox_url": mailbox.url("imap"),
        "unsubscribe_mailto": f"unsubscribe@{DOMAIN}", "bounce_mailbox_timeout": 10.0,
        # A queue (so a dispatch lock) of its own: the PostgreSQL advisory lock is per
        # database, and other test runs tick on the same server.
        "queue": f"bounces-{uuid.uuid4().hex[:8]}"})


def sent_digest(settings, smtp) -> dict[str, object]:
    """Three readers get an edition; returns each one's received message by address."""
    make_list(settings)
    add_subscribers(settings, 3)
    add_articles(settings, 2)
    edition_id = build_and_create(settings)
    assert send(settings, edition_id, smtp).sent == 3
    return {m.to: m for m in smtp.handler.messages}


def bounce_to(return_path: str, original_to: str = "gone.away@example.com") -> bytes:
    """Postfix's hard bounce as the bounce mailbox gets it: the local delivery agent adds
    Delivered-To with the envelope recipient, our VERP address."""
    raw = (DATA / "postfix-hard.eml").read_bytes()
    return f"Delivered-To: {return_path}\n".encode() + raw.replace(
        b"gone.away@example.com", original_to.encode()).replace(
        b"Gone.Away@Example.com", original_to.encode())


def tick(settings):
    return dispatch.run_tick(settings, lambda task, args: None, now=NOW)


def state(settings, address: str) -> tuple:
    with session_scope(settings.effective_database_url) as s:
        person = s.scalar(select(Subscriber).where(Subscriber.email == address))
        consents = s.scalar(select(func.count()).select_from(Consent).where(
            Consent.subscriber_id == person.id, Consent.action.in_(("bounced", "unsubscribe"))))
        suppressions = s.scalar(select(func.count()).select_from(Suppression))
        bounce = s.scalar(select(Delivery.bounce).where(Delivery.subscriber_id == person.id))
        return person.status, consents, suppressions, bounce


def test_each_delivery_has_its_own_signed_return_path(bounce_settings, smtp):
    received = sent_digest(bounce_settings, smtp)
    paths = {to: m.mail_from for to, m in received.items()}
    assert all(VERP.match(p) for p in paths.values()), paths
    assert len(set(paths.values())) == 3
    with session_scope(bounce_settings.effective_database_url) as s:
        ids = {s.get(Subscriber, d.subscriber_id).email: d.id for d in s.scalars(select(Delivery))}
    assert {to: int(VERP.match(p)[1]) for to, p in paths.items()} == ids


def test_a_bounce_in_the_imap_mailbox_suppresses_the_right_reader_once(bounce_settings, smtp, mailbox):
    received = sent_digest(bounce_settings, smtp)
    # The DSN names a forwarding address we never mailed: the VERP address says who it was.
    mailbox.deliver(bounce_to(received["reader1@example.net"].mail_from))
    assert mailbox.count() == 1

    report = tick(bounce_settings)

    assert report.bounces["error"] is None and report.bounces["read"] == 1
    assert [(r["kind"], r["email"], r["outcome"]) for r in report.bounces["results"]] == [
        ("hard", "reader1@example.net", "suppressed")]
    assert mailbox.count() == 0
    status, consents, suppressions, bounce = state(bounce_settings, "reader1@example.net")
    assert (status, consents, suppressions) == ("bounced", 1, 1)
    assert bounce.startswith("hard failed 5.1.1")
    assert state(bounce_settings, "reader0@example.net")[0] == "confirmed"

    # The same bounce delivered again: nothing changes, and it leaves the mailbox too.
    mailbox.deliver(bounce_to(received["reader1@example.net"].mail_from))
    again = tick(bounce_settings)
    assert [r["outcome"] for r in again.bounces["results"]] == ["already"]
    assert state(bounce_settings, "reader1@example.net")[:3] == ("bounced", 1, 1)
    assert mailbox.count() == 0


def test_out_of_office_is_ignored_and_mailto_unsubscribes(bounce_settings, smtp, mailbox):
    received = sent_digest(bounce_settings, smtp)
    away = received["reader2@example.net"]
    mailbox.deliver(f"Delivered-To: {away.mail_from}\n".encode()
                    + (DATA / "out-of-office.eml").read_bytes())
    original = email.message_from_bytes(received["reader0@example.net"].content,
                                        policy=email.policy.default)
    mailbox.deliver(
        b"From: Reader 0 <reader0@example.net>\nTo: unsubscribe@" + DOMAIN.encode()
        + b"\nSubject: Unsubscribe\nIn-Reply-To: " + original["Message-ID"].encode()
        + b"\nMessage-ID: <u1@example.net>\n\nPlease take me off.\n")

    report = tick(bounce_settings)

    outcomes = sorted((r["kind"], r["outcome"]) for r in report.bounces["results"])
    assert outcomes == [("auto-reply", "ignored"), ("unsubscribe", "unsubscribed")]
    assert mailbox.count() == 0
    assert state(bounce_settings, "reader2@example.net")[0] == "confirmed"
    assert state(bounce_settings, "reader2@example.net")[3] is None   # not noted as a bounce
    assert state(bounce_settings, "reader0@example.net")[:3] == ("unsubscribed", 1, 1)


def test_pop3_reads_at_most_the_batch_per_tick(bounce_settings, smtp, mailbox):
    received = sent_digest(bounce_settings, smtp)
    for reader in ("reader0", "reader1", "reader2"):
        mailbox.deliver(bounce_to(received[f"{reader}@example.net"].mail_from))
    settings = bounce_settings.model_copy(update={"bounce_mailbox_url": mailbox.url("pop3"),
                                                  "bounce_mailbox_batch": 2})
    first = tick(settings)
    assert first.bounces["read"] == 2 and mailbox.count() == 1
    second = tick(settings)
    assert second.bounces["read"] == 1 and mailbox.count() == 0
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 3


def test_imap_can_move_processed_mail_to_a_folder(bounce_settings, smtp, mailbox):
    received = sent_digest(bounce_settings, smtp)
    mailbox.deliver(b"Processed-folder: made\n\nx\n", folder="Processed")   # the folder exists
    mailbox.deliver(bounce_to(received["reader1@example.net"].mail_from))
    settings = bounce_settings.model_copy(update={"bounce_mailbox_move_to": "Processed"})
    assert poll(settings).removed == 1
    assert mailbox.count() == 0 and mailbox.count("Processed") == 2


def test_a_refused_login_is_reported_and_the_tick_goes_on(bounce_settings, mailbox):
    wrong = bounce_settings.model_copy(update={
        "bounce_mailbox_url": mailbox.url("imap").replace(dovecot.PASSWORD, "wrong")})
    report = tick(wrong)
    assert report.acted and report.tick_id is not None
    assert "bounce mailbox imap://bounces@127.0.0.1" in report.bounces["error"]
    assert "wrong" not in report.bounces["error"]
