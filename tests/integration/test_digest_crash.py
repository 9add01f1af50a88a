"""Kill the sender with SIGKILL in the middle of a 2,000-recipient edition, send again, and
count at the SMTP server: everyone got the digest, at most one got it twice, and a repeat
carries the same Message-ID (DESIGN principle 2: the only duplicate is the message that was
in flight when the process died)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.services import subscribers
from bot.store.db import session_scope
from bot.store.mailing import (Delivery, DeliveryState, Edition, EditionStatus, MailingList,
                               Subscriber, SubscriberStatus, Subscription)
from tests.integration.test_digest_delivery import add_articles
from tests.support.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000
KILL_AT = 500


def add_many_subscribers(settings, n: int) -> list[str]:
    now = datetime.now(timezone.utc)
    addresses = [f"reader{i:05d}@example.net" for i in range(n)]
    with session_scope(settings.effective_database_url) as s:
        list_id = s.scalar(select(MailingList.id).where(MailingList.name == "morning"))
        s.execute(insert(Subscriber), [{"email": a, "status": SubscriberStatus.CONFIRMED,
                                        "created_at": now, "confirmed_at": now} for a in addresses])
        ids = s.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
        s.execute(insert(Subscription), [{"subscriber_id": i, "list_id": list_id, "topics": [],
                                          "active": True, "created_at": now} for i in ids])
    return addresses


def send_process(settings, server: SmtpServer) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(settings.home), DATABASE_URL=settings.effective_database_url,
               PRESSBOT_SMTP_URL=server.url, PRESSBOT_BATCH_SIZE="100", COLUMNS="200")
    # A 2-second lease, so the second run need not wait minutes for the dead one's claim.
    return subprocess.Popen([sys.executable, "-m", "bot", "digest", "send", "--list", "morning",
                             "--lease", "2"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_leases_to_expire(settings, deadline: float) -> None:
    while time.monotonic() < deadline:
        with session_scope(settings.effective_database_url) as s:
            latest = s.scalar(select(func.max(Delivery.lease_until))
                              .where(Delivery.state == DeliveryState.CLAIMED))
        if latest is None or latest < datetime.now(timezone.utc):
            return
        time.sleep(0.2)
    raise AssertionError("the killed sender's lease never ran out")


def test_a_sigkilled_send_resumes_and_everyone_gets_the_digest_once(settings):
    subscribers.add_list(settings, "morning", title="The Morning Gazette",
                         from_email="news@gazette.example.org", from_name="Gazette",
                         schedule="daily 07:00")
    addresses = add_many_subscribers(settings, RECIPIENTS)
    add_articles(settings, 5, seen=datetime.now(timezone.utc) - timedelta(hours=1))
    server = SmtpServer(keep_content=False)
    server.handler.hold_at = KILL_AT   # the 500th message stays unanswered: in flight when killed
    with server:
        first = send_process(settings, server)
        try:
            assert server.handler.held.wait(180), first.communicate(timeout=5)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(30)
        assert first.returncode == -signal.SIGKILL
        server.handler.hold_at = None
        server.handler.release.set()
        received_before = len(server.messages)
        assert KILL_AT <= received_before < RECIPIENTS

        wait_for_leases_to_expire(settings, time.monotonic() + 60)
        second = send_process(settings, server)
        stdout, stderr = second.communicate(timeout=300)
        assert second.returncode == 0, stderr

    counts = server.handler.recipients()
    assert set(counts) == set(addresses)
    twice = [address for address, n in counts.items() if n > 1]
    assert len(twice) <= 1 and max(counts.values()) <= 2
    for address in twice:
        assert len({m.message_id for m in server.handler.by_recipient(address)}) == 1
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == RECIPIENTS
        assert s.scalar(select(func.count()).select_from(Delivery)
                        .where(Delivery.state == DeliveryState.SENT)) == RECIPIENTS
        assert s.scalars(select(Edition.status).where(Edition.status != EditionStatus.SKIPPED)).all() \
            == [EditionStatus.SENT]
