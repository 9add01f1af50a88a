"""Planning editions through the JSON API with an editor's token, on SQLite and PostgreSQL,
against the real clock: the calendar of coming runs and editions, moving and cancelling a
run or an edition, one-off campaigns and their preview — and a run moved through the API
is not built at its old slot by the dispatcher (dispatch_email.due_editions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from bot.services import dispatch_email, editors, planning, shares
from bot.store.db import session_scope
from bot.store.mailing import MailingList
from bot.web.app import create_app
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.support.web import add_editor

EDITOR = "editor@example.com"
HOUR = timedelta(hours=1)


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def z(moment: datetime) -> str:
    """How the API writes times: UTC with a Z."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Site:
    def __init__(self, settings, client: TestClient, token: str, list_id: int, article: int,
                 runs: list[datetime]):
        self.settings, self.client, self.list_id, self.article, self.runs = (
            settings, client, list_id, article, runs)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs):
        return self.client.request(method, path, headers=self.headers, **kwargs)

    def due(self, moment: datetime) -> list[tuple[int, datetime]]:
        with session_scope(self.settings.effective_database_url) as s:
            return dispatch_email.due_editions(s, moment)

    def run_path(self, slot: datetime) -> str:
        return f"/api/lists/morning/runs/{planning.slot_key(slot)}"


@pytest.fixture
def site(settings):
    """A list "morning" (daily 07:00 Paris) with two readers and a fresh article, and an
    editor's (not an admin's) token. `runs`: its next two runs; tests that move a run use
    the second, a day away at least, so it cannot come while the test runs."""
    list_id = make_list(settings, created=now() - timedelta(days=3))
    add_readers(settings, 2)
    [article] = add_articles(settings, ["Harbour reopens after the storm"], seen=now() - HOUR)
    token = editors.create_token(settings, add_editor(settings, EDITOR, "editor"), "cms")
    with session_scope(settings.effective_database_url) as s:
        runs = planning.runs(s.get(MailingList, list_id), now(), now() + timedelta(days=3))[:2]
    with TestClient(create_app(settings)) as client:
        yield Site(settings, client, token, list_id, article, runs)


def new_campaign(site: Site, **fields) -> dict:
    body = {"list": "morning", "article_ids": [site.article], **fields}
    answer = site.call("POST", "/api/campaigns", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def calendar_items(site: Site, **params) -> list[dict]:
    answer = site.call("GET", "/api/calendar", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


# -- The calendar -----------------------------------------------------------------------------------


def test_the_calendar_shows_coming_runs_and_edition_rows_with_status_and_counts(site):
    campaign = new_campaign(site, send_at=iso(site.runs[1] + 2 * HOUR))

    items = calendar_items(site)

    runs = [i for i in items if i["edition_id"] is None]
    assert [i["when"] for i in runs][:2] == [z(r) for r in site.runs]
    first = runs[0]
    assert first["status"] == "scheduled" and first["list"] == "morning"
    assert first["counts"] == {"subscribers": 2}
    assert first["slot_key"] == planning.slot_key(site.runs[0])
    assert first["key"] == f"run-{site.list_id}-{planning.slot_key(site.runs[0])}"
    [row] = [i for i in items if i["edition_id"] == campaign["id"]]
    assert row["campaign"] is True and row["status"] == "scheduled" and row["slot"] is None
    assert row["created_by"] == EDITOR and row["counts"] == {}
    assert [i["when"] for i in items] == sorted(i["when"] for i in items)

    # A range: only what falls inside it.
    one_day = calendar_items(site, start=iso(site.runs[1] - HOUR), end=iso(site.runs[1] + HOUR))
    assert [(i["edition_id"], i["when"]) for i in one_day] == [(None, z(site.runs[1]))]


@pytest.mark.parametrize("params, named", [
    ({"start": "2026-12-01T08:00"}, "query parameter start"),                 # no time zone
    ({"start": "tomorrow"}, "query parameter start"),
    ({"start": "2026-12-02T00:00Z", "end": "2026-12-01T00:00Z"}, "query parameter end"),
    ({"start": "2026-12-01T00:00Z", "end": "2027-12-01T00:00Z"}, "query parameter end"),
])
def test_a_bad_calendar_range_is_422_naming_the_parameter(site, params, named):
    answer = site.call("GET", "/api/calendar", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(named)


def test_the_calendar_returns_share_posts_too_and_filters_by_list_account_and_status(site):
    shares.add_account(site.settings, "gazette-x", "x")
    shares.add_account(site.settings, "gazette-bsky", "bluesky")
    [x_post] = shares.schedule_share(site.settings, site.article, "gazette-x", at=now() + 2 * HOUR)
    [bsky_post] = shares.schedule_share(site.settings, site.article, "gazette-bsky", at=now() + 3 * HOUR)

    answer = site.call("GET", "/api/calendar").json()

    assert answer["items"] and [p["post_id"] for p in answer["posts"]] == [x_post["id"], bsky_post["id"]]
    first = answer["posts"][0]
    assert first["key"] == f"post-{x_post['id']}" and first["article_id"] == site.article
    assert first["account"] == "gazette-x" and first["platform"] == "x"
    assert first["status"] == "scheduled" and first["title"] == "Harbour reopens after the storm"
    assert first["when"] == z(datetime.fromisoformat(x_post["scheduled_at"]))

    by_account = site.call("GET", "/api/calendar", params={"account": "gazette-bsky"}).json()
    assert by_account["items"] == [] and [p["account"] for p in by_account["posts"]] == ["gazette-bsky"]
    by_list = site.call("GET", "/api/calendar", params={"list": "morning"}).json()
    assert by_list["posts"] == [] and {i["list"] for i in by_list["items"]} == {"morning"}
    sent = site.call("GET", "/api/calendar", params={"status": "sent"}).json()
    assert sent["items"] == [] and sent["posts"] == []
    bad = site.call("GET", "/api/calendar", params={"status": "posted"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query parameter status")


# -- Moving and cancelling a run without a row ------------------------------------------------------


def test_a_run_moved_through_the_api_is_built_at_its_new_time_not_at_its_slot(site):
    slot = site.runs[1]
    moved_to = slot + HOUR
    # Without the move, the dispatcher builds the run at its slot.
    assert site.due(slot + timedelta(seconds=30)) == [(site.list_id, slot)]

    answer = site.call("POST", site.run_path(slot), json={"scheduled_for": iso(moved_to)})

    assert answer.status_code == 201, answer.text
    edition = answer.json()
    assert edition["status"] == "scheduled" and edition["scheduled_for"] == z(moved_to)
    assert edition["list"] == "morning" and edition["created_by"] == EDITOR
    assert site.due(slot + timedelta(seconds=30)) == []
    assert site.due(moved_to + timedelta(seconds=30)) == [(site.list_id, moved_to)]
    # The calendar shows the row in the run's place, no longer the run itself.
    items = calendar_items(site)
    assert [(i["edition_id"], i["moved"]) for i in items if i["slot"] == z(slot)] == [(edition["id"], True)]
    # The run has its row now: planning it again is a conflict that names the row.
    again = site.call("POST", site.run_path(slot), json={"cancel": True})
    assert again.status_code == 409 and f"edition {edition['id']}" in again.json()["detail"]


def test_a_run_cancelled_through_the_api_is_not_built(site):
    slot = site.runs[1]

    answer = site.call("POST", site.run_path(slot), json={"cancel": True})

    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "cancelled" and answer.json()["scheduled_for"] == z(slot)
    assert site.due(slot + timedelta(seconds=30)) == []
    [item] = [i for i in calendar_items(site) if i["slot"] == z(slot)]
    assert item["status"] == "cancelled" and item["edition_id"] == answer.json()["id"]


@pytest.mark.parametrize("path, body, status, named", [
    ("/api/lists/morning/runs/{slot}", {}, 422, "body"),
    ("/api/lists/morning/runs/{slot}", {"cancel": True, "scheduled_for": "2030-01-01T08:00Z"}, 422, "body"),
    ("/api/lists/morning/runs/{slot}", {"scheduled_for": "2030-01-01T08:00"}, 422, "body field scheduled_for"),
    ("/api/lists/morning/runs/{slot}", {"scheduled_for": "2001-01-01T08:00Z"}, 422, "body field scheduled_for"),
    ("/api/lists/morning/runs/{slot}", {"cancel": True, "when": "now"}, 422, "body field when"),
    ("/api/lists/morning/runs/2026-12-01T08:00", {"cancel": True}, 422, "path parameter slot"),
    ("/api/lists/morning/runs/{not_a_run}", {"cancel": True}, 422, "path parameter slot"),
    ("/api/lists/evening/runs/{slot}", {"cancel": True}, 404, "no list named 'evening'"),
])
def test_bad_run_changes_are_refused_naming_what_is_wrong(site, path, body, status, named):
    slot = site.runs[1]
    path = path.format(slot=planning.slot_key(slot), not_a_run=planning.slot_key(slot + HOUR))

    answer = site.call("POST", path, json=body)

    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(named), answer.json()["detail"]
    assert site.due(slot + timedelta(seconds=30)) == [(site.list_id, slot)]   # nothing planned


# -- Moving and cancelling an edition row ----------------------------------------------------------


def test_a_scheduled_edition_is_moved_then_cancelled_then_neither_again(site):
    campaign = new_campaign(site, send_at=iso(site.runs[1] + 2 * HOUR))
    path = f"/api/editions/{campaign['id']}"
    later = site.runs[1] + 3 * HOUR

    moved = site.call("PATCH", path, json={"scheduled_for": iso(later)})

    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduled_for"] == z(later) and moved.json()["status"] == "scheduled"
    assert site.call("GET", path).json()["scheduled_for"] == z(later)
    assert [i["when"] for i in calendar_items(site) if i["edition_id"] == campaign["id"]] == [z(later)]

    cancelled = site.call("POST", f"{path}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (cancelled.json()["stopped"], cancelled.json()["already_sent"]) == (0, 0)
    assert EDITOR in cancelled.json()["error"]
    assert [i["status"] for i in calendar_items(site) if i["edition_id"] == campaign["id"]] == ["cancelled"]
    # Nothing left to move or cancel: conflicts, not bad input.
    again = site.call("PATCH", path, json={"scheduled_for": iso(later + HOUR)})
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert site.call("POST", f"{path}/cancel").status_code == 409


@pytest.mark.parametrize("body, named", [
    ({}, "body field scheduled_for"),
    ({"scheduled_for": "2030-01-01T08:00"}, "body field scheduled_for"),      # no time zone
    ({"scheduled_for": "2001-01-01T08:00Z"}, "body field scheduled_for: that time has passed"),
    ({"scheduled_for": "{run}"}, "body field scheduled_for: morning's regular digest"),
    ({"scheduled_for": "2030-01-01T08:00Z", "status": "sent"}, "body field status"),
])
def test_bad_reschedules_are_422_naming_the_field_and_move_nothing(site, body, named):
    campaign = new_campaign(site, send_at=iso(site.runs[1] + 2 * HOUR))
    body = {k: v.format(run=iso(site.runs[1])) if isinstance(v, str) else v for k, v in body.items()}

    answer = site.call("PATCH", f"/api/editions/{campaign['id']}", json=body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(named), answer.json()["detail"]
    assert site.call("GET", f"/api/editions/{campaign['id']}").json()["scheduled_for"] == campaign["scheduled_for"]


def test_unknown_editions_are_404(site):
    for method, path, body in [("PATCH", "/api/editions/999", {"scheduled_for": "2030-01-01T08:00Z"}),
                               ("POST", "/api/editions/999/cancel", None),
                               ("GET", "/api/editions/999/preview", None)]:
        answer = site.call(method, path, json=body)
        assert answer.status_code == 404, f"{method} {path}: {answer.text}"
        assert answer.json()["detail"] == "no edition with id 999"


# -- Campaigns ------------------------------------------------------------------------------------


def test_a_campaign_is_created_with_its_articles_and_previewed_with_its_intro(site):
    [other] = add_articles(site.settings, ["Tram line 3 opens"], seen=now() - HOUR)
    send_at = site.runs[0] + 5 * HOUR

    campaign = new_campaign(site, article_ids=[other, site.article], intro="A special edition.",
                            send_at=iso(send_at))

    assert campaign["status"] == "scheduled" and campaign["scheduled_for"] == z(send_at)
    assert campaign["created_by"] == EDITOR and campaign["list"] == "morning"
    assert campaign["article_ids"] == [other, site.article] and campaign["articles"] == 2

    preview = site.call("GET", f"/api/editions/{campaign['id']}/preview")

    assert preview.status_code == 200, preview.text
    email = preview.json()
    assert set(email) == {"subject", "html", "text"} and email["subject"]
    html, text = email["html"], email["text"]
    assert "A special edition." in html and "A special edition." in text
    assert html.index("Tram line 3 opens") < html.index("Harbour reopens after the storm")
    assert "Tram line 3 opens" in text


def test_a_campaign_without_send_at_goes_out_now(site):
    before = now()
    campaign = new_campaign(site)
    assert campaign["status"] == "scheduled"
    assert before <= datetime.fromisoformat(campaign["scheduled_for"]) <= now()


@pytest.mark.parametrize("fields, named", [
    ({"article_ids": []}, "body field article_ids"),
    ({"article_ids": [987654]}, "body field article_ids: no article with id 987654"),
    ({"article_ids": ["one"]}, "body field article_ids.0"),
    ({"list": "evening"}, "body field list: no mailing list named 'evening'"),
    ({"send_at": "2001-01-01T08:00Z"}, "body field send_at: that time has passed"),
    ({"send_at": "2030-01-01T08:00"}, "body field send_at"),
    ({"intro": "x" * 2001}, "body field intro"),
    # A campaign has a subject since the A/B subject test; a bad one is named.
    ({"subject": "Two\nlines"}, "body field subject: one line"),
    ({"subject_b": "Hi"}, "body field subject_b: an A/B test needs subject A"),
    ({"surprise": "Hi"}, "body field surprise"),
])
def test_bad_campaigns_are_422_naming_the_field_and_create_nothing(site, fields, named):
    answer = site.call("POST", "/api/campaigns", json={"list": "morning", "article_ids": [site.article],
                                                       **fields})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(named), answer.json()["detail"]
    assert site.call("GET", "/api/editions").json()["items"] == []


# -- Previews -------------------------------------------------------------------------------------


def test_a_coming_run_is_previewed_with_the_new_articles_and_a_cancelled_one_has_no_email(site):
    slot = site.runs[1]
    answer = site.call("GET", f"{site.run_path(slot)}/preview")
    assert answer.status_code == 200, answer.text
    assert "Harbour reopens after the storm" in answer.json()["html"]
    assert "Harbour reopens after the storm" in answer.json()["text"]
    assert "#unsubscribe" in answer.json()["html"]          # the personal links point nowhere

    cancelled = site.call("POST", site.run_path(slot), json={"cancel": True}).json()
    for path in (f"{site.run_path(slot)}/preview", f"/api/editions/{cancelled['id']}/preview"):
        gone = site.call("GET", path)
        assert gone.status_code == 409, gone.text
        assert "cancelled" in gone.json()["detail"]


# -- Tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/calendar", None),
    ("PATCH", "/api/editions/1", {"scheduled_for": "2030-01-01T08:00Z"}),
    ("PATCH", "/api/editions/1", {"nonsense": True}),
    ("POST", "/api/editions/1/cancel", None),
    ("GET", "/api/editions/1/preview", None),
    ("POST", "/api/lists/morning/runs/{slot}", {"cancel": True}),
    ("POST", "/api/lists/morning/runs/not-a-time", {}),
    ("GET", "/api/lists/morning/runs/{slot}/preview", None),
    ("POST", "/api/campaigns", {"list": "morning", "article_ids": [1]}),
])
def test_without_a_token_every_planning_route_is_401_and_changes_nothing(site, method, path, body):
    path = path.format(slot=planning.slot_key(site.runs[1]))
    answer = site.client.request(method, path, json=body)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "Harbour" not in answer.text
    assert site.call("GET", "/api/editions").json()["items"] == []
