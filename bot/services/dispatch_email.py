"""The email half of a dispatch tick: digests whose list schedule has come, and editions
with deliveries to (re)send. Plain queries over the rows bot.services.digests writes.

A list's due slot is the latest run of its schedule (in the list's time zone, see
bot.domain.schedules) that is not later than now and later than both the list's creation
and its last edition. Only the latest: a digest missed while everything was down goes out
once on recovery, not once per missed run.

Editors plan ahead (bot.services.planning): a run they moved or cancelled has an edition
row with `replaces_slot` = that run, and the schedule does not produce it (nor an older
missed run in its place: the planned row stands in for it). Their SCHEDULED rows — moved
runs and one-off campaigns — are due when their `scheduled_for` comes, and the same build
task fills them in. Only editions whose time has come count as the list's last one, and
campaigns do not, so a row planned for later, or a campaign, does not hide a regular run.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.schedules import next_run, parse_schedule
from bot.errors import BadInput
from bot.services import digests
from bot.services.sending import Variants, due
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList

log = logging.getLogger(__name__)

# A schedule is daily or weekly: its latest run lies within the last eight days.
LOOK_BACK = timedelta(days=8)
# A large edition fans out in at most this many batch messages per tick; a backlog is
# re-found by the next ticks (each batch claims its own rows).
MAX_BATCH_MESSAGES = 50


def latest_slot(schedule_text: str, tz: str, after: datetime, now: datetime) -> datetime | None:
    """The latest run of the schedule in (after, now], or None."""
    schedule = parse_schedule(schedule_text)
    slot, candidate = None, next_run(schedule, max(after, now - LOOK_BACK), tz)
    while candidate <= now:
        slot, candidate = candidate, next_run(schedule, candidate, tz)
    return slot


def due_editions(session: Session, now: datetime) -> list[tuple[int, datetime]]:
    """(list id, slot) for every list whose next digest is due: its schedule's latest run,
    or an editor's planned edition whose time has come, the earlier first — one per list
    and tick, as the dispatcher marks builds per list (the other comes at the next tick)."""
    last = (select(Edition.list_id, func.max(Edition.scheduled_for).label("last"))
            .where(Edition.status != EditionStatus.PREVIEW, Edition.scheduled_for <= now,
                   digests.regular())
            .group_by(Edition.list_id).subquery())
    rows = session.execute(
        select(MailingList.id, MailingList.schedule, MailingList.timezone,
               MailingList.created_at, last.c.last)
        .outerjoin(last, last.c.list_id == MailingList.id)
        .where(MailingList.schedule.is_not(None))).all()
    replaced = set(session.execute(
        select(Edition.list_id, Edition.replaces_slot)
        .where(Edition.replaces_slot.is_not(None), Edition.replaces_slot > now - 2 * LOOK_BACK)).all())
    due: dict[int, datetime] = {}
    for list_id, schedule, tz, created, previous in rows:
        try:
            slot = latest_slot(schedule, tz or "UTC", max(created, previous or created), now)
        except BadInput as exc:  # a schedule edited by hand into nonsense: say so, go on
            log.warning("list %s: %s", list_id, exc)
            continue
        if slot is not None and (list_id, slot) not in replaced:
            due[list_id] = slot
    planned = session.execute(
        select(Edition.list_id, func.min(Edition.scheduled_for))
        .where(Edition.status == EditionStatus.SCHEDULED, Edition.scheduled_for <= now)
        .group_by(Edition.list_id)).all()
    for list_id, when in planned:
        if list_id not in due or when < due[list_id]:
            due[list_id] = when
    return list(due.items())


def due_batches(session: Session, settings: Settings, now: datetime) -> list[tuple[int, datetime, int]]:
    """(edition id, due key, messages) for editions with deliveries to send now.

    The due key is the newest moment a row of the edition became due (pending rows: when
    the edition was made, or when an A/B subject test released them (their
    next_attempt_at); deferred rows: their retry time; claims: their lease's end), so
    the edition is enqueued again when more of it falls due (a 421's retry time comes, a
    dead worker's lease runs out), not on every tick while its batches are in the queue."""
    open_editions = (EditionStatus.PENDING, EditionStatus.SENDING)
    due_at = func.max(case((Delivery.state == DeliveryState.DEFERRED, Delivery.next_attempt_at),
                           (Delivery.state == DeliveryState.CLAIMED, Delivery.lease_until),
                           else_=func.coalesce(Delivery.next_attempt_at, Edition.created_at)))
    rows = session.execute(
        select(Edition.id, Edition.status, Edition.created_at, func.count(Delivery.id), due_at)
        .outerjoin(Delivery, and_(Delivery.edition_id == Edition.id, due(now)))
        .where(Edition.status.in_(open_editions))
        .group_by(Edition.id, Edition.status, Edition.created_at)).all()
    batches = []
    for edition_id, status, created, due_rows, newest in rows:
        if status == EditionStatus.PENDING and not due_rows:
            # Built but its deliveries not created yet (the build task died in between):
            # a batch task creates them first.
            batches.append((edition_id, created, 1))
        elif due_rows:
            batches.append((edition_id, newest, batches_for(settings, due_rows)))
    return batches


def find_email_work(settings: Settings, now: datetime):
    with session_scope(settings.effective_database_url) as session:
        return due_editions(session, now), due_batches(session, settings, now)


def unsettled_deliveries(settings: Settings, edition_ids: list[int],
                         builds: list[tuple[int, datetime]]) -> int:
    """Work of this tick's email tasks not done yet: editions not built, deliveries not
    created, or rows pending or claimed. Deferred rows wait for their time: done for now."""
    with session_scope(settings.effective_database_url) as session:
        for list_id, slot in builds:
            edition = session.scalar(select(Edition).where(Edition.list_id == list_id,
                                                           Edition.scheduled_for == slot))
            if edition is None:
                return 1
            edition_ids = edition_ids + [edition.id]
        if not edition_ids:
            return 0
        waiting = session.scalar(select(func.count(Edition.id)).where(
            Edition.id.in_(edition_ids),
            Edition.status.in_((EditionStatus.PENDING, EditionStatus.SCHEDULED)))) or 0
        return waiting + (session.scalar(select(func.count(Delivery.id)).where(
            Delivery.edition_id.in_(edition_ids),
            Delivery.state.in_((DeliveryState.PENDING, DeliveryState.CLAIMED)))) or 0)


# -- What the email tasks call ----------------------------------------------------------------


def batches_for(settings: Settings, due_rows: int) -> int:
    return min(MAX_BATCH_MESSAGES, math.ceil(due_rows / settings.batch_size))


def build_scheduled(settings: Settings, list_id: int, slot: datetime,
                    now: datetime) -> tuple[int | None, int]:
    """Build the list's edition for `slot` (a second build of the same slot changes
    nothing) and create its deliveries. (edition id or None when skipped, rows due)."""
    with session_scope(settings.effective_database_url) as session:
        mlist = session.get(MailingList, list_id)
        if mlist is None:
            raise BadInput(f"no mailing list with id {list_id}")
        name = mlist.name
    edition_id = digests.build_edition(settings, name, scheduled_for=slot, now=now)
    if edition_id is None:
        return None, 0
    digests.create_deliveries(settings, edition_id, now)  # 0 unless the edition is pending/sending
    return edition_id, digests.due_count(settings, edition_id, now)


# Editions whose rendered variants this worker process keeps between batch tasks: a
# batch task would otherwise render (Jinja, premailer) again what the previous one did,
# 40-70 ms per 500 messages (bench/README.md). Keyed on the edition's creation time too,
# since ids start again in a fresh database (tests) and a rebuilt edition is another one.
_VARIANTS: OrderedDict[tuple, Variants] = OrderedDict()
_VARIANTS_KEPT = 4


def _variants(settings: Settings, edition_id: int, created_at: datetime) -> Variants:
    key = (id(settings), settings.effective_database_url, edition_id, created_at)
    variants = _VARIANTS.get(key)
    if variants is None:
        variants = _VARIANTS[key] = Variants(settings, edition_id)
        while len(_VARIANTS) > _VARIANTS_KEPT:
            _VARIANTS.popitem(last=False)
    _VARIANTS.move_to_end(key)
    return variants


def deliver_one_batch(settings: Settings, edition_id: int) -> digests.BatchReport:
    """One batch over a transport of its own. An edition whose deliveries were not created
    yet (its build task died half-way) gets them first: create_deliveries is idempotent."""
    from bot.mail.transport import build_transport

    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            return digests.BatchReport()
        pending, created_at = edition.status == EditionStatus.PENDING, edition.created_at
    if pending:
        digests.create_deliveries(settings, edition_id)
    transport = build_transport(settings)
    try:
        # Variants.load() still reads the edition's status before every batch: a cached
        # render never sends a cancelled edition.
        return digests.deliver_batch(settings, edition_id, transport=transport,
                                     variants=_variants(settings, edition_id, created_at))
    finally:
        transport.close()
