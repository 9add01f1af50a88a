"""The first run's demo accounts: marked demo, outbox only, and they stay so when platform
credentials are configured later (their queued example posts must never go out for real);
real accounts are added explicitly and do use those credentials."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.services import shares
from bot.services.firstrun import first_run
from bot.store.models import utcnow

X_CREDENTIALS = {"x_consumer_key": "ck", "x_consumer_secret": "cs", "x_access_token": "at",
                 "x_access_token_secret": "ats"}


def test_demo_accounts_stay_outbox_only_once_credentials_are_set(settings, http_server):
    seeded = first_run(settings)
    assert sorted(seeded.accounts) == ["outbox-bluesky", "outbox-mastodon", "outbox-telegram",
                                       "outbox-x"]
    listed = {a["name"]: a for a in shares.list_accounts(settings)}
    assert all(a["demo"] for a in listed.values())
    shares.schedule_new_articles(settings)   # what the dispatcher's first tick does
    queued = [p for p in shares.list_shares(settings) if p["account"] == "outbox-x"]
    assert queued   # the examples' posts (as many as are recent), waiting for their slots

    # Later the newsroom configures X: the demo account must not start posting there.
    real = settings.model_copy(update={**X_CREDENTIALS, "x_api_host": http_server.base})
    assert {a["name"]: a["credentials"] for a in shares.list_accounts(real)}["outbox-x"] \
        == "none: demo account (outbox only)"
    report = shares.publish_due(real, now=utcnow() + timedelta(days=2))
    assert report.failed == [] and len(report.sent) >= len(queued)
    assert http_server.requests == []   # nothing reached the (local stand-in for the) X API
    outbox = real.home / "outbox" / "social" / "x.jsonl"
    posted = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert len(posted) == len(queued)

    # A real account is added explicitly; it takes the configured credentials.
    shares.add_account(real, "gazette-x", "x")
    assert {a["name"]: a["credentials"] for a in shares.list_accounts(real)}["gazette-x"] == "settings"


def test_a_demo_account_takes_no_credentials(settings):
    import pytest

    from bot.errors import BadInput

    with pytest.raises(BadInput, match="outbox only"):
        shares.add_account(settings, "demo-x", "x", demo=True,
                           credentials={k[2:]: v for k, v in X_CREDENTIALS.items()})
