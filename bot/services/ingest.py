"""Ingestion use cases: poll a source, ingest what a user names, accept a pushed article."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, object_session

from bot.config import Settings
from bot.domain.articles import ArticleDraft, ParseResult, Rejection, content_hash
from bot.domain.masking import mask_text, mask_url
from bot.domain.sources import next_poll_after_failure, next_poll_after_success
from bot.errors import BadInput, PressbotError, TransientError
from bot.ingest import feeds, files, wordpress
from bot.ingest.discover import choose_feed, discover_feeds
from bot.ingest.fetch import FetchOptions, fetch, make_client
from bot.ingest.localfiles import FileAccess
from bot.ingest.normalize import finalize_draft
from bot.net.policy import OutboundRefused
from bot.services import outages
from bot.services.reports import IngestReport, ItemRef, SourceReport
from bot.store.articles import ADDED, UPDATED, ExistingIndex, store_draft, store_drafts
from bot.store.db import ensure_schema, session_scope
from bot.store.models import Article, Source, SourceKind, utcnow

log = logging.getLogger(__name__)

FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf"})
WEBHOOK_SOURCE_URL = "webhook:cms"
# Where the articles of files read once by `pressbot ingest PATH` belong (never polled).
ONE_OFF_SOURCE_URL = "ingest:files"
ONE_OFF_TITLE = "files read once by `pressbot ingest`"
# The built-in sources as `sources list` shows them, with their kinds.
BUILT_IN_SOURCES = {WEBHOOK_SOURCE_URL: SourceKind.WEBHOOK, ONE_OFF_SOURCE_URL: SourceKind.FILES}


def fetch_options(settings: Settings) -> FetchOptions:
    return FetchOptions(user_agent=settings.user_agent, timeout=settings.fetch_timeout,
                        max_bytes=settings.fetch_max_bytes,
                        max_redirects=settings.fetch_max_redirects,
                        policy=settings.outbound_policy)


# -- Storing what a parser found -------------------------------------------------------------


def store_result(session: Session, source: Source, result: ParseResult, report: SourceReport,
                 now: datetime) -> None:
    """Store every good draft; a draft that fails is reported and the rest go on."""
    report.warnings.extend(result.warnings)
    report.rejected.extend({"where": r.where, "reason": r.reason} for r in result.rejected)
    if result.title and not source.title:
        source.title = result.title
    if result.language and not source.language:
        source.language = result.language
    for stored in store_drafts(session, source, _finalized(source, result, report.rejected, now), now=now):
        ref = ItemRef(stored.article.id, stored.article.title, stored.article.url)
        {ADDED: report.added, UPDATED: report.updated}.get(stored.outcome, report.unchanged).append(ref)


def _finalized(source: Source, result: ParseResult, rejected: list[dict],
               now: datetime) -> list[ArticleDraft]:
    """The drafts ready to store; each one that is not goes to `rejected` with its reason."""
    ready = []
    for n, draft in enumerate(result.drafts, start=1):
        where = draft.url or draft.guid or f"{source.url} item {n}"
        try:
            ready.append(finalize_draft(draft, source_language=source.language, now=now, where=where))
        except BadInput as exc:
            rejected.append({"where": where, "reason": str(exc)})
    return ready


# -- Collecting from each kind of source --------------------------------------------------------


def _file_path(url: str) -> Path:
    return Path(url2pathname(urlsplit(url).path))


def _local_file_access(source: Source, files_access: FileAccess | None) -> FileAccess:
    """How this source's files may be read; the dashboard's test fetch (None) reads none."""
    if files_access is None or not source.url.startswith("file:"):
        raise BadInput(f"{source.url}: files sources are read on the server only, by "
                       "`pressbot ingest PATH`; the dashboard does not read server files")
    return files_access


def _collect_feed(source: Source, client: httpx.Client, options: FetchOptions,
                  report: SourceReport, files_access: FileAccess | None) -> ParseResult | None:
    """Parse the feed, or return None when the server says nothing changed (304)."""
    if source.url.startswith("file:"):
        content = _local_file_access(source, files_access).read(_file_path(source.url))
        return feeds.parse_feed(content, source.url)
    got = fetch(client, source.url, options, etag=source.etag, last_modified=source.last_modified)
    if got.not_modified:
        return None  # a 304 costs no parsing
    if feeds.looks_like_html(got.content, got.content_type):
        chosen = choose_feed(discover_feeds(got.content, got.url))
        if chosen is None:
            raise feeds.NotAFeed(f"{source.url} is not a feed (HTML page; no "
                                 "<link rel=alternate> feed found)")
        _refuse_known_feed(source, chosen.url)
        report.note = f"autodiscovery: {source.url} names the feed {chosen.url}; using it"
        source.discovered_from, source.url = source.url, chosen.url
        got = fetch(client, chosen.url, options)
    source.etag, source.last_modified = got.etag, got.last_modified
    return feeds.parse_feed(got.content, got.url, got.content_type)


class AlreadyASource(BadInput):
    """A page's discovered feed is already a source of its own: poll that one instead."""

    def __init__(self, message: str, source_id: int):
        super().__init__(message)
        self.source_id = source_id


def _refuse_known_feed(source: Source, feed_url: str) -> None:
    # Two sources may not share a URL (a unique column): taking the feed's URL for this
    # one would end the poll in an IntegrityError.
    session = object_session(source)
    if session is None:
        return  # a detached copy (trial_fetch) stores nothing
    known = session.scalar(select(Source.id).where(Source.url == feed_url, Source.id != source.id))
    if known is not None:
        raise AlreadyASource(f"{source.url} names the feed {feed_url}, which is already "
                             f"source {known}", known)


# WordPress answers at most 100 posts a page; a poll reads a few pages of the newest.
WP_PER_PAGE = 50
WP_MAX_PAGES = 4


def _collect_wordpress(source: Source, client: httpx.Client, options: FetchOptions,
                       report: SourceReport) -> ParseResult:
    merged = ParseResult()
    for page in range(1, WP_MAX_PAGES + 1):
        got = fetch(client, wordpress.wp_posts_url(source.url, page=page, per_page=WP_PER_PAGE),
                    options)
        try:
            data = httpx.Response(200, content=got.content).json()
        except ValueError as exc:
            raise BadInput(f"{got.url}: not JSON ({exc})") from exc
        result = wordpress.parse_wp_posts(data, source.url)
        merged.drafts.extend(result.drafts)
        merged.rejected.extend(result.rejected)
        merged.warnings.extend(result.warnings)
        if len(data) < WP_PER_PAGE:
            break
    return merged


def _collect_files(source: Source, report: SourceReport,
                   files_access: FileAccess | None) -> ParseResult:
    access = _local_file_access(source, files_access)
    path = _file_path(source.url)
    access.check(path)
    paths = files.iter_article_files(path) if path.is_dir() else [path]
    result = ParseResult()
    for file in paths:
        try:
            access.check(file)  # a link inside the folder may point out of it
            draft = files.parse_article_file(file, access.max_bytes)
        except BadInput as exc:
            result.rejected.append(Rejection(str(file), str(exc)))
            continue
        # A file with no guid of its own is named by its path, so editing it updates it.
        result.drafts.append(draft if draft.guid else draft.with_(guid=file.resolve().as_uri()))
    return result


# -- Polling ----------------------------------------------------------------------------------


def poll_source(settings: Settings, source_id: int, *, client: httpx.Client | None = None,
                now: datetime | None = None, target: str | None = None,
                operator_named: bool = False) -> SourceReport:
    """Fetch one source and store what is new. Failures are recorded on the source (with
    backoff) and in the report; they never raise, so one bad source never stops the rest.
    A files source is read only under the files folder, unless `operator_named` (a path
    given to `pressbot ingest` on the server)."""
    url = settings.effective_database_url
    now = now or utcnow()
    options = fetch_options(settings)
    own_client = client is None
    client = client or make_client(options)
    report = SourceReport(target=target or str(source_id), source_id=source_id)
    try:
        with session_scope(url) as session:
            source = session.get(Source, source_id)
            if source is None:
                raise BadInput(f"no source with id {source_id}")
            report.target = target or source.url
            files_access = FileAccess(None if operator_named else settings.effective_files_root,
                                      settings.file_max_bytes)
            result = _collect(source, client, options, report, files_access)
            if result is None:
                report.status = "not-modified"
            else:
                store_result(session, source, result, report, now)
            _mark_success(source, now)
            outages.mark_recovered(session, outages.source_key(source_id))
    except PressbotError as exc:
        report.status = "bad-input" if isinstance(exc, BadInput) else "failed"
        report.error = str(exc)
        if isinstance(exc, AlreadyASource):
            report.duplicate_of = exc.source_id
        report.added, report.updated, report.unchanged = [], [], []
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        _mark_failure(settings, source_id, str(exc), now, retry_after,
                      stop=isinstance(exc, OutboundRefused))
    except OSError as exc:
        report.status, report.error = "bad-input", f"{report.target}: {exc.strerror or exc}"
        _mark_failure(settings, source_id, report.error, now, None)
    except Exception as exc:  # a bug must not stop the other sources: record it, log it, go on
        log.exception("polling source %s failed", source_id)
        report.status, report.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        report.added, report.updated, report.unchanged = [], [], []
        _mark_failure(settings, source_id, report.error, now, None)
    finally:
        if own_client:
            client.close()
    return report


def _collect(source: Source, client: httpx.Client, options: FetchOptions,
             report: SourceReport, files_access: FileAccess | None) -> ParseResult | None:
    if source.kind == SourceKind.FEED:
        return _collect_feed(source, client, options, report, files_access)
    if source.kind == SourceKind.WORDPRESS:
        return _collect_wordpress(source, client, options, report)
    if source.kind == SourceKind.FILES:
        return _collect_files(source, report, files_access)
    raise BadInput(f"source {source.id} ({source.kind}) is pushed to, not polled")


def _schedulable(url: str) -> bool:
    """Sources on the network and files sources (`sources add PATH`) are polled by the
    scheduler; the built-in ones (webhook, one-off ingests) are not."""
    return url.startswith(("http://", "https://", "file:"))


def _mark_success(source: Source, now: datetime) -> None:
    source.failure_count = 0
    source.last_error = None
    source.last_polled_at = source.last_success_at = now
    source.next_poll_at = (next_poll_after_success(now, source.poll_interval)
                          if _schedulable(source.url) else None)


def _mark_failure(settings: Settings, source_id: int, reason: str, now: datetime,
                  retry_after: float | None, *, stop: bool = False) -> None:
    """Record a failure and back off; `stop`: the policy refused the source's address, which
    no retry changes, so the scheduler stops polling it (a later successful `pressbot ingest`
    of it, once its network is allowed, schedules it again)."""
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        if source is None:
            return
        source.failure_count += 1
        source.last_error = reason
        source.last_polled_at = now
        outages.mark_failed(session, outages.source_key(source_id), reason, now)
        if stop:
            source.next_poll_at = None
        elif _schedulable(source.url):
            source.next_poll_at = next_poll_after_failure(
                now, source.poll_interval, source.failure_count, settings.max_backoff, retry_after)


def due_source_ids(settings: Settings, now: datetime | None = None) -> list[int]:
    with session_scope(settings.effective_database_url) as session:
        return list(session.scalars(
            select(Source.id).where(Source.next_poll_at <= (now or utcnow()))
            .order_by(Source.next_poll_at)))


# -- Sources ------------------------------------------------------------------------------------


def classify_target(target: str) -> tuple[str, str]:
    """(kind, source url) for what a user typed: a URL, a feed file, an article file or a
    folder, or a file: URL as `sources list` shows one. Raises BadInput when it is none of
    those."""
    if target.startswith("file:"):
        target = str(_file_path(target))
    if target.startswith(("http://", "https://")):
        kind = SourceKind.WORDPRESS if "/wp-json" in target else SourceKind.FEED
        return kind, target.split("/wp-json", 1)[0] if kind == SourceKind.WORDPRESS else target
    path = Path(target).expanduser()
    if not path.exists():
        raise BadInput(f"{target}: no such file, folder or http(s) URL")
    uri = path.resolve().as_uri()
    if path.is_dir():
        return SourceKind.FILES, uri
    suffix = path.suffix.lower()
    if suffix in FEED_SUFFIXES:
        return SourceKind.FEED, uri
    if suffix in files.SUPPORTED_SUFFIXES:
        return SourceKind.FILES, uri
    raise BadInput(f"{target}: unsupported file type {suffix or '(none)'}; expected a feed "
                   f"({', '.join(sorted(FEED_SUFFIXES))}) or an article "
                   f"({', '.join(sorted(files.SUPPORTED_SUFFIXES))})")


def get_or_add_source(settings: Settings, url: str, kind: str) -> int:
    return _find_or_add_source(settings, url, kind)[0]


def _find_or_add_source(settings: Settings, url: str, kind: str) -> tuple[int, bool]:
    """(source id, whether it was added just now)."""
    with session_scope(settings.effective_database_url) as session:
        found = session.scalar(select(Source).where(
            (Source.url == url) | (Source.discovered_from == url)))
        if found:
            return found.id, False
        source = Source(kind=kind, url=url, poll_interval=settings.poll_interval,
                        failure_count=0, next_poll_at=utcnow() if _schedulable(url) else None)
        session.add(source)
        session.flush()
        return source.id, True


def ingest_targets(settings: Settings, targets: list[str],
                   progress: Callable[[str], None] | None = None) -> IngestReport:
    """`pressbot ingest`: each target becomes (or finds) a source and is polled now."""
    ensure_schema(settings.effective_database_url)
    report = IngestReport()
    once: list[tuple[str, str, str]] = []   # consecutive local targets, stored in one commit
    file_sources = _file_sources(settings)   # one query, not one per target

    def read_once() -> None:
        for one, (kind, _url, target) in zip(_ingest_once(settings, once, client), once):
            if kind == SourceKind.FILES and not Path(target).is_dir() and one.rejected:
                one.status, one.error = "bad-input", one.rejected[0]["reason"]
            report.sources.append(one)
            if progress:
                progress(target)
        once.clear()

    with make_client(fetch_options(settings)) as client:
        for target in targets:
            try:
                kind, url = classify_target(target)
            except BadInput as exc:
                read_once()
                report.sources.append(SourceReport(target=target, status="bad-input", error=str(exc)))
            else:
                if _one_off(url, file_sources):   # a local file or folder named once
                    once.append((kind, url, target))
                    continue
                read_once()
                source_id, added = _find_or_add_source(settings, url, kind)
                one = poll_source(settings, source_id, client=client, target=target,
                                  operator_named=True)
                one = _settle_new_source(settings, one, added, client)
                if kind == SourceKind.FILES and not Path(target).is_dir() and one.rejected:
                    one.status = "bad-input"  # the one file named could not be read
                    one.error = one.rejected[0]["reason"]
                report.sources.append(one)
            if progress:
                progress(target)
        read_once()
    return report


def _settle_new_source(settings: Settings, one: SourceReport, added: bool,
                       client: httpx.Client) -> SourceReport:
    """What `pressbot ingest` keeps of a source it added for a target. A page whose feed is
    already a source ingests into that source; a target whose first poll failed is not
    kept (it would be polled, and fail, forever): add it with `sources add` to insist."""
    if one.duplicate_of is not None:
        if added:
            _forget_source(settings, one.source_id)
        again = poll_source(settings, one.duplicate_of, client=client, target=one.target)
        again.note = "; ".join(filter(None, (f"{one.error}; ingesting it", again.note)))
        return again
    if added and one.status in ("failed", "bad-input"):
        _forget_source(settings, one.source_id)
        one.note = "; ".join(filter(None, (one.note, "not kept as a source (its first poll failed)")))
        one.source_id = None
    return one


def _forget_source(settings: Settings, source_id: int) -> None:
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        if source is not None:
            session.delete(source)
        outages.mark_recovered(session, outages.source_key(source_id))


def _one_off(url: str, file_sources: set[str]) -> bool:
    """A local file or folder named to `pressbot ingest` that is not a source already: it is
    read once, not kept as a source the scheduler would never poll (`sources add` it to have
    it read again on every poll)."""
    return url.startswith("file:") and url not in file_sources


def _file_sources(settings: Settings) -> set[str]:
    with session_scope(settings.effective_database_url) as session:
        return set(session.scalars(select(Source.url).where(Source.url.startswith("file:"))))


def _ingest_once(settings: Settings, targets: list[tuple[str, str, str]],
                 client: httpx.Client) -> list[SourceReport]:
    """Read local files or folders once, each (kind, url, target) into a report; their
    articles belong to the one built-in source ONE_OFF_SOURCE_URL (as pushed ones belong to
    WEBHOOK_SOURCE_URL). A failure is the operator's to see in the report, not an outage of
    that source. All of them are stored in one transaction and, when nothing goes wrong, in
    one batch (a commit, then three queries and a flush per file were most of the time of
    ingesting many small files)."""
    if not targets:
        return []
    source_id = get_or_add_source(settings, ONE_OFF_SOURCE_URL, SourceKind.FILES)
    reports = []
    now = utcnow()
    options, access = fetch_options(settings), FileAccess(None, settings.file_max_bytes)
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        source.title = source.title or ONE_OFF_TITLE
        read: list[tuple[SourceReport, ParseResult]] = []
        for kind, url, target in targets:
            report = SourceReport(target=target, source_id=source_id)
            reports.append(report)
            try:
                reader = Source(kind=kind, url=url)   # what to read; never stored
                read.append((report, _collect(reader, client, options, report, access)))
            except PressbotError as exc:
                report.status = "bad-input" if isinstance(exc, BadInput) else "failed"
                report.error = str(exc)
                report.added, report.updated, report.unchanged = [], [], []
            except OSError as exc:
                report.status, report.error = "bad-input", f"{target}: {exc.strerror or exc}"
                report.added, report.updated, report.unchanged = [], [], []
        _store_all(session, source, read, now)
        source.last_polled_at = source.last_success_at = now
    return reports


def _store_all(session: Session, source: Source, read: list[tuple[SourceReport, ParseResult]],
               now: datetime) -> None:
    """What several documents gave, stored into one source as one batch; if the batch
    meets a database error, each document is stored on its own so that only the one at
    fault fails (and says so in its report)."""
    drafts, owners = [], []
    for report, result in read:
        report.warnings.extend(result.warnings)
        report.rejected.extend({"where": r.where, "reason": r.reason} for r in result.rejected)
        ready = _finalized(source, result, report.rejected, now)
        drafts += ready
        owners += [report] * len(ready)
    try:
        with session.begin_nested():
            stored = store_drafts(session, source, drafts, now=now)
    except SQLAlchemyError:
        log.warning("storing %d documents as one batch failed; storing them one by one",
                    len(read), exc_info=True)
        for report, result in read:
            report.warnings, report.rejected = [], []
            try:
                with session.begin_nested():
                    store_result(session, source, result, report, now)
            except SQLAlchemyError as exc:
                report.status, report.error = "failed", f"database error: {exc.orig or exc}"
                report.added, report.updated, report.unchanged = [], [], []
        return
    for report, one in zip(owners, stored):
        ref = ItemRef(one.article.id, one.article.title, one.article.url)
        {ADDED: report.added, UPDATED: report.updated}.get(one.outcome, report.unchanged).append(ref)


def ingest_pushed_article(settings: Settings, data: object) -> tuple[str, ItemRef]:
    """An article a CMS pushed to the webhook (schema: docs/article-json.md). Returns the
    outcome (added / updated / unchanged) and the article. Raises BadInput naming the field."""
    if not isinstance(data, dict):
        raise BadInput("webhook body: expected a JSON object (see docs/article-json.md)")
    draft = files.article_from_json(data, "webhook body")
    if not draft.guid:
        draft = draft.with_(guid=draft.url)
    source_id = get_or_add_source(settings, WEBHOOK_SOURCE_URL, SourceKind.WEBHOOK)
    now = utcnow()
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        draft = finalize_draft(draft, source_language=None, now=now, where="webhook body")
        _refuse_stale(session, source, draft)
        stored = store_draft(session, source, draft, now=now)
        session.flush()
        return stored.outcome, ItemRef(stored.article.id, stored.article.title, stored.article.url)


class StaleArticle(BadInput):
    """A pushed article older than the stored version of it: a replayed or late push."""


def _refuse_stale(session, source: Source, draft) -> None:
    """A push may not roll an article back: its `updated` time must not be older than the
    stored one's (nor missing once the stored version has one)."""
    digest = content_hash(draft)
    existing = ExistingIndex(session, source, [draft], [digest]).match(draft, digest)
    if existing is None or existing.updated_at is None:
        return
    if draft.updated is None or draft.updated < existing.updated_at:
        sent = draft.updated.isoformat() if draft.updated else "no time"
        raise StaleArticle(f"webhook body: field 'updated': {sent} is older than the stored "
                           f"version's {existing.updated_at.isoformat()}; an older version "
                           f"cannot replace a newer one")


def list_sources(settings: Settings) -> list[dict]:
    with session_scope(settings.effective_database_url) as session:
        return [
            # For people to read: a password in a URL (https://user:pass@cms…) is masked;
            # the stored URL keeps it for fetching.
            {"id": s.id, "kind": s.kind, "url": mask_url(s.url), "title": s.title,
             "discovered_from": mask_url(s.discovered_from), "failure_count": s.failure_count,
             "next_poll_at": s.next_poll_at.isoformat() if s.next_poll_at else None,
             "last_error": mask_text(s.last_error),
             "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None}
            for s in session.scalars(select(Source).order_by(Source.id))
        ]


def add_source(settings: Settings, target: str, kind: str | None = None, *,
               from_web: bool = False) -> int:
    """A new source. From the web (`from_web`) only http(s) sources: a path typed there
    must not make the server read its own files. From the CLI a files source must be under
    the files folder (PRESSBOT_FILES_ROOT), since it is stored and read again later."""
    if from_web and (not target.startswith(("http://", "https://")) or kind == SourceKind.FILES):
        raise BadInput(f"{target}: only http(s) feed, site or WordPress URLs can be added here; "
                       "files on the server are ingested with `pressbot ingest PATH` there")
    if target in BUILT_IN_SOURCES:   # as `sources list` shows them: found, or made now
        return get_or_add_source(settings, target, BUILT_IN_SOURCES[target])
    guessed, url = classify_target(target)
    if kind is not None and kind not in SourceKind.ALL:
        raise BadInput(f"unknown source kind {kind!r}; expected one of {', '.join(SourceKind.ALL)}")
    if url.startswith("file:"):
        FileAccess(settings.effective_files_root).check(_file_path(url))
    elif kind == SourceKind.FILES:
        raise BadInput(f"{target}: a files source is a file or folder on the server, not a URL")
    if kind == SourceKind.WORDPRESS:
        url = url.split("/wp-json", 1)[0]
    return get_or_add_source(settings, url, kind or guessed)


def remove_source(settings: Settings, source_id: int) -> bool:
    """Remove a source and its articles. False when there was no such source."""
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        if source is None:
            return False
        session.delete(source)
        return True


@dataclass
class FetchTrial:
    """What a source holds right now, fetched for a look and not stored."""
    url: str
    status: str = "ok"             # ok | failed | bad-input
    error: str | None = None
    note: str | None = None        # e.g. which feed autodiscovery chose
    new: list[ItemRef] = field(default_factory=list)      # not stored yet
    known: list[ItemRef] = field(default_factory=list)    # stored already
    rejected: list[dict] = field(default_factory=list)    # {"where", "reason"}
    warnings: list[str] = field(default_factory=list)

    @property
    def found(self) -> int:
        return len(self.new) + len(self.known)


def trial_fetch(settings: Settings, source_id: int) -> FetchTrial:
    """Fetch a source now and sort what it holds into new and already-stored items,
    storing nothing: neither articles nor the source's ETag, error or next poll (the
    scheduler's state stays as it was). The fetch is unconditional, so a feed that would
    answer 304 shows its items too."""
    with session_scope(settings.effective_database_url) as session:
        stored = session.get(Source, source_id)
        if stored is None:
            raise BadInput(f"no source with id {source_id}")
        # A detached copy: the collectors record ETags and autodiscovered URLs on it.
        source = Source(id=stored.id, kind=stored.kind, url=stored.url, language=stored.language)
        known = _known_keys(session, source_id)
    trial = FetchTrial(url=source.url)
    report = SourceReport(target=source.url, source_id=source_id)
    options = fetch_options(settings)
    try:
        with make_client(options) as client:
            # files_access None: the dashboard never reads the server's files.
            result = _collect(source, client, options, report, None) or ParseResult()
    except PressbotError as exc:
        trial.status = "bad-input" if isinstance(exc, BadInput) else "failed"
        trial.error = str(exc)
        return trial
    except OSError as exc:
        trial.status, trial.error = "bad-input", f"{source.url}: {exc.strerror or exc}"
        return trial
    except Exception as exc:  # as in poll_source: show the bug's name rather than fail the page
        log.exception("test fetch of source %s failed", source_id)
        trial.status, trial.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        return trial
    trial.note = report.note
    _sort_found(source, result, trial, known, utcnow())
    return trial


def _known_keys(session: Session, source_id: int) -> set[str]:
    rows = session.execute(select(Article.guid, Article.url).where(Article.source_id == source_id))
    return {key for row in rows for key in row if key}


def _sort_found(source: Source, result: ParseResult, trial: FetchTrial, known: set[str],
                now: datetime) -> None:
    trial.warnings.extend(result.warnings)
    trial.rejected.extend({"where": r.where, "reason": r.reason} for r in result.rejected)
    for ready in _finalized(source, result, trial.rejected, now):
        stored = {ready.guid, ready.url} & known
        (trial.known if stored else trial.new).append(ItemRef(0, ready.title, ready.url))
