"""Digest editions delivered through a real SMTP server (aiosmtpd) and the outbox, on SQLite
and PostgreSQL: exactly once per subscriber, with the failures a real server produces."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.domain.articles import ArticleDraft
from bot.mail.transport import OutboxTransport, SmtpTransport
from bot.newsletter.mime import message_id
from bot.services import digests, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, Suppression
from bot.store.models import Source, SourceKind
from tests.support.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
DOMAIN = "gazette.example.org"


@pytest.fixture(params=["one-by-one", "pipelining"])
def smtp(request):
    server = SmtpServer(pipelining=request.param == "pipelining").start()
    yield server
    server.stop()


def make_list(settings, name: str = "morning", **options) -> int:
    return subscribers.add_list(settings, name, title="The Morning Gazette",
                                from_email=f"news@{DOMAIN}", from_name="Gazette",
                                schedule="daily 07:00", timezone="Europe/Paris", **options)


def add_subscribers(settings, n: int, list_name: str = "morning", **options) -> dict[str, int]:
    ids = {}
    for i in range(n):
        address = f"reader{i}@example.net"
        ids[address] = subscribers.add_confirmed(settings, address, list_name, name=f"Reader {i}",
                                                 **options)
    return ids


def add_articles(settings, n: int, *, seen: datetime = NOW - timedelta(hours=2), start: int = 0,
                 categories=("City",)) -> None:
    with session_scope(settings.effective_database_url) as s:
        source = s.query(Source).filter_by(url="test:feed").one_or_none()
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        drafts = [ArticleDraft(title=f"Story {i} about the harbour", url=f"https://{DOMAIN}/{i}",
                               guid=f"g{i}", summary="The ferry runs again.", categories=categories,
                               published=seen, language="en") for i in range(start, start + n)]
        store_drafts(s, source, drafts, now=seen)


def build_and_create(settings, slot: datetime = NOW) -> int:
    edition_id = digests.build_edition(settings, "morning", scheduled_for=slot, now=slot)
    assert edition_id is not None
    digests.create_deliveries(settings, edition_id)
    return edition_id


def send(settings, edition_id: int, server: SmtpServer, now: datetime = NOW) -> digests.BatchReport:
    with SmtpTransport(server.url, timeout=10) as transport:
        return digests.send_edition(settings, edition_id, transport=transport, now=now)


def states(settings, edition_id: int) -> dict[str, int]:
    with session_scope(settings.effective_database_url) as s:
        return dict(s.execute(select(Delivery.state, func.count()).where(
            Delivery.edition_id == edition_id).group_by(Delivery.state)).all())


def edition_status(settings, edition_id: int) -> str:
    with session_scope(settings.effective_database_url) as s:
        return s.get(Edition, edition_id).status


def test_a_scheduled_list_with_three_subscribers_gets_exactly_three_messages(settings, smtp):
    make_list(settings)
    readers = add_subscribers(settings, 3)
    add_articles(settings, 4)
    edition_id = build_and_create(settings)

    report = send(settings, edition_id, smtp)

    assert report.sent == 3 and report.failed == report.deferred == 0
    assert sorted(smtp.handler.recipients()) == sorted(readers)
    assert all(n == 1 for n in smtp.handler.recipients().values())
    for received in smtp.messages:
        assert received.message_id == message_id(edition_id, readers[received.to], DOMAIN)
        parsed = email.message_from_bytes(received.content, policy=email.policy.default)
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Story 3 about the harbour" in parsed.get_body(("plain",)).get_content()
    assert edition_status(settings, edition_id) == EditionStatus.SENT
    sent_rows = [d for d in digests.list_deliveries(settings) if d["edition_id"] == edition_id]
    assert {d["state"] for d in sent_rows} == {"sent"}
    assert all(d["smtp_reply"].startswith("250") for d in sent_rows)

    # The same slot again is the same edition; sending it again sends nothing more.
    assert digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW + timedelta(minutes=5)) == edition_id
    assert digests.create_deliveries(settings, edition_id) == 0  # a SENT edition gets no new rows
    assert send(settings, edition_id, smtp).claimed == 0
    assert len(smtp.messages) == 3 and smtp.connections == 1


def test_an_edition_with_nothing_new_is_skipped_and_sends_nothing(settings, smtp):
    make_list(settings)
    add_subscribers(settings, 2)
    assert digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW) is None  # no articles

    add_articles(settings, 2, seen=NOW + timedelta(hours=1))
    tomorrow = NOW + timedelta(days=1)
    first = build_and_create(settings, tomorrow)
    send(settings, first, smtp, tomorrow)
    assert len(smtp.messages) == 2

    # The day after, nothing arrived since: skipped, recorded, nothing sent.
    after = tomorrow + timedelta(days=1)
    assert digests.build_edition(settings, "morning", scheduled_for=after, now=after) is None
    with session_scope(settings.effective_database_url) as s:
        skipped = s.scalars(select(Edition).where(Edition.status == EditionStatus.SKIPPED)
                            .order_by(Edition.id)).all()
        assert [e.window_end for e in skipped] == [NOW, after]
        assert s.scalar(select(func.count()).select_from(Delivery)) == 2
    assert len(smtp.messages) == 2


def test_a_550_for_one_recipient_fails_and_suppresses_it_and_the_others_are_sent(settings, smtp):
    make_list(settings)
    readers = add_subscribers(settings, 6)
    add_articles(settings, 2)
    gone = "reader3@example.net"
    smtp.handler.rcpt_replies[gone] = "550 5.1.1 <reader3@example.net>: Recipient address rejected: User unknown"
    edition_id = build_and_create(settings)

    report = send(settings, edition_id, smtp)

    assert (report.sent, report.failed) == (5, 1)
    assert set(smtp.handler.recipients()) == set(readers) - {gone}
    [failed] = digests.list_deliveries(settings, failed_only=True)
    assert failed["email"] == gone and failed["smtp_reply"].startswith("550 5.1.1")
    assert edition_status(settings, edition_id) == EditionStatus.SENT
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 1

    # Next edition: the address is not tried again (the bounce also ends the subscriber,
    # so it gets no row at all, or a suppressed one).
    add_articles(settings, 1, start=10, seen=NOW + timedelta(hours=3))
    later = NOW + timedelta(days=1)
    second = build_and_create(settings, later)
    assert states(settings, second).get("pending") == 5
    send(settings, second, smtp, later)
    assert gone not in smtp.handler.recipients()


def test_a_451_is_deferred_then_sent_later_with_the_same_message_id(settings, smtp):
    make_list(settings)
    readers = add_subscribers(settings, 3)
    add_articles(settings, 2)
    smtp.handler.fail_next("451 4.3.0 Temporary local problem, try again")
    edition_id = build_and_create(settings)

    first = send(settings, edition_id, smtp)
    assert (first.sent, first.deferred) == (2, 1)
    [deferred] = [d for d in digests.list_deliveries(settings) if d["state"] == "deferred"]
    assert deferred["smtp_reply"].startswith("451")
    assert datetime.fromisoformat(deferred["next_attempt_at"]) > NOW
    assert edition_status(settings, edition_id) == EditionStatus.SENDING

    assert send(settings, edition_id, smtp, NOW + timedelta(minutes=1)).claimed == 0  # not due yet
    second = send(settings, edition_id, smtp, NOW + timedelta(hours=1))
    assert second.sent == 1
    address = deferred["email"]
    assert smtp.handler.recipients()[address] == 1
    tried = [a.message_id for a in smtp.handler.attempts if address in a.rcpt_tos]
    assert tried == [message_id(edition_id, readers[address], DOMAIN)] * 2
    assert edition_status(settings, edition_id) == EditionStatus.SENT


def test_421_and_a_dropped_connection_mid_batch_reconnect_and_deliver_everything_once(settings, smtp):
    make_list(settings)
    readers = add_subscribers(settings, 6)
    add_articles(settings, 2)
    smtp.handler.plan[("data", 2)] = "421 4.7.0 Too many messages on this connection"
    smtp.handler.plan[("mail", 4)] = "drop"   # the line dies before the message is handed over
    edition_id = build_and_create(settings)

    report = send(settings, edition_id, smtp)

    assert report.sent == 6
    assert smtp.handler.recipients() == {address: 1 for address in readers}
    assert smtp.connections == 3


def test_a_connection_dropped_after_the_message_is_deferred_not_lost(settings, smtp):
    make_list(settings)
    add_subscribers(settings, 3)
    add_articles(settings, 1)
    smtp.handler.plan[("data", 2)] = "drop"   # received, never answered: outcome unknown
    edition_id = build_and_create(settings)

    assert (send(settings, edition_id, smtp).sent, states(settings, edition_id)) == (2, {"sent": 2, "deferred": 1})
    assert send(settings, edition_id, smtp, NOW + timedelta(hours=1)).sent == 1
    assert sorted(smtp.handler.recipients().values()) == [1, 1, 1]


def test_suppressed_and_departed_subscribers_get_a_suppressed_row_and_no_mail(settings, smtp):
    make_list(settings)
    add_subscribers(settings, 4)
    add_articles(settings, 1)
    # Only the hash is added (as erasure leaves it): the subscriber row still says confirmed.
    with session_scope(settings.effective_database_url) as s:
        subscribers.add_suppression(s, "reader0@example.net", "erased")
    edition_id = build_and_create(settings)
    assert states(settings, edition_id) == {"pending": 3, "suppressed": 1}

    subscribers.suppress(settings, "reader1@example.net", "complained")  # after the rows were made
    report = send(settings, edition_id, smtp)

    assert (report.sent, report.suppressed) == (2, 1)
    assert set(smtp.handler.recipients()) == {"reader2@example.net", "reader3@example.net"}
    assert states(settings, edition_id) == {"sent": 2, "suppressed": 2}
    reasons = {d["email"]: d["last_error"] for d in digests.list_deliveries(settings)
               if d["state"] == "suppressed"}
    assert reasons["reader0@example.net"] == "on the suppression list"


def _broken_templates(tmp_path: Path) -> tuple[Path, int]:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    body = templates / "email" / "digest" / "body.html"
    lines = body.read_text().splitlines()
    at = lines.index("{% block content %}") + 1   # inside a block, so the child renders it
    lines.insert(at, "{{ no_such_variable.at_all }}")
    body.write_text("\n".join(lines) + "\n")
    return templates, at + 1


def test_a_template_that_fails_fails_the_edition_sends_nothing_and_names_the_line(settings, smtp, tmp_path):
    make_list(settings)
    add_subscribers(settings, 3)
    add_articles(settings, 2)
    templates, line = _broken_templates(tmp_path)

    # Broken before the build: the edition fails at once and gets no deliveries.
    broken = settings.model_copy(update={"templates_dir": templates})
    failed = digests.build_edition(broken, "morning", scheduled_for=NOW, now=NOW)
    info = digests.edition_info(broken, failed)
    assert info["status"] == EditionStatus.FAILED
    assert "body.html" in info["error"] and f"line {line}" in info["error"]
    assert digests.create_deliveries(broken, failed) == 0

    # Broken between the build and the send: the claimed rows go back, nothing is sent.
    later = NOW + timedelta(hours=1)
    edition_id = digests.build_edition(settings, "morning", scheduled_for=later, now=later)
    assert digests.create_deliveries(settings, edition_id) == 3
    report = send(broken, edition_id, smtp, later)
    assert report.sent == 0 and report.released == 3 and "body.html" in report.error
    assert edition_status(settings, edition_id) == EditionStatus.FAILED
    assert states(settings, edition_id) == {"pending": 3}
    assert smtp.messages == [] and smtp.handler.attempts == []


def test_the_outbox_writes_one_eml_per_recipient_and_a_retry_adds_none(settings):
    make_list(settings)
    add_subscribers(settings, 3)
    add_articles(settings, 2)
    edition_id = build_and_create(settings)
    outbox = settings.home / "outbox" / "email"

    report = digests.send_edition(settings, edition_id, now=NOW)  # no SMTP URL: the outbox
    files = sorted(outbox.glob("*.eml"))
    assert report.sent == 3 and len(files) == 3

    # A sender died after writing but before recording: the rows are taken over and redone.
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(Delivery).values(state=DeliveryState.CLAIMED, lease_until=NOW))
        s.execute(update(Edition).values(status=EditionStatus.SENDING, sent_at=None))
    again = digests.send_edition(settings, edition_id, now=NOW + timedelta(minutes=1))
    assert again.sent == 3
    assert sorted(outbox.glob("*.eml")) == files
    for path in files:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert path.name == parsed["Message-ID"].strip("<>") + ".eml"
    transport = OutboxTransport(outbox)
    transport.send(f"news@{DOMAIN}", "x@example.net", files[0].read_bytes())
    assert len(list(outbox.iterdir())) == 3


def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(settings.home), DATABASE_URL=settings.effective_database_url,
               PRESSBOT_BASE_URL="https://news.example.org", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_digest_render_on_the_examples_writes_a_one_click_message_with_inlined_styles(settings, tmp_path):
    from bot.services.ingest import ingest_targets

    ingest_targets(settings, [str(ROOT / "examples")])
    make_list(settings)
    add_subscribers(settings, 1)
    out = tmp_path / "digest.eml"

    result = run_cli(settings, "digest", "render", "--to", "reader0@example.net", "--list", "morning",
                     "--out", str(out))

    assert result.returncode == 0, result.stderr
    parsed = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == '"Reader 0" <reader0@example.net>' or "reader0@example.net" in parsed["To"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/")
    html = parsed.get_body(("html",)).get_content()
    assert html.count('style="') >= 10
    assert "%%PB:" not in html and "%%PB:" not in parsed.get_body(("plain",)).get_content()
    # A preview of the next edition stores nothing: no hidden edition whose page would 404.
    assert "nothing stored" in result.stderr
    assert digests.list_editions(settings) == []
    web_link = re.search(r'href="(https://news.example.org/editions[^"]*)"', html).group(1)
    assert web_link == "https://news.example.org/editions"   # the archive, not /editions/<none>

    stranger = run_cli(settings, "digest", "render", "--to", "nobody@example.net", "--list", "morning",
                       "--out", str(tmp_path / "x.eml"))
    assert stranger.returncode == 0, stranger.stderr
    assert "nobody@example.net is not subscribed" in stranger.stderr
    preview = email.message_from_bytes((tmp_path / "x.eml").read_bytes(), policy=email.policy.default)
    assert preview["To"] == "nobody@example.net"
    assert preview["Subject"] == parsed["Subject"]
    # As a test send: the site's pages without a token, which change nothing when clicked.
    assert preview["List-Unsubscribe"] == "<https://news.example.org/unsubscribe>"
    assert digests.list_editions(settings) == []


def test_digest_render_uses_the_edition_waiting_to_go_out(settings, tmp_path):
    make_list(settings)
    add_subscribers(settings, 1)
    add_articles(settings, 2)
    edition_id = build_and_create(settings)
    out = tmp_path / "digest.eml"
    result = run_cli(settings, "digest", "render", "--to", "reader0@example.net", "--list", "morning",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"edition {edition_id}:")
    parsed = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"].startswith(f"<e{edition_id}.s")   # the one it will be sent with
    # Its story links are counted, as the sent message's are (click tracking, issue 14).
    html = parsed.get_body(("html",)).get_content()
    assert "https://news.example.org/r/" in html and "%%PB:" not in html
    assert [e["id"] for e in digests.list_editions(settings)] == [edition_id]


def test_two_senders_racing_on_one_edition_send_each_message_once(settings, smtp):
    import threading

    make_list(settings)
    readers = add_subscribers(settings, 40)
    add_articles(settings, 1)
    edition_id = build_and_create(settings)
    small = settings.model_copy(update={"batch_size": 5})
    reports, errors = [], []

    def sender():
        try:
            reports.append(send(small, edition_id, smtp))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    assert sum(r.sent for r in reports) == 40
    assert smtp.handler.recipients() == {address: 1 for address in readers}


def _self_signed(tmp_path: Path):
    """A certificate for 127.0.0.1, and a client context that trusts only it."""
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime.now(timezone.utc) - timedelta(days=1))
            .not_valid_after(datetime.now(timezone.utc) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "smtps"])
def test_smtp_transport_uses_tls_and_logs_in_from_the_url(tmp_path, implicit_tls):
    from aiosmtpd.smtp import AuthResult

    from bot.mail.transport import TransportRefused

    server_tls, client_tls = _self_signed(tmp_path)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.login)
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"pressbot", b"s3cr:t/"),
                          handled=False)   # False: aiosmtpd answers the 535 itself

    # Either way the server speaks nothing but TLS before AUTH: require_starttls refuses
    # every command before STARTTLS, and an smtps socket is TLS from the first byte (which
    # aiosmtpd does not know, hence auth_require_tls=False there).
    tls = ({"ssl_context": server_tls, "auth_require_tls": False} if implicit_tls
           else {"tls_context": server_tls, "require_starttls": True})
    with SmtpServer(authenticator=authenticator, auth_required=True,
                    auth_exclude_mechanism=["LOGIN"], **tls) as server:
        scheme, rest = server.url.split("://")
        good = SmtpTransport(f"{scheme}://pressbot:s3cr%3At%2F@{rest}", tls_context=client_tls)
        with good:
            assert good.send(f"news@{DOMAIN}", "a@example.net", b"Message-ID: <1@x>\r\n\r\nhi\r\n").startswith("250")
            assert good.send(f"news@{DOMAIN}", "b@example.net", b"Message-ID: <2@x>\r\n\r\nhi\r\n").startswith("250")
        assert good.connections == 1 and len(server.messages) == 2
        assert logins == [b"pressbot"]   # once for the two messages

        with pytest.raises(TransportRefused, match="login refused"):
            with SmtpTransport(f"{scheme}://pressbot:wrong@{rest}", tls_context=client_tls) as bad:
                bad.send(f"news@{DOMAIN}", "c@example.net", b"Message-ID: <3@x>\r\n\r\nhi\r\n")
