"""The calendar, the edition page and campaigns through the real app (TestClient), on SQLite
and PostgreSQL, against the real clock: the runs shown are the lists' real next runs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.mail.transport import OutboxTransport, SmtpTransport
from bot.services import digests, dispatch_email, planning, shares
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList
from bot.web.app import create_app
from bot.web.security import EMAIL_FRAME_CSP
from tests.integration.test_planning import add_articles, add_readers, bodies, make_list
from tests.support.smtpserver import SmtpServer
from tests.support.web import client_for, csrf_from

EDITOR = "ed@example.com"
PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(timezone.utc)


def local_input(moment: datetime) -> str:
    """What a datetime-local field holds for `moment` in the site's zone (Paris)."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def next_runs(settings, list_id: int, count: int = 2) -> list[datetime]:
    with session_scope(settings.effective_database_url) as s:
        mlist = s.get(MailingList, list_id)
        return planning.runs(mlist, now(), now() + timedelta(days=count + 1))[:count]


@pytest.fixture
def site(settings):
    """A list with two readers and one fresh article, the site in Paris time, and a client
    logged in as an editor."""
    settings.timezone = "Europe/Paris"
    list_id = make_list(settings, created=now() - timedelta(days=3))
    add_readers(settings, 2)
    [article] = add_articles(settings, ["Harbour reopens after the storm"], seen=now() - timedelta(hours=1))
    client = client_for(settings, login_as=EDITOR)
    return settings, client, list_id, article


def post(client, page_path: str, action: str, **data):
    token = csrf_from(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_the_calendar_shows_a_coming_run_a_sent_edition_with_counts_and_a_share_post(site, tmp_path):
    settings, client, list_id, article = site
    previous = dispatch_email.latest_slot("daily 07:00", "Europe/Paris", now() - timedelta(days=2), now())
    sent_id, _ = dispatch_email.build_scheduled(settings, list_id, previous, now())
    digests.send_edition(settings, sent_id, transport=OutboxTransport(tmp_path / "outbox"))
    shares.add_account(settings, "gazette-x", "x")
    [share] = shares.schedule_share(settings, article, "gazette-x", at=now() + timedelta(hours=3))
    coming = next_runs(settings, list_id)[0]

    page = client.get("/admin/calendar")

    assert page.status_code == 200
    run_link = f'/admin/lists/{list_id}/runs/{planning.slot_key(coming)}'
    assert run_link in page.text
    row = re.search(rf'<tr class="calendar-item edition" data-key="edition-{sent_id}">(.*?)</tr>', page.text, re.S)
    assert row and f"/admin/editions/{sent_id}" in row[1]
    assert 'class="status status-sent"' in row[1] and "2 sent" in row[1]
    assert f'/admin/articles/{article}' in page.text and "gazette-x (x)" in page.text
    assert coming.astimezone(PARIS).strftime("%H:%M") == "07:00"   # shown in the site's zone
    assert f'data-key="post-{share["id"]}"' in page.text
    # Earlier / later pages.
    later = client.get("/admin/calendar?start=" + (now() + timedelta(days=30)).date().isoformat())
    assert run_link not in later.text and later.status_code == 200
    assert client.get("/admin/calendar?start=soon").status_code == 400


def test_a_run_page_shows_the_email_in_a_sandboxed_frame_with_the_email_csp(site):
    settings, client, list_id, _ = site
    coming = next_runs(settings, list_id)[0]
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(coming)}"

    page = client.get(path)

    assert page.status_code == 200
    frame_tag = re.search(r"<iframe[^>]*>", page.text)[0]
    assert "sandbox" in frame_tag and "allow-scripts" not in frame_tag
    assert 'class="email-preview"' in frame_tag and f'src="{path}/frame"' in frame_tag
    text_part = re.search(r'<pre class="text-part">(.*?)</pre>', page.text, re.S)[1]
    assert "Harbour reopens after the storm" in text_part
    frame = client.get(path + "/frame")
    assert frame.headers["content-security-policy"] == EMAIL_FRAME_CSP
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Harbour reopens after the storm" in frame.text
    assert with_session_only(settings, path)


def with_session_only(settings, path: str) -> bool:
    """Neither the page nor its frame answers without a login."""
    anonymous = TestClient(create_app(settings))
    return all(anonymous.get(p, follow_redirects=False).status_code == 303 for p in (path, path + "/frame"))


def test_moving_a_run_then_moving_and_cancelling_its_edition(site):
    settings, client, list_id, _ = site
    coming = next_runs(settings, list_id)[0]
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(coming)}"

    moved = post(client, path, path + "/reschedule", send_at=local_input(coming + timedelta(hours=1)))

    assert moved.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        row = s.scalar(select(Edition).where(Edition.list_id == list_id))
        assert (row.status, row.scheduled_for, row.replaces_slot, row.created_by) == (
            EditionStatus.SCHEDULED, coming + timedelta(hours=1), coming, EDITOR)
    assert moved.headers["location"] == f"/admin/editions/{row.id}"
    assert client.get(path, follow_redirects=False).headers["location"] == f"/admin/editions/{row.id}"
    edition_page = client.get(f"/admin/editions/{row.id}")
    assert "Moved: it goes out" in edition_page.text and "Harbour reopens after the storm" in edition_page.text
    calendar = client.get("/admin/calendar").text
    assert f"/admin/editions/{row.id}" in calendar and path not in calendar

    again = post(client, f"/admin/editions/{row.id}", f"/admin/editions/{row.id}/reschedule",
                 send_at=local_input(coming + timedelta(hours=2)))
    assert again.status_code == 303
    cancelled = post(client, f"/admin/editions/{row.id}", f"/admin/editions/{row.id}/cancel")
    assert cancelled.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        row = s.get(Edition, row.id)
        assert (row.status, row.scheduled_for) == (EditionStatus.CANCELLED, coming + timedelta(hours=2))
    page = client.get(f"/admin/editions/{row.id}").text
    assert 'class="status status-cancelled"' in page and "Cancelled: it will not go out." in page
    assert "/reschedule" not in page


def test_cancelling_a_run_from_its_page(site):
    settings, client, list_id, _ = site
    second = next_runs(settings, list_id)[1]
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(second)}"
    assert 'data-confirm="Cancel this edition?' in client.get(path).text

    response = post(client, path, path + "/cancel")

    assert response.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        row = s.scalar(select(Edition).where(Edition.list_id == list_id))
        assert (row.status, row.replaces_slot) == (EditionStatus.CANCELLED, second)


@pytest.mark.parametrize("value, message", [
    ("next tuesday", "is not a date and time like 2026-11-29T08:00"),
    ("2020-01-01T08:00", "that time has passed"),
])
def test_a_bad_time_is_shown_on_the_page_and_changes_nothing(site, value, message):
    settings, client, list_id, _ = site
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(next_runs(settings, list_id)[0])}"

    response = post(client, path, path + "/reschedule", send_at=value)

    assert response.status_code == 422
    assert message in response.text and 'role="alert"' in response.text
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(Edition.id)) is None


def test_a_test_send_arrives_at_a_real_smtp_server_with_test_in_the_subject(site):
    settings, client, list_id, _ = site
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(next_runs(settings, list_id)[0])}"
    with SmtpServer() as smtp:
        settings.smtp_url = smtp.url

        response = post(client, path, path + "/test")

        assert response.status_code == 303
        assert smtp.handler.wait_for(1, timeout=10)
        [received] = smtp.messages
    assert received.rcpt_tos == (EDITOR,)
    subject, html, _ = bodies(received)
    assert subject.startswith("[TEST] ") and "Harbour reopens after the storm" in html
    assert f"Test sent to {EDITOR}." in client.get(path).text


def test_failed_deliveries_show_with_their_reason_and_can_be_resent(site):
    settings, client, list_id, _ = site
    previous = dispatch_email.latest_slot("daily 07:00", "Europe/Paris", now() - timedelta(days=2), now())
    edition_id, _ = dispatch_email.build_scheduled(settings, list_id, previous, now())
    with SmtpServer() as smtp:
        smtp.handler.rcpt_replies["reader1@example.net"] = "550 5.7.1 Message rejected as spam"
        with SmtpTransport(smtp.url, timeout=10) as transport:
            digests.send_edition(settings, edition_id, transport=transport)
    page = client.get(f"/admin/editions/{edition_id}").text
    assert "1 failed delivery" in page and "550 5.7.1 Message rejected as spam" in page

    response = post(client, f"/admin/editions/{edition_id}", f"/admin/editions/{edition_id}/resend")

    assert response.status_code == 303
    assert "1 failed deliveries will be sent again" in client.get(f"/admin/editions/{edition_id}").text
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(Delivery.state).where(Delivery.state != DeliveryState.SENT)) == DeliveryState.DEFERRED


def test_a_campaign_is_created_from_the_form_and_opens_its_edition_page(site):
    settings, client, list_id, article = site
    [other] = add_articles(settings, ["Tram line 3 extended"], seen=now() - timedelta(minutes=30))
    form = client.get("/admin/campaigns/new")
    assert f'name="article_ids" value="{article}"' in form.text and 'value="morning"' in form.text
    at = (now() + timedelta(days=1, hours=3)).replace(second=0, microsecond=0)
    if at.astimezone(PARIS).strftime("%H:%M") == "07:00":
        at += timedelta(minutes=5)

    response = client.post("/admin/campaigns", data={
        "csrf_token": csrf_from(form.text), "list": "morning", "article_ids": [str(other), str(article)],
        "intro": "Our transport special.", "when": "at", "send_at": local_input(at)},
        follow_redirects=False)

    assert response.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        row = s.scalar(select(Edition).where(Edition.list_id == list_id))
        assert (row.status, row.scheduled_for, row.created_by) == (EditionStatus.SCHEDULED, at, EDITOR)
        assert row.content == {"campaign": True, "article_ids": [other, article],
                               "intro": "Our transport special."}
    assert response.headers["location"] == f"/admin/editions/{row.id}"
    page = client.get(response.headers["location"]).text
    assert "Campaign · The Morning Gazette" in page and "Our transport special." in page
    text_part = re.search(r'<pre class="text-part">(.*?)</pre>', page, re.S)[1]
    assert text_part.index("Our transport special.") < text_part.index("Tram line 3 extended") \
        < text_part.index("Harbour reopens after the storm")
    frame = client.get(f"/admin/editions/{row.id}/frame").text
    assert "Our transport special." in frame and "Tram line 3 extended" in frame

    now_response = client.post("/admin/campaigns", data={
        "csrf_token": csrf_from(form.text), "list": "morning", "article_ids": [str(article)],
        "when": "now"}, follow_redirects=False)
    assert now_response.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        due = dispatch_email.due_editions(s, now())
    assert [list_id for list_id, _ in due] == [list_id]


def test_a_campaign_form_with_nothing_picked_says_so_and_keeps_the_input(site):
    settings, client, _, _ = site
    form = client.get("/admin/campaigns/new")

    response = client.post("/admin/campaigns", data={
        "csrf_token": csrf_from(form.text), "list": "morning", "intro": "Kept intro",
        "when": "now"}, follow_redirects=False)

    assert response.status_code == 422
    assert "pick at least one article" in response.text and "Kept intro" in response.text
    assert client.post("/admin/campaigns", data={"list": "morning"}).status_code == 403   # no CSRF
