"""Providers' bounce webhooks over real HTTP (uvicorn), on SQLite and PostgreSQL, with the
recorded payloads in tests/data/bounces/providers/ signed the way each provider signs them:
SNS with a certificate generated here (served to the app through its injectable SNS fetch,
after the app checked the URL is an amazonaws.com certificate address), Mailgun's HMAC,
Postmark's basic auth, SendGrid's ECDSA. Each suppresses the right address once; anything
unsigned, mis-signed or from another SNS topic changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from bot.services import subscribers
from bot.store.db import session_scope
from bot.store.mailing import Consent, Delivery, Subscriber, Suppression
from bot.web.app import create_app
from tests.integration.test_digest_delivery import (add_articles, add_subscribers, build_and_create,
                                                    make_list, send)
from tests.support.smtpserver import SmtpServer
from tests.support.webserver import AppServer

PROVIDERS = Path(__file__).resolve().parents[1] / "data" / "bounces" / "providers"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
POSTMARK = ("postmark", "hook-password")
READERS = ("jane@example.com", "mary@example.com", "richard@example.com", "alice@example.com",
           "john@example.com", "example@test.com", "blocked@test.com", "complainer@test.com")


def recorded(name: str):
    return json.loads((PROVIDERS / name).read_text())


# -- the providers' side: keys and signatures made here ------------------------------------


def _self_signed() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


SNS_KEY, SNS_CERT = _self_signed()
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(SENDGRID_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def sns_signed(message: dict, key=SNS_KEY) -> bytes:
    """Sign as SNS does (Amazon SNS Developer Guide, "Verifying the signatures of Amazon SNS
    messages"): the listed fields present, as name LF value LF, in this order."""
    names = (("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
             if message["Type"] == "Notification" else
             ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"))
    text = "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()
    algorithm = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(text, padding.PKCS1v15(), algorithm)
    return json.dumps({**message, "Signature": base64.b64encode(signature).decode()}).encode()


def mailgun_signed(payload: dict, key: str = MAILGUN_KEY) -> bytes:
    stamp, token = str(int(time.time())), hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({**payload, "signature": {"timestamp": stamp, "token": token,
                                                "signature": signature}}).encode()


def sendgrid_headers(body: bytes, key=SENDGRID_KEY) -> dict:
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp}


# -- our side -------------------------------------------------------------------------------


@pytest.fixture
def hook_settings(settings):
    return settings.model_copy(update={
        "ses_topic_arns": [TOPIC], "mailgun_signing_key": MAILGUN_KEY,
        "postmark_webhook_user": POSTMARK[0], "postmark_webhook_password": POSTMARK[1],
        "sendgrid_webhook_public_key": SENDGRID_PUBLIC,
        "bounce_address": "bounces@gazette.example.org"})


@pytest.fixture
def fetched():
    return []


@pytest.fixture
def server(hook_settings, fetched):
    app = create_app(hook_settings)

    def sns_fetch(url: str) -> bytes:   # stands in for amazonaws.com
        fetched.append(url)
        return SNS_CERT if url.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"

    app.state.sns_fetch = sns_fetch
    with AppServer(app) as running:
        yield running


@pytest.fixture
def readers(hook_settings):
    subscribers.add_list(hook_settings, "news", title="News", from_email="news@gazette.example.org",
                         from_name="Gazette")
    for address in READERS:
        subscribers.add_confirmed(hook_settings, address, "news")


def post(server, provider: str, body: bytes, **headers) -> httpx.Response:
    return httpx.post(f"{server.base}/api/hooks/bounces/{provider}", content=body,
                      headers={"Content-Type": "application/json", **headers}, timeout=10)


def statuses(settings) -> dict[str, str]:
    with session_scope(settings.effective_database_url) as s:
        return {p.email: p.status for p in s.scalars(select(Subscriber))}


def counts(settings) -> tuple[int, int]:
    """(suppressions, bounce/complaint consent records)."""
    with session_scope(settings.effective_database_url) as s:
        return (s.scalar(select(func.count()).select_from(Suppression)),
                s.scalar(select(func.count()).select_from(Consent).where(
                    Consent.action.in_(("bounced", "complained")))))


# -- Amazon SES through SNS ------------------------------------------------------------------


def test_ses_bounce_suppresses_the_bounced_address_once(hook_settings, server, readers, fetched):
    body = sns_signed(recorded("ses-bounce.json"))
    first = post(server, "ses", body)
    assert first.status_code == 200, first.text
    assert first.json()["results"] == [{"kind": "hard", "outcome": "suppressed", "delivery_id": None}]
    assert fetched == [recorded("ses-bounce.json")["SigningCertURL"]]
    assert statuses(hook_settings)["jane@example.com"] == "bounced"
    assert {a for a, s in statuses(hook_settings).items() if s != "confirmed"} == {"jane@example.com"}
    # SNS delivers at least once: the same notification again changes nothing.
    again = post(server, "ses", body)
    assert again.json()["results"][0]["outcome"] == "already"
    assert counts(hook_settings) == (1, 1)


def test_ses_complaint_with_signature_version_2_unsubscribes(hook_settings, server, readers):
    answer = post(server, "ses", sns_signed(recorded("ses-complaint.json")))
    assert answer.status_code == 200, answer.text
    assert statuses(hook_settings)["richard@example.com"] == "complained"
    assert counts(hook_settings) == (1, 1)


def test_ses_bounce_finds_the_delivery_by_its_verp_source(hook_settings, server):
    """The notification's mail.source is the envelope sender we gave: our VERP address."""
    smtp = SmtpServer().start()
    try:
        make_list(hook_settings)
        add_subscribers(hook_settings, 2)
        add_articles(hook_settings, 1)
        edition_id = build_and_create(hook_settings)
        assert send(hook_settings, edition_id, smtp).sent == 2
        sent = {m.to: m.mail_from for m in smtp.handler.messages}
    finally:
        smtp.stop()
    notification = recorded("ses-bounce.json")
    inner = json.loads(notification["Message"])
    inner["mail"]["source"] = sent["reader1@example.net"]
    notification["Message"] = json.dumps(inner)   # the bounced address is still jane@…
    answer = post(server, "ses", sns_signed(notification))
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    with session_scope(hook_settings.effective_database_url) as s:
        delivery = s.get(Delivery, result["delivery_id"])
        assert s.get(Subscriber, delivery.subscriber_id).email == "reader1@example.net"
        assert delivery.bounce.startswith("hard failed 5.1.1")
    assert statuses(hook_settings)["reader1@example.net"] == "bounced"
    assert statuses(hook_settings)["reader0@example.net"] == "confirmed"


def test_ses_refuses_what_sns_did_not_sign_for_us(hook_settings, server, readers, fetched):
    good = recorded("ses-bounce.json")
    tampered = json.loads(sns_signed(good))
    tampered["Message"] = tampered["Message"].replace("jane@example.com", "mary@example.com")
    assert post(server, "ses", json.dumps(tampered).encode()).status_code == 401
    # Signed by someone else's key with a certificate URL that looks right.
    forged_key, _ = _self_signed()
    assert post(server, "ses", sns_signed(good, key=forged_key)).status_code == 401
    # A certificate URL off amazonaws.com is never even fetched.
    elsewhere = sns_signed({**good, "SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.example/"
                                                      "SimpleNotificationService-1.pem"})
    before = len(fetched)
    assert post(server, "ses", elsewhere).status_code == 401
    assert len(fetched) == before
    # Correctly signed by SNS, but for a topic that is not ours.
    other = sns_signed({**good, "TopicArn": "arn:aws:sns:us-east-1:999999999999:someone-else"})
    answer = post(server, "ses", other)
    assert answer.status_code == 401 and "PRESSBOT_SES_TOPIC_ARNS" in answer.json()["error"]
    assert counts(hook_settings) == (0, 0)
    assert post(server, "ses", b"{not json").status_code == 400


def test_ses_subscription_is_confirmed_by_visiting_the_subscribe_url(server, fetched):
    confirmation = recorded("ses-subscription-confirmation.json")
    answer = post(server, "ses", sns_signed(confirmation))
    assert answer.status_code == 200, answer.text
    assert fetched[-1] == confirmation["SubscribeURL"]


def test_an_endpoint_without_credentials_refuses_everything(settings, readers):
    with AppServer(create_app(settings)) as bare:
        for provider in ("ses", "mailgun", "postmark", "sendgrid"):
            answer = post(bare, provider, b"{}")
            assert answer.status_code == 401, provider
            assert "PRESSBOT_" in answer.json()["error"]


# -- Mailgun ------------------------------------------------------------------------------------


def test_mailgun_permanent_failure_suppresses_temporary_does_not(hook_settings, server, readers):
    temporary = post(server, "mailgun", mailgun_signed(recorded("mailgun-failed-temporary.json")))
    assert temporary.json()["results"] == [{"kind": "soft", "outcome": "noted", "delivery_id": None}]
    assert statuses(hook_settings)["alice@example.com"] == "confirmed"
    permanent = post(server, "mailgun", mailgun_signed(recorded("mailgun-failed-permanent.json")))
    assert permanent.json()["results"][0]["outcome"] == "suppressed"
    assert statuses(hook_settings)["alice@example.com"] == "bounced"
    assert post(server, "mailgun", mailgun_signed(recorded("mailgun-failed-permanent.json"))
                ).json()["results"][0]["outcome"] == "already"
    assert counts(hook_settings) == (1, 1)


def test_mailgun_complaint_and_bad_signatures(hook_settings, server, readers):
    forged = mailgun_signed(recorded("mailgun-complained.json"), key="not-the-key")
    assert post(server, "mailgun", forged).status_code == 401
    # The recorded placeholder signature is not valid either.
    assert post(server, "mailgun", (PROVIDERS / "mailgun-complained.json").read_bytes()).status_code == 401
    assert statuses(hook_settings)["alice@example.com"] == "confirmed"
    assert post(server, "mailgun", mailgun_signed(recorded("mailgun-complained.json"))).status_code == 200
    assert statuses(hook_settings)["alice@example.com"] == "complained"


# -- Postmark ----------------------------------------------------------------------------------


def test_postmark_bounce_needs_the_basic_auth_of_the_webhook_url(hook_settings, server, readers):
    body = (PROVIDERS / "postmark-bounce.json").read_bytes()
    wrong = httpx.BasicAuth(POSTMARK[0], "guess")
    answer = httpx.post(f"{server.base}/api/hooks/bounces/postmark", content=body, auth=wrong)
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic")
    assert httpx.post(f"{server.base}/api/hooks/bounces/postmark", content=body).status_code == 401
    assert statuses(hook_settings)["john@example.com"] == "confirmed"

    auth = httpx.BasicAuth(*POSTMARK)
    soft = httpx.post(f"{server.base}/api/hooks/bounces/postmark", auth=auth,
                      content=(PROVIDERS / "postmark-soft-bounce.json").read_bytes())
    assert soft.json()["results"][0]["outcome"] == "noted"
    assert statuses(hook_settings)["john@example.com"] == "confirmed"
    hard = httpx.post(f"{server.base}/api/hooks/bounces/postmark", content=body, auth=auth)
    assert hard.json()["results"][0]["outcome"] == "suppressed"
    complaint = httpx.post(f"{server.base}/api/hooks/bounces/postmark", auth=auth,
                           content=(PROVIDERS / "postmark-spam-complaint.json").read_bytes())
    assert complaint.status_code == 200
    assert {a: s for a, s in statuses(hook_settings).items() if s != "confirmed"} == {
        "john@example.com": "bounced", "mary@example.com": "complained"}


# -- SendGrid ----------------------------------------------------------------------------------


def test_sendgrid_signed_batch(hook_settings, server, readers):
    body = (PROVIDERS / "sendgrid-events.json").read_bytes()
    headers = sendgrid_headers(body)
    assert post(server, "sendgrid", body + b" ", **headers).status_code == 401   # body changed
    other = ec.generate_private_key(ec.SECP256R1())
    assert post(server, "sendgrid", body, **sendgrid_headers(body, key=other)).status_code == 401
    assert post(server, "sendgrid", body).status_code == 401                      # unsigned
    assert counts(hook_settings) == (0, 0)

    answer = post(server, "sendgrid", body, **headers)
    assert answer.status_code == 200, answer.text
    assert [(r["kind"], r["outcome"]) for r in answer.json()["results"]] == [
        ("hard", "suppressed"), ("soft", "noted"), ("complaint", "suppressed")]
    assert {a: s for a, s in statuses(hook_settings).items() if s != "confirmed"} == {
        "example@test.com": "bounced", "complainer@test.com": "complained"}
    replay = post(server, "sendgrid", body, **headers)
    assert [r["outcome"] for r in replay.json()["results"]] == ["already", "noted", "already"]
    assert counts(hook_settings) == (2, 2)
