"""The dashboard's subscriber pages through the real app (TestClient) on SQLite and
PostgreSQL: search, add, CSV import with a preview that writes nothing, export, and one
subscriber's history with unsubscribe and erasure."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from sqlalchemy import select

from bot.services import subscriber_data, subscribers
from bot.store.db import session_scope
from bot.store.mailing import Consent, Delivery, Edition, Subscriber, Subscription
from tests.support.web import client_for, csrf

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)

CSV = """email,name,language,topics
ada@example.org,Ada Lovelace,en,City;Sport
not-an-address,Nobody,en,
grace@example.org,Grace,fr,
ADA@example.org,Ada again,,
left@example.org,Left,,
bad.language@example.org,Bad,klingon,
,Empty,,
"""


def add_lists(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Brief", from_email="news@news.example.org",
                         from_name="The Gazette", schedule="daily 07:00", timezone="Europe/Paris")
    subscribers.add_list(settings, "weekly", title="The Week", from_email="news@news.example.org",
                         from_name="The Gazette", language="fr")


def editor_client(settings, role: str = "editor"):
    return client_for(settings, login_as="ed@example.com", role=role)


def stored(settings) -> dict:
    """What an import can change."""
    with session_scope(settings.effective_database_url) as s:
        return {"subscribers": sorted(s.scalars(select(Subscriber.email))),
                "subscriptions": sorted((r.subscriber_id, r.list_id, r.active) for r in s.scalars(select(Subscription))),
                "consents": len(s.scalars(select(Consent)).all())}


def text_of(page: str) -> str:
    """The page's visible text, whitespace collapsed (for assertions on what an editor reads)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/subscribers"), **(data or {})},
                       follow_redirects=False, **kwargs)


def test_pages_need_a_login(settings):
    client = client_for(settings)
    for path in ("/admin/subscribers", "/admin/subscribers/1", "/admin/subscribers/export?list=x"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


def test_search_by_text_list_and_status_with_pages(settings):
    add_lists(settings)
    subscribers.add_confirmed(settings, "ada@example.org", "morning", name="Ada Lovelace")
    subscribers.add_confirmed(settings, "grace@example.org", "weekly", name="Grace Hopper")
    subscribers.subscribe(settings, "pending_1@example.org", "morning")
    client = editor_client(settings)

    page = client.get("/admin/subscribers")
    assert page.status_code == 200
    assert {"ada@example.org", "grace@example.org", "pending_1@example.org"} <= set(re.findall(r">([\w.]+@example\.org)<", page.text))
    by_name = client.get("/admin/subscribers", params={"q": "LOVELACE"}).text
    assert "ada@example.org" in by_name and "grace@example.org" not in by_name
    by_list = client.get("/admin/subscribers", params={"list": "weekly"}).text
    assert "grace@example.org" in by_list and "ada@example.org" not in by_list
    by_status = client.get("/admin/subscribers", params={"status": "pending"}).text
    assert "pending_1@example.org" in by_status and "ada@example.org" not in by_status
    # LIKE wildcards are searched for literally.
    assert "ada@example.org" not in client.get("/admin/subscribers", params={"q": "_1"}).text
    unknown = client.get("/admin/subscribers", params={"list": "nope"})
    assert unknown.status_code == 422 and "no list named &#39;nope&#39;" in unknown.text

    for n in range(55):
        subscribers.add_confirmed(settings, f"bulk{n:02d}@example.net", "morning")
    first = client.get("/admin/subscribers", params={"q": "bulk"}).text
    assert "55 subscribers, page 1 of 2" in text_of(first) and "bulk54@example.net" in first
    second = client.get("/admin/subscribers", params={"q": "bulk", "page": 2}).text
    assert "bulk00@example.net" in second and "bulk54@example.net" not in second


def test_add_confirmed_or_with_a_confirmation_email(settings):
    add_lists(settings)
    client = editor_client(settings)
    response = post(client, "/admin/subscribers/add", {"email": "held@example.org", "list": "morning",
                                                       "name": "Held", "consent": "1"})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "held@example.org is on morning, confirmed" in page
    data = subscriber_data.export_subscriber(settings, "held@example.org")
    assert data["subscriber"]["status"] == "confirmed"
    assert [(c["action"], c["method"], c["origin"]) for c in data["consents"]] == [
        ("subscribe", "dashboard", "ed@example.com")]

    response = post(client, "/admin/subscribers/add", {"email": "asked@example.org", "list": "weekly"})
    assert "a confirmation email was sent" in client.get(response.headers["location"]).text
    assert subscriber_data.export_subscriber(settings, "asked@example.org")["subscriber"]["status"] == "pending"
    [sent] = (settings.home / "outbox").rglob("*.eml")
    assert b"asked@example.org" in sent.read_bytes()

    subscribers.suppress(settings, "gone@example.org", "complained")
    again = post(client, "/admin/subscribers/add", {"email": "gone@example.org", "list": "morning", "consent": "1"})
    assert "gone@example.org was not added" in client.get(again.headers["location"]).text
    bad = post(client, "/admin/subscribers/add", {"email": "nope", "list": "morning"})
    assert "not a valid email address" in client.get(bad.headers["location"]).text


def upload(client, text: str, list_name: str = "morning"):
    return post(client, "/admin/subscribers/import", {"list": list_name},
                files={"file": ("readers.csv", text.encode(), "text/csv")})


def test_csv_preview_shows_bad_rows_and_writes_nothing_until_commit(settings):
    add_lists(settings)
    sid = subscribers.add_confirmed(settings, "left@example.org", "morning")
    subscribers.remove_from_list(settings, sid, "morning")
    client = editor_client(settings)
    before = stored(settings)

    response = upload(client, CSV)
    assert response.status_code == 303
    preview = client.get(response.headers["location"])
    assert preview.status_code == 200
    shown = text_of(preview.text)
    assert "Nothing has been imported yet" in shown
    assert "3 not-an-address invalid" in shown and "not a valid email address" in shown
    assert "5 ADA@example.org duplicate same address as line 2" in shown
    assert "6 left@example.org skipped" in shown
    assert "7 bad.language@example.org invalid language: 'klingon'" in shown
    assert "8 (empty) invalid email address is empty" in shown
    assert "Commit import of 2 rows" in shown
    assert "ada@example.org Ada Lovelace en City, Sport" in shown
    assert stored(settings) == before            # the preview wrote nothing
    assert client.get(response.headers["location"]).status_code == 200   # and can be shown again

    staged = response.headers["location"].split("/import/")[1].split("?")[0]
    commit = post(client, f"/admin/subscribers/import/{staged}/commit",
                  {"list": "morning", "filename": "readers.csv"})
    assert commit.status_code == 303
    assert "2 imported into morning" in client.get(commit.headers["location"]).text
    after = stored(settings)
    assert set(after["subscribers"]) - set(before["subscribers"]) == {"ada@example.org", "grace@example.org"}
    ada = subscriber_data.export_subscriber(settings, "ada@example.org")
    assert ada["subscriber"]["status"] == "confirmed"
    assert [(c["action"], c["method"]) for c in ada["consents"]] == [("import", "csv")]
    assert "readers.csv" in ada["consents"][0]["origin"] and "ed@example.com" in ada["consents"][0]["origin"]

    # The upload is gone once committed: a second click imports nothing twice.
    twice = post(client, f"/admin/subscribers/import/{staged}/commit", {"list": "morning", "filename": "readers.csv"})
    assert "no longer available" in client.get(twice.headers["location"]).text
    assert stored(settings) == after
    forged = post(client, "/admin/subscribers/import/..%2F..%2Fpressbot/commit", {"list": "morning"})
    assert forged.status_code in (303, 404) and stored(settings) == after


def test_commit_validates_again(settings):
    """Between the preview and the commit, someone on the preview unsubscribed elsewhere."""
    add_lists(settings)
    client = editor_client(settings)
    location = upload(client, "email\nlate@example.org\nstays@example.org\n").headers["location"]
    assert "Commit import of 2 rows" in text_of(client.get(location).text)
    subscribers.suppress(settings, "late@example.org", "complained")
    staged = location.split("/import/")[1].split("?")[0]
    post(client, f"/admin/subscribers/import/{staged}/commit", {"list": "morning", "filename": "x.csv"})
    assert subscriber_data.export_csv(settings, "morning").splitlines()[1:] == ["stays@example.org,,,"]


def test_a_file_that_cannot_be_used_is_refused_whole(settings):
    add_lists(settings)
    client = editor_client(settings)
    wrong = upload(client, "mail,name\nada@example.org,Ada\n")
    page = client.get(wrong.headers["location"], follow_redirects=True).text
    assert "unknown column(s) &#39;mail&#39;" in page
    latin1 = post(client, "/admin/subscribers/import", {"list": "morning"},
                  files={"file": ("old.csv", "email,name\nzoe@example.org,Zoë\n".encode("latin-1"), "text/csv")})
    assert "not UTF-8" in client.get(latin1.headers["location"]).text
    assert stored(settings)["subscribers"] == []
    assert list((settings.home / "imports").glob("*.csv")) == []


def test_export_is_the_cli_export(settings):
    add_lists(settings)
    subscriber_data.import_csv(settings, CSV, "morning", origin="seed")
    client = editor_client(settings)
    response = client.get("/admin/subscribers/export", params={"list": "morning"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="morning-subscribers.csv"' == response.headers["content-disposition"]
    assert response.text == subscriber_data.export_csv(settings, "morning")
    assert response.text.splitlines()[0] == "email,name,language,topics"
    assert "ada@example.org,Ada Lovelace,en,City;Sport" in response.text.splitlines()


def add_delivery(settings, email: str, *, state: str, reply: str) -> None:
    with session_scope(settings.effective_database_url) as s:
        edition = Edition(list_id=subscribers.get_list_row(s, "morning").id, scheduled_for=NOW,
                          window_end=NOW, content={"articles": []}, subject="Harbour ferry resumes",
                          status="sent", sent_at=NOW)
        s.add(edition)
        s.flush()
        s.add(Delivery(edition_id=edition.id, subscriber_id=subscribers.find_subscriber(s, email).id,
                       state=state, attempts=1, smtp_reply=reply, last_error=reply, sent_at=NOW))


def test_history_shows_deliveries_consents_and_suppression(settings):
    add_lists(settings)
    sid = subscribers.add_confirmed(settings, "reader@example.org", "morning", method="cli", origin="cli:ops")
    add_delivery(settings, "reader@example.org", state="failed",
                 reply="550 5.1.1 <reader@example.org>: Recipient address rejected")
    subscribers.suppress(settings, "reader@example.org", "bounced", "550 5.1.1 user unknown")
    client = editor_client(settings)

    page = client.get(f"/admin/subscribers/{sid}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Harbour ferry resumes" in shown and "failed" in shown
    assert "550 5.1.1 <reader@example.org>: Recipient address rejected" in shown
    assert "2026-11-28 07:00" in shown          # the site's zone (UTC here)
    assert "subscribe cli morning cli:ops" in shown
    assert "bounced bounce all" in shown
    assert "Suppressed since" in shown and "bounced" in shown and "user unknown" in shown
    assert 'data-confirm="Erase reader@example.org' in page.text
    assert client.get("/admin/subscribers/999999", follow_redirects=True).text.count("no subscriber with id 999999") == 1


def test_unsubscribe_from_a_list_then_erase(settings):
    add_lists(settings)
    sid = subscribers.add_confirmed(settings, "two@example.org", "morning")
    subscribers.add_confirmed(settings, "two@example.org", "weekly")
    add_delivery(settings, "two@example.org", state="sent", reply="250 2.0.0 Ok: queued")
    client = editor_client(settings)

    response = post(client, f"/admin/subscribers/{sid}/unsubscribe", {"list": "weekly"})
    assert "Unsubscribed from weekly" in client.get(response.headers["location"]).text
    data = subscriber_data.export_subscriber(settings, "two@example.org")
    assert {s["list"]: s["active"] for s in data["subscriptions"]} == {"morning": True, "weekly": False}
    assert ("unsubscribe", "dashboard", "ed@example.com") in [
        (c["action"], c["method"], c["origin"]) for c in data["consents"]]
    assert data["subscriber"]["status"] == "confirmed"     # still on morning

    response = post(client, f"/admin/subscribers/{sid}/erase")
    assert response.headers["location"] == "/admin/subscribers"
    assert "1 deliveries kept without it" in client.get("/admin/subscribers").text
    data = subscriber_data.export_subscriber(settings, "two@example.org")
    assert data["subscriber"] is None and data["suppression"]["reason"] == "erased"
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(Delivery.subscriber_id)) is None
