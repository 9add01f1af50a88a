"""The pieces of a delivery run that bot.services.digests strings together: the edition's
variants, rendered and MIME-prepared once each (DESIGN principle 3), and the ledger that
holds a batch's claim and records each outcome the moment the server has answered
(principle 2)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from time import monotonic, time
from typing import Iterator

from sqlalchemy import and_, any_, cast, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from bot.config import Settings
from bot.domain.addresses import email_hash
from bot.domain.editions import variant_key
from bot.errors import PermanentError, TransientError
from bot.mail.transport import MailRejected, Transport, TransportDown
from bot.newsletter import verp
from bot.newsletter.mime import DkimKey, PreparedMessage, Recipient, message_id, prepare
from bot.newsletter.render import CLIP_BUDGET, ListInfo, SiteInfo, article_links, render_digest
from bot.newsletter.tracking import LinkSigner, track_value, tracked
from bot.newsletter.tokens import TokenSigner
from bot.store.db import get_engine, session_scope
from bot.store.mailing import (Delivery, DeliveryState, Edition, EditionStatus, MailingList,
                               Subscriber, SubscriberStatus, Subscription, Suppression)
from bot.store.models import UTCDateTime, utcnow

# A 4xx waits RETRY_BASE × 2^(attempts-1), at most RETRY_MAX; after MAX_ATTEMPTS it fails.
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 8


class Variants:
    """One edition's variants for the length of a send: each is rendered (Jinja, premailer)
    and prepared (headers, encoded bodies) on first use, then only built per recipient."""

    def __init__(self, settings: Settings, edition_id: int, *, previewing: bool = False) -> None:
        self.settings, self.edition_id = settings, edition_id
        # A preview edition is rendered (digest render / preview) but never delivered.
        self.statuses = (EditionStatus.PENDING, EditionStatus.SENDING) + (
            (EditionStatus.PREVIEW,) if previewing else ())
        self.content: dict | None = None
        self.mlist: ListInfo | None = None
        self.list_id = 0
        self._prepared: dict[str, PreparedMessage] = {}
        self._signer: TokenSigner | None = None
        self._dkim: DkimKey | None = None
        self._verp_secret: str | None = None
        # Click tracking (issue 14): a real edition's links go through /r/; a preview's
        # (edition 0, not stored) stay direct. Readers are named only on opted-in lists.
        self._links: LinkSigner | None = None
        self.track_readers = False
        # A campaign's A/B subject test (bot.domain.ab_test): subject B, and the winner once
        # picked (read again before every batch). None: no test, one subject.
        self.ab: dict | None = None

    @classmethod
    def of_content(cls, settings: Settings, mlist: MailingList, content: dict,
                   edition_id: int = 0) -> "Variants":
        """The variants of a digest not stored as an edition (`digest render`'s preview of
        the next one): nothing is read from or written to the database."""
        variants = cls(settings, edition_id, previewing=True)
        variants._start(mlist, content)
        return variants

    def _start(self, mlist: MailingList, content: dict) -> None:
        """What every message of the edition shares: content, list, signers, DKIM key. A
        stored edition's links are tracked (so `digest render --to` a subscriber of a
        pending edition is the message as sent); the next edition, not stored yet, has no
        id for its links to count under, so they stay direct."""
        self.content, self.mlist, self.list_id = content, ListInfo.from_model(mlist), mlist.id
        self.ab = content.get("ab")
        self._signer = TokenSigner(self.settings.effective_secret_key(), self.settings.base_url)
        self._dkim = DkimKey.from_settings(self.settings)
        if self.edition_id and self.settings.click_tracking:
            self._links = LinkSigner(self.settings.effective_secret_key())
            self.track_readers = bool(mlist.track_subscriber_clicks)

    def build_for(self, key: str, recipient: Recipient) -> bytes:
        """A message for someone who is not a subscriber (a preview, a test): the caller
        chooses the Message-ID and the personal links."""
        return self._prepared[key].build(recipient)

    def load(self) -> bool:
        """Whether the edition is (still) to be delivered; asked again before every batch,
        so cancelling an edition stops it between batches."""
        with session_scope(self.settings.effective_database_url) as session:
            edition = session.get(Edition, self.edition_id)
            if edition is None or edition.status not in self.statuses:
                return False
            if self.content is None:
                self._start(session.get(MailingList, edition.list_id), edition.content)
            elif self.ab is not None:   # the winner may have been picked since the last batch
                self.ab = (edition.content or {}).get("ab")
        return True

    @property
    def domain(self) -> str:
        return self.mlist.from_email.rpartition("@")[2].lower()

    @property
    def envelope_from(self) -> str:
        return self.mlist.from_email

    def return_path(self, delivery_id: int) -> str:
        """The envelope sender for one delivery: a VERP address naming it when
        PRESSBOT_BOUNCE_ADDRESS is set (bot.newsletter.verp), else the list's From."""
        if not self.settings.bounce_address:
            return self.envelope_from
        if self._verp_secret is None:   # read once: it may come from a file
            self._verp_secret = self.settings.effective_secret_key()
        return verp.return_path(self._verp_secret, self.settings.bounce_address, delivery_id)

    def key(self, language: str | None, topics, letter: str = "") -> str:
        """A variant's key; in an A/B subject test each subject letter is a variant too."""
        base = variant_key(language or self.mlist.language, topics)
        return f"{base}/{letter}" if letter else base

    def subject_of(self, letter: str) -> str | None:
        """The subject for an A/B letter ("a", "b", "w": the winner's); None: the edition's
        own (its editor's subject A, or the template's)."""
        if not letter or letter == "a" or self.ab is None:
            return None
        if letter == "w" and not self.ab.get("winner"):
            self._read_winner()
        if letter == "w":
            letter = self.ab.get("winner") or ""
            if not letter:
                raise PermanentError("A/B subject test: a row for the winner's subject, "
                                     "but no winner has been picked")
            return self.subject_of(letter)
        return self.ab["subject_b"]

    def _read_winner(self) -> None:
        with session_scope(self.settings.effective_database_url) as session:
            edition = session.get(Edition, self.edition_id)
            self.ab = ((edition.content if edition else None) or {}).get("ab") or self.ab

    def prepare(self, wanted: dict[str, tuple]) -> None:
        """Render every variant in `wanted` (key → (language, topics[, A/B letter])) not
        ready yet: all before the first message of a batch, so a template error stops it
        before anything is sent. Raises PermanentError (TemplateFailed names the template
        and line)."""
        for key, (language, topics, *letter) in wanted.items():
            if key in self._prepared:
                continue
            mlist = replace(self.mlist, language=language)
            rendered = self.render_variant(mlist, topics, letter[0] if letter else "")
            self._prepared[key] = prepare(
                rendered, from_addr=(self.mlist.from_name, self.mlist.from_email),
                reply_to=self.mlist.reply_to, list_id=f"{self.mlist.name}.{self.domain}",
                unsubscribe_mailto=self.settings.unsubscribe_mailto, dkim=self._dkim,
                feedback_id=f"e{self.edition_id}:{self.mlist.name}:digest:{self.domain}")

    def render_variant(self, mlist: ListInfo, topics: tuple[str, ...], letter: str = ""):
        """One variant, its links tracked when tracking is on. Tracked links are longer
        than the links they replace: a variant they push past Gmail's clip budget is
        rendered again with the overshoot taken off (a few more stories left out). An A/B
        letter gives the message that subject, and its links count under that letter;
        nothing else differs."""
        site, budget = SiteInfo.from_settings(self.settings), CLIP_BUDGET
        subject = self.subject_of(letter)
        content = self.content if subject is None else {**self.content, "subject": subject}
        while True:
            rendered = render_digest(content, mlist, topics=topics, settings_view=site,
                                     budget=budget)
            if self._links is None:
                return rendered
            rendered = tracked(rendered, base_url=self.settings.base_url,
                               edition_id=self.edition_id, signer=self._links,
                               article_urls=article_links(content, mlist), variant=letter)
            over = len(rendered.html.encode("utf-8")) - CLIP_BUDGET
            if over <= 0 or rendered.articles == rendered.omitted:
                return rendered
            budget -= over

    def build(self, key: str, subscriber_id: int, email: str, name: str | None) -> bytes:
        sid, lid = subscriber_id, self.list_id
        return self._prepared[key].build(Recipient(
            email=email, name=name, message_id=message_id(self.edition_id, sid, self.domain),
            unsubscribe_url=self._signer.url("unsubscribe", sid, lid),
            preferences_url=self._signer.url("preferences", sid, lid),
            track=self._track(sid)))

    def _track(self, subscriber_id: int) -> str | None:
        if self._links is None:
            return None
        return track_value(time(), self._links.reader_token(subscriber_id) if self.track_readers else None)

    def fail_edition(self, error: str) -> None:
        with session_scope(self.settings.effective_database_url) as session:
            session.execute(update(Edition).where(Edition.id == self.edition_id)
                            .values(status=EditionStatus.FAILED, error=error))


@dataclass(frozen=True)
class Row:
    """A claimed delivery with what sending it needs."""

    id: int
    subscriber_id: int | None
    email: str | None
    name: str | None
    attempts: int
    variant: str
    language: str
    topics: tuple[str, ...]
    reason: str | None          # why it must not be sent (then it is recorded suppressed)
    letter: str = ""            # its A/B subject letter (bot.domain.ab_test); "": no test

    @property
    def sendable(self) -> bool:
        return self.reason is None


def _record_statement(dialect) -> str:
    """One UPDATE for every outcome, run on the driver's own cursor: recording is the one
    statement executed per message, and SQLAlchemy's per-execution work would cost as much
    as the round trip (the connection is in autocommit, so it is also the commit)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ("state", "smtp_reply", "last_error", "sent_at", "next_attempt_at")
    assignments = ", ".join(f"{c} = {mark}" for c in columns)
    return (f"UPDATE {Delivery.__tablename__} SET {assignments}, lease_until = NULL "
            f"WHERE id = {mark} AND state = '{DeliveryState.CLAIMED}'")


class Ledger:
    """A batch's claim: reads its rows, keeps its lease alive, records each outcome in its
    own transaction. Records only rows still claimed, so a sender that lost its lease
    cannot overwrite the outcome recorded by the one that took over."""

    def __init__(self, conn, claimed: list[tuple[int, int | None, int]], now: datetime,
                 lease: timedelta) -> None:
        self.conn, self.claimed, self.now, self.lease = conn, claimed, now, lease
        self.open = {delivery_id for delivery_id, _, _ in claimed}
        self._started = self._renewed = monotonic()
        dialect = conn.dialect
        self._record_sql = _record_statement(dialect)
        self._when = UTCDateTime().bind_processor(dialect) or (lambda value: value)
        self._cursor = conn.connection.dbapi_connection.cursor()
        self._held: tuple | None = None

    def rows(self, variants: Variants) -> list[Row]:
        """The claimed rows with their subscribers, in three single-table lookups by key
        (a join here gets planned as scans of whole tables when statistics lag behind a
        bulk import, making every batch cost the size of the list)."""
        subscriber_ids = [sid for _, sid, _ in self.claimed if sid is not None]
        people = {r.id: r for r in self.conn.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language,
                   Subscriber.status).where(one_of(self.conn, Subscriber.id, subscriber_ids)))}
        joined = {r.subscriber_id: r for r in self.conn.execute(
            select(Subscription.subscriber_id, Subscription.active, Subscription.topics)
            .where(one_of(self.conn, Subscription.subscriber_id, subscriber_ids),
                   Subscription.list_id == variants.list_id))}
        hashes = [email_hash(p.email) for p in people.values()]
        blocked = set(self.conn.execute(select(Suppression.email_hash).where(
            one_of(self.conn, Suppression.email_hash, hashes))).scalars()) if hashes else set()
        letters = {}
        if variants.ab is not None:   # which subject each row of an A/B test gets
            letters = dict(self.conn.execute(select(Delivery.id, Delivery.subject_variant).where(
                one_of(self.conn, Delivery.id, [d for d, _, _ in self.claimed]))).all())
        rows = []
        for delivery_id, sid, attempts in self.claimed:
            person, subscription = people.get(sid), joined.get(sid)
            topics = tuple(subscription.topics or ()) if subscription else ()
            language = (person.language if person else None) or variants.mlist.language
            letter = letters.get(delivery_id) or ""
            rows.append(Row(delivery_id, sid, person.email if person else None,
                            person.name if person else None, attempts,
                            variants.key(language, topics, letter), language, topics,
                            _reason(person, subscription, blocked), letter))
        return rows

    def record(self, delivery_id: int, state: str, *, smtp_reply: str | None = None,
               last_error: str | None = None, sent_at: datetime | None = None,
               next_attempt_at: datetime | None = None) -> None:
        """Commit an outcome now (after any outcome still held back by record_soon)."""
        self.flush()
        self._cursor.execute(self._record_sql, (
            state, smtp_reply, last_error, self._when(sent_at) if sent_at else None,
            self._when(next_attempt_at) if next_attempt_at else None, delivery_id))
        self.open.discard(delivery_id)

    def record_soon(self, delivery_id: int, state: str, **values) -> None:
        """Hold an outcome until flush(), which the transport runs while it sends the next
        envelope and before the next body: the database round trip overlaps the SMTP one,
        and a crash can still repeat only one message. Every other way out of the batch
        (record, release, the end) flushes first."""
        self.flush()
        self._held = (delivery_id, state, values)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            try:
                self.record(held[0], held[1], **held[2])
            except BaseException:
                self._held = held   # still owed: the way out tries again
                raise

    def close(self) -> None:
        self._cursor.close()

    def release(self, ids: list[int]) -> int:
        """Hand unsent rows back (the attempt did not happen, so it is not counted)."""
        self.flush()
        ids = [i for i in ids if i in self.open]
        if ids:
            self.conn.execute(update(Delivery).where(Delivery.id.in_(ids),
                                                     Delivery.state == DeliveryState.CLAIMED)
                              .values(state=DeliveryState.PENDING, lease_until=None,
                                      attempts=Delivery.attempts - 1))
            self.conn.commit()
            self.open.difference_update(ids)
        return len(ids)

    def renew(self) -> None:
        """Past half the lease, push it out again for the rows still to send: a slow batch
        (a throttled send rate, a slow server) keeps its claim however long it takes."""
        clock = monotonic()
        if clock - self._renewed < self.lease.total_seconds() / 2 or not self.open:
            return
        until = self.now + timedelta(seconds=clock - self._started) + self.lease
        self.conn.execute(update(Delivery).where(Delivery.id.in_(list(self.open)),
                                                 Delivery.state == DeliveryState.CLAIMED)
                          .values(lease_until=until))
        self.conn.commit()
        self._renewed = clock


def _reason(person, subscription, blocked: set[str]) -> str | None:
    if person is None or not person.email:
        return "the subscriber was erased"
    if person.status != SubscriberStatus.CONFIRMED:
        return f"the subscriber is {person.status}"
    if subscription is None or not subscription.active:
        return "no longer subscribed to this list"
    if email_hash(person.email) in blocked:
        return "on the suppression list"
    return None


def one_of(conn, column, values: list):
    """`column IN values`; on PostgreSQL `= ANY(array)`: one parameter instead of hundreds,
    so the statement is the same text every time (cached, prepared)."""
    if conn.dialect.name == "postgresql":
        return column == any_(cast(literal(list(values)), ARRAY(column.type)))
    return column.in_(values)


def _cheap_commits(conn, dialect: str) -> str | None:
    """Make this connection's commits cheap; returns the statement that undoes it."""
    if dialect == "postgresql":
        conn.execute(text("SET synchronous_commit TO OFF"))
        return "RESET synchronous_commit"
    if dialect == "sqlite":
        before = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
        return f"PRAGMA synchronous = {int(before)}"
    return None


@contextmanager
def lease_engine(settings: Settings, claimed: list[tuple[int, int | None, int]], now: datetime,
                 lease: timedelta) -> Iterator[Ledger]:
    """A Ledger on one connection for the batch, whose commits do not wait for the disk:
    asynchronous commit on PostgreSQL, synchronous=NORMAL under WAL on SQLite. Either is
    durable against *our* process dying (the database has the commit) — which is what the
    one-message duplicate window is about — and cheap enough to commit per message; only a
    crash of the database server or the machine could lose the last moment of records
    (those messages would go again, with the same Message-ID). Whatever the batch leaves
    claimed on the way out — an exception between two records — is handed back."""
    engine = get_engine(settings.effective_database_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        undo = _cheap_commits(conn, engine.dialect.name)
        ledger = Ledger(conn, claimed, now, lease)
        try:
            yield ledger
        finally:
            try:
                ledger.release(list(ledger.open))   # flushes a held outcome first
                ledger.close()
                if undo:
                    conn.exec_driver_sql(undo)
                    conn.commit()
            except Exception:  # noqa: BLE001 - a dead connection: the lease will free the rows
                conn.invalidate()


def wanted_variants(rows: list[Row]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """key → (language, topics, A/B letter) of the variants the sendable rows need."""
    return {r.variant: (r.language, r.topics, r.letter) for r in rows if r.sendable}


# -- Sending a claimed batch ---------------------------------------------------------------------


def due(now: datetime):
    """Rows to (re)try now: new, deferred and due, or claimed by a sender whose lease ran out."""
    return or_(Delivery.state == DeliveryState.PENDING,
               and_(Delivery.state == DeliveryState.DEFERRED, Delivery.next_attempt_at <= now),
               and_(Delivery.state == DeliveryState.CLAIMED, Delivery.lease_until < now))


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    released: int = 0            # claimed, then handed back unsent (edition failed, server down)
    error: str | None = None     # why the batch stopped early
    suppressed_addresses: list[str] = field(default_factory=list, repr=False)

    def add(self, other: "BatchReport") -> None:
        for f in fields(self):
            if f.type in ("int", int):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.error = other.error or self.error
        self.suppressed_addresses += other.suppressed_addresses


def _retry_at(now: datetime, attempts: int, asked: float | None) -> datetime:
    wait = min(RETRY_BASE * 2 ** max(0, attempts - 1), RETRY_MAX)
    if asked:
        wait = max(wait, timedelta(seconds=min(asked, RETRY_MAX.total_seconds())))
    return now + wait


def send_claimed(settings: Settings, variants: Variants, ledger: Ledger, transport: Transport,
                 report: BatchReport, now: datetime) -> None:
    """Every variant the batch needs is rendered before its first message, so a template
    error sends nothing; then each row is sent and its outcome recorded before the next."""
    rows = ledger.rows(variants)
    try:
        variants.prepare(wanted_variants(rows))
    except PermanentError as exc:
        variants.fail_edition(str(exc))
        report.released += ledger.release([r.id for r in rows])
        report.error = f"edition {variants.edition_id} failed: {exc}"
        return
    for index, row in enumerate(rows):
        ledger.renew()
        if not row.sendable:
            ledger.record(row.id, DeliveryState.SUPPRESSED, last_error=row.reason)
            report.suppressed += 1
            continue
        try:
            message = variants.build(row.variant, row.subscriber_id, row.email, row.name)
            reply = transport.send(variants.return_path(row.id), row.email, message,
                                   meanwhile=ledger.flush)
        except TransportDown as exc:
            report.released += ledger.release([r.id for r in rows[index:]])
            report.error = str(exc)
            raise
        except MailRejected as exc:
            _rejected(settings, ledger, row, exc, report)
        except TransientError as exc:
            _deferred(ledger, row, exc, report, now)
        except PermanentError as exc:
            ledger.record(row.id, DeliveryState.FAILED, last_error=str(exc))
            report.failed += 1
        else:
            ledger.record_soon(row.id, DeliveryState.SENT, smtp_reply=reply, sent_at=utcnow())
            report.sent += 1
    ledger.flush()


def _rejected(settings: Settings, ledger, row, exc: MailRejected, report: BatchReport) -> None:
    ledger.record(row.id, DeliveryState.FAILED, smtp_reply=exc.reply or None,
                  last_error=str(exc))
    report.failed += 1
    if exc.mailbox_unknown:
        from bot.errors import BadInput
        from bot.services.subscribers import suppress

        try:
            suppress(settings, row.email, "bounced", detail=exc.reply)
        except BadInput:  # an address that no longer validates: the failed row says enough
            return
        report.suppressed_addresses.append(row.email)


def _deferred(ledger, row, exc: TransientError, report: BatchReport, now: datetime) -> None:
    reply = getattr(exc, "reply", None) or None
    if row.attempts >= MAX_ATTEMPTS:
        ledger.record(row.id, DeliveryState.FAILED, smtp_reply=reply,
                      last_error=f"gave up after {row.attempts} attempts: {exc}")
        report.failed += 1
        return
    ledger.record(row.id, DeliveryState.DEFERRED, smtp_reply=reply, last_error=str(exc),
                  next_attempt_at=_retry_at(now, row.attempts, exc.retry_after))
    report.deferred += 1
