"""A reader in Chromium: subscribes in the form, follows the confirmation link from the email
a real SMTP server received, changes preferences, and leaves one list from the unsubscribe
landing page of a digest. The database is checked after each step."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timezone

from playwright.sync_api import expect

from bot.mail.transport import SmtpTransport
from bot.newsletter.tokens import make_token
from bot.services import digests, subscribers
from bot.store.db import session_scope
from bot.web.app import create_app
from tests.integration.test_digest_delivery import add_articles
from tests.support.smtpserver import SmtpServer
from tests.support.webserver import AppServer

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
ADDRESS = "ada@example.net"


def add_lists(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_email="news@gazette.example.org",
                         from_name="Gazette", schedule="daily 07:00", timezone="Europe/Paris",
                         categories=["City", "Sport"])
    subscribers.add_list(settings, "weekly", title="The Week", from_email="news@gazette.example.org",
                         from_name="Gazette", schedule="weekly mon 08:00")


def reader(settings) -> dict:
    """The subscriber as the database has it: status, language, {list: (active, topics)}."""
    with session_scope(settings.effective_database_url) as s:
        found = subscribers.find_subscriber(s, ADDRESS)
        if found is None:
            return {}
        sid = found.id
    prefs = subscribers.get_preferences(settings, make_token(settings.effective_secret_key(),
                                                             "preferences", sid, None))
    return {"status": prefs["status"], "language": prefs["language"],
            "lists": {m["name"]: (m["subscribed"], m["topics"]) for m in prefs["lists"]}}


def message(received):
    return email.message_from_bytes(received.content, policy=email.policy.default)


def test_subscribe_confirm_change_preferences_and_unsubscribe(sqlite_settings, page):
    settings = sqlite_settings
    add_lists(settings)
    with SmtpServer() as smtp:
        app = create_app(settings)
        server = AppServer(app)
        # The emails' links must lead to this server: they are built from these settings.
        settings.base_url, settings.smtp_url = server.base, smtp.url
        with server:
            # 1. Subscribe to the morning list.
            page.goto(server.base + "/subscribe?list=morning")
            page.get_by_label("Email address").fill(ADDRESS)
            page.get_by_label("Your name (optional)").fill("Ada")
            expect(page.get_by_label("The Morning Gazette")).to_be_checked()
            expect(page.get_by_label("The Week")).not_to_be_checked()
            page.get_by_role("button", name="Subscribe").click()
            expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
            assert reader(settings)["status"] == "pending"
            assert reader(settings)["lists"]["morning"] == (False, [])

            # 2. The confirmation email arrives; its link confirms.
            assert smtp.handler.wait_for(1, timeout=15)
            confirmation = message(smtp.messages[0])
            assert smtp.messages[0].rcpt_tos == (ADDRESS,)
            link = re.search(r"(http://\S+/confirm/\S+)", confirmation.get_body(("plain",)).get_content()).group(1)
            page.goto(link)
            assert reader(settings)["status"] == "pending"   # the link's page asks for a click
            page.get_by_role("button", name="Yes, subscribe me").click()
            expect(page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()
            assert reader(settings)["status"] == "confirmed"
            assert reader(settings)["lists"]["morning"] == (True, [])

            # 3. Preferences: add the weekly list, only Sport in the morning, emails in French.
            page.get_by_role("link", name="Manage your preferences").click()
            expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
            expect(page.get_by_text("Every Monday at 08:00 (UTC)")).to_be_visible()
            page.get_by_label("The Week").check()
            page.get_by_label("Sport").check()
            page.get_by_label("Language of the emails").select_option("fr")
            page.get_by_role("button", name="Save my preferences").click()
            expect(page.get_by_text("Vos préférences sont enregistrées.")).to_be_visible()
            expect(page.get_by_label("The Week")).to_be_checked()
            assert reader(settings) == {"status": "confirmed", "language": "fr",
                                        "lists": {"morning": (True, ["Sport"]), "weekly": (True, [])}}

            # 4. A digest goes out; its unsubscribe link opens a landing page that changes
            # nothing until the click, then leaves the morning list only.
            add_articles(settings, 2, categories=("Sport",))
            edition_id = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW)
            digests.create_deliveries(settings, edition_id)
            with SmtpTransport(smtp.url, timeout=10) as transport:
                digests.send_edition(settings, edition_id, transport=transport, now=NOW)
            assert smtp.handler.wait_for(2, timeout=15)
            digest = message(smtp.messages[1])
            assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            unsubscribe_url = re.search(r"<(http://[^>]+)>", digest["List-Unsubscribe"]).group(1)
            assert unsubscribe_url.startswith(server.base + "/unsubscribe/")

            page.goto(unsubscribe_url)
            expect(page.get_by_text("Voulez-vous ne plus recevoir The Morning Gazette")).to_be_visible()
            assert reader(settings)["lists"]["morning"] == (True, ["Sport"])
            page.get_by_role("button", name="Me désabonner").click()
            expect(page.get_by_role("heading", name="Vous êtes désabonné·e")).to_be_visible()
            after = reader(settings)
            assert after["lists"]["morning"][0] is False and after["lists"]["weekly"][0] is True
            assert after["status"] == "confirmed"   # still on the weekly list

            # The digest's web version, for anyone: no personal link in it.
            web_url = re.search(r'href="(http://[^"]+/editions/\d+)"',
                                digest.get_body(("html",)).get_content()).group(1)
            page.goto(web_url)
            expect(page.get_by_text("Story 0 about the harbour")).to_be_visible()
            assert "/unsubscribe/" not in page.content()
