"""Planning digests ahead, for the dashboard: what goes out when, moving or cancelling a run
of a list's schedule, one-off campaigns, and the exact email a subscriber will get.

A list's schedule produces runs that have no database row until the dispatcher builds
them at their time ("virtual" runs). An editor who moves or cancels one turns it into a row
first: a SCHEDULED edition at the new time, or a CANCELLED one, with `replaces_slot` naming
the run, so the schedule does not produce it as well (bot.services.dispatch_email). A
campaign is a SCHEDULED edition with the articles and intro the editor chose; the dispatcher
freezes its content when its time comes (bot.services.digests.build_edition).

What can change, and until when:
- reschedule: only a SCHEDULED row (its content is not frozen yet). Once built, an edition
  is going out within the minute and its deliveries exist: there is nothing left to move.
- cancel: a SCHEDULED row; or a PENDING / SENDING edition, which stops it: deliveries not
  sent yet are recorded `suppressed` ("cancelled by …") and no further batch starts (a batch
  already running finishes the few rows it holds). What went out stays sent.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Union

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import ab_test
from bot.domain.schedules import local_instant, next_run, parse_schedule, zone
from bot.errors import BadInput
from bot.services.digests import delivery_counts
from bot.store.db import session_scope
from bot.store.mailing import (Delivery, DeliveryState, Edition, EditionStatus, MailingList,
                               Subscriber, SubscriberStatus, Subscription)
from bot.store.models import Article, SharePost, SocialAccount, utcnow

# A slot: the list-schedule run an unbuilt ("virtual") edition stands for; an int: an edition row.
Ref = Union[int, datetime]

MAX_INTRO = 2000
MAX_CAMPAIGN_ARTICLES = 50
# Statuses an editor may still reschedule / cancel.
MOVABLE = (EditionStatus.SCHEDULED,)
CANCELLABLE = (EditionStatus.SCHEDULED, EditionStatus.PENDING, EditionStatus.SENDING)


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise BadInput(f"{what}: a time needs its time zone")
    return value.astimezone(timezone.utc)


# -- Times as editors type them --------------------------------------------------------------


def parse_local(text: str, tz: str, what: str = "send at") -> datetime:
    """A datetime-local form value ("2026-11-29T08:00") read in the site's time zone, as a
    UTC instant. A time inside a spring-forward gap is the moment the clocks jump."""
    text = (text or "").strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{what}: {text!r} is not a date and time like 2026-11-29T08:00") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(timezone.utc)
    return local_instant(parsed.date(), parsed.time().replace(second=0, microsecond=0), zone(tz))


def slot_key(slot: datetime) -> str:
    """A run's time in URLs: 2026-11-29T07:00Z."""
    return slot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def parse_slot(text: str) -> datetime:
    try:
        slot = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{text!r} is not a run time like 2026-11-29T07:00Z") from None
    return _aware(slot, "run")


# -- Runs of a schedule ---------------------------------------------------------------------------


def _schedule(mlist: MailingList):
    if not mlist.schedule:
        return None
    try:
        return parse_schedule(mlist.schedule)
    except BadInput:
        return None


def runs(mlist: MailingList, start: datetime, end: datetime) -> list[datetime]:
    """The list's schedule runs in [start, end), UTC."""
    schedule = _schedule(mlist)
    if schedule is None:
        return []
    found, when = [], next_run(schedule, start - timedelta(microseconds=1), mlist.timezone or "UTC")
    while when < end:
        found.append(when)
        when = next_run(schedule, when, mlist.timezone or "UTC")
    return found


def is_run(mlist: MailingList, when: datetime) -> bool:
    return runs(mlist, when, when + timedelta(seconds=1)) == [when]


# -- The timeline -------------------------------------------------------------------------------


def _subscriber_counts(session: Session, list_id: int | None = None) -> dict[int, int]:
    """Confirmed, active subscribers per list id (of every list, or of `list_id` only)."""
    query = (select(Subscription.list_id, func.count())
             .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
             .where(Subscription.active.is_(True), Subscriber.status == SubscriberStatus.CONFIRMED)
             .group_by(Subscription.list_id))
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    return dict(session.execute(query).all())


def _list_view(mlist: MailingList) -> dict:
    return {"list_id": mlist.id, "list": mlist.name, "list_title": mlist.title}


def _edition_item(edition: Edition, mlist: MailingList, counts: dict[str, int]) -> dict:
    content = edition.content or {}
    return {**_list_view(mlist), "kind": "edition", "edition_id": edition.id,
            "key": f"edition-{edition.id}", "when": edition.scheduled_for,
            "status": edition.status, "counts": counts, "subject": edition.subject,
            "slot": edition.replaces_slot, "campaign": bool(content.get("campaign")),
            "moved": edition.replaces_slot is not None and edition.replaces_slot != edition.scheduled_for,
            "created_by": edition.created_by, "error": edition.error}


def _virtual_item(mlist: MailingList, run: datetime, subscribers: int) -> dict:
    return {**_list_view(mlist), "kind": "edition", "edition_id": None,
            "key": f"run-{mlist.id}-{slot_key(run)}", "when": run, "status": EditionStatus.SCHEDULED,
            "counts": {"subscribers": subscribers}, "subject": None, "slot": run,
            "campaign": False, "moved": False, "created_by": None, "error": None}


def upcoming(settings: Settings, start: datetime, end: datetime, *,
             now: datetime | None = None) -> list[dict]:
    """Digest editions in [start, end), by time: edition rows (every status but previews)
    and the runs the lists' schedules will still produce after `now` (virtual: no row yet,
    status "scheduled", counted in subscribers). A run an editor moved or cancelled shows as
    its row only. Each item has `edition_id` (None for a virtual run) and `slot`."""
    start, end, now = _aware(start, "start"), _aware(end, "end"), _now(now)
    with session_scope(settings.effective_database_url) as session:
        lists = {m.id: m for m in session.scalars(select(MailingList))}
        rows = session.scalars(select(Edition).where(
            Edition.scheduled_for >= start, Edition.scheduled_for < end,
            Edition.status != EditionStatus.PREVIEW)).all()
        counts = delivery_counts(session, [e.id for e in rows])
        items = [_edition_item(e, lists[e.list_id], counts[e.id]) for e in rows]
        # Rows outside the range can still stand for a run inside it (moved far away).
        taken = set(session.execute(select(Edition.list_id, Edition.scheduled_for).where(
            Edition.scheduled_for >= start, Edition.scheduled_for < end)).all())
        taken |= set(session.execute(select(Edition.list_id, Edition.replaces_slot).where(
            Edition.replaces_slot >= start, Edition.replaces_slot < end)).all())
        subscribers = _subscriber_counts(session)
        for mlist in lists.values():
            for run in runs(mlist, max(start, now), end):
                if run > now and (mlist.id, run) not in taken:
                    items.append(_virtual_item(mlist, run, subscribers.get(mlist.id, 0)))
    return sorted(items, key=lambda item: (item["when"], item["list"]))


def timeline(settings: Settings, start: datetime, end: datetime, *,
             now: datetime | None = None) -> list[dict]:
    """Digest editions (see `upcoming`) and share posts in [start, end), by time."""
    items = upcoming(settings, start, end, now=now)
    with session_scope(settings.effective_database_url) as session:
        posts = session.execute(
            select(SharePost, SocialAccount.name, SocialAccount.platform, Article.title)
            .join(SocialAccount, SocialAccount.id == SharePost.account_id)
            .join(Article, Article.id == SharePost.article_id)
            .where(SharePost.scheduled_at >= start, SharePost.scheduled_at < end)).all()
        for post, account, platform, title in posts:
            items.append({"kind": "post", "post_id": post.id, "key": f"post-{post.id}",
                          "article_id": post.article_id, "title": title, "account": account,
                          "platform": platform, "when": post.scheduled_at, "sent_at": post.sent_at,
                          "status": post.state, "error": post.last_error,
                          "remote_url": post.remote_url})
    return sorted(items, key=lambda item: item["when"])


def calendar_choices(settings: Settings) -> dict:
    """What the calendar's filters offer: list names and account names, sorted."""
    with session_scope(settings.effective_database_url) as session:
        return {"lists": list(session.scalars(select(MailingList.name).order_by(MailingList.name))),
                "accounts": list(session.scalars(select(SocialAccount.name).order_by(SocialAccount.name)))}


def by_local_day(items: list[dict], tz: str) -> list[tuple[date, list[dict]]]:
    """Items grouped by their day in the site's time zone, days in order."""
    place = zone(tz)
    days: dict[date, list[dict]] = {}
    for item in items:
        days.setdefault(item["when"].astimezone(place).date(), []).append(item)
    return sorted(days.items())


def day_range(first: date, days: int, tz: str) -> tuple[datetime, datetime]:
    """[midnight of `first`, midnight `days` later) in the site's zone, as UTC instants."""
    place = zone(tz)
    return (local_instant(first, time(0, 0), place),
            local_instant(first + timedelta(days=days), time(0, 0), place))


# -- Moving and cancelling ----------------------------------------------------------------------


def _get_list(session: Session, list_id: int) -> MailingList:
    mlist = session.get(MailingList, list_id)
    if mlist is None:
        raise BadInput(f"no mailing list with id {list_id}")
    return mlist


def _get_edition(session: Session, edition_id: int) -> Edition:
    edition = session.get(Edition, edition_id)
    if edition is None or edition.status == EditionStatus.PREVIEW:
        raise BadInput(f"no edition with id {edition_id}")
    return edition


def slot_edition(settings: Settings, list_id: int, slot: datetime) -> int | None:
    """The row standing for this run of the list (built at it, or moved / cancelled), if any."""
    slot = _aware(slot, "run")
    with session_scope(settings.effective_database_url) as session:
        return _slot_row(session, list_id, slot)


def _slot_row(session: Session, list_id: int, slot: datetime) -> int | None:
    return session.scalar(select(Edition.id).where(
        Edition.list_id == list_id, Edition.status != EditionStatus.PREVIEW,
        (Edition.scheduled_for == slot) | (Edition.replaces_slot == slot))
        .order_by(Edition.id).limit(1))


def _check_future_run(session: Session, mlist: MailingList, slot: datetime, now: datetime) -> None:
    if not is_run(mlist, slot):
        raise BadInput(f"{slot_key(slot)} is not a run of {mlist.name}'s schedule "
                       f"({mlist.schedule or 'none'})")
    if slot <= now:
        raise BadInput(f"the {slot_key(slot)} run of {mlist.name} has already come: "
                       "only a run still ahead can be moved or cancelled")
    existing = _slot_row(session, mlist.id, slot)
    if existing is not None:
        raise BadInput(f"the {slot_key(slot)} run of {mlist.name} is already planned "
                       f"(edition {existing}): change it there")


def _check_send_at(session: Session, mlist: MailingList, send_at: datetime, now: datetime, *,
                   own_slot: datetime | None = None, edition_id: int | None = None) -> datetime:
    """A free time ahead for one of the list's editions. Not a time another edition of the
    list has, nor a run of its schedule (two editions cannot share a list's slot), except
    the run the edition itself stands for."""
    send_at = _aware(send_at, "send at")
    if send_at <= now:
        raise BadInput("send at: that time has passed; pick a time ahead "
                       "(or choose \u201csend now\u201d for a campaign)")
    clash = session.scalar(select(Edition.id).where(
        Edition.list_id == mlist.id, Edition.scheduled_for == send_at,
        Edition.status != EditionStatus.PREVIEW, Edition.id != (edition_id or 0)))
    if clash is not None:
        raise BadInput(f"send at: edition {clash} of {mlist.name} is already at that time; "
                       "pick another minute")
    if send_at != own_slot and is_run(mlist, send_at):
        raise BadInput(f"send at: {mlist.name}'s regular digest goes out at that time; "
                       "pick another minute")
    return send_at


def plan_slot(settings: Settings, list_id: int, slot: datetime, *, send_at: datetime | None = None,
              cancel: bool = False, editor: str | None = None, now: datetime | None = None) -> int:
    """Turn a run of the list's schedule into a row: moved to `send_at` (a SCHEDULED
    edition) or cancelled. Returns the edition's id."""
    now, slot = _now(now), _aware(slot, "run")
    if not cancel and send_at is None:
        raise BadInput("send at: say when the run should go out instead (or cancel it)")
    with session_scope(settings.effective_database_url) as session:
        mlist = _get_list(session, list_id)
        _check_future_run(session, mlist, slot, now)
        if cancel:
            edition = Edition(list_id=list_id, status=EditionStatus.CANCELLED, scheduled_for=slot,
                              window_end=slot, content={}, replaces_slot=slot, created_by=editor)
        else:
            when = _check_send_at(session, mlist, send_at, now, own_slot=slot)
            edition = Edition(list_id=list_id, status=EditionStatus.SCHEDULED, scheduled_for=when,
                              window_end=when, content={}, replaces_slot=slot, created_by=editor)
        session.add(edition)
        session.flush()
        return edition.id


def reschedule(settings: Settings, edition_id: int, send_at: datetime, *,
               now: datetime | None = None) -> dict:
    """Move a SCHEDULED edition (a moved run or a campaign) to `send_at`."""
    now = _now(now)
    with session_scope(settings.effective_database_url) as session:
        edition = _get_edition(session, edition_id)
        if edition.status not in MOVABLE:
            raise BadInput(f"edition {edition_id} is {edition.status}: only a scheduled edition "
                           "can be moved (once built it goes out within the minute)")
        mlist = _get_list(session, edition.list_id)
        when = _check_send_at(session, mlist, send_at, now, own_slot=edition.replaces_slot,
                              edition_id=edition.id)
        moved = session.execute(update(Edition).where(
            Edition.id == edition_id, Edition.status == EditionStatus.SCHEDULED)
            .values(scheduled_for=when, window_end=when)).rowcount
        if not moved:  # the dispatcher built it meanwhile
            raise BadInput(f"edition {edition_id} has just started going out: too late to move it")
        return {"id": edition_id, "scheduled_for": when}


def cancel(settings: Settings, edition_id: int, *, editor: str | None = None,
           now: datetime | None = None) -> dict:
    """Cancel an edition that has not finished going out. A SENDING one stops: its
    deliveries not sent yet are recorded suppressed, and no later batch starts (Variants
    checks the status before each). {"id", "stopped": rows not sent, "sent": rows already sent}."""
    now = _now(now)
    with session_scope(settings.effective_database_url) as session:
        edition = _get_edition(session, edition_id)
        if edition.status not in CANCELLABLE:
            raise BadInput(f"edition {edition_id} is {edition.status}: there is nothing left "
                           "to cancel")
        done = session.execute(update(Edition).where(
            Edition.id == edition_id, Edition.status.in_(CANCELLABLE))
            .values(status=EditionStatus.CANCELLED,
                    error=f"cancelled by {editor or 'an editor'} at {now.isoformat(timespec='minutes')}")
        ).rowcount
        if not done:
            raise BadInput(f"edition {edition_id} has just finished: nothing left to cancel")
        # Rows claimed by a batch still running are left to it: it records what it sends.
        stopped = session.execute(update(Delivery).where(
            Delivery.edition_id == edition_id,
            Delivery.state.in_((DeliveryState.PENDING, DeliveryState.DEFERRED, DeliveryState.HELD)))
            .values(state=DeliveryState.SUPPRESSED, next_attempt_at=None,
                    last_error=f"edition cancelled by {editor or 'an editor'}")).rowcount
        sent = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.edition_id == edition_id, Delivery.state == DeliveryState.SENT)) or 0
        return {"id": edition_id, "stopped": stopped, "sent": sent}


# -- Campaigns ----------------------------------------------------------------------------------


def create_campaign(settings: Settings, list_name: str, *, article_ids: list[int], intro: str = "",
                    send_at: datetime | None = None, editor: str | None = None,
                    now: datetime | None = None, subject: str | None = None,
                    subject_b: str | None = None, sample_percent: int | str | None = None,
                    decide_after_hours: int | str | None = None) -> int:
    """A one-off edition of the list with the chosen articles (in that order) and an
    optional intro paragraph above them, going out at `send_at` (None: now, at the next
    dispatch tick). Returns the SCHEDULED edition's id.

    `subject` replaces the template's; with `subject_b` too the campaign is an A/B subject
    test (bot.domain.ab_test): `sample_percent` of the list get A or B, the rest the
    subject with more clicks `decide_after_hours` later."""
    from bot.services.run_edits import MAX_SUBJECT   # run_edits imports this module

    now = _now(now)
    subject, ab = ab_test.check_plan(subject, subject_b, sample_percent, decide_after_hours,
                                     max_subject=MAX_SUBJECT)
    ids = list(dict.fromkeys(int(i) for i in article_ids))
    intro = (intro or "").strip()
    if not ids:
        raise BadInput("articles: pick at least one article")
    if len(ids) > MAX_CAMPAIGN_ARTICLES:
        raise BadInput(f"articles: at most {MAX_CAMPAIGN_ARTICLES} in one campaign")
    if len(intro) > MAX_INTRO:
        raise BadInput(f"intro: {len(intro)} characters; keep it under {MAX_INTRO}")
    with session_scope(settings.effective_database_url) as session:
        mlist = session.scalar(select(MailingList).where(MailingList.name == (list_name or "")))
        if mlist is None:
            raise BadInput(f"list: no mailing list named {list_name!r}")
        known = set(session.scalars(select(Article.id).where(Article.id.in_(ids))))
        missing = [i for i in ids if i not in known]
        if missing:
            raise BadInput(f"articles: no article with id {', '.join(map(str, missing))}")
        when = now if send_at is None else _check_send_at(session, mlist, send_at, now)
        edition = Edition(list_id=mlist.id, status=EditionStatus.SCHEDULED, scheduled_for=when,
                          window_end=when, created_by=editor,
                          content={"campaign": True, "article_ids": ids, "intro": intro,
                                   **({"subject": subject} if subject else {}),
                                   **({"ab": ab} if ab else {})})
        session.add(edition)
        session.flush()
        return edition.id
