"""Per-recipient MIME: messages parse back to what was rendered, with the recipient's own
links and name, the RFC 8058 headers, and DKIM signatures that verify."""

from __future__ import annotations

import email
import email.policy
import html
import re
import time
from base64 import b64encode
from datetime import datetime, timezone

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import Settings
from bot.errors import PermanentError
from bot.newsletter import render
from bot.newsletter.mime import (_SIGNED, DkimKey, PreparedMessage, Recipient, message_id,
                                 parse_message_id, prepare)
from bot.newsletter.render import (ELSE, END, IF_NAME, NAME, PREFERENCES_URL, UNSUBSCRIBE_URL,
                                   RenderedEmail, render_confirmation)
from tests.unit.test_render import LISTS, SITE, _render

DATE = datetime(2025, 11, 28, 7, 0, tzinfo=timezone.utc)
UNSUB = "https://news.example.org/u/eyJzIjo0Mn0.sig?list=morning&x=1"
PREFS = "https://news.example.org/p/eyJzIjo0Mn0.sig"


@pytest.fixture(scope="module")
def rendered() -> RenderedEmail:
    return _render("en")


def _prepare(rendered, **overrides) -> PreparedMessage:
    options = dict(from_addr=("Example News", "news@example.org"),
                   reply_to="Desk <desk@example.org>", list_id="morning.example.org",
                   unsubscribe_mailto="unsubscribe@example.org", date=DATE, dkim=None)
    return prepare(rendered, **{**options, **overrides})


def _recipient(name="Ana Müller", email_="ana@example.org", subscriber=7, **kw) -> Recipient:
    return Recipient(email_, name, message_id(42, subscriber, "example.org"),
                     kw.get("unsubscribe_url", UNSUB), kw.get("preferences_url", PREFS))


def _parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def _expected(text: str, name: str | None, escape) -> str:
    greeting = re.escape(IF_NAME) + "(.*?)" + re.escape(ELSE) + "(.*?)" + re.escape(END)
    text = re.sub(greeting, lambda m: m[1] if name else m[2], text, flags=re.S)
    for placeholder, value in ((NAME, name or ""), (UNSUBSCRIBE_URL, UNSUB), (PREFERENCES_URL, PREFS)):
        text = text.replace(placeholder, escape(value))
    return text


def test_both_parts_decode_to_the_rendered_text_with_the_recipients_own_values(rendered):
    message = _parse(_prepare(rendered).build(_recipient()))
    assert message.get_content_type() == "multipart/alternative"
    text, html_part = message.get_payload()
    assert text.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    assert text.get_content_charset() == html_part.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == _expected(rendered.text, "Ana Müller", str)
    assert html_part.get_content().replace("\r\n", "\n") == \
        _expected(rendered.html, "Ana Müller", html.escape)
    assert "Hello Ana Müller," in text.get_content()
    assert f'href="{UNSUB.replace("&", "&amp;")}"' in html_part.get_content()


def test_headers_are_present_and_exact(rendered):
    raw = _prepare(rendered).build(_recipient())
    message = _parse(raw)
    assert message["From"] == "Example News <news@example.org>"
    assert message["Reply-To"] == "Desk <desk@example.org>"
    assert message["To"].addresses[0].display_name == "Ana Müller"
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert message["Subject"] == rendered.subject
    assert message["Date"] == "Fri, 28 Nov 2025 07:00:00 +0000"
    assert message["Message-ID"] == message_id(42, 7, "example.org")
    assert message["MIME-Version"] == "1.0"
    assert message["List-Id"] == "<morning.example.org>"
    assert message["List-Unsubscribe"] == f"<{UNSUB}>, <mailto:unsubscribe@example.org>"
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    # Non-ASCII goes out RFC 2047-encoded: the raw header block is ASCII.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head
    assert not [name for name in ("Bcc", "Cc") if message[name]]


def test_lines_are_crlf_and_short(rendered):
    raw = _prepare(rendered).build(_recipient())
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in head.split(b"\r\n")) <= 998   # a long link may pass 78
    assert max(len(line) for line in body.split(b"\r\n")) <= 76    # the QP/base64 limit


def test_long_links_and_names_keep_lines_short_in_both_encodings():
    long_link = "https://news.example.org/unsubscribe/" + "t0k3n" * 60 + "?list=morning&x=1"
    for rendered in (_render("en"), _render("ar")):   # quoted-printable and base64 text
        raw = _prepare(rendered).build(_recipient(name="N" * 150, unsubscribe_url=long_link))
        head, body = raw.split(b"\r\n\r\n", 1)
        assert b"\n" not in raw.replace(b"\r\n", b"")
        assert max(len(line) for line in body.split(b"\r\n")) <= 76
        text, html_part = _parse(raw).get_payload()
        assert long_link in text.get_content()
        assert long_link.replace("&", "&amp;") in html_part.get_content()
        assert _parse(raw)["List-Unsubscribe"].startswith(f"<{long_link}>")


def test_a_recipient_without_a_name_gets_the_plain_greeting(rendered):
    message = _parse(_prepare(rendered).build(_recipient(name=None)))
    text = message.get_payload()[0].get_content()
    assert "\nHello,\n" in text.replace("\r\n", "\n") and "%%PB" not in text
    assert message["To"] == "ana@example.org"


def test_the_name_is_escaped_in_html_and_not_in_text(rendered):
    name = 'Bob "<b>the</b>" & Co'
    text, html_part = _parse(_prepare(rendered).build(_recipient(name=name))).get_payload()
    assert f"Hello {name}," in text.get_content()
    assert "Hello Bob &quot;&lt;b&gt;the&lt;/b&gt;&quot; &amp; Co," in html_part.get_content()


def test_header_injection_through_a_name_is_impossible(rendered):
    raw = _prepare(rendered).build(_recipient(name="Eve\r\nBcc: victim@example.net"))
    message = _parse(raw)
    assert message["Bcc"] is None and b"\r\nBcc:" not in raw
    with pytest.raises(PermanentError):
        _prepare(rendered).build(_recipient(unsubscribe_url="https://x.org/u\r\nBcc: a@b.c"))


def test_arabic_text_goes_base64_and_still_carries_the_links():
    from tests.support import digest_samples

    rendered = render.render_digest(digest_samples.snapshot("ar"), digest_samples.LISTS["ar"],
                                    settings_view=digest_samples.SITE)
    raw = _prepare(rendered).build(_recipient(name="سارة"))
    text, html_part = _parse(raw).get_payload()
    assert text["Content-Transfer-Encoding"] == "base64"   # smaller than QP for Arabic
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"   # mostly markup
    content = text.get_content()
    assert "مرحبًا سارة،" in content and UNSUB in content and PREFS in content
    assert "إلغاء الاشتراك" in html_part.get_content()


def test_mostly_latin_parts_stay_quoted_printable_even_where_base64_is_smaller():
    from bot.newsletter.mime import use_base64

    french = "Été à Noël : élève, château, forêt, où, déjà. " * 20
    raw = len(french.encode("utf-8"))
    qp = len(__import__("binascii").b2a_qp(french.encode("utf-8"), istext=True))
    assert -(-raw // 57) * 78 < qp                      # base64 would be the smaller here
    assert not use_base64(french, qp, raw)
    arabic = "افتتاح معرض الكتاب في بيروت " * 20
    raw = len(arabic.encode("utf-8"))
    qp = len(__import__("binascii").b2a_qp(arabic.encode("utf-8"), istext=True))
    assert use_base64(arabic, qp, raw)
    assert not use_base64(arabic, 10, raw)              # never when it is the larger
    # An English digest of a mostly-Arabic list's chrome is Latin: the snapshot of
    # test_render ("ar" list, English and French stories) goes quoted-printable.
    text, html_part = _parse(_prepare(_render("ar")).build(_recipient())).get_payload()
    assert text["Content-Transfer-Encoding"] == html_part["Content-Transfer-Encoding"] == \
        "quoted-printable"


def test_one_prepared_variant_builds_distinct_messages(rendered):
    prepared = _prepare(rendered)
    first = _parse(prepared.build(_recipient(subscriber=1, unsubscribe_url=UNSUB + "1")))
    second = _parse(prepared.build(_recipient(subscriber=2, unsubscribe_url=UNSUB + "2",
                                              email_="bo@example.org", name="Bo")))
    assert first["Message-ID"] != second["Message-ID"]
    assert UNSUB + "1" in first.get_payload()[0].get_content()
    assert UNSUB + "2" in second.get_payload()[0].get_content()
    assert UNSUB + "1" not in second.get_payload()[1].get_content().replace("&amp;", "&")


def test_build_is_deterministic_for_a_fixed_date(rendered):
    assert _prepare(rendered).build(_recipient()) == _prepare(rendered).build(_recipient())


def test_build_never_runs_premailer_or_jinja(rendered, monkeypatch):
    prepared = _prepare(rendered)

    def forbidden(*args, **kwargs):
        raise AssertionError("rendering work per recipient")
    monkeypatch.setattr(render.premailer, "Premailer", forbidden)
    monkeypatch.setattr(render.jinja2.Environment, "get_template", forbidden)
    assert prepared.build(_recipient())


def test_a_missing_link_for_a_placeholder_is_refused(rendered):
    with pytest.raises(PermanentError, match="UNSUBSCRIBE_URL"):
        _prepare(rendered).build(_recipient(unsubscribe_url=None))


def test_without_mailto_only_the_https_target_is_listed(rendered):
    message = _parse(_prepare(rendered, unsubscribe_mailto=None).build(_recipient()))
    assert message["List-Unsubscribe"] == f"<{UNSUB}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_confirmation_has_no_list_headers():
    rendered = render_confirmation(LISTS["fr"], SITE, "https://news.example.org/c/tok", "Zoé")
    raw = prepare(rendered, from_addr=("Exemple Infos", "infos@example.org"),
                  date=DATE).build(Recipient("zoe@example.org", "Zoé", "<c1@example.org>"))
    message = _parse(raw)
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert "https://news.example.org/c/tok" in message.get_payload()[0].get_content()


def test_the_date_defaults_to_the_time_of_build(rendered):
    message = _parse(_prepare(rendered, date=None).build(_recipient()))
    sent = message["Date"].datetime
    assert abs((datetime.now(timezone.utc) - sent).total_seconds()) < 60


def test_message_ids_are_deterministic_and_parse_back():
    mid = message_id(42, 7, "example.org")
    assert mid == message_id(42, 7, "example.org") != message_id(42, 8, "example.org")
    assert re.fullmatch(r"<e42\.s7\.[0-9a-f]{10}@example\.org>", mid)
    assert parse_message_id(mid) == (42, 7)
    assert parse_message_id(mid.replace("s7.", "s8.")) is None      # checksum mismatch
    assert parse_message_id("<random@example.org>") is None


def test_unusable_addresses_are_refused(rendered):
    prepared = _prepare(rendered)
    for address in ("no-at-sign", "a@b.org>, c@d.org", "ünï@example.org"):
        with pytest.raises(PermanentError):
            prepared.build(_recipient(email_=address))
    idn = _parse(prepared.build(_recipient(email_="ana@exämple.org")))
    assert idn["To"].addresses[0].domain == "xn--exmple-cua.org"


# --- DKIM --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def key_pair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + b64encode(public)

    def dnsfunc(name, timeout=5):
        return record if name == b"pb2025._domainkey.example.org." else None
    return DkimKey("example.org", "pb2025", pem), pem, dnsfunc


def test_dkim_signature_verifies_and_covers_the_one_click_headers(rendered, key_pair):
    key, _, dnsfunc = key_pair
    raw = _prepare(rendered, dkim=key).build(_recipient())
    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    signature = _parse(raw)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in re.sub(r"\s+", " ", signature).split(";"))
    signed = [h.strip() for h in tags["h"].split(":")]
    for header in ("from", "to", "subject", "date", "message-id", "list-unsubscribe",
                   "list-unsubscribe-post"):
        assert header in signed
    assert tags["d"] == "example.org" and tags["s"] == "pb2025"


@pytest.mark.parametrize("tamper", [
    lambda raw: raw.replace(UNSUB.encode(), UNSUB.replace("morning", "evening").encode()),
    lambda raw: raw.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example>\r\n\r\n", 1),
    lambda raw: raw.replace(b"Council passes", b"Council rejects"),
], ids=["changed-link", "added-unsubscribe-header", "changed-body"])
def test_dkim_fails_on_tampering(rendered, key_pair, tamper):
    key, _, dnsfunc = key_pair
    raw = _prepare(rendered, dkim=key).build(_recipient())
    assert not dkim.verify(tamper(raw), dnsfunc=dnsfunc)


def test_dkim_header_is_the_one_dkimpy_would_make(rendered, key_pair, monkeypatch):
    """The RSA step runs in OpenSSL instead of dkimpy's pure Python; everything else is
    dkimpy's, and RSA PKCS#1 v1.5 is deterministic, so the headers must be identical."""
    key, pem, _ = key_pair
    monkeypatch.setattr(time, "time", lambda: 1764313200.0)
    unsigned = _prepare(rendered).build(_recipient())
    ours = _prepare(rendered, dkim=key).build(_recipient())
    theirs = dkim.sign(unsigned, b"pb2025", b"example.org", pem, include_headers=list(_SIGNED))
    assert ours == theirs + unsigned


def test_dkim_key_from_settings(tmp_path, key_pair):
    _, pem, _ = key_pair
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    assert DkimKey.from_settings(Settings(home=tmp_path)) is None
    assert DkimKey.from_settings(Settings(home=tmp_path, dkim_domain="example.org")) is None
    key = DkimKey.from_settings(Settings(home=tmp_path, dkim_domain="example.org",
                                         dkim_selector="pb2025", dkim_key_path=path))
    assert key.domain == "example.org" and key.selector == "pb2025" and key.private_key == pem
    path.write_text("not a key")
    with pytest.raises(PermanentError, match="not a usable PEM key"):
        DkimKey.from_settings(Settings(home=tmp_path, dkim_domain="example.org",
                                       dkim_selector="pb2025", dkim_key_path=path))
    with pytest.raises(PermanentError, match="cannot read"):
        DkimKey.from_settings(Settings(home=tmp_path, dkim_domain="example.org",
                                       dkim_selector="pb2025", dkim_key_path=tmp_path / "nope"))


def test_list_messages_are_bulk_with_a_feedback_id_under_the_signature(rendered):
    key = DkimKey("example.org", "s1", rsa.generate_private_key(public_exponent=65537, key_size=1024)
                  .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
    raw = _prepare(rendered, feedback_id="e42:morning:digest:example.org", dkim=key).build(_recipient())
    message = _parse(raw)
    assert message["Precedence"] == "bulk"
    assert message["Feedback-ID"] == "e42:morning:digest:example.org"
    assert message["List-Id"]
    signed = re.search(rb"h=([^;]+);", raw.replace(b"\r\n ", b"").replace(b"\r\n\t", b""))[1]
    assert b"feedback-id" in signed.replace(b" ", b"").split(b":")
    plain = _parse(_prepare(rendered, list_id=None).build(_recipient()))
    assert plain["Precedence"] is None and plain["Feedback-ID"] is None   # a one-to-one email
