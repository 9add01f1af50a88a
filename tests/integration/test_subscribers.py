"""Subscribers, lists, consent, tokens, suppression and bounces on SQLite and PostgreSQL,
plus the `pressbot lists|subscribers|bounces` commands as a user runs them."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.addresses import email_hash
from bot.errors import BadInput
from bot.newsletter.tokens import BadToken, make_token, unsubscribe_url
from bot.services import bounces, subscriber_data, subscribers
from bot.store.db import session_scope
from bot.store.mailing import (
    Consent,
    Delivery,
    Edition,
    Subscriber,
    Subscription,
    Suppression,
)
from bot.store.models import Base
from tests.integration.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)


def add_lists(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Brief", from_email="news@news.example.org",
                         from_name="The Gazette", schedule="daily 07:00", timezone="Europe/Paris",
                         categories=["City", "Sport"])
    subscribers.add_list(settings, "weekly", title="The Week", from_email="news@news.example.org",
                         from_name="The Gazette", language="fr", schedule="weekly Monday 08:00")


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def snapshot(settings) -> dict:
    """Everything the subscriber side can change."""
    with session_scope(settings.effective_database_url) as s:
        return {
            "subscribers": sorted((r.id, r.email, r.status, r.name, r.language)
                                  for r in s.scalars(select(Subscriber))),
            "subscriptions": sorted((r.subscriber_id, r.list_id, r.active, tuple(r.topics))
                                    for r in s.scalars(select(Subscription))),
            "consents": sorted((r.subscriber_id, r.list_id or 0, r.action, r.method)
                               for r in s.scalars(select(Consent))),
            "suppressions": sorted((r.email_hash, r.reason) for r in s.scalars(select(Suppression))),
        }


def subscriber(settings, email: str) -> Subscriber | None:
    with session_scope(settings.effective_database_url) as s:
        return subscribers.find_subscriber(s, email)


def actions(settings, email: str) -> list[tuple[str, str]]:
    return [(c["action"], c["method"]) for c in subscriber_data.export_subscriber(settings, email)["consents"]]


def confirmed(settings, email: str, list_name: str = "morning") -> int:
    request = subscribers.subscribe(settings, email, list_name, origin="203.0.113.9")
    subscribers.confirm(settings, token_of(request.confirm_url))
    return request.subscriber_id


def suppressed(settings, email: str) -> str | None:
    with session_scope(settings.effective_database_url) as s:
        return s.scalar(select(Suppression.reason).where(Suppression.email_hash == email_hash(email)))


# -- Lists ----------------------------------------------------------------------------------------


def test_lists_are_validated_and_stored_in_normal_form(settings):
    add_lists(settings)
    morning = subscribers.get_list(settings, "morning")
    assert morning["schedule"] == "daily 07:00" and morning["timezone"] == "Europe/Paris"
    assert subscribers.get_list(settings, "weekly")["schedule"] == "weekly mon 08:00"
    assert morning["categories"] == ["City", "Sport"] and morning["subscribers"] == 0
    assert [row["name"] for row in subscribers.list_lists(settings)] == ["morning", "weekly"]
    good = dict(title="T", from_email="a@news.example.org", from_name="N")
    for name, extra, needle in [
        ("morning", {}, "exists already"),
        ("Bad Name", {}, "list name"),
        ("x1", {"from_email": "not-an-address"}, "not a valid email"),
        ("x2", {"reply_to": "a@b"}, "not a valid email"),
        ("x3", {"language": "xx"}, "language"),
        ("x4", {"timezone": "Europe/Atlantis"}, "Europe/Atlantis"),
        ("x5", {"schedule": "every morning"}, "schedule"),
        ("x6", {"max_articles": 0}, "max-articles"),
        ("x7", {"template": "nope"}, "templates/email/nope"),
        ("x8", {"template": "../digest"}, "template"),
    ]:
        with pytest.raises(BadInput, match=needle):
            subscribers.add_list(settings, name, **{**good, **extra})
    with pytest.raises(BadInput, match="no list named 'nope'"):
        subscribers.get_list(settings, "nope")


# -- Double opt-in --------------------------------------------------------------------------------


def test_double_opt_in(settings):
    add_lists(settings)
    request = subscribers.subscribe(settings, " Reader@Example.ORG ", "morning", name="Ada", language="fr",
                                    topics=["City", "City", " Sport "], origin="203.0.113.9")
    assert request.email == "Reader@example.org" and request.language == "fr"
    assert request.list_title == "The Morning Brief" and request.from_email == "news@news.example.org"
    assert request.confirm_url.startswith(f"{settings.base_url}/confirm/")
    pending = subscriber(settings, "reader@example.org")
    assert pending.status == "pending" and pending.confirmed_at is None
    # Nothing goes out before the click: the subscription is not active yet.
    assert snapshot(settings)["subscriptions"] == [(request.subscriber_id, request.list_id, False, ("City", "Sport"))]
    assert subscribers.get_list(settings, "morning")["subscribers"] == 0

    outcome = subscribers.confirm(settings, token_of(request.confirm_url), origin="203.0.113.9")
    assert outcome["changed"] is True and outcome["status"] == "confirmed"
    assert outcome["lists"] == [{"name": "morning", "title": "The Morning Brief"}]
    assert subscriber(settings, "reader@example.org").confirmed_at is not None
    assert snapshot(settings)["subscriptions"][0][2] is True
    assert subscribers.get_list(settings, "morning")["subscribers"] == 1

    before = snapshot(settings)
    assert subscribers.confirm(settings, token_of(request.confirm_url))["changed"] is False   # idempotent
    assert subscribers.subscribe(settings, "reader@example.org", "morning") is None          # already on it
    assert snapshot(settings) == before
    assert actions(settings, "reader@example.org") == [("subscribe", "web"), ("confirm", "web")]
    consent = subscriber_data.export_subscriber(settings, "reader@example.org")["consents"][0]
    assert consent["origin"] == "203.0.113.9" and consent["list"] == "morning"


def outbox_messages(home: Path) -> list:
    import email
    from email import policy

    folder = home / "outbox" / "email"
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def test_the_confirmation_email_carries_a_link_that_confirms(settings):
    """The whole double opt-in: sign up, the email goes out (to the outbox: no SMTP is
    configured), the link in it confirms."""
    add_lists(settings)
    request = subscribers.subscribe(settings, "reader@example.org", "weekly", name="Zoé")
    reply = subscribers.send_confirmation(settings, request.subscriber_id, request.list_id)
    assert reply.startswith("250")
    [message] = outbox_messages(settings.home)
    assert message["To"].addresses[0].addr_spec == "reader@example.org"
    assert message["From"].addresses[0].addr_spec == "news@news.example.org"
    assert message["List-Unsubscribe"] is None          # not subscribed yet
    text = message.get_body(("plain",)).get_content()
    [link] = [w for w in text.split() if "/confirm/" in w]
    assert link.startswith(f"{settings.base_url}/confirm/")
    from bot.newsletter.tokens import read_token
    assert read_token(settings.effective_secret_key(), "confirm", token_of(link)) == (
        request.subscriber_id, request.list_id)
    assert subscriber(settings, "reader@example.org").status == "pending"
    subscribers.confirm(settings, token_of(link))
    assert subscriber(settings, "reader@example.org").status == "confirmed"


def test_suppress_sets_the_status_of_a_known_subscriber(settings):
    add_lists(settings)
    confirmed(settings, "bounce@example.org")
    confirmed(settings, "angry@example.org")
    assert subscribers.suppress(settings, "bounce@example.org", "bounced", "550 5.1.1 user unknown") is True
    assert subscribers.suppress(settings, "angry@example.org", "complained") is True
    assert subscriber(settings, "bounce@example.org").status == "bounced"
    assert subscriber(settings, "angry@example.org").status == "complained"
    assert not subscriber_data.export_subscriber(settings, "angry@example.org")["subscriptions"][0]["active"]
    assert subscribers.suppress(settings, "bounce@example.org", "bounced") is False


def test_confirmation_is_per_list(settings):
    """A confirmed reader signed up to a second list by a form still has to click for it."""
    add_lists(settings)
    sid = confirmed(settings, "reader@example.org")
    second = subscribers.subscribe(settings, "reader@example.org", "weekly")
    assert second.subscriber_id == sid
    assert sorted(snapshot(settings)["subscriptions"])[1][2] is False
    subscribers.confirm(settings, token_of(second.confirm_url))
    assert all(row[2] for row in snapshot(settings)["subscriptions"])


def test_a_form_cannot_change_a_confirmed_subscribers_details(settings):
    add_lists(settings)
    request = subscribers.subscribe(settings, "reader@example.org", "morning", name="Ada")
    subscribers.confirm(settings, token_of(request.confirm_url))
    subscribers.subscribe(settings, "reader@example.org", "weekly", name="Mallory", language="ar")
    row = subscriber(settings, "reader@example.org")
    assert (row.name, row.language) == ("Ada", None)


def test_suppressed_or_departed_addresses_are_a_silent_no_op(settings):
    add_lists(settings)
    subscribers.suppress(settings, "Gone@Example.org", "bounced", "550 5.1.1")
    before = snapshot(settings)
    assert subscribers.subscribe(settings, "gone@example.org", "morning") is None
    assert subscribers.add_confirmed(settings, "gone@example.org", "morning") is None
    assert snapshot(settings) == before
    assert subscribers.suppress(settings, "gone@example.org", "complained") is False  # already there
    with pytest.raises(BadInput, match="not a valid email"):
        subscribers.subscribe(settings, "gone@", "morning")
    with pytest.raises(BadInput, match="no list named"):
        subscribers.subscribe(settings, "new@example.org", "nope")


def test_forged_expired_and_wrong_purpose_tokens_change_nothing(settings, monkeypatch):
    add_lists(settings)
    request = subscribers.subscribe(settings, "reader@example.org", "morning")
    victim = confirmed(settings, "victim@example.org")
    secret = settings.effective_secret_key()
    before = snapshot(settings)
    bad = [
        make_token(secret, "unsubscribe", request.subscriber_id, request.list_id),   # wrong purpose
        make_token("not-our-secret", "confirm", request.subscriber_id, request.list_id),
        token_of(request.confirm_url)[:-2] + "xx",                                 # tampered signature
        "WzEsMV0.awsrLA.Q058u6wBshqolt3FqFjvgHCMm1Q",                               # made up
    ]
    for token in bad:
        with pytest.raises(BadToken):
            subscribers.confirm(settings, token)
    for purpose in ("confirm", "preferences"):
        with pytest.raises(BadToken):
            subscribers.unsubscribe(settings, make_token(secret, purpose, victim, 1))
    for purpose in ("confirm", "unsubscribe"):
        with pytest.raises(BadToken):
            subscribers.update_preferences(settings, make_token(secret, purpose, victim, 1), lists=[])
    with pytest.raises(BadToken):
        subscribers.unsubscribe(settings, make_token("not-our-secret", "unsubscribe", victim, 1))
    with pytest.raises(BadToken):
        subscribers.update_preferences(settings, make_token("not-our-secret", "preferences", victim, 1),
                                       lists=[])
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 24 * 3600)
    with pytest.raises(BadToken, match="expired"):
        subscribers.confirm(settings, token_of(request.confirm_url))
    assert snapshot(settings) == before


# -- Unsubscribe and preferences ------------------------------------------------------------------


def test_one_click_unsubscribe(settings):
    add_lists(settings)
    sid = confirmed(settings, "reader@example.org", "morning")
    confirmed(settings, "reader@example.org", "weekly")
    morning_id, weekly_id = (subscribers.get_list(settings, n)["id"] for n in ("morning", "weekly"))

    first = subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, sid, morning_id)),
                                    origin="198.51.100.1")
    assert first["changed"] is True and first["lists"][0]["name"] == "morning"
    # Still on the other list: still confirmed, not suppressed.
    assert subscriber(settings, "reader@example.org").status == "confirmed"
    assert suppressed(settings, "reader@example.org") is None

    before = snapshot(settings)
    again = subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, sid, morning_id)))
    assert again["changed"] is False and snapshot(settings) == before           # idempotent

    subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, sid, weekly_id)))
    assert subscriber(settings, "reader@example.org").status == "unsubscribed"
    assert suppressed(settings, "reader@example.org") == "unsubscribed"
    assert actions(settings, "reader@example.org").count(("unsubscribe", "one-click")) == 2
    # Gone for good: neither the form nor an operator brings the address back.
    assert subscribers.subscribe(settings, "reader@example.org", "morning") is None
    assert subscribers.add_confirmed(settings, "reader@example.org", "morning") is None


def test_unsubscribe_everywhere_and_an_old_confirmation_link(settings):
    add_lists(settings)
    request = subscribers.subscribe(settings, "reader@example.org", "morning")
    subscribers.confirm(settings, token_of(request.confirm_url))
    subscribers.add_confirmed(settings, "reader@example.org", "weekly")
    result = subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, request.subscriber_id, None)))
    assert result["changed"] and {m["name"] for m in result["lists"]} == {"morning", "weekly"}
    assert not any(row[2] for row in snapshot(settings)["subscriptions"])
    # Clicking the week-old confirmation link again does not undo the unsubscribe.
    assert subscribers.confirm(settings, token_of(request.confirm_url))["changed"] is False
    assert subscriber(settings, "reader@example.org").status == "unsubscribed"


def test_a_pending_sign_up_can_be_withdrawn_before_confirming(settings):
    add_lists(settings)
    request = subscribers.subscribe(settings, "reader@example.org", "morning")
    subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, request.subscriber_id, request.list_id)))
    assert subscribers.confirm(settings, token_of(request.confirm_url))["changed"] is False
    assert subscriber(settings, "reader@example.org").status == "unsubscribed"


def test_an_erased_subscribers_unsubscribe_link_still_succeeds(settings):
    add_lists(settings)
    sid = confirmed(settings, "reader@example.org")
    url = unsubscribe_url(settings, sid, 1)
    subscriber_data.erase_subscriber(settings, "reader@example.org")
    assert subscribers.unsubscribe(settings, token_of(url))["changed"] is False


def test_preferences(settings):
    add_lists(settings)
    sid = confirmed(settings, "reader@example.org", "morning")
    morning_id = subscribers.get_list(settings, "morning")["id"]
    token = make_token(settings.effective_secret_key(), "preferences", sid, morning_id)

    shown = subscribers.get_preferences(settings, token)
    assert [(m["name"], m["subscribed"]) for m in shown["lists"]] == [("morning", True), ("weekly", False)]

    prefs = subscribers.update_preferences(settings, token, topics=["Sport"], language="ar")
    assert prefs["language"] == "ar" and prefs["lists"][0]["topics"] == ["Sport"]

    prefs = subscribers.update_preferences(settings, token, lists=["weekly"], origin="198.51.100.1")
    assert [(m["name"], m["subscribed"]) for m in prefs["lists"]] == [("morning", False), ("weekly", True)]
    assert ("subscribe", "preferences") in actions(settings, "reader@example.org")
    assert ("unsubscribe", "preferences") in actions(settings, "reader@example.org")
    assert subscriber(settings, "reader@example.org").status == "confirmed"

    with pytest.raises(BadInput, match="no list named nope"):
        subscribers.update_preferences(settings, token, lists=["weekly", "nope"])
    with pytest.raises(BadInput, match="language"):
        subscribers.update_preferences(settings, token, language="klingon")

    subscribers.update_preferences(settings, token, lists=[])
    assert subscriber(settings, "reader@example.org").status == "unsubscribed"
    assert suppressed(settings, "reader@example.org") == "unsubscribed"
    with pytest.raises(BadInput, match="cannot be re-subscribed"):
        subscribers.update_preferences(settings, token, lists=["morning"])


# -- CSV ------------------------------------------------------------------------------------------


CSV = """email,name,language,topics
ada@example.org,Ada Lovelace,en,City;Sport
not-an-address,Nobody,en,
grace@example.org,Grace,fr,
ADA@example.org,Ada again,,
left@example.org,Left,,
zoe@example.org,"Zoë, Dr.",fr,
bad.language@example.org,Bad,klingon,
bounced@example.org,,,
,Empty,,
extra@example.org,Extra,en,City,surplus
"""


def test_csv_import_reports_bad_rows_by_line_and_imports_the_rest(settings, tmp_path):
    add_lists(settings)
    sid = confirmed(settings, "left@example.org", "morning")
    subscribers.unsubscribe(settings, token_of(unsubscribe_url(settings, sid, None)))
    subscribers.suppress(settings, "bounced@example.org", "bounced")
    path = tmp_path / "readers.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")    # with the BOM spreadsheets write

    report = subscriber_data.import_csv(settings, path, "morning", origin="readers.csv")
    assert report.imported == 3
    assert [(p.line, p.email) for p in report.invalid] == [
        (3, "not-an-address"), (8, "bad.language@example.org"), (10, ""), (11, "extra@example.org")]
    assert "not a valid email" in report.invalid[0].reason and "language" in report.invalid[1].reason
    assert "fields" in report.invalid[3].reason
    assert [(p.line, p.reason) for p in report.duplicates] == [(5, "same address as line 2")]
    assert [(p.line, p.email) for p in report.skipped] == [(6, "left@example.org"), (9, "bounced@example.org")]

    ada = subscriber_data.export_subscriber(settings, "ada@example.org")
    assert ada["subscriber"]["status"] == "confirmed" and ada["subscriber"]["name"] == "Ada Lovelace"
    assert ada["subscriptions"] == [{"list": "morning", "active": True, "topics": ["City", "Sport"],
                                     "since": ada["subscriptions"][0]["since"]}]
    assert [(c["action"], c["method"], c["origin"]) for c in ada["consents"]] == [("import", "csv", "readers.csv")]
    assert subscriber(settings, "zoe@example.org").name == "Zoë, Dr."
    # Nobody who left came back.
    assert subscriber(settings, "left@example.org").status == "unsubscribed"
    assert subscriber(settings, "bounced@example.org") is None

    again = subscriber_data.import_csv(settings, path, "morning", origin="readers.csv")
    assert (again.imported, again.already) == (0, 3)


@pytest.mark.parametrize("text, needle", [
    ("mail,name\nada@example.org,Ada\n", "unknown column(s) 'mail'"),
    ("name,language\nAda,en\n", "no email column"),
    ("email,email\na@example.org,b@example.org\n", "twice"),
    ("", "empty file"),
])
def test_csv_with_wrong_columns_is_refused_whole(settings, tmp_path, text, needle):
    add_lists(settings)
    path = tmp_path / "wrong.csv"
    path.write_text(text)
    with pytest.raises(BadInput) as info:
        subscriber_data.import_csv(settings, path, "morning", origin="wrong.csv")
    assert needle in str(info.value)
    assert "email, name, language, topics" in str(info.value) and "wrong.csv" in str(info.value)
    assert snapshot(settings)["subscribers"] == []


def test_csv_import_confirms_a_pending_sign_up_and_reads_text(settings):
    add_lists(settings)
    subscribers.subscribe(settings, "pending@example.org", "morning")
    report = subscriber_data.import_csv(settings, "email\npending@example.org\n", "morning", origin="paste")
    assert report.imported == 1
    assert subscriber(settings, "pending@example.org").status == "confirmed"


def test_export_csv_round_trips(settings):
    add_lists(settings)
    subscriber_data.import_csv(settings, CSV, "morning", origin="readers.csv")
    subscribers.subscribe(settings, "pending@example.org", "morning")      # not confirmed: not exported
    exported = subscriber_data.export_csv(settings, "morning")
    lines = exported.splitlines()
    assert lines[0] == "email,name,language,topics"
    assert "ada@example.org,Ada Lovelace,en,City;Sport" in lines
    assert not any("pending@" in line for line in lines)
    assert len(lines) == 1 + 5   # ada, grace, left, zoe, bounced (none of them left in this test)
    add_lists_weekly = subscriber_data.import_csv(settings, exported, "weekly", origin="export")
    assert add_lists_weekly.imported == 5 and not add_lists_weekly.invalid
    assert subscriber_data.export_csv(settings, "weekly").splitlines()[1:] == lines[1:]


# -- Per-subscriber export and erasure ------------------------------------------------------------


def add_delivery(settings, email: str, reply: str) -> None:
    with session_scope(settings.effective_database_url) as s:
        edition = Edition(list_id=subscribers.get_list_row(s, "morning").id, scheduled_for=NOW,
                          window_end=NOW, content={"articles": []}, subject="The Morning Brief")
        s.add(edition)
        s.flush()
        s.add(Delivery(edition_id=edition.id, subscriber_id=subscribers.find_subscriber(s, email).id,
                       state="failed", attempts=1, smtp_reply=reply, last_error=reply))


def test_export_subscriber_holds_everything(settings):
    add_lists(settings)
    confirmed(settings, "reader@example.org")
    add_delivery(settings, "reader@example.org", "250 2.0.0 Ok: queued")
    data = subscriber_data.export_subscriber(settings, "READER@example.org")
    assert data["subscriber"]["email"] == "reader@example.org"
    assert [s["list"] for s in data["subscriptions"]] == ["morning"]
    assert [c["action"] for c in data["consents"]] == ["subscribe", "confirm"]
    assert data["deliveries"][0]["list"] == "morning" and data["deliveries"][0]["state"] == "failed"
    assert data["suppression"] is None
    json.dumps(data)   # plain data, ready for --json
    with pytest.raises(BadInput, match="no subscriber"):
        subscriber_data.export_subscriber(settings, "stranger@example.org")


def all_stored_text(settings) -> str:
    with session_scope(settings.effective_database_url) as s:
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in s.execute(table.select()))


def test_erasure_leaves_only_the_hash(settings):
    add_lists(settings)
    confirmed(settings, "Erase.Me@example.org")
    add_delivery(settings, "erase.me@example.org", "550 5.1.1 <erase.me@example.org>: User unknown")
    subscribers.suppress(settings, "erase.me@example.org", "bounced", "550 <Erase.Me@example.org> unknown")
    assert "erase.me@example.org" in all_stored_text(settings).lower()

    result = subscriber_data.erase_subscriber(settings, "erase.me@example.org")
    assert result == {"erased": True, "deliveries_kept": 1}
    stored = all_stored_text(settings).lower()
    assert "erase.me" not in stored
    with session_scope(settings.effective_database_url) as s:
        [delivery] = s.scalars(select(Delivery))
        assert delivery.subscriber_id is None and "[erased]" in delivery.smtp_reply
        assert s.scalars(select(Consent)).all() == [] and s.scalars(select(Subscription)).all() == []
    assert suppressed(settings, "erase.me@example.org") == "erased"
    assert subscriber_data.export_subscriber(settings, "erase.me@example.org")["subscriber"] is None
    # The hash keeps it out of every way back in.
    assert subscribers.subscribe(settings, "erase.me@example.org", "morning") is None
    report = subscriber_data.import_csv(settings, "email\nErase.Me@example.org\n", "morning", origin="x")
    assert report.imported == 0 and "erased" in report.skipped[0].reason
    assert subscriber_data.erase_subscriber(settings, "erase.me@example.org")["erased"] is False


# -- Bounces --------------------------------------------------------------------------------------


def test_bounces_and_complaints_suppress(settings, tmp_path):
    add_lists(settings)
    for email in ("gone.away@example.com", "former.student@example.edu", "full.mailbox@example.edu",
                  "slow.inbox@example.net", "annoyed.reader@mailbox.example"):
        subscriber_data.import_csv(settings, f"email\n{email}\n", "morning", origin="seed")
    subscriber_data.import_csv(settings, "email\nannoyed.reader@mailbox.example\n", "weekly", origin="seed")
    hidden = confirmed(settings, "hidden.reader@bigmail.example")
    redacted = tmp_path / "arf-redacted.eml"
    redacted.write_text((DATA / "arf-redacted.eml.tmpl").read_text().replace(
        "{unsubscribe_url}", unsubscribe_url(settings, hidden, 1)))
    files = [DATA / name for name in ("postfix-hard.eml", "sendmail-two-recipients.eml", "exim-delayed.eml",
                                      "arf-abuse.eml", "out-of-office.eml")] + [redacted, tmp_path / "missing.eml"]

    report = bounces.import_bounces(settings, files)
    assert sorted(e["email"] for e in report.hard) == ["former.student@example.edu", "gone.away@example.com"]
    assert sorted(e["email"] for e in report.complaints) == ["annoyed.reader@mailbox.example",
                                                             "hidden.reader@bigmail.example"]
    assert sorted(e["email"] for e in report.soft) == ["full.mailbox@example.edu", "slow.inbox@example.net"]
    assert [Path(u["file"]).name for u in report.unparseable] == ["out-of-office.eml", "missing.eml"]

    for email in ("gone.away@example.com", "former.student@example.edu"):
        assert subscriber(settings, email).status == "bounced"
        assert suppressed(settings, email) == "bounced"
    for email in ("annoyed.reader@mailbox.example", "hidden.reader@bigmail.example"):
        assert subscriber(settings, email).status == "complained"
        assert suppressed(settings, email) == "complained"
        held = subscriber_data.export_subscriber(settings, email)
        assert not any(s["active"] for s in held["subscriptions"])
        assert ("unsubscribe", "complaint") in [(c["action"], c["method"]) for c in held["consents"]]
    assert suppressed(settings, "redacted@bigmail.example") is None   # the token, not the redacted To
    for email in ("full.mailbox@example.edu", "slow.inbox@example.net"):      # soft: nothing changes
        assert subscriber(settings, email).status == "confirmed" and suppressed(settings, email) is None

    before = snapshot(settings)
    again = bounces.import_bounces(settings, files)
    assert len(again.hard) == 2 and snapshot(settings) == before              # idempotent
    assert subscriber_data.import_csv(settings, "email\ngone.away@example.com\n", "weekly",
                                      origin="x").skipped


def test_a_bounce_for_an_unknown_address_still_suppresses_it(settings):
    report = bounces.import_bounces(settings, [DATA / "postfix-hard.eml"])
    assert report.hard[0]["subscriber"] is False
    assert suppressed(settings, "gone.away@example.com") == "bounced"


# -- CLI ------------------------------------------------------------------------------------------


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_cli_lists_and_subscribers(tmp_path):
    home = tmp_path / "data"
    ok = run(home, "lists", "add", "morning", "--title", "The Morning Brief", "--from-email",
             "news@news.example.org", "--from-name", "The Gazette", "--schedule", "daily 07:00",
             "--timezone", "Europe/Paris")
    assert ok.returncode == 0, ok.stderr
    bad = run(home, "lists", "add", "evening", "--title", "E", "--from-email", "news@", "--from-name", "G")
    assert bad.returncode == 2 and "news@" in bad.stderr
    assert run(home, "lists", "show", "nope").returncode == 2
    listed = json.loads(run(home, "lists", "list", "--json").stdout)
    assert [(r["name"], r["schedule"]) for r in listed] == [("morning", "daily 07:00")]

    pending = run(home, "subscribers", "add", "ada@example.org", "--list", "morning")
    assert pending.returncode == 0, pending.stderr
    assert "confirmation sent" in pending.stdout
    [message] = outbox_messages(home)
    assert message["To"].addresses[0].addr_spec == "ada@example.org"
    assert "/confirm/" in message.get_body(("plain",)).get_content()
    added = run(home, "subscribers", "add", "grace@example.org", "--list", "morning", "--confirmed",
                "--name", "Grace")
    assert added.returncode == 0, added.stderr
    shown = json.loads(run(home, "subscribers", "show", "grace@example.org", "--json").stdout)
    assert shown["subscriber"]["status"] == "confirmed"
    assert [(c["action"], c["method"]) for c in shown["consents"]] == [("subscribe", "cli")]
    assert run(home, "subscribers", "add", "bad@", "--list", "morning").returncode == 2
    assert run(home, "subscribers", "add", "x@example.org", "--list", "nope").returncode == 2

    csv_file = tmp_path / "readers.csv"
    csv_file.write_text("email,name\nlin@example.org,Lin\nnope,No\nlin@example.org,Lin\n")
    imported = run(home, "subscribers", "import", str(csv_file), "--list", "morning")
    assert imported.returncode == 0, imported.stderr
    assert "1 imported" in imported.stdout
    assert "readers.csv:3: invalid: nope" in imported.stderr
    assert "readers.csv:4: duplicate" in imported.stderr
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("address\nlin@example.org\n")
    refused = run(home, "subscribers", "import", str(wrong), "--list", "morning")
    assert refused.returncode == 2 and "wrong.csv" in refused.stderr and "email" in refused.stderr
    assert run(home, "subscribers", "import", str(tmp_path / "none.csv"), "--list", "morning").returncode == 2

    exported = run(home, "subscribers", "export", "--list", "morning")
    assert exported.returncode == 0
    assert exported.stdout.splitlines() == ["email,name,language,topics", "grace@example.org,Grace,,",
                                            "lin@example.org,Lin,,"]
    out_file = tmp_path / "out.csv"
    assert run(home, "subscribers", "export", "--list", "morning", "--out", str(out_file)).returncode == 0
    assert out_file.read_text() == exported.stdout

    removed = run(home, "subscribers", "remove", "lin@example.org")
    assert removed.returncode == 0 and "erased" in removed.stdout
    again = run(home, "subscribers", "add", "lin@example.org", "--list", "morning", "--confirmed")
    assert again.returncode == 1 and "not added" in again.stderr
    assert run(home, "subscribers", "show", "stranger@example.org").returncode == 2


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_cli_bounces_import(tmp_path):
    home = tmp_path / "data"
    run(home, "lists", "add", "morning", "--title", "M", "--from-email", "news@news.example.org",
        "--from-name", "G")
    run(home, "subscribers", "add", "gone.away@example.com", "--list", "morning", "--confirmed")
    result = run(home, "bounces", "import", str(DATA / "postfix-hard.eml"), str(DATA / "out-of-office.eml"),
                 str(DATA / "exim-delayed.eml"))
    assert result.returncode == 0, result.stderr
    assert "1 hard bounces suppressed" in result.stdout and "1 soft or delayed" in result.stdout
    assert "out-of-office.eml" in result.stderr
    shown = json.loads(run(home, "subscribers", "show", "gone.away@example.com", "--json").stdout)
    assert shown["subscriber"]["status"] == "bounced" and shown["suppression"]["reason"] == "bounced"
    missing = run(home, "bounces", "import", str(tmp_path / "nothing.eml"))
    assert missing.returncode == 2 and "nothing.eml" in missing.stderr
