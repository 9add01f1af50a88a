"""`pressbot status` and /healthz: queue depth, due and overdue work, ticks, failures,
database and broker reachability."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import update

from bot.services import dispatch, shares
from bot.services.status import status
from bot.store.db import session_scope
from bot.store.models import PostState, SharePost
from bot.web.app import create_app
from bot.tasks import enqueuer
from tests.integration.test_orchestration import ingest_as_news
from tests.support.orchestration import queued  # noqa: F401  (fixture)
from tests.support.webserver import AppServer


def test_status_shows_depth_overdue_work_ticks_and_failures(queued):
    settings = queued
    for platform in ("mastodon", "telegram", "bluesky"):
        shares.add_account(settings, f"gazette-{platform}", platform)
    ingest_as_news(settings)
    now = datetime.now(timezone.utc)
    report = dispatch.run_tick(settings, enqueuer(settings), now=now)  # no worker: they wait
    assert len(report.enqueued["post"]) == 3
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(SharePost).where(SharePost.id == 1)
                  .values(state=PostState.FAILED, last_error="403 from the instance: forbidden"))
        s.execute(update(SharePost).where(SharePost.id == 2)
                  .values(scheduled_at=now - timedelta(minutes=10)))
    seen = status(settings, now=now + timedelta(seconds=1))
    assert seen["broker"] == {"kind": "redis", "queue": settings.queue, "check": "ok", "depth": 3}
    assert seen["database"] == "ok"
    assert seen["due"]["share_posts"]["due"] == 2 and seen["due"]["share_posts"]["overdue"] == 1
    [tick] = seen["ticks"]
    assert tick["posts"] == 3 and tick["scheduled"] == 3
    [failure] = seen["failures"]
    assert failure["kind"] == "share_post" and "403" in failure["error"]
    assert failure["what"] == "gazette-mastodon"


def test_status_names_an_unreachable_broker(settings):
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    seen = status(broken)
    assert seen["broker"]["check"].startswith("error: ConnectionError")
    assert seen["broker"]["depth"] is None and seen["database"] == "ok"


def test_healthz_reports_the_broker(queued):
    with AppServer(create_app(queued)) as server:
        good = httpx.get(server.base + "/healthz")
    assert good.status_code == 200
    assert good.json() == {"status": "ok", "database": "ok", "broker": "ok", "failing": []}
    broken = queued.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with AppServer(create_app(broken)) as server:
        bad = httpx.get(server.base + "/healthz")
    assert bad.status_code == 503
    assert bad.json()["database"] == "ok" and bad.json()["broker"].startswith("error")
