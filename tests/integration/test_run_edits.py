"""Scheduled digests (issue 14): an editor picks and orders the articles of a coming regular
run, writes its intro and sets its subject — through the JSON API and the dashboard's form,
on SQLite and PostgreSQL — and when the run is due the dispatcher's own steps
(dispatch_email.due_editions, build_scheduled) build it with exactly those, delivered to a
real SMTP server whose received messages carry the editor's subject, intro and order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.mail.transport import SmtpTransport
from bot.services import digests, dispatch_email, editors, planning
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus, MailingList
from bot.web.app import create_app
from tests.integration.test_planning import add_articles, add_readers, bodies, make_list
from tests.support.smtpserver import SmtpServer
from tests.support.web import add_editor, client_for, csrf_from

EDITOR = "editor@example.com"
TITLES = ["Harbour reopens after the storm", "Council votes the budget", "Tram line opens"]


def now() -> datetime:
    return datetime.now(timezone.utc)


def z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def newsroom(settings):
    """A list "morning" (daily 07:00 Paris), two readers, three fresh articles; the run a
    day away at least (the second coming one), so it cannot come while the test runs."""
    settings.timezone = "Europe/Paris"
    list_id = make_list(settings, created=now() - timedelta(days=3))
    add_readers(settings, 2)
    articles = add_articles(settings, TITLES, seen=now() - timedelta(hours=1))
    with session_scope(settings.effective_database_url) as s:
        slot = planning.runs(s.get(MailingList, list_id), now(), now() + timedelta(days=3))[1]
    return settings, list_id, articles, slot


def due(settings, moment: datetime) -> list[tuple[int, datetime]]:
    with session_scope(settings.effective_database_url) as s:
        return dispatch_email.due_editions(s, moment)


def send_when_due(settings, list_id: int, slot: datetime) -> tuple[int, list]:
    """What the dispatcher does 30 s after the slot: find it due, build it, deliver it."""
    at = slot + timedelta(seconds=30)
    assert due(settings, at) == [(list_id, slot)]
    edition_id, rows = dispatch_email.build_scheduled(settings, list_id, slot, at)
    assert rows == 2
    with SmtpServer() as smtp, SmtpTransport(smtp.url, timeout=10) as transport:
        digests.send_edition(settings, edition_id, transport=transport, now=at)
        assert smtp.handler.wait_for(2, timeout=10)
        return edition_id, list(smtp.messages)


def order_in(html: str, titles: list[str]) -> list[str]:
    """The titles found in the message, in the order they appear."""
    return sorted((t for t in titles if t in html), key=html.index)


def test_a_run_edited_through_the_api_goes_out_with_the_editors_articles_intro_and_subject(newsroom):
    settings, list_id, (harbour, council, tram), slot = newsroom
    token = editors.create_token(settings, add_editor(settings, EDITOR, "editor"), "cms")
    path = f"/api/lists/morning/runs/{planning.slot_key(slot)}"
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        first = client.patch(path, headers=headers, json={"article_ids": [council, harbour],
                                                           "intro": "Two stories", "subject": "Draft"})
        assert first.status_code == 200, first.text
        edition = first.json()
        assert edition["status"] == "scheduled" and edition["scheduled_for"] == z(slot)
        assert edition["article_ids"] == [council, harbour] and edition["created_by"] == EDITOR
        # Edited again before it is due: the same row changes (the tram first now).
        again = client.patch(path, headers=headers, json={
            "article_ids": [tram, council], "intro": "Our picks this morning",
            "subject": "Trams and taxes: the week ahead"})
        assert again.status_code == 200, again.text
        assert again.json()["id"] == edition["id"]
        preview = client.get(f"{path}/preview", headers=headers).json()
        assert preview["subject"] == "Trams and taxes: the week ahead"

        edition_id, received = send_when_due(settings, list_id, slot)

        assert edition_id == edition["id"]
        for message in received:
            subject, html, text = bodies(message)
            assert subject == "Trams and taxes: the week ahead"
            assert order_in(html, TITLES) == ["Tram line opens", "Council votes the budget"]
            assert "Our picks this morning" in html and "Our picks this morning" in text
        # Built: too late to edit, and the answer says why.
        late = client.patch(path, headers=headers, json={"article_ids": [harbour]})
        assert late.status_code == 409 and f"edition {edition_id}" in late.json()["detail"]


@pytest.mark.parametrize("body, named", [
    ({"article_ids": [999999]}, "body field article_ids: no article with id 999999"),
    ({"article_ids": [], "subject": "x" * 201}, "body field subject"),
    ({"article_ids": [], "subject": "two\nlines"}, "body field subject"),
])
def test_bad_run_edits_are_422_naming_the_field_and_plan_nothing(newsroom, body, named):
    settings, list_id, _, slot = newsroom
    token = editors.create_token(settings, add_editor(settings, EDITOR, "editor"), "cms")
    with TestClient(create_app(settings)) as client:
        answer = client.patch(f"/api/lists/morning/runs/{planning.slot_key(slot)}",
                              headers={"Authorization": f"Bearer {token}"}, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(named), answer.json()["detail"]
    assert planning.slot_edition(settings, list_id, slot) is None


def test_a_run_edited_from_its_page_is_built_with_those_articles_and_its_subject(newsroom):
    settings, list_id, (harbour, council, tram), slot = newsroom
    client = client_for(settings, login_as=EDITOR)
    path = f"/admin/lists/{list_id}/runs/{planning.slot_key(slot)}"
    page = client.get(path)
    assert page.status_code == 200 and 'id="edit-run"' in page.text

    refused = client.post(path + "/edit", follow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "article_ids": f"{harbour}, twelve",
        "intro": "Kept as typed", "subject": "Harbour special"})
    assert refused.status_code == 422
    assert "&#39;twelve&#39; is not an article id" in refused.text
    assert "Kept as typed" in refused.text and "Harbour special" in refused.text
    assert planning.slot_edition(settings, list_id, slot) is None

    saved = client.post(path + "/edit", follow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "article_ids": f"{harbour} {tram}",
        "intro": "The harbour first", "subject": "Harbour special"})
    assert saved.status_code == 303
    edition_id = planning.slot_edition(settings, list_id, slot)
    assert saved.headers["location"] == f"/admin/editions/{edition_id}"
    with session_scope(settings.effective_database_url) as s:
        row = s.get(Edition, edition_id)
        assert (row.status, row.scheduled_for, row.replaces_slot) == (EditionStatus.SCHEDULED, slot, slot)
    edition_page = client.get(saved.headers["location"]).text
    assert f'value="{harbour}, {tram}"' in edition_page and "Harbour special" in edition_page
    # The run page now leads to the row; the schedule does not produce the run a second time.
    assert client.get(path, follow_redirects=False).headers["location"] == f"/admin/editions/{edition_id}"

    built_id, received = send_when_due(settings, list_id, slot)

    assert built_id == edition_id
    subject, html, _ = bodies(received[0])
    assert subject == "Harbour special" and "The harbour first" in html
    assert order_in(html, TITLES) == ["Harbour reopens after the storm", "Tram line opens"]
    with session_scope(settings.effective_database_url) as s:
        assert s.scalars(select(Edition.id).where(Edition.list_id == list_id)).all() == [edition_id]
