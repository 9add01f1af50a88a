"""Subscriber data in and out: CSV import and export, what we hold about one person, and
erasure.

An import asserts that the operator holds consent for every row, so imported rows are
confirmed at once (Consent action "import", method "csv", origin the file name). It never
brings back anyone who left: an address that unsubscribed, bounced or complained, or whose
hash is on the suppression list, is reported as skipped.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update

from bot.config import Settings, private_folder
from bot.domain.addresses import email_hash, normalize_email
from bot.domain.spreadsheet import neutralise, restore
from bot.errors import BadInput
from bot.services.subscribers import check_language, clean_topics
from bot.store.db import session_scope
from bot.store.mailing import (
    Consent,
    Delivery,
    Edition,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
)
from bot.store.models import utcnow
from bot.store.subscribers import (
    ENDED,
    add_suppression,
    find_subscriber,
    get_list_row,
    latest_action,
    record_consent,
)

COLUMNS = ("email", "name", "language", "topics")
CHUNK = 500  # addresses looked up per query during an import
# An upload waiting between the dashboard's preview and its commit. Bigger than any
# newsroom's list; the cap is there so one upload cannot fill the disk.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
STAGED_TTL = 24 * 3600          # seconds an uncommitted upload is kept
_STAGED_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class RowProblem:
    line: int
    email: str
    reason: str


@dataclass
class ImportReport:
    source: str
    imported: int = 0            # newly on the list
    already: int = 0             # were on the list already
    invalid: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)   # left before: not re-subscribed
    # The rows that were (or, in a preview, would be) newly put on the list; for the
    # dashboard's preview, not part of the CLI's --json report.
    accepted: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        del data["accepted"]
        return data


@dataclass(frozen=True)
class _Row:
    line: int
    email: str
    name: str | None
    language: str | None
    topics: list[str]


# -- Import ---------------------------------------------------------------------------------------


def _read_text(path_or_text: str | Path) -> tuple[str, str]:
    """(text, where): a Path, or a str naming a file, is read; a str with a line break is
    the CSV itself."""
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        return path_or_text, "CSV text"
    path = Path(path_or_text)
    try:
        return path.read_bytes().decode("utf-8-sig"), str(path)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror})") from None


def _check_header(fieldnames: list[str] | None, where: str) -> None:
    expected = f"expected a header line with the columns {', '.join(COLUMNS)} (email required)"
    if not fieldnames:
        raise BadInput(f"{where}: empty file; {expected}")
    found = [f.strip().lower() for f in fieldnames]
    unknown = [f for f in found if f not in COLUMNS]
    if "email" not in found or unknown or len(set(found)) != len(found):
        detail = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else (
            "no email column" if "email" not in found else "a column appears twice")
        raise BadInput(f"{where}: {detail}; {expected}")


def parse_rows(text: str, where: str) -> tuple[list[_Row], list[RowProblem]]:
    """Valid rows and invalid ones, with line numbers (1 is the header)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_header(reader.fieldnames, where)
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    rows, invalid = [], []
    line = reader.line_num
    for record in reader:
        # Our own exports neutralise formula-looking cells ('=…): read them back as they were.
        record = {k: restore(v) if isinstance(v, str) else v for k, v in record.items()}
        start, line = line + 1, reader.line_num
        raw = (record.get("email") or "").strip()
        try:
            rows.append(_row(start, record, len(reader.fieldnames)))
        except BadInput as exc:
            invalid.append(RowProblem(start, raw, str(exc)))
    return rows, invalid


def _row(line: int, record: dict, width: int) -> _Row:
    if None in record:
        raise BadInput(f"{width + len(record[None])} fields; the header has {width}")
    name = (record.get("name") or "").strip() or None
    if name and len(name) > 200:
        raise BadInput("name is longer than 200 characters")
    language = (record.get("language") or "").strip()
    return _Row(line=line, email=normalize_email(record.get("email") or ""), name=name,
                language=check_language(language) if language else None,
                topics=clean_topics((record.get("topics") or "").split(";")))


def import_csv(settings: Settings, path_or_text: str | Path, list_name: str, *, origin: str,
               dry_run: bool = False) -> ImportReport:
    """Import subscribers as confirmed; BadInput for a file that cannot be used at all
    (wrong columns), each bad row reported with its line number otherwise. `dry_run`
    reports what the import would do and writes nothing."""
    text, where = _read_text(path_or_text)
    return import_text(settings, text, where, list_name, origin=origin, dry_run=dry_run)


def import_text(settings: Settings, text: str, where: str, list_name: str, *, origin: str,
                dry_run: bool = False) -> ImportReport:
    """`import_csv` on CSV text already read; `where` names it in errors."""
    rows, invalid = parse_rows(text, where)
    report = ImportReport(source=origin, invalid=invalid)
    first_line: dict[str, int] = {}
    unique = []
    for row in rows:
        key = row.email.lower()
        if key in first_line:
            report.duplicates.append(RowProblem(row.line, row.email, f"same address as line {first_line[key]}"))
        else:
            first_line[key] = row.line
            unique.append(row)
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list_row(session, list_name)
        for start in range(0, len(unique), CHUNK):
            _import_chunk(session, mlist, unique[start:start + CHUNK], report, origin)
        if dry_run:
            # The preview runs the import itself and throws its writes away, so it cannot
            # disagree with what a commit would do.
            session.rollback()
    return report


def _import_chunk(session, mlist: MailingList, rows: list[_Row], report: ImportReport, origin: str) -> None:
    suppressed = dict(session.execute(select(Suppression.email_hash, Suppression.reason).where(
        Suppression.email_hash.in_([email_hash(r.email) for r in rows]))).all())
    existing = {s.email.lower(): s for s in session.scalars(select(Subscriber).where(
        func.lower(Subscriber.email).in_([r.email.lower() for r in rows])))}
    subscriptions = {s.subscriber_id: s for s in session.scalars(select(Subscription).where(
        Subscription.list_id == mlist.id,
        Subscription.subscriber_id.in_([s.id for s in existing.values()])))}
    todo = []
    for row in rows:
        reason = suppressed.get(email_hash(row.email))
        if reason:
            report.skipped.append(RowProblem(row.line, row.email, f"on the suppression list ({reason})"))
            continue
        subscriber = existing.get(row.email.lower())
        if subscriber is not None and subscriber.status in ENDED:
            report.skipped.append(RowProblem(row.line, row.email, f"status {subscriber.status}"))
            continue
        if subscriber is None:
            subscriber = Subscriber(email=row.email, name=row.name, language=row.language,
                                    status=SubscriberStatus.PENDING)
            session.add(subscriber)
        todo.append((row, subscriber))
    session.flush()  # the chunk's new subscribers in one batched INSERT, for their ids
    for row, subscriber in todo:
        _import_one(session, mlist, subscriber, subscriptions.get(subscriber.id), row, report, origin)
    session.flush()


def _import_one(session, mlist: MailingList, subscriber: Subscriber, subscription: Subscription | None,
                row: _Row, report: ImportReport, origin: str) -> None:
    if subscription is not None and subscription.active:
        report.already += 1
        return
    if subscription is not None and latest_action(session, subscriber.id, mlist.id) != "subscribe":
        report.skipped.append(RowProblem(row.line, row.email, "unsubscribed from this list"))
        return
    if subscription is None:
        session.add(Subscription(subscriber_id=subscriber.id, list_id=mlist.id, topics=row.topics, active=True))
    else:  # a pending web sign-up: the operator's consent on file confirms it
        subscription.active, subscription.topics = True, row.topics or subscription.topics
    subscriber.name = subscriber.name or row.name
    subscriber.language = subscriber.language or row.language
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    record_consent(session, subscriber.id, mlist.id, "import", "csv", origin)
    report.imported += 1
    report.accepted.append({"line": row.line, "email": row.email, "name": row.name,
                            "language": row.language, "topics": row.topics})


# -- Uploads staged between a preview and its commit -----------------------------------------------


def _staging_dir(settings: Settings) -> Path:
    return settings.ensure_home() / "imports"


def stage_upload(settings: Settings, data: bytes, filename: str) -> str:
    """Keep an uploaded CSV under a random name in the data folder until the editor
    commits it; returns the name (the form carries it, never a path). BadInput for a file
    that is too big or not UTF-8."""
    where = filename or "upload"
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInput(f"{where}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    folder = private_folder(_staging_dir(settings))
    _forget_stale(folder)
    staged_id = secrets.token_urlsafe(16)
    # Subscribers' addresses: readable by the owner only, from the first byte.
    fd = os.open(folder / f"{staged_id}.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return staged_id


def _forget_stale(folder: Path) -> None:
    cutoff = time.time() - STAGED_TTL
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another request removed it first
            pass


def _staged_path(settings: Settings, staged_id: str) -> Path:
    path = _staging_dir(settings) / f"{staged_id}.csv"
    if not _STAGED_ID.match(staged_id or "") or not path.is_file():
        raise BadInput("this upload is no longer available (committed already, or older than a "
                       "day): upload the file again")
    return path


def import_staged(settings: Settings, staged_id: str, list_name: str, *, filename: str, origin: str,
                  dry_run: bool) -> ImportReport:
    """Preview (dry_run) or commit a staged upload; every row is validated again on commit.
    A commit removes the staged file, so a second click imports nothing twice."""
    path = _staged_path(settings, staged_id)
    text = path.read_bytes().decode("utf-8-sig")
    report = import_text(settings, text, filename or "upload", list_name, origin=origin, dry_run=dry_run)
    if not dry_run:
        path.unlink(missing_ok=True)
    return report


def discard_staged(settings: Settings, staged_id: str) -> None:
    if _STAGED_ID.match(staged_id or ""):
        (_staging_dir(settings) / f"{staged_id}.csv").unlink(missing_ok=True)


# -- Export ---------------------------------------------------------------------------------------


def export_csv(settings: Settings, list_name: str) -> str:
    """The list's confirmed, active subscribers in the import format (so it re-imports)."""
    buffer = io.StringIO()
    # CRLF (RFC 4180): the csv module quotes a cell holding a character of the line
    # terminator, so with "\n" alone a CR inside a name went out bare and split the row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list_row(session, list_name)
        query = (select(Subscriber.email, Subscriber.name, Subscriber.language, Subscription.topics)
                 .join(Subscription, Subscription.subscriber_id == Subscriber.id)
                 .where(Subscription.list_id == mlist.id, Subscription.active.is_(True),
                        Subscriber.status == SubscriberStatus.CONFIRMED)
                 .order_by(Subscriber.id))
        for email, name, language, topics in session.execute(query.execution_options(yield_per=1000)):
            writer.writerow([neutralise(cell) for cell in
                             (email, name or "", language or "", ";".join(topics or []))])
    return buffer.getvalue()


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_subscriber(settings: Settings, email: str) -> dict:
    """Everything held about one address: profile, subscriptions, consent history,
    deliveries, and whether its hash is suppressed."""
    with session_scope(settings.effective_database_url) as session:
        return held_about(session, normalize_email(email))


def held_about(session, normalized: str) -> dict:
    """`export_subscriber` inside a session, for a normalized address."""
    suppression = session.scalar(select(Suppression).where(Suppression.email_hash == email_hash(normalized)))
    subscriber = find_subscriber(session, normalized)
    if subscriber is None and suppression is None:
        raise BadInput(f"no subscriber with the address {normalized}")
    data: dict = {"email": normalized, "subscriber": None, "subscriptions": [], "consents": [],
                  "deliveries": [],
                  "suppression": suppression and {"reason": suppression.reason, "detail": suppression.detail,
                                                  "since": _iso(suppression.created_at)}}
    if subscriber is not None:
        data.update(_held(session, subscriber))
    return data


def _held(session, subscriber: Subscriber) -> dict:
    names = dict(session.execute(select(MailingList.id, MailingList.name)).all())
    sid = subscriber.id
    return {
        "subscriber": {"id": sid, "email": subscriber.email, "name": subscriber.name,
                       "language": subscriber.language, "timezone": subscriber.timezone,
                       "status": subscriber.status, "created_at": _iso(subscriber.created_at),
                       "confirmed_at": _iso(subscriber.confirmed_at)},
        "subscriptions": [{"list": names.get(s.list_id), "active": s.active, "topics": list(s.topics or []),
                           "since": _iso(s.created_at)}
                          for s in session.scalars(select(Subscription).where(Subscription.subscriber_id == sid)
                                                   .order_by(Subscription.id))],
        "consents": [{"at": _iso(c.at), "list": names.get(c.list_id), "action": c.action,
                      "method": c.method, "origin": c.origin}
                     for c in session.scalars(select(Consent).where(Consent.subscriber_id == sid)
                                              .order_by(Consent.id))],
        "deliveries": [{"edition_id": d.edition_id, "list": names.get(list_id), "state": d.state,
                        "attempts": d.attempts, "sent_at": _iso(d.sent_at), "smtp_reply": d.smtp_reply,
                        "last_error": d.last_error}
                       for d, list_id in session.execute(
                           select(Delivery, Edition.list_id).join(Edition, Edition.id == Delivery.edition_id)
                           .where(Delivery.subscriber_id == sid).order_by(Delivery.id))],
    }


# -- Erasure --------------------------------------------------------------------------------------


def erase_subscriber(settings: Settings, email: str) -> dict:
    """Remove the address and everything tied to it. Deliveries stay as anonymous history
    (subscriber_id NULL, the address scrubbed from their SMTP replies); the hash stays on
    the suppression list with reason "erased", so no import or form brings it back."""
    normalized = normalize_email(email)
    with session_scope(settings.effective_database_url) as session:
        subscriber = find_subscriber(session, normalized)
        deliveries = 0
        if subscriber is not None:
            deliveries = _anonymise_deliveries(session, subscriber)
            # Explicit deletes rather than trusting ON DELETE CASCADE (SQLite enforces it
            # only with the foreign_keys pragma on).
            session.execute(Consent.__table__.delete().where(Consent.subscriber_id == subscriber.id))
            session.execute(Subscription.__table__.delete().where(Subscription.subscriber_id == subscriber.id))
            session.delete(subscriber)
        _mark_erased(session, normalized)
        return {"erased": subscriber is not None, "deliveries_kept": deliveries}


def _anonymise_deliveries(session, subscriber: Subscriber) -> int:
    rows = list(session.scalars(select(Delivery).where(Delivery.subscriber_id == subscriber.id)))
    for delivery in rows:
        # SMTP replies often quote the recipient ("550 5.1.1 <alice@…>: unknown user").
        delivery.smtp_reply = _scrub(delivery.smtp_reply, subscriber.email)
        delivery.last_error = _scrub(delivery.last_error, subscriber.email)
    session.flush()
    session.execute(update(Delivery).where(Delivery.subscriber_id == subscriber.id).values(subscriber_id=None))
    return len(rows)


def _scrub(text: str | None, address: str) -> str | None:
    if not text:
        return text
    return re.sub(re.escape(address), "[erased]", text, flags=re.IGNORECASE)


def _mark_erased(session, normalized: str) -> None:
    if not add_suppression(session, normalized, "erased"):
        row = session.scalar(select(Suppression).where(Suppression.email_hash == email_hash(normalized)))
        if row.reason != "erased":
            # The old detail may quote the address (a bounce diagnostic); keep only the reason.
            row.reason, row.detail = "erased", f"previously {row.reason}"
