"""A campaign's A/B subject test (issue 14) end to end, on SQLite and PostgreSQL, with the
clicks counted straight into the database or buffered in Redis: an editor sets two subjects
on the dashboard's campaign form; the dispatcher's own steps build it and a real SMTP
server (aiosmtpd) receives the sample — exactly the configured share, half A and half B,
with those Subject headers — and nobody else; readers click through /r/ in the B messages
(scanners and HEAD requests do not count); the dispatcher tick after the set hours picks
B and its batch jobs deliver the rest with B's subject, once each; the edition page and
the API show the result. Time is driven by passing `now` into the services."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from bot.mail.transport import SmtpTransport
from bot.services import dispatch, dispatch_email, digests, editors, engagement, previews
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus
from tests.conftest import REDIS_URL
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.support.smtpserver import SmtpServer
from tests.support.web import client_for, csrf, login

EDITOR = "editor@example.com"
READERS = 50
SUBJECT_A = "The harbour reopens"
SUBJECT_B = "Ferries are back: what changes for you"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL protect)"
LINK_RE = re.compile(r'href="(http://testserver/r/[^"]+)"')


@pytest.fixture(params=["database", "redis"])
def ab_settings(request, settings):
    """Links point at the TestClient; a send-time window of 0 (only agent and method mark
    a scanner); clicks go straight to the database or through Redis (then the decision
    folds them in itself)."""
    update = {"base_url": "http://testserver", "scanner_window_seconds": 0, "batch_size": 7,
              "queue": f"pressbot-test-{uuid.uuid4().hex[:12]}"}
    if request.param == "redis":
        update["redis_url"] = REDIS_URL
    tuned = settings.model_copy(update=update)
    yield tuned
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.delete(*engagement.redis_keys(tuned))
        client.close()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def parsed(received):
    return email.message_from_bytes(received.content, policy=email.policy.default)


def subjects_by_recipient(smtp) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in smtp.messages:
        found.setdefault(message.to, []).append(str(parsed(message)["Subject"]))
    return found


def path_of(url: str) -> str:
    parts = urlsplit(url.replace("&amp;", "&"))
    return f"{parts.path}?{parts.query}"


def first_link(received) -> str:
    html = parsed(received).get_body(("html",)).get_content()
    return path_of(LINK_RE.findall(html)[0])


def newsroom(settings) -> tuple[int, list[str], list[int]]:
    list_id = make_list(settings, created=now() - timedelta(days=3), schedule=None)
    readers = add_readers(settings, READERS)
    articles = add_articles(settings, ["Harbour reopens", "Ferry timetable"],
                            seen=now() - timedelta(hours=1))
    return list_id, readers, articles


def post_campaign(client, articles: list[int], **fields):
    token = csrf(client, "/admin/campaigns/new")
    return client.post("/admin/campaigns", data={
        "csrf_token": token, "list": "morning", "when": "now", "intro": "",
        "article_ids": [str(a) for a in articles], **fields}, follow_redirects=False)


def enqueued(settings, at: datetime) -> tuple[dispatch.TickReport, list[tuple[str, list]]]:
    """One dispatcher tick; the task messages it would put on the broker."""
    sent: list[tuple[str, list]] = []
    report = dispatch.run_tick(settings, lambda task, args: sent.append((task, args)), now=at)
    assert report.acted
    return report, sent


def run_batches(settings, messages: list[tuple[str, list]], edition_id: int) -> None:
    """What the worker does with the tick's batch messages for the edition."""
    for task, args in messages:
        if task == dispatch.DELIVER_BATCH and args == [edition_id]:
            dispatch_email.deliver_one_batch(settings, edition_id)


def counts(settings, edition_id: int) -> dict[tuple[str, str | None], int]:
    with session_scope(settings.effective_database_url) as s:
        return {(state, letter): n for state, letter, n in s.execute(
            select(Delivery.state, Delivery.subject_variant, func.count())
            .where(Delivery.edition_id == edition_id)
            .group_by(Delivery.state, Delivery.subject_variant))}


def test_the_subject_with_more_reader_clicks_goes_to_the_rest_of_the_list(ab_settings, smtp):
    settings = ab_settings.model_copy(update={"smtp_url": smtp.url})
    list_id, readers, articles = newsroom(settings)
    client = client_for(settings, login_as=EDITOR)

    created = post_campaign(client, articles, subject=SUBJECT_A, subject_b=SUBJECT_B,
                            sample_percent="20", decide_after_hours="4")
    assert created.status_code == 303, created.text
    edition_id = int(created.headers["location"].rsplit("/", 1)[1])
    planned = client.get(f"/admin/editions/{edition_id}").text
    assert 'id="ab-test" data-state="planned"' in planned
    assert SUBJECT_A in planned and "Ferries are back: what changes for you" in planned
    assert "20% of the list get subject A or B" in planned

    # The dispatcher's steps: the campaign is due, built, its sample released and sent.
    start = now() + timedelta(seconds=30)
    with session_scope(settings.effective_database_url) as s:
        [(due_list, slot)] = dispatch_email.due_editions(s, start)
    assert due_list == list_id
    built, due_rows = dispatch_email.build_scheduled(settings, list_id, slot, start)
    assert (built, due_rows) == (edition_id, 10)          # 20 % of 50
    digests.create_deliveries(settings, edition_id, start + timedelta(seconds=5))  # again: no new draw
    report, messages = enqueued(settings, start + timedelta(seconds=10))
    run_batches(settings, messages, edition_id)
    assert smtp.handler.wait_for(10, timeout=10)

    sample = subjects_by_recipient(smtp)
    assert len(sample) == 10 and all(len(s) == 1 for s in sample.values())
    by_subject = sorted(s[0] for s in sample.values())
    assert by_subject == [SUBJECT_B] * 5 + [SUBJECT_A] * 5
    assert counts(settings, edition_id)[(DeliveryState.HELD, None)] == 40
    # Held rows are claimed by no one before the decision: nobody else gets mail.
    early = start + timedelta(hours=3, minutes=59)
    assert digests.claim_batch(settings, edition_id, 100, early, digests.LEASE) == []
    report, messages = enqueued(settings, early)
    assert report.ab_decided == [] and not [m for m in messages if m[1] == [edition_id]]
    run_batches(settings, [(dispatch.DELIVER_BATCH, [edition_id])], edition_id)
    assert len(smtp.messages) == 10

    # `digest render --to` a reader of the sample: their message, subject and all.
    b_reader = next(address for address, s in sample.items() if s == [SUBJECT_B])
    rendered = previews.render_for(settings, b_reader, "morning")
    assert str(email.message_from_bytes(rendered.message, policy=email.policy.default)["Subject"]) == SUBJECT_B

    testing = client.get(f"/admin/editions/{edition_id}").text
    assert 'data-state="testing"' in testing and "Deciding at" in testing
    assert "the rest of the list (40) is held" in testing

    # Readers click in three of the B messages and one A message; a link scanner and a
    # HEAD request hit A's links too, and do not count.
    a_messages = [m for m in smtp.messages if str(parsed(m)["Subject"]) == SUBJECT_A]
    b_messages = [m for m in smtp.messages if str(parsed(m)["Subject"]) == SUBJECT_B]
    for message in b_messages[:3] + a_messages[:1]:
        answer = client.get(first_link(message), headers={"User-Agent": BROWSER},
                            follow_redirects=False)
        assert answer.status_code == 302
    for message in a_messages[1:4]:
        client.get(first_link(message), headers={"User-Agent": SCANNER}, follow_redirects=False)
        client.head(first_link(message), headers={"User-Agent": BROWSER}, follow_redirects=False)
    engagement.drain(settings, client.app.state.engagement)   # the web process's timer

    # Four hours after the sample: the tick picks B and enqueues the rest at once.
    decision = start + timedelta(hours=4, seconds=30)
    report, messages = enqueued(settings, decision)
    assert report.ab_decided == [edition_id]
    run_batches(settings, messages, edition_id)
    assert smtp.handler.wait_for(READERS, timeout=20)

    everyone = subjects_by_recipient(smtp)
    assert sorted(everyone) == sorted(readers)                  # each reader exactly once
    assert all(len(s) == 1 for s in everyone.values()) and len(smtp.messages) == READERS
    rest = [s[0] for address, s in everyone.items() if address not in sample]
    assert rest == [SUBJECT_B] * 40
    with session_scope(settings.effective_database_url) as s:
        edition = s.get(Edition, edition_id)
        assert edition.status == EditionStatus.SENT
        ab = edition.content["ab"]
        assert (ab["winner"], ab["reason"]) == ("b", "clicks")
        assert ab["figures"]["b"]["clicks"] == 3 and ab["figures"]["a"]["clicks"] == 1
    assert counts(settings, edition_id) == {(DeliveryState.SENT, "a"): 5,
                                            (DeliveryState.SENT, "b"): 5,
                                            (DeliveryState.SENT, "w"): 40}

    # Later ticks send nothing twice.
    report, messages = enqueued(settings, decision + timedelta(minutes=30))
    run_batches(settings, messages + [(dispatch.DELIVER_BATCH, [edition_id])], edition_id)
    assert report.ab_decided == [] and len(smtp.messages) == READERS

    page = client.get(f"/admin/editions/{edition_id}").text
    assert 'data-state="decided"' in page and "Subject B won" in page
    assert "more reader clicks per delivered email" in page
    assert 'data-figure="ab-b-clicks">3<' in page and 'data-figure="ab-a-clicks">1<' in page
    assert 'data-figure="ab-b-rate">60.0 %<' in page and 'data-figure="ab-a-sent">5<' in page
    assert "40 sent with the winner&#39;s subject" in page or "40 sent with the winner's subject" in page
    token = editors.create_token(settings, EDITOR, "test")
    api = client.get(f"/api/editions/{edition_id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.text
    test = api.json()["ab_test"]
    assert (test["subject_a"], test["subject_b"], test["winner"], test["state"]) == (
        SUBJECT_A, SUBJECT_B, "b", "decided")
    assert test["sample"] == {"a": 5, "b": 5} and test["figures"]["w"]["sent"] == 40
    assert test["figures"]["b"]["click_rate"] == 0.6


def test_no_reader_click_in_the_sample_keeps_subject_a(settings, smtp):
    settings = settings.model_copy(update={"smtp_url": smtp.url, "base_url": "http://testserver"})
    list_id, readers, articles = newsroom(settings)
    token = editors.create_token(settings, editors_add(settings), "cms")
    client = client_for(settings)
    created = client.post("/api/campaigns", headers={"Authorization": f"Bearer {token}"}, json={
        "list": "morning", "article_ids": articles, "subject": SUBJECT_A, "subject_b": SUBJECT_B,
        "sample_percent": 10, "decide_after_hours": 1})
    assert created.status_code == 201, created.text
    edition_id = created.json()["id"]
    assert created.json()["ab_test"]["state"] == "planned"

    start = now() + timedelta(seconds=30)
    _, messages = enqueued(settings, start)
    [(_, (due_list, slot))] = [m for m in messages if m[0] == dispatch.BUILD_EDITION]
    assert due_list == list_id
    # The build task's work, then the batch the worker would be sent.
    built = dispatch_email.build_scheduled(settings, list_id, datetime.fromisoformat(slot), start)
    assert built == (edition_id, 5)                        # 10 % of 50
    run_batches(settings, [(dispatch.DELIVER_BATCH, [edition_id])], edition_id)
    assert smtp.handler.wait_for(5, timeout=10) and len(smtp.messages) == 5   # 10 % of 50
    # A scanner is no reader: still no click.
    client.get(first_link(smtp.messages[0]), headers={"User-Agent": SCANNER}, follow_redirects=False)
    engagement.drain(settings, client.app.state.engagement)

    report, messages = enqueued(settings, start + timedelta(hours=1, minutes=1))
    assert report.ab_decided == [edition_id]
    run_batches(settings, messages, edition_id)
    assert smtp.handler.wait_for(READERS, timeout=20)
    rest = [str(parsed(m)["Subject"]) for m in smtp.messages[5:]]
    assert rest == [SUBJECT_A] * 45 and len(set(smtp.handler.recipients())) == READERS
    login(client, EDITOR)
    page = client.get(f"/admin/editions/{edition_id}").text
    assert "Subject A won" in page and "The sample got no reader clicks: subject A is kept." in page


def editors_add(settings) -> str:
    from tests.support.web import add_editor

    return add_editor(settings, EDITOR, "editor")


def _slot(settings, edition_id: int) -> datetime:
    with session_scope(settings.effective_database_url) as s:
        return s.get(Edition, edition_id).scheduled_for


@pytest.mark.parametrize("fields, named", [
    ({"subject_b": SUBJECT_B}, "subject b: an A/B test needs subject A as well"),
    ({"subject": SUBJECT_A, "subject_b": SUBJECT_A.upper()}, "subject b: the same as subject A"),
    ({"subject": SUBJECT_A, "subject_b": "Two\nlines"}, "subject b: one line, please"),
    ({"subject": SUBJECT_A, "subject_b": "B" * 201}, "subject b: 201 characters; keep it under 200"),
    ({"subject": SUBJECT_A, "subject_b": SUBJECT_B, "sample_percent": "60"},
     "sample: 60 is outside 2–50 percent"),
    ({"subject": SUBJECT_A, "subject_b": SUBJECT_B, "sample_percent": "lots"},
     "sample: &#39;lots&#39; is not a whole number of percent"),
    ({"subject": SUBJECT_A, "subject_b": SUBJECT_B, "decide_after_hours": "0"},
     "decide after: 0 is outside 1–72 hours"),
])
def test_a_bad_ab_setting_is_named_on_the_form_and_nothing_is_planned(sqlite_settings, fields, named):
    settings = sqlite_settings
    _, _, articles = newsroom(settings)
    client = client_for(settings, login_as=EDITOR)
    answer = post_campaign(client, articles, **fields)
    assert answer.status_code == 422
    assert named in answer.text
    # What was typed is kept in the form.
    assert f'value="{fields["subject_b"][:20]}' in answer.text or "\n" in fields["subject_b"]
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Edition)) == 0


def test_the_api_names_the_bad_ab_field(sqlite_settings):
    settings = sqlite_settings
    _, _, articles = newsroom(settings)
    token = editors.create_token(settings, editors_add(settings), "cms")
    client = client_for(settings)
    headers = {"Authorization": f"Bearer {token}"}
    for body, named in [({"subject_b": SUBJECT_B}, "body field subject_b: an A/B test needs subject A"),
                        ({"subject": SUBJECT_A, "subject_b": SUBJECT_B, "sample_percent": 1},
                         "body field sample_percent: 1 is outside 2–50 percent"),
                        ({"subject": SUBJECT_A, "subject_b": SUBJECT_B, "decide_after_hours": 73},
                         "body field decide_after_hours: 73 is outside 1–72 hours")]:
        answer = client.post("/api/campaigns", headers=headers,
                             json={"list": "morning", "article_ids": articles, **body})
        assert answer.status_code == 422 and named in answer.text, answer.text
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Edition)) == 0


def test_a_campaign_without_subject_b_goes_to_everyone_at_once(sqlite_settings, smtp):
    settings = sqlite_settings.model_copy(update={"smtp_url": smtp.url})
    list_id, readers, articles = newsroom(settings)
    client = client_for(settings, login_as=EDITOR)
    created = post_campaign(client, articles, subject=SUBJECT_A, sample_percent="20",
                            decide_after_hours="4")
    edition_id = int(created.headers["location"].rsplit("/", 1)[1])
    start = now() + timedelta(seconds=30)
    assert dispatch_email.build_scheduled(settings, list_id, _slot(settings, edition_id), start) == (
        edition_id, READERS)
    run_batches(settings, [(dispatch.DELIVER_BATCH, [edition_id])], edition_id)
    assert smtp.handler.wait_for(READERS, timeout=20)
    assert {str(parsed(m)["Subject"]) for m in smtp.messages} == {SUBJECT_A}
    assert counts(settings, edition_id) == {(DeliveryState.SENT, None): READERS}
    assert 'id="ab-test"' not in client.get(f"/admin/editions/{edition_id}").text


def test_a_worker_killed_while_sending_the_rest_loses_no_one_and_sends_no_one_twice(settings, smtp):
    """The rest goes out through the usual claims: a worker that claimed some of it and died
    leaves them claimed; once its lease runs out another batch sends them, once."""
    settings = settings.model_copy(update={"smtp_url": smtp.url, "batch_size": 8})
    list_id, readers, articles = newsroom(settings)
    client = client_for(settings, login_as=EDITOR)
    created = post_campaign(client, articles, subject=SUBJECT_A, subject_b=SUBJECT_B,
                            sample_percent="10", decide_after_hours="2")
    edition_id = int(created.headers["location"].rsplit("/", 1)[1])
    start = now() + timedelta(seconds=30)
    dispatch_email.build_scheduled(settings, list_id, _slot(settings, edition_id), start)
    run_batches(settings, [(dispatch.DELIVER_BATCH, [edition_id])], edition_id)
    assert smtp.handler.wait_for(5, timeout=10)

    decided = start + timedelta(hours=2, minutes=1)
    report, messages = enqueued(settings, decided)
    assert report.ab_decided == [edition_id]
    dead = digests.claim_batch(settings, edition_id, 8, decided, digests.LEASE)   # then it died
    assert len(dead) == 8
    with SmtpTransport(smtp.url, timeout=10) as transport:
        digests.send_edition(settings, edition_id, transport=transport, now=decided)
        assert len(smtp.messages) == READERS - 8          # the dead worker's rows wait
        assert counts(settings, edition_id)[(DeliveryState.CLAIMED, "w")] == 8
        digests.send_edition(settings, edition_id, transport=transport,
                             now=decided + digests.LEASE + timedelta(seconds=1))
    assert smtp.handler.wait_for(READERS, timeout=10)
    assert sorted(smtp.handler.recipients()) == sorted(readers)
    assert set(smtp.handler.recipients().values()) == {1}
    assert {str(parsed(m)["Subject"]) for m in smtp.messages[5:]} == {SUBJECT_A}   # no clicks: A
    assert counts(settings, edition_id) == {(DeliveryState.SENT, "a"): 3, (DeliveryState.SENT, "b"): 2,
                                            (DeliveryState.SENT, "w"): 45}


def test_migration_0017_keeps_the_counts_and_lets_each_subject_count_apart(database_url):
    from alembic import command
    from sqlalchemy import text

    from bot.store import db

    cfg = db.alembic_config(database_url)
    engine = db.get_engine(database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
        conn.execute(text(
            "INSERT INTO mailing_lists (id, name, title, from_name, from_email, language, "
            "template, timezone, max_articles, categories, created_at) VALUES (1, 'm', 'M', "
            "'G', 'g@example.org', 'en', 'digest', 'UTC', 10, '[]', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO editions (id, list_id, status, scheduled_for, window_end, content, "
            "created_at) VALUES (1, 1, 'sent', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}', "
            "CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO engagement_counts (edition_id, kind, url, count) "
                          "VALUES (1, 'click', 'https://x.example/a', 4)"))
        command.upgrade(cfg, "head")
        assert conn.execute(text("SELECT variant, count FROM engagement_counts")).all() == [("", 4)]
        # The same link counts apart per subject letter now.
        conn.execute(text("INSERT INTO engagement_counts (edition_id, kind, url, variant, count) "
                          "VALUES (1, 'click', 'https://x.example/a', 'b', 3)"))
        assert conn.execute(text("SELECT count(*) FROM deliveries "
                                 "WHERE subject_variant IS NOT NULL")).scalar() == 0
        command.downgrade(cfg, "0016")   # the letters fold back into one row per link
        assert conn.execute(text("SELECT url, count FROM engagement_counts")).all() == [
            ("https://x.example/a", 7)]
        command.upgrade(cfg, "head")
