"""The public sign-up form cannot be used to mail-bomb a stranger or to carry a message:
a pending address gets one round of confirmation emails per PRESSBOT_CONFIRM_RESEND_HOURS
however often the form is posted, the name typed into the form is in neither the To:
header nor the greeting, and a GET of the link (a link scanner) confirms nothing."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.services import subscribers
from bot.store.db import session_scope
from bot.store.mailing import Subscriber
from bot.store.models import utcnow
from bot.web.app import create_app
from tests.support.web import csrf_from

VICTIM = "victim@example.net"
PAYLOAD = "Your account is locked, call +1 555 0100 at once"


def setup_list(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Gazette",
                         from_email="news@news.example.org", from_name="The Gazette")


def post_subscribe(c: TestClient, address: str, name: str):
    token = csrf_from(c.get("/subscribe").text)
    return c.post("/subscribe", data={"csrf_token": token, "email": address, "name": name,
                                      "lists": ["morning"]}, follow_redirects=False)


def outbox(settings) -> list:
    folder = settings.home / "outbox" / "email"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def status(settings) -> str:
    with session_scope(settings.effective_database_url) as s:
        return s.scalar(select(Subscriber.status).where(Subscriber.email == VICTIM))


def test_repeated_sign_ups_send_one_confirmation_without_the_typed_name(settings):
    setup_list(settings)
    c = TestClient(create_app(settings))
    for n in range(4):
        answer = post_subscribe(c, VICTIM, f"{PAYLOAD} #{n}")
        assert answer.status_code == 303   # the same answer every time: nothing revealed
    sent = outbox(settings)
    assert len(sent) == 1
    [message] = sent
    assert message["To"].addresses[0].display_name == ""
    assert str(message["To"]) == VICTIM
    raw = message.as_string()
    assert "555 0100" not in raw and "locked" not in raw
    # Once the window is over, a new request sends again (the reader lost the email).
    with session_scope(settings.effective_database_url) as s:
        sid = s.scalar(select(Subscriber.id).where(Subscriber.email == VICTIM))
    assert not subscribers.claim_confirmation(settings, sid, now=utcnow() + timedelta(hours=23))
    assert subscribers.claim_confirmation(settings, sid, now=utcnow() + timedelta(hours=25))


def test_the_confirmation_link_asks_for_a_click(settings):
    setup_list(settings)
    c = TestClient(create_app(settings))
    post_subscribe(c, VICTIM, "")
    [message] = outbox(settings)
    link = re.search(r"(http://\S+/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    path = urlsplit(link).path + "?" + urlsplit(link).query
    for _ in range(2):   # a mail scanner following the link, twice
        landing = c.get(path)
        assert landing.status_code == 200 and "Yes, subscribe me" in landing.text
        assert 'method="post"' in landing.text
    assert status(settings) == "pending"
    done = TestClient(create_app(settings)).post(path)   # the reader's click: no session needed
    assert done.status_code == 200 and "Subscription confirmed" in done.text
    assert status(settings) == "confirmed"
