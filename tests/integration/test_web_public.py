"""The public pages over HTTP (FastAPI's TestClient) on SQLite and PostgreSQL: subscribe
with double opt-in through a real SMTP server, the honeypot, the rate limit, answers that
never tell whether an address is known, signed links (forged ones rejected), RFC 8058
one-click unsubscribe without cookies or CSRF, preferences, the archive and web version,
and the Arabic pages laid out right to left."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.domain.addresses import email_hash
from bot.newsletter import tokens
from bot.newsletter.tokens import make_token
from bot.services import digests, subscribers
from bot.store.db import session_scope
from bot.store.mailing import Consent, Edition, EditionStatus, Subscriber, Subscription, Suppression
from bot.web.app import create_app
from tests.integration.test_digest_delivery import add_articles
from tests.support.smtpserver import SmtpServer
from tests.support.web import csrf_from

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
DOMAIN = "gazette.example.org"
LINK = re.compile(r"https?://[^\s\"<>]+")


def add_lists(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_email=f"news@{DOMAIN}",
                         from_name="Gazette", schedule="daily 07:00", timezone="Europe/Paris",
                         categories=["City", "Sport"])
    subscribers.add_list(settings, "weekly", title="La Semaine", from_email=f"news@{DOMAIN}",
                         from_name="Gazette", language="fr", schedule="weekly mon 08:00")


def client(settings) -> TestClient:
    return TestClient(create_app(settings))


def post_subscribe(c: TestClient, address: str, lists=("morning",), **fields):
    token = csrf_from(c.get("/subscribe").text)
    return c.post("/subscribe", data={"csrf_token": token, "email": address, "lists": list(lists),
                                      **fields}, follow_redirects=False)


def state(settings) -> dict:
    """Everything the public pages can change."""
    with session_scope(settings.effective_database_url) as s:
        return {
            "subscribers": sorted((r.email, r.status, r.name, r.language) for r in s.scalars(select(Subscriber))),
            "subscriptions": sorted((r.subscriber_id, r.list_id, r.active, tuple(r.topics))
                                    for r in s.scalars(select(Subscription))),
            "consents": sorted((r.subscriber_id, r.list_id or 0, r.action, r.method, r.origin or "")
                               for r in s.scalars(select(Consent))),
            "suppressions": sorted((r.email_hash, r.reason) for r in s.scalars(select(Suppression))),
        }


def person(settings, address: str) -> tuple[str, dict[str, bool]]:
    """(status, {list name: active}) of a subscriber."""
    prefs = subscribers.get_preferences(settings, preferences_token(settings, address))
    return prefs["status"], {m["name"]: m["subscribed"] for m in prefs["lists"]}


def subscriber_id(settings, address: str) -> int:
    with session_scope(settings.effective_database_url) as s:
        return subscribers.find_subscriber(s, address).id


def list_id(settings, name: str) -> int:
    return subscribers.get_list(settings, name)["id"]


def preferences_token(settings, address: str, list_name: str | None = "morning") -> str:
    lid = list_id(settings, list_name) if list_name else None
    return make_token(settings.effective_secret_key(), "preferences", subscriber_id(settings, address), lid)


def outbox(settings) -> list:
    folder = settings.home / "outbox" / "email"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_text(html: str) -> str:
    """A page without its per-session CSRF token, to compare two answers."""
    return re.sub(r'(name="csrf_token" value=|name="csrf-token" content=)"[^"]*"', r"\1", html)


def confirmed(settings, address: str, list_name: str = "morning") -> int:
    request = subscribers.subscribe(settings, address, list_name)
    subscribers.confirm(settings, request.confirm_url.rsplit("/", 1)[1])
    return request.subscriber_id


def sent_edition(settings) -> int:
    """An edition of "morning" built and delivered (to the outbox)."""
    add_articles(settings, 2)
    edition_id = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW)
    digests.create_deliveries(settings, edition_id)
    digests.send_edition(settings, edition_id, now=NOW)
    return edition_id


# -- Subscribe and confirm ------------------------------------------------------------------------


def test_subscribing_sends_a_confirmation_over_smtp_whose_link_confirms(settings):
    add_lists(settings)
    with SmtpServer() as server:
        mailing = settings.model_copy(update={"smtp_url": server.url})
        c = client(mailing)
        form = c.get("/subscribe?list=morning")
        assert form.status_code == 200 and 'value="morning" checked' in form.text
        assert 'name="website"' in form.text and 'tabindex="-1"' in form.text

        answer = post_subscribe(c, " Reader@Example.org ", name="Ada", language="fr")
        assert answer.status_code == 303 and answer.headers["location"] == "/subscribe/check?lang=en"
        assert "Check your inbox" in c.get(answer.headers["location"]).text
        assert server.handler.wait_for(1, timeout=10)
    [received] = server.messages
    assert received.rcpt_tos == ("Reader@example.org",)
    message = email.message_from_bytes(received.content, policy=email.policy.default)
    assert "La Semaine" not in message["Subject"] and "The Morning Gazette" in message["Subject"]
    link = next(u for u in LINK.findall(text_of(message)) if "/confirm/" in u)
    assert link.startswith(f"{settings.base_url}/confirm/")
    assert person(settings, "Reader@example.org") == ("pending", {"morning": False, "weekly": False})

    landing = c.get(path_of(link))   # a link scanner's GET confirms nothing
    assert landing.status_code == 200 and "Oui, je m’abonne" in landing.text
    assert person(settings, "Reader@example.org") == ("pending", {"morning": False, "weekly": False})
    page = c.post(path_of(link))
    assert page.status_code == 200
    assert "Abonnement confirmé" in page.text   # the subscriber chose French
    assert person(settings, "Reader@example.org") == ("confirmed", {"morning": True, "weekly": False})
    with session_scope(settings.effective_database_url) as s:
        consents = [(r.action, r.method, r.origin) for r in s.scalars(select(Consent).order_by(Consent.id))]
    assert consents == [("subscribe", "web", "testclient"), ("confirm", "web", "testclient")]
    # The page links to the subscriber's preferences.
    prefs = re.search(r'href="(/preferences/[^"]+)"', page.text).group(1)
    assert c.get(prefs.replace("&amp;", "&")).status_code == 200


def test_several_lists_at_once_send_one_confirmation_each(settings):
    add_lists(settings)
    c = client(settings)
    assert post_subscribe(c, "two@example.net", lists=["morning", "weekly", "nope"]).status_code == 303
    sent = outbox(settings)
    assert sorted(m["Subject"] for m in sent) == sorted([
        "Confirm your subscription to The Morning Gazette", "Confirmez votre abonnement à «\u00a0La Semaine\u00a0»"])


def test_a_filled_honeypot_answers_as_success_and_does_nothing(settings):
    add_lists(settings)
    c = client(settings)
    before = state(settings)
    bot = post_subscribe(c, "bot@example.net", website="http://spam.example")
    human = post_subscribe(client(settings), "human@example.net")
    assert (bot.status_code, bot.headers["location"]) == (human.status_code, human.headers["location"])
    after = state(settings)
    assert not any(row[0] == "bot@example.net" for row in after["subscribers"])
    assert len(after["subscribers"]) == len(before["subscribers"]) + 1
    assert [m["To"] for m in outbox(settings)] == ["human@example.net"]


def test_the_sixth_sign_up_from_one_address_in_ten_minutes_gets_429(settings):
    add_lists(settings)
    c = client(settings)
    for i in range(5):
        assert post_subscribe(c, f"r{i}@example.net").status_code == 303
    refused = post_subscribe(c, "r5@example.net")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many sign-ups came from your connection" in refused.text
    assert "r5@example.net" not in [row[0] for row in state(settings)["subscribers"]]
    assert len(outbox(settings)) == 5


def test_the_answer_is_the_same_for_new_pending_subscribed_and_suppressed_addresses(settings):
    add_lists(settings)
    confirmed(settings, "member@example.net")
    subscribers.subscribe(settings, "waiting@example.net", "morning")
    subscribers.suppress(settings, "blocked@example.net", "complained")
    c = client(settings)
    answers = {}
    for address in ("new@example.net", "waiting@example.net", "member@example.net", "blocked@example.net"):
        response = post_subscribe(c, address)
        follow = c.get(response.headers["location"])
        answers[address] = (response.status_code, response.headers["location"], response.text,
                            follow.status_code, page_text(follow.text))
    assert len(set(answers.values())) == 1, answers
    # Behind the identical answer: only the new and the pending address got a link.
    assert sorted(m["To"] for m in outbox(settings)) == ["new@example.net", "waiting@example.net"]
    assert "blocked@example.net" not in [row[0] for row in state(settings)["subscribers"]]


def test_a_malformed_address_or_no_list_is_shown_in_the_form_and_stores_nothing(settings):
    add_lists(settings)
    c = client(settings)
    bad = post_subscribe(c, "not an address", name="Ada")
    assert bad.status_code == 422 and "does not look right" in bad.text
    assert 'value="not an address"' in bad.text and 'value="Ada"' in bad.text
    none = post_subscribe(c, "ok@example.net", lists=[])
    assert none.status_code == 422 and "Choose at least one newsletter" in none.text
    assert state(settings)["subscribers"] == [] and outbox(settings) == []
    # A name longer than the column (a bot ignores maxlength) is cut, not a server error.
    assert post_subscribe(c, "long@example.net", name="x" * 500).status_code == 303
    assert [len(row[2]) for row in state(settings)["subscribers"]] == [200]


def test_a_subscribe_post_without_the_csrf_token_is_refused(settings):
    add_lists(settings)
    c = client(settings)
    c.get("/subscribe")
    refused = c.post("/subscribe", data={"email": "x@example.net", "lists": ["morning"]},
                     follow_redirects=False)
    assert refused.status_code == 403
    assert state(settings)["subscribers"] == []


# -- Signed links ---------------------------------------------------------------------------------


def test_forged_expired_or_misused_tokens_get_400_and_change_nothing(settings):
    add_lists(settings)
    victim = confirmed(settings, "victim@example.net")
    lid = list_id(settings, "morning")
    secret = settings.effective_secret_key()
    before = state(settings)
    c = client(settings)
    forged = {purpose: make_token("not-our-secret", purpose, victim, lid)
              for purpose in ("confirm", "unsubscribe", "preferences")}
    wrong_purpose = make_token(secret, "confirm", victim, lid)   # a confirm token elsewhere
    requests = [("get", f"/confirm/{forged['confirm']}"), ("get", "/confirm/garbage"),
                ("get", f"/confirm/{make_token(secret, 'unsubscribe', victim, lid)}")]
    for path in (f"/unsubscribe/{forged['unsubscribe']}", f"/unsubscribe/{wrong_purpose}",
                 "/unsubscribe/x.y.z"):
        requests += [("get", path), ("post", path)]
    for path in (f"/preferences/{forged['preferences']}", f"/preferences/{wrong_purpose}"):
        requests.append(("get", path))
    for method, path in requests:
        if method == "get":
            response = c.get(path)
        else:
            response = c.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, (method, path, response.status_code)
        assert "This link does not work" in response.text
        assert "victim@example.net" not in response.text and "Morning Gazette" not in response.text
    # A forged preferences POST (with a valid CSRF token) is refused too.
    token = csrf_from(c.get("/subscribe").text)
    response = c.post(f"/preferences/{forged['preferences']}",
                      data={"csrf_token": token, "lists": ["weekly"]}, follow_redirects=False)
    assert response.status_code == 400
    assert state(settings) == before


def test_an_expired_confirmation_link_says_how_to_get_a_new_one(settings, monkeypatch):
    add_lists(settings)
    request = subscribers.subscribe(settings, "late@example.net", "morning")
    monkeypatch.setitem(tokens.MAX_AGE, "confirm", -1)   # as if a week had passed
    response = client(settings).get(path_of(request.confirm_url))
    assert response.status_code == 400 and "Confirmation links work for 7 days" in response.text
    assert person(settings, "late@example.net")[0] == "pending"


def _digest_unsubscribe_url(settings, address: str) -> str:
    sent_edition(settings)
    [message] = [m for m in outbox(settings) if m["To"].addresses[0].addr_spec == address]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)


def test_one_click_post_from_a_mail_client_unsubscribes_without_cookies_or_csrf(settings):
    add_lists(settings)
    confirmed(settings, "reader@example.net")
    url = _digest_unsubscribe_url(settings, "reader@example.net")
    assert url.startswith(f"{settings.base_url}/unsubscribe/")

    mail_client = client(settings)   # a fresh client: no session cookie, no CSRF token
    response = mail_client.post(path_of(url), content=b"List-Unsubscribe=One-Click",
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text and "The Morning Gazette" in response.text
    assert person(settings, "reader@example.net") == ("unsubscribed", {"morning": False, "weekly": False})
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(Suppression.reason).where(
            Suppression.email_hash == email_hash("reader@example.net"))) == "unsubscribed"
        assert ("unsubscribe", "one-click") in [(r.action, r.method) for r in s.scalars(select(Consent))]
    # A second POST (clients retry) is still a 200 and changes nothing more.
    again = state(settings)
    assert mail_client.post(path_of(url), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert state(settings) == again


def test_the_unsubscribe_landing_page_asks_for_a_click_and_changes_nothing(settings):
    add_lists(settings)
    sid = confirmed(settings, "reader@example.net")
    subscribers.update_preferences(settings, preferences_token(settings, "reader@example.net"),
                                   language="fr")
    token = make_token(settings.effective_secret_key(), "unsubscribe", sid, list_id(settings, "morning"))
    before = state(settings)
    c = client(settings)
    landing = c.get(f"/unsubscribe/{token}")
    assert landing.status_code == 200 and landing.headers["cache-control"] == "no-store"
    assert "Voulez-vous ne plus recevoir The Morning Gazette" in landing.text
    assert f'action="/unsubscribe/{token}?lang=fr"' in landing.text
    assert state(settings) == before

    clicked = c.post(f"/unsubscribe/{token}?lang=fr")   # the landing page's button
    assert clicked.status_code == 200 and "Vous êtes désabonné·e" in clicked.text
    assert person(settings, "reader@example.net")[1]["morning"] is False
    with session_scope(settings.effective_database_url) as s:
        assert ("unsubscribe", "web") in [(r.action, r.method) for r in s.scalars(select(Consent))]


# -- Preferences ----------------------------------------------------------------------------------


def test_preferences_change_lists_topics_and_language_with_csrf_only(settings):
    add_lists(settings)
    confirmed(settings, "reader@example.net")
    token = preferences_token(settings, "reader@example.net")
    c = client(settings)
    page = c.get(f"/preferences/{token}")
    assert page.status_code == 200
    assert "Preferences for reader@example.net" in page.text
    assert "Every day at 07:00 (Europe/Paris)" in page.text and "Every Monday at 08:00 (UTC)" in page.text
    assert 'name="topics" value="Sport"' in page.text

    before = state(settings)
    no_csrf = c.post(f"/preferences/{token}", data={"lists": ["weekly"], "language": "ar"},
                     follow_redirects=False)
    assert no_csrf.status_code == 403
    assert state(settings) == before

    saved = c.post(f"/preferences/{token}", follow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "lists": ["morning", "weekly"], "topics": ["Sport"],
        "language": "ar"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/preferences/{token}?lang=ar"
    shown = c.get(saved.headers["location"])
    assert 'dir="rtl"' in shown.text and "تم حفظ تفضيلاتك." in shown.text
    prefs = subscribers.get_preferences(settings, token)
    assert prefs["language"] == "ar"
    assert [(m["name"], m["subscribed"], m["topics"]) for m in prefs["lists"]] == [
        ("morning", True, ["Sport"]), ("weekly", True, [])]

    # Unticking everything unsubscribes; ticking again afterwards is refused with a message.
    token_field = csrf_from(shown.text)
    c.post(f"/preferences/{token}", data={"csrf_token": token_field, "language": "en"})
    assert person(settings, "reader@example.net") == ("unsubscribed", {"morning": False, "weekly": False})
    refused = c.post(f"/preferences/{token}?lang=en", data={
        "csrf_token": token_field, "lists": ["morning"], "language": "en"})
    assert refused.status_code == 422 and "no newsletter can be added" in refused.text
    assert person(settings, "reader@example.net")[0] == "unsubscribed"


# -- Languages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/subscribe", "/editions", "/subscribe/check", "/unsubscribe"])
def test_every_public_page_speaks_en_fr_and_ar_with_ar_right_to_left(settings, path):
    add_lists(settings)
    c = client(settings)
    english = c.get(f"{path}?lang=en").text
    french = c.get(f"{path}?lang=fr").text
    arabic = c.get(f"{path}?lang=ar").text
    assert '<html lang="en" dir="ltr">' in english and '<html lang="fr" dir="ltr">' in french
    assert '<html lang="ar" dir="rtl">' in arabic
    assert len({english, french, arabic}) == 3
    for page in (english, french, arabic):   # the switcher links to the other two
        assert sum(f"lang={lang}" in page for lang in ("en", "fr", "ar")) == 3
    # Without ?lang=, the browser's language decides.
    assert 'dir="rtl"' in c.get(path, headers={"accept-language": "ar-MA,ar;q=0.9"}).text


def test_the_subscribe_page_for_a_french_list_is_in_french(settings):
    add_lists(settings)
    page = client(settings).get("/subscribe?list=weekly")
    assert '<html lang="fr"' in page.text and "Abonnez-vous à «\u00a0La Semaine\u00a0»" in page.text
    assert "Chaque lundi à 08:00" in page.text


# -- Archive and web version ----------------------------------------------------------------------


def test_the_archive_lists_sent_editions_only_and_serves_their_web_version(settings):
    add_lists(settings)
    confirmed(settings, "reader@example.net")
    sent = sent_edition(settings)
    preview = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW + timedelta(hours=1),
                                    preview=True)
    add_articles(settings, 1, seen=NOW + timedelta(hours=3), start=10)
    later = NOW + timedelta(days=1)
    cancelled = digests.build_edition(settings, "morning", scheduled_for=later, now=later)
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(Edition).where(Edition.id == cancelled).values(status=EditionStatus.CANCELLED))
        subject = s.get(Edition, sent).subject
        statuses = {e.id: e.status for e in s.scalars(select(Edition))}
    assert statuses == {sent: "sent", preview: "preview", cancelled: "cancelled"}

    c = client(settings)
    index = c.get("/editions")
    assert index.status_code == 200
    assert f'href="/editions/{sent}"' in index.text and subject in index.text
    assert f"/editions/{preview}" not in index.text and f"/editions/{cancelled}" not in index.text
    assert c.get("/editions?list=morning").text.count('href="/editions/') == 1
    assert c.get("/editions?list=weekly").text.count('href="/editions/') == 0
    assert c.get("/editions?list=nope").status_code == 404
    assert c.get("/archive").status_code == 200

    # The digest's "View in browser" link lands here.
    [message] = outbox(settings)
    html = message.get_body(("html",)).get_content()
    assert f'href="{settings.base_url}/editions/{sent}"' in html

    web = c.get(f"/editions/{sent}")
    assert web.status_code == 200 and f"<title>{subject}</title>" in web.text
    assert "Story 0 about the harbour" in web.text
    csp = web.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "style-src 'unsafe-inline'" in csp and "script-src" not in csp
    # Rendered for an anonymous reader: no placeholder, no token, no address.
    assert "%%PB" not in web.text and "reader@example.net" not in web.text
    assert "/unsubscribe/" not in web.text and "/preferences/" not in web.text
    assert 'href="/unsubscribe"' in web.text
    assert "Hello," in web.text
    assert c.get("/unsubscribe").status_code == 200
    assert 'lang="ar" dir="rtl"' in c.get(f"/editions/{sent}?lang=ar").text

    for hidden in (preview, cancelled, 9999, 2**63, -1, "abc"):
        response = c.get(f"/editions/{hidden}")
        assert response.status_code == 404 and "Story" not in response.text
