"""Giving share posts their slots: new articles on every active account, newest first,
within the recency window, in bounded committed chunks.

- **Recency window.** Only articles published within an account's window (its
  `recency_hours`, else `PRESSBOT_SHARE_RECENCY_HOURS`) are shared; an article whose date is
  unknown counts from when it was first seen. Older (backfilled) ones stay in the archive.
- **Newest first.** A pass takes the account's new articles newest first and gives each the
  earliest slot the rules allow. A post of an *older* article that was slotted automatically
  and has not gone out (nor been tried) gives its slot up and is placed again after the
  newer ones: a breaking story does not wait behind the backlog. Posts whose time an editor
  chose (`pinned`), sent, claimed or retrying posts are never moved; they only take room.
  Slots follow the articles' order, so a pass starts after the last slot of a newer article:
  placing a backlog of any size walks each post once (domain.posting.Timeline).
- **Reach.** An article whose slot would come after it has left the window is not shared
  either: no post (an editor can still share it by hand); a queued post pushed that far by
  newer ones is skipped, with the reason. The reach is known before reading: an article
  older than every queued one cannot go before the queue's end, so if its window closes
  before the first free slot after that end, it is not read at all. So a pass reads only
  articles that can still be shared, plus the queue: with a 48 h window, a few hundred rows
  per account whatever arrived (20,000 files at once are not read again tick after tick).
- **Budget.** One chunk is at most `share_chunk` articles of one account, in a transaction
  of its own; a tick runs at most `share_chunks_per_tick` chunks (every account with work
  gets one first), so a bulk arrival spreads over ticks and every tick finishes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.posting import PostingRules, Timeline, parse_clock
from bot.errors import BadInput
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, SocialAccount, utcnow

# Posts this long before a pass's first slot still count against it (rolling hour, gap);
# a day also covers a post sent well after its slot.
LOOK_BACK = timedelta(days=1)
# The reason a skipped post carries when its slot would come after the window.
OUT_OF_REACH = "not shared: the account's next free slot comes after the article leaves its {hours} h recency window"


@dataclass
class PassReport:
    scheduled: int = 0   # new posts given a slot
    moved: int = 0       # posts of older articles moved later for newer ones
    skipped: int = 0     # articles (or moved posts) whose slot would come after their window
    chunks: int = 0
    more: bool = False   # the budget ran out with work left: the next tick goes on


@dataclass(frozen=True)
class _Item:
    """One article to place: a new one, or the post of an older one to move."""
    article_id: int
    when: datetime          # its date for recency and order (first seen if unknown)
    post_id: int | None = None


def account_rules(account: SocialAccount) -> PostingRules:
    return PostingRules(max_per_hour=account.max_per_hour,
                        min_gap=timedelta(minutes=account.min_gap_minutes),
                        quiet_start=parse_clock(account.quiet_start, "quiet_start"),
                        quiet_end=parse_clock(account.quiet_end, "quiet_end"), tz=account.timezone)


def recency(settings: Settings, account: SocialAccount) -> timedelta:
    return timedelta(hours=account.recency_hours or settings.share_recency_hours)


def _recent(cutoff: datetime):
    """SQL: published (or, date unknown, first seen) at or after `cutoff`."""
    return or_(and_(Article.published_known.is_(True), Article.published_at >= cutoff),
               and_(Article.published_known.is_(False), Article.first_seen_at >= cutoff))


def _date(published: datetime, known: bool, first_seen: datetime) -> datetime:
    return published if known else first_seen


# -- Passes ------------------------------------------------------------------------------------


def schedule_new_articles(settings: Settings, now: datetime | None = None) -> int:
    """Every new article on every active account, chunk after chunk until none is left
    (the CLI's `share publish-due`, tests). Returns how many posts were scheduled."""
    now = now or utcnow()
    total = 0
    while True:
        report = schedule_pass(settings, now)
        total += report.scheduled
        if not report.more:
            return total


def schedule_pass(settings: Settings, now: datetime, *, chunk: int | None = None,
                  max_chunks: int | None = None) -> PassReport:
    """One tick's share of the work: at most `max_chunks` chunks of `chunk` articles, each
    committed on its own; accounts take turns so a busy one does not starve the others."""
    chunk = chunk or settings.share_chunk
    max_chunks = max_chunks or settings.share_chunks_per_tick
    report = PassReport()
    with session_scope(settings.effective_database_url) as session:
        turns = deque(session.scalars(select(SocialAccount.id).where(SocialAccount.active.is_(True))
                                      .order_by(SocialAccount.id)))
    first_round = set(turns)
    resume: dict[int, _Key | None] = {}   # where each account's next chunk reads on
    while turns:
        account_id = turns[0]
        if report.chunks >= max_chunks and account_id not in first_round:
            report.more = True
            break
        turns.popleft()
        first_round.discard(account_id)
        with session_scope(settings.effective_database_url) as session:
            worked, resume[account_id] = _chunk(settings, session, account_id, now, chunk,
                                                resume.get(account_id), report)
        report.chunks += worked
        if resume[account_id] is not None:
            turns.append(account_id)
    return report


def _chunk(settings: Settings, session: Session, account_id: int, now: datetime, size: int,
           after: _Key | None, report: PassReport) -> tuple[int, _Key | None]:
    """Place up to `size` new articles on one account. Returns (1 if it did any work,
    where the next chunk reads on; None when this one found the last of them)."""
    account = session.get(SocialAccount, account_id)
    window = recency(settings, account)
    fresh, resume = _fresh(session, account, _reach(session, account, now, window), size, after)
    if not fresh:
        return 0, None
    newest = max(item.when for item in fresh)
    movable = _movable(session, account, now, newest)
    start = _start(session, account, now, newest, {m.post_id for m in movable})
    queue = sorted(fresh + movable, key=lambda i: (i.when, i.article_id), reverse=True)
    timeline = Timeline(account_rules(account),
                        _taken(session, account, start - LOOK_BACK, {m.post_id for m in movable}))
    placed, out_of_reach = _place(timeline, queue, start, window)
    _record(session, account, placed, out_of_reach, window, report)
    # Past the reach, every older article is too: the account is done for this pass.
    return 1, None if out_of_reach else resume


def _place(timeline: Timeline, queue: list[_Item], start: datetime,
           window: timedelta) -> tuple[list[tuple[_Item, datetime]], list[_Item]]:
    """Slots in queue order (newest first), each at or after the previous one. Once one
    item's slot would come after its window, so would every older one's: they all go."""
    placed: list[tuple[_Item, datetime]] = []
    cursor = start
    for index, item in enumerate(queue):
        slot = timeline.next_slot(cursor)
        if slot > item.when + window:
            return placed, queue[index:]
        timeline.add(slot)
        placed.append((item, slot))
        cursor = slot
    return placed, []


def _record(session: Session, account: SocialAccount, placed: list[tuple[_Item, datetime]],
            out_of_reach: list[_Item], window: timedelta, report: PassReport) -> None:
    """New posts for the placed articles; moved posts get their new slot, or are skipped
    when newer ones pushed them past their window. New articles out of reach get nothing."""
    reason = OUT_OF_REACH.format(hours=int(window.total_seconds() // 3600))
    _insert_ignoring_duplicates(session, [
        {"article_id": i.article_id, "account_id": account.id, "state": PostState.SCHEDULED,
         "scheduled_at": slot} for i, slot in placed if i.post_id is None])
    moves = [{"pid": i.post_id, "slot": slot} for i, slot in placed if i.post_id is not None]
    drops = [{"pid": i.post_id} for i in out_of_reach if i.post_id is not None]
    # Guarded: only while still an unpinned scheduled post (an editor may act meanwhile).
    # On the table, not the class: one executemany, not the ORM's update-by-primary-key.
    table = SharePost.__table__
    movable = and_(table.c.id == bindparam("pid"), table.c.state == PostState.SCHEDULED,
                   table.c.pinned.is_(False))
    if moves:
        session.execute(update(table).where(movable).values(scheduled_at=bindparam("slot")), moves)
    if drops:
        session.execute(update(table).where(movable)
                        .values(state=PostState.SKIPPED, last_error=reason), drops)
    report.scheduled += sum(1 for i, _ in placed if i.post_id is None)
    report.moved += len(moves)
    report.skipped += len(out_of_reach)


def _insert_ignoring_duplicates(session: Session, rows: list[dict]) -> None:
    """The rows, less any (article, account) that got a post meanwhile (an editor's
    `share schedule`, a `share publish-due` run beside the dispatcher)."""
    if not rows:
        return
    defaults = {"generation": 0, "attempts": 0, "pinned": False, "last_error": None,
                "created_at": utcnow()}
    rows = [{**defaults, **row} for row in rows]
    if session.get_bind().dialect.name == "postgresql":
        # One statement, the rows as arrays: an executemany is a round trip per row
        # (about 1 ms each here), which made a 500-article chunk cost half a second.
        columns = list(rows[0])
        session.connection().exec_driver_sql(
            _PG_INSERT, {c: [row[c] for row in rows] for c in columns})
        return
    session.execute(sqlite.insert(SharePost.__table__)
                    .on_conflict_do_nothing(index_elements=["article_id", "account_id"]), rows)


_PG_INSERT = (
    f"INSERT INTO {SharePost.__tablename__} (article_id, account_id, state, scheduled_at, "
    "last_error, generation, attempts, pinned, created_at) "
    "SELECT * FROM unnest(%(article_id)s::integer[], %(account_id)s::integer[], "
    "%(state)s::varchar[], %(scheduled_at)s::timestamptz[], %(last_error)s::text[], "
    "%(generation)s::integer[], %(attempts)s::integer[], %(pinned)s::boolean[], "
    "%(created_at)s::timestamptz[]) ON CONFLICT (article_id, account_id) DO NOTHING")


# -- What a chunk looks at -----------------------------------------------------------------------


def _reach(session: Session, account: SocialAccount, now: datetime, window: timedelta) -> datetime:
    """The oldest article date that can still get a slot. One older than every queued post
    goes after the queue, at the first free slot there at the earliest; if its window has
    closed by then it cannot be shared. One newer than some queued post may go before it."""
    oldest, end = session.execute(
        select(func.min(Article.published_at), func.max(SharePost.scheduled_at))
        .join(Article, Article.id == SharePost.article_id)
        .where(SharePost.account_id == account.id, SharePost.state == PostState.SCHEDULED,
               SharePost.pinned.is_(False), SharePost.attempts == 0,
               SharePost.scheduled_at > now)).one()
    end = end or now
    first_free = Timeline(account_rules(account), _taken(session, account, end - LOOK_BACK)).next_slot(end)
    floor = first_free - window if oldest is None else min(first_free - window, oldest)
    return max(now - window, floor)

_Key = tuple[datetime, int]   # (published_at, id): articles are read newest first
PAGE = 2000


def _fresh(session: Session, account: SocialAccount, cutoff: datetime, size: int,
           after: _Key | None) -> tuple[list[_Item], _Key | None]:
    """Up to `size` articles with no post on the account yet, newest first, read on from
    `after`, and where to read on next (None: no more). Read a page at a time and checked
    against the account's posts through the (article, account) key: no anti-join, whose
    plan PostgreSQL gets wrong (a nested loop, 20 million comparisons) while the table's
    statistics still say share_posts is empty, as they do right after a bulk arrival."""
    found: list[_Item] = []
    while len(found) < size:
        query = (select(Article.id, Article.published_at, Article.published_known, Article.first_seen_at)
                 .where(Article.first_seen_at >= account.created_at, Article.url.is_not(None),
                        _recent(cutoff))
                 .order_by(Article.published_at.desc(), Article.id.desc()).limit(PAGE))
        if after is not None:
            query = query.where(or_(Article.published_at < after[0],
                                    and_(Article.published_at == after[0], Article.id < after[1])))
        page = session.execute(query).all()
        if not page:
            return found, None
        taken = set(session.scalars(select(SharePost.article_id).where(
            SharePost.account_id == account.id, SharePost.article_id.in_([row[0] for row in page]))))
        for aid, published, known, seen in page:
            after = (published, aid)
            if aid not in taken:
                found.append(_Item(aid, _date(published, known, seen)))
                if len(found) == size:
                    break
        if len(page) < PAGE and after == (page[-1][1], page[-1][0]):
            return found, None
    return found, after


def _movable(session: Session, account: SocialAccount, now: datetime, newest: datetime) -> list[_Item]:
    """Posts that give their slot up to a newer article: slotted automatically, not yet
    due, never tried, of an article older than the newest new one."""
    rows = session.execute(
        select(SharePost.id, SharePost.article_id, Article.published_at, Article.published_known,
               Article.first_seen_at)
        .join(Article, Article.id == SharePost.article_id)
        .where(SharePost.account_id == account.id, SharePost.state == PostState.SCHEDULED,
               SharePost.pinned.is_(False), SharePost.attempts == 0, SharePost.scheduled_at > now,
               or_(and_(Article.published_known.is_(True), Article.published_at < newest),
                   and_(Article.published_known.is_(False), Article.first_seen_at < newest))))
    return [_Item(aid, _date(published, known, seen), pid) for pid, aid, published, known, seen in rows]


def _start(session: Session, account: SocialAccount, now: datetime, newest: datetime,
           moving: set[int]) -> datetime:
    """Where the pass's first slot may be: now, or after the last automatic slot of a
    newer article still to go (slots follow the articles' order; pinned and retrying
    posts only take room)."""
    query = (select(func.max(SharePost.scheduled_at))
             .where(SharePost.account_id == account.id,
                    SharePost.state == PostState.SCHEDULED, SharePost.pinned.is_(False),
                    SharePost.attempts == 0, SharePost.scheduled_at > now))
    if moving:
        query = query.where(SharePost.id.not_in(moving))
    last = session.scalar(query)
    return max(now, last) if last else now


def _taken(session: Session, account: SocialAccount, since: datetime,
           moving: set[int] = frozenset()) -> list[datetime]:
    """The account's slots from `since` on (sent or still to go), less the posts being
    moved: the room the rules see."""
    rows = session.execute(
        select(SharePost.id, SharePost.scheduled_at, SharePost.sent_at).where(
            SharePost.account_id == account.id,
            SharePost.state.in_((PostState.SCHEDULED, PostState.CLAIMED, PostState.SENT)),
            SharePost.scheduled_at >= since))
    return [sent or scheduled for pid, scheduled, sent in rows if pid not in moving]


# -- One post ------------------------------------------------------------------------------------


def place_post(session: Session, article: Article, account: SocialAccount, earliest: datetime,
               *, exact: bool) -> SharePost:
    """An editor's schedule of one post: at `earliest` exactly (pinned: newest-first
    slotting never moves it), or at the account's next free slot from there."""
    if exact:
        when = earliest
    else:
        when = Timeline(account_rules(account),
                        _taken(session, account, earliest - LOOK_BACK)).next_slot(earliest)
    post = session.scalar(select(SharePost).where(SharePost.article_id == article.id,
                                                  SharePost.account_id == account.id))
    if post is None:
        post = SharePost(article_id=article.id, account_id=account.id, state=PostState.SCHEDULED,
                         scheduled_at=when, generation=0, attempts=0, pinned=exact)
        session.add(post)
    else:
        if post.state == PostState.SENT:
            post.generation += 1  # an explicit re-share: a new post, a new idempotency key
        post.state, post.scheduled_at, post.lease_until = PostState.SCHEDULED, when, None
        post.last_error, post.pinned = None, exact
    session.flush()
    return post


def set_recency_hours(settings: Settings, account_id: int, hours: int | None) -> None:
    """An account's own recency window (None: the setting's). Counts from the next pass."""
    if hours is not None and hours < 1:
        raise BadInput(f"--recency-hours: {hours} is not a number of hours ≥ 1")
    with session_scope(settings.effective_database_url) as session:
        account = session.get(SocialAccount, account_id)
        if account is None:
            raise BadInput(f"no social account with id {account_id}")
        account.recency_hours = hours
