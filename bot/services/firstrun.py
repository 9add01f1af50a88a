"""The first `pressbot run` on a fresh data folder: something to show.

Only when the database has no sources yet: one demo account per platform (marked demo:
it posts to the outbox only, whatever credentials are configured then or later, so nothing
real is ever posted from the examples), then the repository's examples/ are ingested,
then, with no SMTP server configured (so the digest can only reach the outbox), a "news"
list with one demo reader and its first edition, which the worker delivers. The accounts
come first because an account only shares articles first seen after it was added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings
from bot.resources import examples_dir
from bot.domain.snippets import PLATFORMS
from bot.services import digests, shares, subscribers
from bot.services.ingest import ingest_targets
from bot.services.reports import IngestReport
from bot.store.db import session_scope
from bot.store.mailing import MailingList
from bot.store.models import Article, SocialAccount, Source, utcnow

DEMO_LIST = "news"
DEMO_READER = "reader@example.org"   # example.org: a domain reserved for examples
# The examples are re-dated this far apart, the newest this long ago (see _date_as_news).
EXAMPLE_SPACING = timedelta(minutes=20)


@dataclass
class FirstRun:
    accounts: list[str] = field(default_factory=list)
    ingest: IngestReport | None = None
    edition: int | None = None       # the demo list's first edition, if one was built
    note: str | None = None


def is_fresh(settings: Settings) -> bool:
    with session_scope(settings.effective_database_url) as session:
        return session.scalar(select(Source.id).limit(1)) is None


def first_run(settings: Settings, examples: Path | None = None) -> FirstRun | None:
    """Seed a fresh database; None when it already has sources (nothing is touched).
    `examples`: default, the ones pressbot ships (bot/resources.py finds them)."""
    if not is_fresh(settings):
        return None
    examples = examples or examples_dir()
    result = FirstRun()
    if not examples.is_dir():
        result.note = f"no examples folder at {examples}: nothing to ingest"
        return result
    result.accounts = _outbox_accounts(settings)
    targets = [str(examples)] + [str(p) for p in sorted(examples.glob("*.xml"))]
    started = utcnow()
    result.ingest = ingest_targets(settings, targets)
    _date_as_news(settings, started)
    result.edition = _demo_digest(settings)
    return result


def _date_as_news(settings: Settings, since: datetime) -> None:
    """The examples' files are dated 2024, and nothing that old is shared or mailed (the
    recency window, issue 10). For the demo they are made news: the articles first seen
    since `since` are re-dated into the last few hours, newest first as in their files
    (EXAMPLE_SPACING apart), so the first run shows posts and a digest. The files keep their
    dates: `pressbot ingest examples/` later treats them as the backfill they are."""
    with session_scope(settings.effective_database_url) as session:
        articles = list(session.scalars(select(Article).where(Article.first_seen_at >= since)
                                        .order_by(Article.published_at.desc(), Article.id)))
        newest = utcnow() - EXAMPLE_SPACING
        for rank, article in enumerate(articles):
            when = newest - rank * EXAMPLE_SPACING
            if article.updated_at is not None:
                article.updated_at = when + (article.updated_at - article.published_at)
            article.published_at, article.published_known = when, True


def _demo_digest(settings: Settings) -> int | None:
    if settings.smtp_url:
        return None  # a real server: no demo reader gets mail from us
    with session_scope(settings.effective_database_url) as session:
        if session.scalar(select(MailingList.id).limit(1)) is not None:
            return None
    subscribers.add_list(settings, DEMO_LIST, title=f"{settings.site_name} daily digest",
                         from_email="newsroom@example.org", from_name=settings.site_name,
                         schedule="daily 07:00", timezone=settings.timezone)
    subscribers.add_confirmed(settings, DEMO_READER, DEMO_LIST, name="Demo Reader",
                              method="cli", origin="pressbot run (first run)")
    # Its first edition now, rather than at tomorrow's 07:00; the worker delivers it.
    now = utcnow()
    return digests.build_edition(settings, DEMO_LIST, now=now,
                                 scheduled_for=now.replace(second=0, microsecond=0))


def _outbox_accounts(settings: Settings) -> list[str]:
    with session_scope(settings.effective_database_url) as session:
        if session.scalar(select(SocialAccount.id).limit(1)) is not None:
            return []  # the editors chose their accounts already
    added = []
    for platform in PLATFORMS:
        # Demo accounts post to the outbox only, even once PRESSBOT_<PLATFORM>_* is set:
        # their example posts must never reach a real account (real ones are added with
        # `pressbot accounts add`).
        name = f"outbox-{platform}"
        shares.add_account(settings, name, platform, demo=True)
        added.append(name)
    return added
