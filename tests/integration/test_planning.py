"""Editors planning digests ahead (bot.services.planning) through the real dispatcher path
(due_editions → build_scheduled → send_edition) and a real SMTP server, on SQLite and
PostgreSQL: a moved run goes out once at its new time, a cancelled one never, the next
regular run still happens, and a campaign carries its chosen articles under its intro."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.domain.articles import ArticleDraft
from bot.errors import BadInput
from bot.mail.transport import SmtpTransport
from bot.services import digests, dispatch_email, edition_preview, planning, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList
from bot.store.models import Article, Source, SourceKind
from tests.support.smtpserver import SmtpServer

UTC = timezone.utc
DOMAIN = "gazette.example.org"
# Paris is UTC+1 in December: "daily 07:00" runs at 06:00 UTC.
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
RUN = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# -- Helpers (also used by the web and browser tests) ----------------------------------------------


def make_list(settings, name: str = "morning", *, created: datetime = NOW - timedelta(hours=12),
              schedule: str | None = "daily 07:00") -> int:
    list_id = subscribers.add_list(settings, name, title="The Morning Gazette",
                                   from_email=f"news@{DOMAIN}", from_name="Gazette",
                                   schedule=schedule, timezone="Europe/Paris")
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(MailingList).where(MailingList.id == list_id).values(created_at=created))
    return list_id


def add_readers(settings, n: int, list_name: str = "morning") -> list[str]:
    addresses = [f"reader{i}@example.net" for i in range(n)]
    for address in addresses:
        subscribers.add_confirmed(settings, address, list_name, name=None)
    return addresses


def add_articles(settings, titles: list[str], *, seen: datetime) -> list[int]:
    with session_scope(settings.effective_database_url) as s:
        source = s.query(Source).filter_by(url="test:feed").one_or_none()
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        drafts = [ArticleDraft(title=title, url=f"https://{DOMAIN}/{abs(hash(title))}",
                               guid=f"g-{title}", summary="The ferry runs again.",
                               categories=("City",), published=seen, language="en")
                  for title in titles]
        store_drafts(s, source, drafts, now=seen)
        return [s.scalar(select(Article.id).where(Article.guid == f"g-{t}")) for t in titles]


def tick(settings, now: datetime, smtp: SmtpServer) -> list[tuple[int, datetime]]:
    """One dispatch tick's email half, done in-process: build what is due, send it all."""
    with session_scope(settings.effective_database_url) as s:
        due = dispatch_email.due_editions(s, now)
    for list_id, slot in due:
        edition_id, _ = dispatch_email.build_scheduled(settings, list_id, slot, now)
        if edition_id is not None:
            with SmtpTransport(smtp.url, timeout=10) as transport:
                digests.send_edition(settings, edition_id, transport=transport, now=now)
    return due


def bodies(received) -> tuple[str, str, str]:
    parsed = email.message_from_bytes(received.content, policy=email.policy.default)
    return (str(parsed["Subject"]), parsed.get_body(("html",)).get_content(),
            parsed.get_body(("plain",)).get_content())


def editions(settings) -> list[Edition]:
    with session_scope(settings.effective_database_url) as s:
        return list(s.scalars(select(Edition).order_by(Edition.scheduled_for)))


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


# -- Moving a run ---------------------------------------------------------------------------------


def test_a_moved_run_goes_out_once_at_its_new_time_and_not_at_the_old(settings, smtp):
    list_id = make_list(settings)
    readers = add_readers(settings, 2)
    add_articles(settings, ["Harbour reopens", "Tram line 3"], seen=NOW - timedelta(hours=2))
    moved_to = RUN + timedelta(hours=1)

    edition_id = planning.plan_slot(settings, list_id, RUN, send_at=moved_to, editor="ed@example.com",
                                    now=NOW)

    assert tick(settings, RUN + timedelta(seconds=30), smtp) == []          # the old time: nothing
    assert smtp.messages == []
    assert tick(settings, moved_to - timedelta(seconds=1), smtp) == []
    assert tick(settings, moved_to + timedelta(seconds=30), smtp) == [(list_id, moved_to)]
    assert sorted(smtp.handler.recipients()) == readers
    subject, html, _ = bodies(smtp.messages[0])
    assert "Harbour reopens" in html and "Tram line 3" in html
    assert tick(settings, moved_to + timedelta(minutes=5), smtp) == []     # once
    [row] = editions(settings)
    assert (row.id, row.status, row.replaces_slot, row.created_by) == (
        edition_id, EditionStatus.SENT, RUN, "ed@example.com")
    assert row.window_end == moved_to + timedelta(seconds=30)

    # The next regular run still happens, with what is new since.
    add_articles(settings, ["Bridge closes"], seen=RUN + DAY - timedelta(hours=2))
    assert tick(settings, RUN + DAY + timedelta(seconds=30), smtp) == [(list_id, RUN + DAY)]
    assert len(smtp.messages) == 4 and set(smtp.handler.recipients().values()) == {2}
    _, html, _ = bodies(smtp.messages[-1])
    assert "Bridge closes" in html and "Harbour reopens" not in html


def test_a_run_moved_earlier_is_not_sent_again_at_its_slot(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    planning.plan_slot(settings, list_id, RUN, send_at=RUN - timedelta(minutes=30), now=NOW)

    assert tick(settings, RUN - timedelta(minutes=29), smtp) == [(list_id, RUN - timedelta(minutes=30))]
    assert tick(settings, RUN + timedelta(minutes=1), smtp) == []
    assert len(smtp.messages) == 1


def test_a_second_build_of_a_planned_slot_changes_nothing(settings):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    moved_to = RUN + timedelta(hours=1)
    edition_id = planning.plan_slot(settings, list_id, RUN, send_at=moved_to, now=NOW)

    first = dispatch_email.build_scheduled(settings, list_id, moved_to, moved_to)
    add_articles(settings, ["Late story"], seen=moved_to + timedelta(seconds=1))
    again = dispatch_email.build_scheduled(settings, list_id, moved_to, moved_to + timedelta(minutes=2))

    assert first[0] == again[0] == edition_id
    [row] = editions(settings)
    assert [a["title"] for a in row.content["articles"]] == ["Harbour reopens"]
    # The old slot, built late by a task enqueued before the move, builds nothing.
    assert dispatch_email.build_scheduled(settings, list_id, RUN, moved_to) == (None, 0)
    assert len(editions(settings)) == 1


def test_a_run_planned_for_later_does_not_hide_the_runs_before_it(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    # Tomorrow's run moved to the afternoon: a row with a time after today's run.
    planning.plan_slot(settings, list_id, RUN + DAY, send_at=RUN + DAY + timedelta(hours=8), now=NOW)

    assert tick(settings, RUN + timedelta(seconds=30), smtp) == [(list_id, RUN)]
    assert len(smtp.messages) == 1
    assert tick(settings, RUN + DAY + timedelta(seconds=30), smtp) == []
    assert tick(settings, RUN + DAY + timedelta(hours=8, seconds=1), smtp) == [
        (list_id, RUN + DAY + timedelta(hours=8))]


def test_a_planned_row_and_a_run_due_together_go_one_per_tick_the_earlier_first(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    campaign = planning.create_campaign(settings, "morning", article_ids=[1], intro="",
                                        send_at=RUN - timedelta(minutes=10), now=NOW)
    later = RUN + timedelta(minutes=1)   # the dispatcher was down over both

    with session_scope(settings.effective_database_url) as s:
        assert dispatch_email.due_editions(s, later) == [(list_id, RUN - timedelta(minutes=10))]
    tick(settings, later, smtp)
    with session_scope(settings.effective_database_url) as s:
        assert s.get(Edition, campaign).status == EditionStatus.SENT
        assert dispatch_email.due_editions(s, later) == [(list_id, RUN)]


# -- Cancelling -------------------------------------------------------------------------------------


def test_a_cancelled_run_is_never_sent_and_its_articles_go_with_the_next(settings, smtp):
    list_id = make_list(settings, created=NOW - 3 * DAY)
    add_readers(settings, 2)
    add_articles(settings, ["Yesterday's story"], seen=RUN - DAY - timedelta(hours=2))
    assert tick(settings, RUN - DAY, smtp) == [(list_id, RUN - DAY)]           # sent yesterday
    smtp.handler.messages.clear()
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))

    edition_id = planning.plan_slot(settings, list_id, RUN, cancel=True, editor="ed@example.com", now=NOW)

    for moment in (RUN, RUN + timedelta(seconds=30), RUN + timedelta(hours=6)):
        assert tick(settings, moment, smtp) == []
    assert smtp.messages == []
    add_articles(settings, ["Bridge closes"], seen=RUN + DAY - timedelta(hours=1))
    assert tick(settings, RUN + DAY + timedelta(seconds=5), smtp) == [(list_id, RUN + DAY)]
    _, html, _ = bodies(smtp.messages[0])
    assert "Harbour reopens" in html and "Bridge closes" in html
    assert "Yesterday's story" not in html
    statuses = {e.id: e.status for e in editions(settings)}
    assert statuses[edition_id] == EditionStatus.CANCELLED
    assert len(smtp.messages) == 2


def test_a_moved_run_can_be_moved_again_or_cancelled_but_not_once_sent(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    edition_id = planning.plan_slot(settings, list_id, RUN, send_at=RUN + timedelta(hours=1), now=NOW)

    planning.reschedule(settings, edition_id, RUN + timedelta(hours=2), now=NOW)
    assert tick(settings, RUN + timedelta(hours=1, seconds=30), smtp) == []
    assert tick(settings, RUN + timedelta(hours=2, seconds=30), smtp) != []
    with pytest.raises(BadInput, match="only a scheduled edition can be moved"):
        planning.reschedule(settings, edition_id, RUN + timedelta(hours=5), now=RUN + timedelta(hours=3))
    with pytest.raises(BadInput, match="nothing left to cancel"):
        planning.cancel(settings, edition_id, now=RUN + timedelta(hours=3))

    other = planning.plan_slot(settings, list_id, RUN + DAY, send_at=RUN + DAY + timedelta(hours=1), now=NOW)
    result = planning.cancel(settings, other, editor="ed@example.com", now=NOW)
    assert result == {"id": other, "stopped": 0, "sent": 0}
    assert tick(settings, RUN + DAY + timedelta(hours=2), smtp) == []
    assert len(smtp.messages) == 1


def test_cancelling_a_sending_edition_stops_the_deliveries_not_sent_yet(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 5)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    edition_id, _ = dispatch_email.build_scheduled(settings, list_id, RUN, RUN)
    with SmtpTransport(smtp.url, timeout=10) as transport:
        digests.deliver_batch(settings, edition_id, transport=transport, limit=2, now=RUN)

    result = planning.cancel(settings, edition_id, editor="ed@example.com", now=RUN)

    assert result == {"id": edition_id, "stopped": 3, "sent": 2}
    with SmtpTransport(smtp.url, timeout=10) as transport:
        assert digests.send_edition(settings, edition_id, transport=transport,
                                    now=RUN + timedelta(minutes=1)).claimed == 0
    with session_scope(settings.effective_database_url) as s:
        assert dispatch_email.due_batches(s, settings, RUN + timedelta(minutes=1)) == []
        stopped = s.scalars(select(Delivery.last_error).where(
            Delivery.edition_id == edition_id, Delivery.state == DeliveryState.SUPPRESSED)).all()
    assert stopped == ["edition cancelled by ed@example.com"] * 3
    assert len(smtp.messages) == 2


# -- Campaigns -------------------------------------------------------------------------------------


def test_a_campaign_sends_the_chosen_articles_under_its_intro_and_the_digest_still_runs(settings, smtp):
    list_id = make_list(settings)
    readers = add_readers(settings, 2)
    ids = add_articles(settings, ["Harbour reopens", "Tram line 3", "Bridge closes", "Ferry strike"],
                       seen=NOW - timedelta(hours=2))
    intro = "A special <b>edition</b> on transport & the harbour."
    at = NOW + timedelta(hours=1)

    edition_id = planning.create_campaign(settings, "morning", article_ids=[ids[3], ids[1]],
                                          intro=intro, send_at=at, editor="ed@example.com", now=NOW)

    assert tick(settings, at - timedelta(seconds=1), smtp) == []
    assert tick(settings, at + timedelta(seconds=30), smtp) == [(list_id, at)]
    assert sorted(smtp.handler.recipients()) == readers
    _, html, text = bodies(smtp.messages[0])
    assert "A special &lt;b&gt;edition&lt;/b&gt; on transport &amp; the harbour." in html
    assert intro in text
    assert text.index("A special") < text.index("Ferry strike") < text.index("Tram line 3")
    assert "Harbour reopens" not in html and "Bridge closes" not in html
    row = next(e for e in editions(settings) if e.id == edition_id)
    assert row.status == EditionStatus.SENT and row.content["campaign"] is True
    assert row.created_by == "ed@example.com"

    # The regular digest still goes out at its time, with every new article: the campaign
    # neither replaces the run nor moves its window.
    assert tick(settings, RUN + timedelta(seconds=30), smtp) == [(list_id, RUN)]
    _, html, _ = bodies(smtp.messages[-1])
    assert all(title in html for title in ("Harbour reopens", "Tram line 3", "Bridge closes"))
    assert len(smtp.messages) == 4


def test_a_campaign_sent_now_goes_at_the_next_tick(settings, smtp):
    list_id = make_list(settings, schedule=None)
    add_readers(settings, 1)
    [article] = add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))

    edition_id = planning.create_campaign(settings, "morning", article_ids=[article], now=NOW)

    assert tick(settings, NOW + timedelta(seconds=20), smtp) == [(list_id, NOW)]
    assert len(smtp.messages) == 1
    assert next(e for e in editions(settings) if e.id == edition_id).status == EditionStatus.SENT


@pytest.mark.parametrize("kwargs, message", [
    ({"article_ids": []}, "pick at least one article"),
    ({"article_ids": [999]}, "no article with id 999"),
    ({"article_ids": [1], "send_at": NOW - timedelta(minutes=1)}, "that time has passed"),
    ({"article_ids": [1], "send_at": RUN}, "regular digest goes out at that time"),
    ({"article_ids": [1], "intro": "x" * 2001}, "keep it under 2000"),
])
def test_a_campaign_that_cannot_go_out_as_asked_is_refused(settings, kwargs, message):
    make_list(settings)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    with pytest.raises(BadInput, match=message):
        planning.create_campaign(settings, "morning", now=NOW, **kwargs)
    with pytest.raises(BadInput, match="no mailing list named 'evening'"):
        planning.create_campaign(settings, "evening", article_ids=[1], now=NOW)
    assert editions(settings) == []


# -- Validation ----------------------------------------------------------------------------------


def test_only_a_real_future_run_can_be_planned_and_only_once(settings):
    list_id = make_list(settings)
    with pytest.raises(BadInput, match="is not a run of morning's schedule"):
        planning.plan_slot(settings, list_id, RUN + timedelta(minutes=1), cancel=True, now=NOW)
    with pytest.raises(BadInput, match="has already come"):
        planning.plan_slot(settings, list_id, RUN, cancel=True, now=RUN + timedelta(seconds=1))
    with pytest.raises(BadInput, match="that time has passed"):
        planning.plan_slot(settings, list_id, RUN, send_at=NOW - timedelta(hours=1), now=NOW)
    with pytest.raises(BadInput, match="regular digest goes out at that time"):
        planning.plan_slot(settings, list_id, RUN, send_at=RUN + DAY, now=NOW)
    with pytest.raises(BadInput, match="say when"):
        planning.plan_slot(settings, list_id, RUN, now=NOW)
    first = planning.plan_slot(settings, list_id, RUN, send_at=RUN + timedelta(hours=1), now=NOW)
    with pytest.raises(BadInput, match=f"already planned \\(edition {first}\\)"):
        planning.plan_slot(settings, list_id, RUN, cancel=True, now=NOW)
    cancelled = planning.plan_slot(settings, list_id, RUN + DAY, cancel=True, now=NOW)
    with pytest.raises(BadInput, match="only a scheduled edition can be moved"):
        planning.reschedule(settings, cancelled, RUN + DAY + timedelta(hours=1), now=NOW)
    third = planning.plan_slot(settings, list_id, RUN + 2 * DAY, send_at=RUN + 2 * DAY + timedelta(hours=1),
                               now=NOW)
    with pytest.raises(BadInput, match=f"edition {first} of morning is already at that time"):
        planning.reschedule(settings, third, RUN + timedelta(hours=1), now=NOW)
    # Back to its own run's time is allowed: it stands for that run.
    planning.reschedule(settings, third, RUN + 2 * DAY, now=NOW)


# -- Upcoming, preview, test send -------------------------------------------------------------------


def test_upcoming_lists_future_runs_and_rows_and_hides_a_replaced_run(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 3)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    tick(settings, RUN + timedelta(seconds=30), smtp)                        # today's: sent
    moved = planning.plan_slot(settings, list_id, RUN + DAY, send_at=RUN + DAY + timedelta(hours=2),
                               now=NOW)
    cancelled = planning.plan_slot(settings, list_id, RUN + 2 * DAY, cancel=True, now=NOW)

    items = planning.upcoming(settings, NOW - DAY, NOW + 4 * DAY, now=RUN + timedelta(hours=1))

    view = [(i["when"], i["status"], i["edition_id"]) for i in items]
    sent_id = items[0]["edition_id"]
    assert view == [(RUN, "sent", sent_id), (RUN + DAY + timedelta(hours=2), "scheduled", moved),
                    (RUN + 2 * DAY, "cancelled", cancelled), (RUN + 3 * DAY, "scheduled", None)]
    assert items[0]["counts"] == {"sent": 3} and items[0]["subject"]
    assert items[1]["moved"] and items[1]["slot"] == RUN + DAY
    assert items[3]["counts"] == {"subscribers": 3} and items[3]["slot"] == RUN + 3 * DAY


def test_preview_shows_what_would_go_out_now_and_what_was_frozen(settings, smtp):
    list_id = make_list(settings)
    add_readers(settings, 1)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))

    subject, html, text = edition_preview.preview(settings, list_id, RUN, now=NOW)
    assert "Harbour reopens" in html and "Harbour reopens" in text
    assert "%%PB:" not in html + text and "#unsubscribe" in html
    tick(settings, RUN + timedelta(seconds=1), smtp)
    [row] = editions(settings)
    add_articles(settings, ["Later story"], seen=RUN + timedelta(hours=1))
    frozen = edition_preview.preview(settings, None, row.id, now=RUN + timedelta(hours=2))
    assert frozen[0] == row.subject and "Later story" not in frozen[1]
    # Tomorrow's run would carry what arrived since.
    assert "Later story" in edition_preview.preview(settings, list_id, RUN + DAY, now=RUN + timedelta(hours=2))[1]
    with pytest.raises(BadInput, match="no new articles since the list's last edition"):
        edition_preview.preview(settings, list_id, RUN + DAY, now=RUN + timedelta(minutes=30))


def test_a_test_send_reaches_the_editor_with_test_in_the_subject(settings, smtp):
    list_id = make_list(settings)
    add_articles(settings, ["Harbour reopens"], seen=NOW - timedelta(hours=2))
    settings.smtp_url = smtp.url

    reply = edition_preview.send_test(settings, list_id, RUN, "ed@example.com", now=NOW)

    assert reply.startswith("250")
    [received] = smtp.messages
    assert received.rcpt_tos == ("ed@example.com",)
    subject, html, _ = bodies(received)
    assert subject.startswith("[TEST] ") and "Harbour reopens" in html
    assert editions(settings) == []   # nothing written
