"""Batch tasks of one edition in one worker process render its variants once, and a
cancelled edition still stops at the next batch however much is cached."""

from __future__ import annotations

from sqlalchemy import func, select, update

from bot.services import dispatch_email, sending
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus
from tests.integration.test_digest_delivery import add_articles, add_subscribers, build_and_create, make_list


def _sent(settings) -> int:
    with session_scope(settings.effective_database_url) as s:
        return s.scalar(select(func.count()).select_from(Delivery)
                        .where(Delivery.state == DeliveryState.SENT))


def test_one_edition_is_rendered_once_across_its_batches(settings, monkeypatch):
    settings = settings.model_copy(update={"batch_size": 2})
    make_list(settings)
    add_subscribers(settings, 5)
    add_articles(settings, 3)
    edition_id = build_and_create(settings)
    renders = []
    real = sending.render_digest
    monkeypatch.setattr(sending, "render_digest", lambda *a, **k: renders.append(1) or real(*a, **k))

    reports = [dispatch_email.deliver_one_batch(settings, edition_id) for _ in range(3)]

    assert [r.sent for r in reports] == [2, 2, 1] and _sent(settings) == 5
    assert len(renders) == 1  # one language, no topics: one variant, rendered by the first batch


def test_a_cancelled_edition_stops_at_the_next_batch_despite_the_cache(settings):
    settings = settings.model_copy(update={"batch_size": 2})
    make_list(settings)
    add_subscribers(settings, 5)
    add_articles(settings, 3)
    edition_id = build_and_create(settings)
    assert dispatch_email.deliver_one_batch(settings, edition_id).sent == 2
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(Edition).where(Edition.id == edition_id).values(status=EditionStatus.CANCELLED))
    assert dispatch_email.deliver_one_batch(settings, edition_id).claimed == 0
    assert _sent(settings) == 2
