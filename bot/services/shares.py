"""Social shares: compose, schedule by each account's rules, and publish exactly once.

A share post row per (article, account) moves scheduled → claimed (with a lease) → sent |
failed; a transient failure goes back to scheduled with the wait the platform asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.posting import parse_clock
from bot.domain.snippets import PLATFORMS, PlatformRules, Snippet, SnippetInput, compose
from bot.domain.snippets.bluesky import post_text as bluesky_post_text
from bot.errors import BadInput, PermanentError, TransientError
from bot.services import outages
from bot.services.post_metrics import metrics_dict, start_schedule
from bot.social.base import AuthError, DuplicateError, PostRequest, Publisher
from bot.social.credentials import encrypt_credentials
from bot.social.factory import REQUIRED, build_publisher
from bot.services.share_scheduling import account_rules, place_post, schedule_new_articles  # noqa: F401
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, SocialAccount, utcnow

# Longer than any one publish call (timeouts are 20-30 s): a live worker never loses its claim.
LEASE = timedelta(minutes=5)
# A transient failure with no wait named waits this × 2^(attempts-1), at most a day.
RETRY_BASE = timedelta(minutes=2)


# -- Accounts -------------------------------------------------------------------------------------


def add_account(settings: Settings, name: str, platform: str, *, credentials: dict[str, str] | None = None,
                hashtags: list[str] | None = None, campaign: str = "social", max_per_hour: int = 4,
                min_gap_minutes: int = 10, quiet: str | None = None, tz: str = "UTC",
                demo: bool = False) -> int:
    """`demo`: the first run's outbox accounts, which never post for real (see
    bot.social.factory.build_publisher); real accounts are added without it."""
    if platform not in PLATFORMS:
        raise BadInput(f"--platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    if demo and credentials:
        raise BadInput("a demo account posts to the outbox only: it takes no credentials")
    quiet_start = quiet_end = None
    if quiet:
        start, sep, end = quiet.partition("-")
        if not sep:
            raise BadInput(f"--quiet: {quiet!r} is not a range like 22:00-07:00")
        quiet_start, quiet_end = parse_clock(start, "--quiet"), parse_clock(end, "--quiet")
    _check_zone(tz)
    unknown = set(credentials or {}) - set(REQUIRED[platform]) - {"api_host", "base_url", "api_base"}
    if unknown:
        raise BadInput(f"--credential: {platform} takes {', '.join(REQUIRED[platform])}; "
                       f"not {', '.join(sorted(unknown))}")
    missing = [k for k in REQUIRED[platform] if credentials and not credentials.get(k)]
    if missing:
        # Half a set would silently post to the outbox instead of the platform.
        raise BadInput(f"--credential: {platform} needs {', '.join(REQUIRED[platform])}; "
                       f"missing {', '.join(missing)}")
    with session_scope(settings.effective_database_url) as session:
        if session.scalar(select(SocialAccount.id).where(SocialAccount.name == name)):
            raise BadInput(f"an account named {name!r} exists already")
        account = SocialAccount(
            name=name, platform=platform, hashtags=hashtags or [], campaign=campaign,
            max_per_hour=max_per_hour, min_gap_minutes=min_gap_minutes,
            quiet_start=quiet_start.strftime("%H:%M") if quiet_start else None,
            quiet_end=quiet_end.strftime("%H:%M") if quiet_end else None, timezone=tz,
            credentials_encrypted=(encrypt_credentials(settings.effective_secret_key(), credentials)
                                   if credentials else None), demo=demo)
        session.add(account)
        session.flush()
        return account.id


def _check_zone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"--timezone: unknown time zone {tz!r}") from None


def list_accounts(settings: Settings) -> list[dict]:
    """Accounts as plain data. Credentials are never shown back: only where they come from."""
    with session_scope(settings.effective_database_url) as session:
        return [
            {"id": a.id, "name": a.name, "platform": a.platform,
             "credentials": _credential_origin(settings, a), "hashtags": a.hashtags,
             "recency_hours": a.recency_hours or settings.share_recency_hours,
             "campaign": a.campaign, "max_per_hour": a.max_per_hour,
             "min_gap_minutes": a.min_gap_minutes, "quiet": _quiet(a), "timezone": a.timezone,
             "needs_attention": a.needs_attention, "active": a.active, "demo": a.demo}
            for a in session.scalars(select(SocialAccount).order_by(SocialAccount.id))
        ]


def _credential_origin(settings: Settings, account: SocialAccount) -> str:
    if account.demo:
        return "none: demo account (outbox only)"
    if account.credentials_encrypted:
        return "stored (encrypted)"
    if all(settings.platform_credentials(account.platform).get(k) for k in REQUIRED[account.platform]):
        return "settings"
    return "none (outbox)"


def _quiet(account: SocialAccount) -> str | None:
    return f"{account.quiet_start}-{account.quiet_end}" if account.quiet_start else None


def _get_account(session: Session, name: str) -> SocialAccount:
    account = session.scalar(select(SocialAccount).where(SocialAccount.name == name))
    if account is None:
        raise BadInput(f"no social account named {name!r} (see `pressbot accounts list`)")
    return account


def check_account(settings: Settings, name: str) -> str:
    """Verify credentials against the platform; clears the account's attention flag on
    success, sets it on an auth failure. Raises the publisher's error."""
    with session_scope(settings.effective_database_url) as session:
        account = _get_account(session, name)
        publisher = build_publisher(settings, account.platform, account.name,
                                    account.credentials_encrypted,
                                    demo=account.demo)
        try:
            who = publisher.check()
        except AuthError as exc:
            account.needs_attention = str(exc)
            outages.mark_failed(session, outages.account_key(account.id), str(exc))
            session.commit()
            raise
        account.needs_attention = None
        outages.mark_recovered(session, outages.account_key(account.id))
        return who


def set_account_active(settings: Settings, name: str, active: bool) -> None:
    """Pause an account (no new posts are scheduled or published on it) or resume it.
    Resuming does not clear a credentials problem: only a successful check does."""
    with session_scope(settings.effective_database_url) as session:
        _get_account(session, name).active = active


# -- Composing ------------------------------------------------------------------------------------


def _snippet_input(settings: Settings, article: Article) -> SnippetInput:
    return SnippetInput(title=article.title, summary=article.summary, url=article.url or "",
                        categories=tuple(article.categories or ()), site_name=settings.site_name,
                        language=article.language, image=article.image)


def _compose(settings: Settings, article: Article, platform: str, account: SocialAccount | None,
             rules: PlatformRules | None = None) -> Snippet:
    if not article.url:
        raise BadInput(f"article {article.id} has no URL to share")
    return compose(platform, _snippet_input(settings, article),
                   campaign=account.campaign if account else "social",
                   default_hashtags=tuple(account.hashtags) if account else (),
                   template=account.template if account else None,
                   rules=rules, templates_dir=settings.template_dirs)


def compose_share(settings: Settings, article_id: int, platform: str,
                  account_name: str | None = None) -> Snippet:
    """`pressbot share compose`: the text as it would go out (no I/O beyond the database)."""
    if platform not in PLATFORMS:
        raise BadInput(f"--platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise BadInput(f"no article with id {article_id}")
        account = _get_account(session, account_name) if account_name else None
        return _compose(settings, article, platform, account)


# -- Scheduling ---------------------------------------------------------------------------------
# New articles get their slots in bot/services/share_scheduling.py (newest first, within the
# recency window, in bounded chunks). "New" means first seen after the account was added,
# so adding an account does not replay the archive; an article already scheduled (even if
# since updated) is never scheduled again.
_schedule = place_post


def schedule_share(settings: Settings, article_id: int, account_name: str | None = None,
                   at: datetime | None = None, now: datetime | None = None) -> list[dict]:
    """An editor's explicit schedule: at a time (exactly), or the next slot the rules allow.
    A post already sent is shared again."""
    now = now or utcnow()
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise BadInput(f"no article with id {article_id}")
        accounts = ([_get_account(session, account_name)] if account_name else
                    list(session.scalars(select(SocialAccount).where(SocialAccount.active.is_(True)))))
        if not accounts:
            raise BadInput("no social accounts yet: add one with `pressbot accounts add`")
        posts = [_schedule(session, article, a, at or now, exact=at is not None) for a in accounts]
        return [_post_dict(p, a) for p, a in zip(posts, accounts)]


def skip_share(settings: Settings, post_id: int) -> dict:
    """An editor decides a post should not go out. A post already sent or being sent
    right now cannot be skipped."""
    with session_scope(settings.effective_database_url) as session:
        skipped = session.execute(
            update(SharePost).where(SharePost.id == post_id,
                                    SharePost.state.in_((PostState.SCHEDULED, PostState.FAILED)))
            .values(state=PostState.SKIPPED, lease_until=None)).rowcount
        post = session.get(SharePost, post_id)
        if post is None:
            raise BadInput(f"no share post with id {post_id}")
        if not skipped:
            raise BadInput(f"share post {post_id} is {post.state}; only scheduled or failed "
                           "posts can be skipped")
        return _post_dict(post, session.get(SocialAccount, post.account_id))


def _post_dict(post: SharePost, account: SocialAccount) -> dict:
    return {"id": post.id, "article_id": post.article_id, "account": account.name,
            "platform": account.platform, "state": post.state,
            "scheduled_at": post.scheduled_at.isoformat(), "attempts": post.attempts,
            "last_error": post.last_error, "remote_id": post.remote_id,
            "remote_url": post.remote_url,
            "sent_at": post.sent_at.isoformat() if post.sent_at else None,
            "text": post.text} | metrics_dict(post)


def list_shares(settings: Settings, *, due: bool = False, failed: bool = False,
                now: datetime | None = None, state: str | None = None, account: str | None = None,
                article_id: int | None = None, limit: int | None = None,
                offset: int = 0) -> list[dict]:
    query = (select(SharePost, SocialAccount, Article.title).join(SocialAccount)
             .join(Article, Article.id == SharePost.article_id)
             .order_by(SharePost.scheduled_at, SharePost.id))
    if due:
        query = query.where(_due_clause(now or utcnow()))
    if failed:
        query = query.where(SharePost.state == PostState.FAILED)
    if state is not None:
        query = query.where(SharePost.state == state)
    if account is not None:
        query = query.where(SocialAccount.name == account)
    if article_id is not None:
        query = query.where(SharePost.article_id == article_id)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with session_scope(settings.effective_database_url) as session:
        # With the article's title: a list of posts is read by what they share.
        return [_post_dict(p, a) | {"title": title} for p, a, title in session.execute(query)]


def get_share(settings: Settings, post_id: int) -> dict | None:
    with session_scope(settings.effective_database_url) as session:
        post = session.get(SharePost, post_id)
        return _post_dict(post, session.get(SocialAccount, post.account_id)) if post else None


# -- Publishing -----------------------------------------------------------------------------------


def _due_clause(now: datetime):
    return or_(and_(SharePost.state == PostState.SCHEDULED, SharePost.scheduled_at <= now),
               and_(SharePost.state == PostState.CLAIMED, SharePost.lease_until < now))


def claim(session: Session, post_id: int, now: datetime) -> bool:
    """Atomically take a due post (or one whose worker's lease ran out). Exactly one of
    several workers racing for the same row gets rowcount 1."""
    result = session.execute(
        update(SharePost).where(SharePost.id == post_id, _due_clause(now))
        .values(state=PostState.CLAIMED, lease_until=now + LEASE, attempts=SharePost.attempts + 1))
    session.commit()
    return result.rowcount == 1


@dataclass
class PublishReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    paused_accounts: list[str] = field(default_factory=list)


PublisherFor = Callable[[SocialAccount], Publisher]


def publish_due(settings: Settings, now: datetime | None = None, *,
                publisher_for: PublisherFor | None = None, limit: int = 100) -> PublishReport:
    """Publish every due post once. One platform's failure never stops another's posts;
    an account whose credentials are refused is paused after one clear error."""
    now = now or utcnow()
    publisher_for = publisher_for or _publisher_cache(settings)
    report = PublishReport()
    with session_scope(settings.effective_database_url) as session:
        due = session.execute(
            select(SharePost.id, SocialAccount.name).join(SocialAccount)
            .where(_due_clause(now), SocialAccount.active.is_(True),
                   SocialAccount.needs_attention.is_(None))
            .order_by(SharePost.scheduled_at).limit(limit)).all()
    for post_id, account_name in due:
        if account_name in report.paused_accounts:
            continue
        publish_one(settings, post_id, now=now, publisher_for=publisher_for, report=report)
    return report


def _publisher_cache(settings: Settings) -> PublisherFor:
    """One publisher per account per run: sessions and instance limits are reused."""
    built: dict[int, Publisher] = {}

    def publisher_for(account: SocialAccount) -> Publisher:
        if account.id not in built:
            built[account.id] = build_publisher(settings, account.platform, account.name,
                                                account.credentials_encrypted,
                                                demo=account.demo)
        return built[account.id]

    return publisher_for


def publish_one(settings: Settings, post_id: int, *, now: datetime | None = None,
                publisher_for: PublisherFor | None = None,
                report: PublishReport | None = None) -> PublishReport:
    """Claim, then act, then record (DESIGN principle 2). Safe to run twice or in two
    workers at once: only the claimant publishes."""
    now = now or utcnow()
    report = report or PublishReport()
    publisher_for = publisher_for or _publisher_cache(settings)
    with session_scope(settings.effective_database_url) as session:
        if not claim(session, post_id, now):
            return report
        post = session.get(SharePost, post_id)
        account = session.get(SocialAccount, post.account_id)
        article = session.get(Article, post.article_id)
        try:
            publisher = publisher_for(account)
            request = _request(settings, post, article, account, publisher)
            published = publisher.publish(request)
        except TransientError as exc:
            wait = max(exc.retry_after or 0, (RETRY_BASE * 2 ** (post.attempts - 1)).total_seconds())
            post.state, post.lease_until = PostState.SCHEDULED, None
            post.scheduled_at = now + timedelta(seconds=min(wait, 86400))
            post.last_error = str(exc)
            report.retrying.append(post.id)
            outages.mark_failed(session, outages.account_key(account.id), str(exc), now)
        except DuplicateError as exc:
            _record_duplicate(post, exc, now, report)
        except AuthError as exc:
            post.state, post.last_error = PostState.FAILED, str(exc)
            account.needs_attention = str(exc)
            report.failed.append(post.id)
            report.paused_accounts.append(account.name)
            outages.mark_failed(session, outages.account_key(account.id), str(exc), now)
        except (PermanentError, BadInput) as exc:
            post.state, post.last_error = PostState.FAILED, str(exc)
            report.failed.append(post.id)
        else:
            post.state, post.sent_at, post.lease_until = PostState.SENT, now, None
            post.remote_id, post.remote_url = published.remote_id, published.remote_url
            start_schedule(post, now)   # its counts are fetched back from 1 h on
            report.sent.append(post.id)
            outages.mark_recovered(session, outages.account_key(account.id))
    return report


def _record_duplicate(post: SharePost, exc: DuplicateError, now: datetime, report: PublishReport) -> None:
    if post.attempts > 1:
        # An earlier attempt of this very post was accepted but its worker died before
        # recording it: the platform is telling us it went out.
        post.state, post.sent_at, post.lease_until = PostState.SENT, now, None
        post.last_error = f"{exc} (an earlier attempt went out; recorded as sent)"
        report.sent.append(post.id)
        return
    post.state, post.last_error = PostState.FAILED, str(exc)
    report.failed.append(post.id)


def _request(settings: Settings, post: SharePost, article: Article, account: SocialAccount,
             publisher: Publisher) -> PostRequest:
    rules = None
    if account.platform == "mastodon" and hasattr(publisher, "limits"):
        max_chars, per_url = publisher.limits()
        rules = PlatformRules.mastodon(max_characters=max_chars, characters_reserved_per_url=per_url)
    snippet = _compose(settings, article, account.platform, account, rules)
    text, facets = post.text or snippet.text, snippet.facets
    if post.text and account.platform == "bluesky":
        # An editor's text gets its facets from itself: its links shown short as Bluesky's
        # client posts them (full addresses in the facets) and #tags, at this text's offsets.
        text, facets = bluesky_post_text(text, snippet.url)
    return PostRequest(key=post.idempotency_key, text=text, url=snippet.url,
                       image_url=article.image, facets=facets,
                       card=snippet.card, parse_mode=snippet.parse_mode,
                       link_preview=snippet.link_preview)
