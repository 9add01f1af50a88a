"""Digests: build an edition, create its deliveries, and deliver each exactly once.

An edition freezes what one digest of one list carries; a delivery row per (edition,
subscriber) moves pending → claimed (with a lease) → sent | deferred | failed | suppressed
(DESIGN principle 2). Rendering happens once per variant (language × topic set) and per
recipient there is only MIME assembly (principle 3).

Windows: an edition carries the articles *first seen* in [window_start, window_end), where
window_start is the window_end of the list's previous edition (previews and failed ones do
not count: a failed edition's articles go out with the next one). A list's first edition
looks back one schedule period: a day for a daily list (or one without a schedule), a week
for a weekly one. Backfill stays out (issue 10): an article first seen in the window but
published more than one period before its start (a feed of 2019 stories added today) is
archive, not news (domain.editions.backfill_floor).

Planned editions (bot.services.planning): an editor's SCHEDULED row — a schedule run moved
to another time, or a one-off campaign — is filled in when its time comes, by the same
build: a moved run takes the normal window, a campaign its chosen articles and intro.
Campaigns, planned rows not built yet and cancelled ones do not move the window (a
cancelled run's articles go out with the next one).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.addresses import email_hash
from bot.domain.articles import plain_text, summarize
from bot.domain.editions import backfill_floor, matches, select_articles
from bot.domain.schedules import parse_schedule
from bot.errors import BadInput, PermanentError
from bot.mail.transport import Transport, TransportDown, build_transport
from bot.newsletter.digest_view import summary_without_title
from bot.newsletter.render import ListInfo, SiteInfo, render_digest
from bot.services import ab_tests, outages
from bot.services.sending import BatchReport, Variants, due, lease_engine, one_of, send_claimed
from bot.store.db import get_engine, session_scope
from bot.store.mailing import (Delivery, DeliveryState, Edition, EditionStatus, MailingList,
                               Subscriber, SubscriberStatus, Subscription, Suppression)
from bot.store.models import Article, utcnow

# Longer than any batch takes between renewals (the sender renews at half of it), so a
# live sender never loses its claim; a killed one's rows are taken over after it runs out.
LEASE = timedelta(minutes=5)
# Subscriptions read, and delivery rows inserted, per round trip (1,000 rows × 5 columns
# stays far below both databases' limits on bound parameters).
CHUNK = 1000

Progress = Callable[["BatchReport"], None]


# -- Editions -------------------------------------------------------------------------------------


def get_list(session: Session, name: str | None) -> MailingList:
    """The list called `name`; with no name, the only list there is."""
    if name is None:
        lists = session.scalars(select(MailingList).order_by(MailingList.id).limit(2)).all()
        if len(lists) != 1:
            raise BadInput("--list: name the list" if lists else
                           "no mailing lists yet: add one with `pressbot lists add`")
        return lists[0]
    mlist = session.scalar(select(MailingList).where(MailingList.name == name))
    if mlist is None:
        raise BadInput(f"--list: no mailing list named {name!r} (see `pressbot lists list`)")
    return mlist


def _first_window(mlist: MailingList) -> timedelta:
    try:
        schedule = parse_schedule(mlist.schedule) if mlist.schedule else None
    except BadInput:
        schedule = None
    return timedelta(days=7) if schedule and schedule.weekday is not None else timedelta(days=1)


def regular():
    """SQL: not a campaign (the flag is absent, or false)."""
    flag = Edition.content["campaign"].as_boolean()
    return or_(flag.is_(None), flag.is_(False))


# Editions whose window does not count: never sent, or not built yet.
_NO_WINDOW = (EditionStatus.PREVIEW, EditionStatus.FAILED, EditionStatus.SCHEDULED,
              EditionStatus.CANCELLED)


def _window_start(session: Session, mlist: MailingList, now: datetime,
                  exclude: int | None = None) -> datetime:
    query = select(func.max(Edition.window_end)).where(
        Edition.list_id == mlist.id, Edition.status.not_in(_NO_WINDOW), regular())
    if exclude is not None:   # the planned row being filled in
        query = query.where(Edition.id != exclude)
    return session.scalar(query) or now - _first_window(mlist)


def window_articles(session: Session, mlist: MailingList, now: datetime,
                    exclude: int | None = None) -> tuple[datetime, list[dict]]:
    """(window start, articles) the list's next regular edition would carry if built now."""
    since = _window_start(session, mlist, now, exclude)
    return since, _choose(session, mlist, since, now, False)


def chosen_articles(session: Session, article_ids: list[int]) -> list[dict]:
    """The articles an editor picked, in the order picked (deleted ones left out)."""
    if not article_ids:
        return []
    found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(article_ids)))}
    return _with_word_counts(session, [{k: v for k, v in _article_dict(found[i]).items()
                                        if k != "first_seen"} for i in article_ids if i in found])


def _article_dict(a: Article) -> dict:
    return {"id": a.id, "title": a.title, "url": a.url, "summary": a.summary or "",
            "image": a.image, "image_alt": a.image_alt, "author": a.author,
            "categories": list(a.categories or []), "language": a.language,
            "published": a.published_at.isoformat(), "first_seen": a.first_seen_at.isoformat(),
            # False: the source gave no date and `published` is when we first saw it; the
            # digest then shows no date rather than a made-up one.
            "date_known": a.published_known}


def in_languages(articles: list[dict], languages: list[str] | None) -> list[dict]:
    """The articles in one of `languages` (base codes: "fr" takes "fr-CA"); all of them
    when the list names none. An article whose language is unknown is left out: a list
    that asked for Arabic only must not get an English story nobody tagged."""
    wanted = {str(code).split("-")[0].lower() for code in languages or () if code}
    if not wanted:
        return articles
    return [a for a in articles
            if (a.get("language") or "").replace("_", "-").split("-")[0].lower() in wanted]


def _with_word_counts(session: Session, articles: list[dict]) -> list[dict]:
    """Each chosen article with its body's word count (the digest shows a read time) and
    a summary that does not just repeat the title; read for the chosen few only: a window
    can hold thousands of candidates."""
    ids = [a["id"] for a in articles if "id" in a]
    bodies = dict(session.execute(select(Article.id, Article.body_html)
                                  .where(Article.id.in_(ids))).all()) if ids else {}
    out = []
    for a in articles:
        body = bodies.get(a.get("id")) or ""
        out.append({**a, "words": len(plain_text(body).split()),
                    "summary": own_summary(a.get("title") or "", a.get("summary") or "", body)})
    return out


def own_summary(title: str, summary: str, body_html: str) -> str:
    """`summary`, or when it only repeats the title (a .txt article whose first paragraph
    is its title again), the body's first paragraph that is not the title."""
    if summary_without_title(title, summary):
        return summary
    for paragraph in re.findall(r"<p\b[^>]*>(.*?)</p>", body_html, flags=re.S | re.I):
        text = plain_text(paragraph)
        if text and summary_without_title(title, text):
            return summarize(summary_without_title(title, text), None)
    return ""


def _candidates(session: Session, since: datetime | None, until: datetime,
                limit: int | None = None, published_since: datetime | None = None) -> list[dict]:
    query = select(Article).where(Article.first_seen_at < until)
    if since is not None:
        query = query.where(Article.first_seen_at >= since)
    if published_since is not None:   # backfill stays in the archive (date unknown: kept)
        query = query.where(or_(Article.published_known.is_(False),
                                Article.published_at >= published_since))
    if limit:
        query = query.order_by(Article.published_at.desc()).limit(limit)
    return [_article_dict(a) for a in session.scalars(query)]


def _choose(session: Session, mlist: MailingList, since: datetime, now: datetime,
            preview: bool) -> list[dict]:
    wanted = set(mlist.categories or ())
    languages = mlist.languages
    floor = backfill_floor(since, _first_window(mlist))
    chosen = select_articles(in_languages(_candidates(session, since, now, published_since=floor),
                                          languages),
                             since=since, until=now,
                             categories=wanted, max_articles=mlist.max_articles)
    if preview and not chosen:
        # Nothing new since the last edition: a preview still shows the newest articles.
        latest = in_languages(_candidates(session, None, now + timedelta(seconds=1), limit=200),
                              languages)
        chosen = select_articles(latest, since=None, until=now + timedelta(seconds=1),
                                 categories=wanted, max_articles=mlist.max_articles)
        if not chosen:
            raise BadInput("no articles to put in a digest yet: ingest some first "
                           "(`pressbot ingest SOURCE`)")
    return _with_word_counts(session, [{k: v for k, v in a.items() if k != "first_seen"}
                                       for a in chosen])


def preview_articles(session: Session, mlist: MailingList, now: datetime) -> list[dict]:
    """What the list's next regular edition would carry if built now; with nothing new,
    the newest articles (a preview still shows something). Reads only."""
    return _choose(session, mlist, _window_start(session, mlist, now), now, True)


def site_view(settings: Settings) -> SiteInfo:
    return SiteInfo.from_settings(settings)


def snapshot(settings: Settings, mlist: MailingList, edition_id: int | None, when: datetime,
             articles: list[dict], *, intro: str = "", campaign: bool = False,
             subject: str = "", ab: dict | None = None) -> dict:
    from zoneinfo import ZoneInfo

    try:
        local = when.astimezone(ZoneInfo(mlist.timezone or "UTC"))
    except (KeyError, ValueError):
        local = when
    content = {"edition_id": edition_id, "list": mlist.name, "date": local.date().isoformat(),
               "intro": intro or "", "articles": articles,
               # No edition yet (a preview): the archive, not a page that does not exist.
               "web_url": f"{settings.base_url.rstrip('/')}/editions"
                          + (f"/{edition_id}" if edition_id else "")}
    if campaign:
        content["campaign"] = True
    if subject:  # the editor's own subject (bot.services.run_edits), instead of the template's
        content["subject"] = subject
    if ab:  # a campaign's A/B subject test (bot.services.ab_tests): subject B, sample, hours
        content["ab"] = dict(ab)
    return content


def build_edition(settings: Settings, list_name: str | None, *, scheduled_for: datetime,
                  now: datetime, preview: bool = False) -> int | None:
    """Freeze the list's digest for the slot `scheduled_for`. Returns the edition's id, or
    None when there was nothing new (a SKIPPED edition is recorded so the next one starts
    after this window). A second build for the same slot changes nothing and returns what
    the first one did. A template that fails records a FAILED edition (see its `error`).
    A preview is never delivered and does not move the window; it replaces older previews."""
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list(session, list_name)
        if preview:
            session.execute(delete(Edition).where(Edition.list_id == mlist.id,
                                                  Edition.status == EditionStatus.PREVIEW))
            scheduled_for = now
        else:
            existing = _slot(session, mlist.id, scheduled_for)
            if existing is not None and existing.status == EditionStatus.SCHEDULED:
                return _fill_planned(settings, session, mlist, existing, now)
            if existing is not None:
                return _result(existing)
            if _replaced(session, mlist.id, scheduled_for):
                return None  # an editor moved or cancelled this run: the planned row stands
        since = _window_start(session, mlist, now)
        articles = _choose(session, mlist, since, now, preview)
        status = (EditionStatus.PREVIEW if preview else
                  EditionStatus.PENDING if articles else EditionStatus.SKIPPED)
        edition = Edition(list_id=mlist.id, status=status, scheduled_for=scheduled_for,
                          window_start=since, window_end=now, content={})
        try:
            with session.begin_nested():
                session.add(edition)
        except IntegrityError:  # a concurrent build took this slot first: theirs stands
            return _result(_slot(session, mlist.id, scheduled_for))
        edition.content = snapshot(settings, mlist, edition.id, edition.scheduled_for, articles)
        if articles:
            _check_render(settings, mlist, edition)
        return _result(edition)


def _fill_planned(settings: Settings, session: Session, mlist: MailingList, edition: Edition,
                  now: datetime) -> int | None:
    """Freeze a SCHEDULED row's content now and make it PENDING. Claimed by a guarded
    UPDATE, so of two concurrent builds one fills it in and the other returns its result."""
    claimed = session.execute(update(Edition).where(Edition.id == edition.id,
                                                    Edition.status == EditionStatus.SCHEDULED)
                              .values(status=EditionStatus.PENDING)).rowcount
    session.refresh(edition)
    if not claimed:
        return _result(edition)
    edition.window_start, edition.content = planned_content(
        settings, session, mlist, edition.content or {}, edition.id, edition.scheduled_for, now)
    edition.window_end = now
    if not edition.content["articles"]:
        edition.status = EditionStatus.SKIPPED
        return None
    _check_render(settings, mlist, edition)
    return _result(edition)


def planned_content(settings: Settings, session: Session, mlist: MailingList, plan: dict,
                    edition_id: int | None, when: datetime,
                    now: datetime) -> tuple[datetime | None, dict]:
    """(window start, snapshot) a planned edition would freeze now: a campaign's chosen
    articles and intro (no window), else the list's window. `plan` is the planned row's
    content ({} for a run with no row); the row `edition_id` does not count as the list's
    previous edition."""
    if plan.get("campaign"):
        since, articles = None, chosen_articles(session, list(plan.get("article_ids") or []))
    elif plan.get("article_ids"):
        # A regular run an editor picked the articles of: still a run of the list, so its
        # window moves on as usual (what was not picked stays out, as the editor chose).
        since = _window_start(session, mlist, now, edition_id)
        articles = chosen_articles(session, list(plan["article_ids"]))
    else:
        since, articles = window_articles(session, mlist, now, exclude=edition_id)
    return since, snapshot(settings, mlist, edition_id, when, articles,
                           intro=plan.get("intro") or "", campaign=bool(plan.get("campaign")),
                           subject=plan.get("subject") or "", ab=plan.get("ab"))


def _replaced(session: Session, list_id: int, slot: datetime) -> bool:
    return session.scalar(select(Edition.id).where(Edition.list_id == list_id,
                                                   Edition.replaces_slot == slot).limit(1)) is not None


def _slot(session: Session, list_id: int, scheduled_for: datetime) -> Edition | None:
    return session.scalar(select(Edition).where(Edition.list_id == list_id,
                                                Edition.scheduled_for == scheduled_for))


def _result(edition: Edition) -> int | None:
    return None if edition.status == EditionStatus.SKIPPED else edition.id


def _check_render(settings: Settings, mlist: MailingList, edition: Edition) -> None:
    """Render the list's own variant now: a broken template fails the edition before any
    delivery row exists, and the subject is known for listings."""
    try:
        rendered = render_digest(edition.content, ListInfo.from_model(mlist),
                                 settings_view=site_view(settings))
    except PermanentError as exc:
        # A preview keeps its status (it was never going out); its error says what broke.
        if edition.status != EditionStatus.PREVIEW:
            edition.status = EditionStatus.FAILED
        edition.error = str(exc)
        return
    edition.subject = rendered.subject


def edition_info(settings: Settings, edition_id: int) -> dict:
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise BadInput(f"no edition with id {edition_id}")
        counts = delivery_counts(session, [edition_id])[edition_id]
        return {"id": edition.id, "list_id": edition.list_id, "status": edition.status,
                "subject": edition.subject, "error": edition.error,
                "scheduled_for": edition.scheduled_for.isoformat(),
                "articles": len(edition.content.get("articles") or []), "deliveries": counts}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _edition_row(edition: Edition, list_name: str, counts: dict[str, int]) -> dict:
    articles = edition.content.get("articles") or []
    # A campaign not built yet holds only the ids its editor picked.
    article_ids = ([a["id"] for a in articles if "id" in a] if articles
                   else list(edition.content.get("article_ids") or []))
    return {"id": edition.id, "list_id": edition.list_id, "list": list_name, "status": edition.status,
            "subject": edition.subject, "error": edition.error,
            "scheduled_for": edition.scheduled_for.isoformat(), "sent_at": _iso(edition.sent_at),
            "window_start": _iso(edition.window_start), "window_end": _iso(edition.window_end),
            "created_at": _iso(edition.created_at), "created_by": edition.created_by,
            "articles": len(article_ids), "article_ids": article_ids,
            "deliveries": counts}


def delivery_counts(session: Session, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Delivery rows per state for each edition, in one query."""
    counts: dict[int, dict[str, int]] = {eid: {} for eid in edition_ids}
    if edition_ids:
        for eid, state, n in session.execute(
                select(Delivery.edition_id, Delivery.state, func.count())
                .where(Delivery.edition_id.in_(edition_ids))
                .group_by(Delivery.edition_id, Delivery.state)):
            counts[eid][state] = n
    return counts


def list_editions(settings: Settings, *, list_name: str | None = None, status: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[dict]:
    """Editions, latest slot first, with their list's name and delivery counts per state."""
    query = (select(Edition, MailingList.name).join(MailingList, MailingList.id == Edition.list_id)
             .order_by(Edition.scheduled_for.desc(), Edition.id.desc()).limit(limit).offset(offset))
    with session_scope(settings.effective_database_url) as session:
        if list_name is not None:
            if session.scalar(select(MailingList.id).where(MailingList.name == list_name)) is None:
                raise BadInput(f"list: no mailing list named {list_name!r}")
            query = query.where(MailingList.name == list_name)
        if status is not None:
            query = query.where(Edition.status == status)
        rows = session.execute(query).all()
        counts = delivery_counts(session, [e.id for e, _ in rows])
        return [_edition_row(e, name, counts[e.id]) for e, name in rows]


def get_edition(settings: Settings, edition_id: int) -> dict | None:
    """One edition as `list_editions` shows it; None when there is none."""
    with session_scope(settings.effective_database_url) as session:
        row = session.execute(select(Edition, MailingList.name)
                              .join(MailingList, MailingList.id == Edition.list_id)
                              .where(Edition.id == edition_id)).first()
        if row is None:
            return None
        edition, name = row
        return _edition_row(edition, name, delivery_counts(session, [edition.id])[edition.id])


def unfinished_editions(settings: Settings, list_name: str | None) -> list[int]:
    """Editions of the list still being delivered (a crashed or interrupted send)."""
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list(session, list_name)
        return list(session.scalars(select(Edition.id).where(
            Edition.list_id == mlist.id,
            Edition.status.in_((EditionStatus.PENDING, EditionStatus.SENDING))).order_by(Edition.id)))


# -- Deliveries -----------------------------------------------------------------------------------


_COLUMNS = "edition_id, subscriber_id, state, attempts, last_error"
_PG_INSERT = (f"INSERT INTO {Delivery.__tablename__} ({_COLUMNS}) "
              "SELECT %s, sid, state, 0, error FROM unnest(%s::int[], %s::text[], %s::text[]) "
              "AS t(sid, state, error) ON CONFLICT (edition_id, subscriber_id) DO NOTHING")


def _insert_ignoring_duplicates(conn: Connection, edition_id: int, rows: list[tuple]) -> None:
    """One INSERT … ON CONFLICT DO NOTHING per chunk of (subscriber_id, state, error): as an
    executemany it would be a statement per row. Written out by hand because SQLAlchemy's
    compiler (and psycopg's parser) take longer over a thousand-row VALUES than the
    database takes to run it; on PostgreSQL the rows travel as three arrays."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_INSERT, (edition_id, *map(list, zip(*rows))))
        return
    conn.exec_driver_sql(
        f"INSERT INTO {Delivery.__tablename__} ({_COLUMNS}) VALUES "
        + ", ".join(["(?, ?, ?, 0, ?)"] * len(rows))
        + " ON CONFLICT (edition_id, subscriber_id) DO NOTHING",
        tuple(value for row in rows for value in (edition_id, *row)))


def suppressed_hashes(conn: Connection, hashes: list[str]) -> set[str]:
    """Which of these address hashes are on the suppression list (one query)."""
    if not hashes:
        return set()
    return set(conn.execute(select(Suppression.email_hash).where(
        one_of(conn, Suppression.email_hash, hashes))).scalars())


def create_deliveries(settings: Settings, edition_id: int, now: datetime | None = None) -> int:
    """One row per confirmed, active subscription of the edition's list. The subscriptions
    are read by one streamed query (a server-side cursor on PostgreSQL) and the rows
    inserted CHUNK at a time on a second connection, so the subscriber list is never in
    memory and the database plans one join, not one per chunk. Rows for suppressed
    addresses are created `suppressed`; a subscriber whose topics match nothing in this
    edition gets no row. Safe to run again (after a crash half-way it adds only the
    missing rows). Returns the edition's number of rows. A campaign with an A/B subject
    test gets its rows held and its sample drawn (released) at `now`."""
    url = settings.effective_database_url
    with session_scope(url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None or edition.status not in (EditionStatus.PENDING, EditionStatus.SENDING):
            return 0
        list_id = edition.list_id
        categories = {c for a in edition.content.get("articles") or [] for c in a.get("categories") or ()}
        # An A/B subject test: every row starts held; the sample is drawn from them once
        # they all exist (ab_tests.draw_sample), the rest wait for the winner.
        ready = DeliveryState.HELD if edition.content.get("ab") else DeliveryState.PENDING
    query = (select(Subscriber.id, Subscriber.email, Subscription.topics)
             .join(Subscription, Subscription.subscriber_id == Subscriber.id)
             .where(Subscription.list_id == list_id, Subscription.active.is_(True),
                    Subscriber.status == SubscriberStatus.CONFIRMED))
    engine = get_engine(url)
    with engine.connect() as reader, engine.connect() as writer:
        stream = reader.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for chunk in stream.partitions():
            wanted = [(r.id, email_hash(r.email)) for r in chunk
                      if not r.topics or matches(categories, r.topics)]
            blocked = suppressed_hashes(writer, [h for _, h in wanted])
            _insert_ignoring_duplicates(writer, edition_id, [
                (sid, DeliveryState.SUPPRESSED, "on the suppression list") if h in blocked
                else (sid, ready, None) for sid, h in wanted])
            writer.commit()
        if ready == DeliveryState.HELD:
            ab_tests.draw_sample(writer, edition_id, now or utcnow())
        writer.execute(update(Edition).where(Edition.id == edition_id,
                                             Edition.status == EditionStatus.PENDING)
                       .values(status=EditionStatus.SENDING))
        count = writer.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.edition_id == edition_id)) or 0
        writer.commit()
    return count


def due_count(settings: Settings, edition_id: int, now: datetime | None = None) -> int:
    with session_scope(settings.effective_database_url) as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.edition_id == edition_id, due(now or utcnow()))) or 0


def claim_batch(settings: Settings, edition_id: int, limit: int, now: datetime,
                lease: timedelta) -> list[tuple[int, int | None, int]]:
    """Atomically take up to `limit` due rows: one UPDATE … WHERE id IN (SELECT … due …).
    On PostgreSQL the inner SELECT is FOR UPDATE SKIP LOCKED, so concurrent senders split
    the rows between them instead of queueing on each other; SQLite has one writer at a
    time, which makes the statement atomic there."""
    engine = get_engine(settings.effective_database_url)
    # No ORDER BY: sorting every due row to take the first `limit` makes each claim cost
    # the size of what is left (quadratic over an edition); any `limit` due rows will do.
    pick = select(Delivery.id).where(Delivery.edition_id == edition_id, due(now)).limit(limit)
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        ids = conn.execute(
            update(Delivery).where(Delivery.id.in_(pick.scalar_subquery()), due(now))
            .values(state=DeliveryState.CLAIMED, lease_until=now + lease,
                    attempts=Delivery.attempts + 1)
            .returning(Delivery.id, Delivery.subscriber_id, Delivery.attempts)).all()
    return sorted(tuple(row) for row in ids)


def deliver_batch(settings: Settings, edition_id: int, *, transport: Transport,
                  limit: int | None = None, now: datetime | None = None,
                  lease: timedelta | None = None, variants: Variants | None = None) -> BatchReport:
    """Claim, then send, then record — one message at a time over the transport's one
    connection, each outcome committed as soon as the server answered, so a crash can
    repeat at most the message in flight (and it keeps its Message-ID). A template that
    fails marks the edition FAILED and sends nothing; a server that cannot be reached
    hands the unsent rows back and raises TransportDown."""
    now, lease = now or utcnow(), lease or LEASE
    report = BatchReport()
    variants = variants or Variants(settings, edition_id)
    if not variants.load():
        return report
    claimed = claim_batch(settings, edition_id, limit or settings.batch_size, now, lease)
    report.claimed = len(claimed)
    if claimed:
        try:
            with lease_engine(settings, claimed, now, lease) as ledger:
                send_claimed(settings, variants, ledger, transport, report, now)
        except TransportDown as exc:
            # Kept where the dashboard, `status` and /healthz see it, with since when.
            outages.failed(settings, outages.mail_system(settings), str(exc))
            raise
        if report.sent:
            outages.recovered(settings, outages.mail_system(settings))
    finish_if_done(settings, edition_id, now)
    return report


def finish_if_done(settings: Settings, edition_id: int, now: datetime) -> None:
    """A SENDING edition with nothing left to send (or retry) is SENT. Rows held for an
    A/B subject test's winner are still to send."""
    open_states = (DeliveryState.PENDING, DeliveryState.CLAIMED, DeliveryState.DEFERRED,
                   DeliveryState.HELD)
    with session_scope(settings.effective_database_url) as session:
        remaining = select(Delivery.id).where(Delivery.edition_id == edition_id,
                                              Delivery.state.in_(open_states)).exists()
        session.execute(update(Edition).where(Edition.id == edition_id,
                                              Edition.status == EditionStatus.SENDING, ~remaining)
                        .values(status=EditionStatus.SENT, sent_at=now))


def send_edition(settings: Settings, edition_id: int, *, transport: Transport | None = None,
                 progress: Progress | None = None, now: datetime | None = None,
                 lease: timedelta | None = None) -> BatchReport:
    """Deliver batches until no row is due (deferred rows wait for their time; a later run
    sends them). Renders each variant once for the whole run."""
    own = transport is None
    transport = transport or build_transport(settings)
    variants = Variants(settings, edition_id)
    total = BatchReport()
    try:
        while True:
            report = deliver_batch(settings, edition_id, transport=transport, now=now,
                                   lease=lease, variants=variants)
            total.add(report)
            if progress:
                progress(report)
            if not report.claimed or report.error:
                return total
    finally:
        if own:
            transport.close()


def list_deliveries(settings: Settings, failed_only: bool = False, *,
                    edition_id: int | None = None, limit: int | None = None) -> list[dict]:
    query = (select(Delivery, Subscriber.email, MailingList.name)
             .join(Edition, Edition.id == Delivery.edition_id)
             .join(MailingList, MailingList.id == Edition.list_id)
             .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
             .order_by(Delivery.id.desc()))
    if failed_only:
        query = query.where(Delivery.state == DeliveryState.FAILED)
    if edition_id is not None:
        query = query.where(Delivery.edition_id == edition_id)
    if limit:
        query = query.limit(limit)
    with session_scope(settings.effective_database_url) as session:
        return [{"id": d.id, "edition_id": d.edition_id, "list": name, "email": email,
                 "state": d.state, "attempts": d.attempts, "smtp_reply": d.smtp_reply,
                 "last_error": d.last_error,
                 "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
                 "sent_at": d.sent_at.isoformat() if d.sent_at else None}
                for d, email, name in session.execute(query)]
