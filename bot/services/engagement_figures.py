"""The engagement figures editors read (issue 14): per edition, and per article across every
edition it went out in and every social account it was posted to. Read-only queries over
the aggregates (bot.store.engagement), the deliveries and the share posts."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.engagement import EngagementKind as K
from bot.domain.engagement import rate
from bot.errors import BadInput
from bot.store.db import session_scope
from bot.store.engagement import EngagementCount
from bot.store.mailing import Consent, Delivery, DeliveryState, Edition, MailingList
from bot.store.models import Article, SocialAccount, SharePost

TOP_ARTICLES = 5
# What the platforms give back (bot.services.post_metrics); a column not there yet is skipped.
POST_COUNTS = ("likes", "reposts", "replies", "views")


class NotFound(BadInput):
    """No such edition or article."""


def edition_figures(settings: Settings, edition_id: int) -> dict:
    """sent, delivered, bounced, unsubscribed, clicks (readers'), click rate (clicks per
    delivered message), scanner hits, opens and proxy opens (labelled unreliable), the top
    articles by clicks and each tracked link."""
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise NotFound(f"no edition with id {edition_id}")
        sent = session.scalar(select(func.count()).where(
            Delivery.edition_id == edition_id, Delivery.state == DeliveryState.SENT)) or 0
        bounced = session.scalar(select(func.count()).where(
            Delivery.edition_id == edition_id, Delivery.bounced_at.is_not(None))) or 0
        unsubscribed = _unsubscribed(session, edition)
        totals = dict(session.execute(
            select(EngagementCount.kind, func.sum(EngagementCount.count))
            .where(EngagementCount.edition_id == edition_id)
            .group_by(EngagementCount.kind)).all())
        # A link has a row per A/B subject letter in a campaign with a subject test.
        clicked = func.sum(EngagementCount.count)
        links = session.execute(
            select(EngagementCount.url, EngagementCount.article_id, Article.title, clicked)
            .outerjoin(Article, Article.id == EngagementCount.article_id)
            .where(EngagementCount.edition_id == edition_id, EngagementCount.kind == K.CLICK)
            .group_by(EngagementCount.url, EngagementCount.article_id, Article.title)
            .order_by(clicked.desc(), EngagementCount.url)).all()
    delivered = max(sent - bounced, 0)
    clicks = int(totals.get(K.CLICK) or 0)
    by_article: dict[int, dict] = {}
    for url, article_id, title, count in links:
        if article_id is not None:
            entry = by_article.setdefault(article_id, {"article_id": article_id, "title": title,
                                                       "clicks": 0})
            entry["clicks"] += count
    top = sorted(by_article.values(), key=lambda a: (-a["clicks"], a["article_id"]))[:TOP_ARTICLES]
    return {
        "edition_id": edition_id, "sent": sent, "delivered": delivered, "bounced": bounced,
        "unsubscribed": unsubscribed, "clicks": clicks, "click_rate": rate(clicks, delivered),
        "scanner_clicks": int(totals.get(K.SCANNER) or 0),
        "opens": int(totals.get(K.OPEN) or 0), "proxy_opens": int(totals.get(K.PROXY_OPEN) or 0),
        "opens_reliable": False,
        "top_articles": top,
        "links": [{"url": url, "article_id": article_id, "clicks": count}
                  for url, article_id, _title, count in links],
    }


def _unsubscribed(session, edition: Edition) -> int:
    """Recipients of this edition who left its list after it reached them and before the
    list's next edition: the unsubscribe link names the list, not the edition."""
    following = session.scalar(select(func.min(Edition.scheduled_for)).where(
        Edition.list_id == edition.list_id, Edition.scheduled_for > edition.scheduled_for,
        Edition.status.in_(("sending", "sent"))))
    query = (select(func.count(func.distinct(Consent.subscriber_id)))
             .join(Delivery, Delivery.subscriber_id == Consent.subscriber_id)
             .where(Delivery.edition_id == edition.id, Delivery.state == DeliveryState.SENT,
                    Consent.list_id == edition.list_id, Consent.action == "unsubscribe",
                    Consent.at >= Delivery.sent_at))
    if following is not None:
        query = query.where(Consent.at < following)
    return session.scalar(query) or 0


def article_reach(settings: Settings, article_id: int) -> dict:
    """One article's whole reach: its clicks in each edition it was in, and each account's
    post with the counts the platform gave back."""
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise NotFound(f"no article with id {article_id}")
        editions = session.execute(
            select(Edition.id, Edition.scheduled_for, Edition.sent_at, MailingList.name,
                   EngagementCount.kind, func.sum(EngagementCount.count))
            .join(EngagementCount, EngagementCount.edition_id == Edition.id)
            .join(MailingList, MailingList.id == Edition.list_id)
            .where(EngagementCount.article_id == article_id)
            .group_by(Edition.id, Edition.scheduled_for, Edition.sent_at, MailingList.name,
                      EngagementCount.kind)
            .order_by(Edition.scheduled_for, Edition.id)).all()
        posts = session.execute(
            select(SharePost, SocialAccount.name, SocialAccount.platform)
            .join(SocialAccount, SocialAccount.id == SharePost.account_id)
            .where(SharePost.article_id == article_id)
            .order_by(SocialAccount.name)).all()
        rows: dict[int, dict] = {}
        for eid, scheduled_for, sent_at, list_name, kind, count in editions:
            row = rows.setdefault(eid, {"edition_id": eid, "list": list_name,
                                        "date": (sent_at or scheduled_for).isoformat(),
                                        "clicks": 0, "scanner_clicks": 0})
            if kind == K.CLICK:
                row["clicks"] += int(count)
            elif kind == K.SCANNER:
                row["scanner_clicks"] += int(count)
        accounts = [{"account": name, "platform": platform, "state": post.state,
                     "url": post.remote_url,
                     "sent_at": post.sent_at.isoformat() if post.sent_at else None,
                     **{c: getattr(post, c, None) for c in POST_COUNTS}}
                    for post, name, platform in posts]
        return {"article_id": article.id, "title": article.title, "url": article.url,
                "clicks": sum(r["clicks"] for r in rows.values()),
                "editions": list(rows.values()), "posts": accounts}


def set_click_history(settings: Settings, list_name: str, on: bool) -> bool:
    """Turn a list's per-subscriber click history on or off (off: the aggregates only).
    Turning it off also erases the history already kept for the list's editions: consent
    to keep it is what was withdrawn."""
    from sqlalchemy import delete

    from bot.store.engagement import SubscriberClick

    with session_scope(settings.effective_database_url) as session:
        mlist = session.scalar(select(MailingList).where(MailingList.name == list_name))
        if mlist is None:
            raise NotFound(f"no list named {list_name!r}")
        mlist.track_subscriber_clicks = on
        if not on:
            session.execute(delete(SubscriberClick).where(SubscriberClick.edition_id.in_(
                select(Edition.id).where(Edition.list_id == mlist.id))))
        return on
