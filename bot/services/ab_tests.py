"""A campaign's A/B subject test (issue 14), on the rows: drawing the sample, picking the
winner on a dispatcher tick, releasing the rest, and the figures the edition page and the
API show. The rules themselves are bot.domain.ab_test.

The test lives in the edition's content["ab"]: {"subject_b", "sample_percent",
"decide_after_hours"} as the editor set them (subject A is content["subject"]); then
"sample_at" and "sample" ({"a": n, "b": n}) when the sample is drawn; then "winner",
"decided_at", "reason" and "figures" (per letter, at the decision) when it is picked.

Sending stays the usual claim → send → record (bot.services.digests): every delivery row
is created `held` — a state no claim takes — and the sample's rows are turned `pending`
with their letter in one transaction; the rest are turned `pending` with the letter "w"
in the same transaction that stores the winner. A worker that dies at any point leaves
rows either held (the tick releases them) or pending/claimed (the lease machinery), so
nobody gets the campaign twice and nobody is left out.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import ab_test
from bot.domain.engagement import EngagementKind, rate
from bot.store.db import session_scope
from bot.store.engagement import EngagementCount
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus

log = logging.getLogger(__name__)

# Rows updated per statement when the sample is drawn (bound parameters stay few).
CHUNK = 1000


def draw_sample(conn: Connection, edition_id: int, now: datetime) -> None:
    """Turn the sample's held rows pending with their letter, once: a second call (a
    create_deliveries run again after a crash) finds the sample drawn and changes nothing.
    One transaction, committed here: the sample is drawn whole or not at all."""
    drawn = conn.scalar(select(Delivery.id).where(
        Delivery.edition_id == edition_id, Delivery.subject_variant.in_((ab_test.A, ab_test.B)))
        .limit(1))
    content = conn.scalar(select(Edition.content).where(Edition.id == edition_id)) or {}
    ab = content.get("ab")
    if drawn is not None or not ab or ab.get("sample_at"):
        return
    held = conn.execute(select(Delivery.subscriber_id).where(
        Delivery.edition_id == edition_id, Delivery.state == DeliveryState.HELD,
        Delivery.subscriber_id.is_not(None))).scalars().all()
    letters = ab_test.assign(edition_id, list(held), int(ab["sample_percent"]))
    for letter in (ab_test.A, ab_test.B):
        ids = [sid for sid, got in letters.items() if got == letter]
        for start in range(0, len(ids), CHUNK):
            conn.execute(update(Delivery).where(
                Delivery.edition_id == edition_id, Delivery.state == DeliveryState.HELD,
                Delivery.subscriber_id.in_(ids[start:start + CHUNK]))
                .values(state=DeliveryState.PENDING, subject_variant=letter))
    sample = {letter: sum(1 for got in letters.values() if got == letter)
              for letter in (ab_test.A, ab_test.B)}
    conn.execute(update(Edition).where(Edition.id == edition_id).values(content={
        **content, "ab": {**ab, "sample_at": now.isoformat(), "sample": sample}}))
    conn.commit()


def decide_due(settings: Settings, now: datetime) -> list[int]:
    """The dispatcher tick's part: for each edition still sending with rows held, pick its
    winner once `decide_after_hours` have passed since the sample went out, and release the
    held rows with the winner's letter (also rows held after a winner was picked: a
    subscriber added when create_deliveries ran again). Returns the editions released."""
    with session_scope(settings.effective_database_url) as session:
        waiting = session.execute(select(Edition.id, Edition.content).where(
            Edition.status == EditionStatus.SENDING,
            select(Delivery.id).where(Delivery.edition_id == Edition.id,
                                      Delivery.state == DeliveryState.HELD).exists())).all()
    ready = [eid for eid, content in waiting
             if (content or {}).get("ab") and _ready(content["ab"], now)]
    if not ready:
        return []
    if not _counts_folded(settings):
        return []   # the clicks are not all in: decide next tick, on the whole count
    return [eid for eid in ready if _decide(settings, eid, now)]


def _ready(ab: dict, now: datetime) -> bool:
    if ab.get("winner"):
        return True
    at = ab_test.decide_at(ab)
    return at is not None and at <= now


def _counts_folded(settings: Settings) -> bool:
    """Clicks buffered in Redis into the tables before they decide anything."""
    from bot.services import engagement

    try:
        engagement.fold(settings)
    except Exception:  # noqa: BLE001 - Redis away: the decision waits for the counts
        log.exception("A/B subject test: clicks could not be folded; deciding next tick")
        return False
    return True


def _decide(settings: Settings, edition_id: int, now: datetime) -> bool:
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id, with_for_update=True)
        if edition is None or edition.status != EditionStatus.SENDING:
            return False
        content = dict(edition.content or {})
        ab = dict(content.get("ab") or {})
        if not ab.get("winner"):
            figures = variant_figures(session, edition_id)
            winner, reason = ab_test.pick_winner(
                {k: f["clicks"] for k, f in figures.items()},
                {k: f["delivered"] for k, f in figures.items()})
            ab.update(winner=winner, reason=reason, decided_at=now.isoformat(),
                      figures={k: figures[k] for k in (ab_test.A, ab_test.B)})
            edition.content = {**content, "ab": ab}
            log.info("edition %s: subject %s wins the A/B test (%s)", edition_id,
                     winner.upper(), reason)
        # Due now: a fresh time, so the dispatcher enqueues them at once (dispatch_email).
        session.execute(update(Delivery).where(
            Delivery.edition_id == edition_id, Delivery.state == DeliveryState.HELD)
            .values(state=DeliveryState.PENDING, subject_variant=ab_test.WINNER,
                    next_attempt_at=now))
    return True


def variant_figures(session: Session, edition_id: int) -> dict[str, dict]:
    """Per letter ("a", "b", "w"): messages sent, delivered (sent less bounced), reader
    clicks (scanners and HEAD requests are counted apart: bot.domain.engagement) and
    clicks per delivered message."""
    sent = dict(session.execute(
        select(Delivery.subject_variant, func.count())
        .where(Delivery.edition_id == edition_id, Delivery.state == DeliveryState.SENT,
               Delivery.subject_variant.is_not(None))
        .group_by(Delivery.subject_variant)).all())
    bounced = dict(session.execute(
        select(Delivery.subject_variant, func.count())
        .where(Delivery.edition_id == edition_id, Delivery.state == DeliveryState.SENT,
               Delivery.bounced_at.is_not(None), Delivery.subject_variant.is_not(None))
        .group_by(Delivery.subject_variant)).all())
    clicks = dict(session.execute(
        select(EngagementCount.variant, func.sum(EngagementCount.count))
        .where(EngagementCount.edition_id == edition_id,
               EngagementCount.kind == EngagementKind.CLICK)
        .group_by(EngagementCount.variant)).all())
    figures = {}
    for letter in ab_test.LETTERS:
        delivered = max(int(sent.get(letter, 0)) - int(bounced.get(letter, 0)), 0)
        clicked = int(clicks.get(letter) or 0)
        figures[letter] = {"sent": int(sent.get(letter, 0)), "delivered": delivered,
                           "clicks": clicked, "click_rate": rate(clicked, delivered)}
    return figures


def summary(settings: Settings, edition_id: int) -> dict | None:
    """The test as the edition page and the API show it; None when the edition has none.
    {"subject_a", "subject_b", "sample_percent", "decide_after_hours", "state": "planned" |
    "testing" | "decided", "sample_at", "decide_at", "sample": {"a", "b"}, "held",
    "winner", "reason", "decided_at", "figures": {"a", "b", "w"} (now)}."""
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        content = (edition.content if edition else None) or {}
        ab = content.get("ab")
        if not ab:
            return None
        figures = variant_figures(session, edition_id)
        held = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.edition_id == edition_id, Delivery.state == DeliveryState.HELD)) or 0
    decide_at = ab_test.decide_at(ab)
    state = "decided" if ab.get("winner") else "testing" if ab.get("sample_at") else "planned"
    return {"subject_a": content.get("subject") or "", "subject_b": ab["subject_b"],
            "sample_percent": ab["sample_percent"],
            "decide_after_hours": ab["decide_after_hours"], "state": state,
            "sample_at": _when(ab.get("sample_at")), "decide_at": decide_at,
            "sample": ab.get("sample") or {"a": 0, "b": 0}, "held": held,
            "winner": ab.get("winner"), "reason": ab.get("reason"),
            "decided_at": _when(ab.get("decided_at")), "figures": figures}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
