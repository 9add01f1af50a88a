"""Outages an editor can see: an SMTP server refusing connections, a social account whose
platform keeps failing, a source that cannot be fetched and an unreachable Redis each show
on the failures page, in `pressbot status` and in /healthz with their last error and since
when, and leave once the system answers again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.errors import TransientError
from bot.mail.transport import SmtpTransport, TransportDown
from bot.services import digests, outages, shares, subscribers
from bot.services.ingest import add_source, poll_source
from bot.services.status import health, status
from tests.integration.test_web_failures import Refusing, add_article
from tests.support.httpserver import Route
from tests.support.smtpserver import SmtpServer, free_port
from tests.support.web import client_for

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>
<item><title>Ferry back</title><link>https://news.example.org/ferry2</link>
<guid>f2</guid><pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"""


def _edition(settings) -> int:
    add_article(settings)
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_name="Gazette",
                         from_email="news@gazette.example.org", schedule="daily 07:00")
    for i in range(2):
        subscribers.add_confirmed(settings, f"reader{i}@example.net", "morning")
    edition_id = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW)
    digests.create_deliveries(settings, edition_id)
    return edition_id


def test_a_refused_smtp_connection_shows_everywhere_until_mail_flows_again(settings):
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    edition_id = _edition(down)
    with pytest.raises(TransportDown):
        digests.send_edition(down, edition_id, now=NOW)
    with pytest.raises(TransportDown):   # a later batch: the same outage, not a new one
        digests.send_edition(down, edition_id, now=NOW + timedelta(minutes=1))

    [smtp] = status(down)["outages"]
    assert smtp["system"] == "smtp" and smtp["failures"] == 2
    assert "cannot reach SMTP 127.0.0.1" in smtp["error"]
    assert datetime.fromisoformat(smtp["since"]) <= datetime.fromisoformat(smtp["last_at"])

    client = client_for(down, login_as="editor@example.com")
    failures = client.get("/admin/failures").text
    assert 'id="outage-smtp"' in failures and "cannot reach SMTP 127.0.0.1" in failures
    edition = client.get(f"/admin/editions/{edition_id}").text
    assert "held back" in edition and "cannot reach SMTP 127.0.0.1" in edition
    code, body = health(down)
    assert code == 200 and body["status"] == "degraded"
    assert [f["system"] for f in body["failing"]] == ["smtp"]
    assert client.get("/healthz").json()["status"] == "degraded"

    with SmtpServer() as smtp_server:
        up = settings.model_copy(update={"smtp_url": smtp_server.url})
        with SmtpTransport(smtp_server.url, timeout=10) as transport:
            report = digests.send_edition(up, edition_id, transport=transport, now=NOW)
    assert report.sent == 2
    assert status(up)["outages"] == []
    assert health(up) == (200, {"status": "ok", "database": "ok", "broker": "ok", "failing": []})
    assert 'id="outage-smtp"' not in client.get("/admin/failures").text


def test_a_failing_account_shows_until_it_posts_again(settings):
    article_id = add_article(settings)
    shares.add_account(settings, "gazette-x", "x")
    later = datetime.now(timezone.utc) + timedelta(hours=1)   # a slot still to come
    [post] = shares.schedule_share(settings, article_id, "gazette-x", later)
    shares.publish_one(settings, post["id"], now=NOW + timedelta(days=1),
                       publisher_for=lambda account: Refusing(TransientError("503 from api.x.com")))
    [failing] = status(settings)["outages"]
    assert failing["name"] == "gazette-x (x)" and failing["error"] == "503 from api.x.com"
    assert "gazette-x (x)" in client_for(settings, login_as="e@example.com").get("/admin/failures").text

    shares.publish_one(settings, post["id"], now=NOW + timedelta(days=2))   # the outbox takes it
    assert status(settings)["outages"] == []


def test_a_failing_source_reaches_the_failures_page_and_clears(settings, http_server):
    http_server.routes["/feed.xml"] = Route(body=b"upstream broke", status=500,
                                            content_type="text/plain")
    source_id = add_source(settings, http_server.url("/feed.xml"))
    poll_source(settings, source_id, now=NOW)
    [failing] = status(settings)["outages"]
    assert failing["system"] == f"source:{source_id}" and failing["name"] == http_server.url("/feed.xml")
    assert "500" in failing["error"] and failing["since"] == NOW.isoformat()
    page = client_for(settings, login_as="e@example.com").get("/admin/failures").text
    assert f'id="outage-source-{source_id}"' in page and http_server.url("/feed.xml") in page

    http_server.routes["/feed.xml"] = Route(body=FEED)
    poll_source(settings, source_id, now=NOW + timedelta(hours=1))
    assert status(settings)["outages"] == []


def test_an_unreachable_redis_is_an_outage_with_a_since(settings):
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    first = status(broken)["outages"]
    assert [o["system"] for o in first] == ["redis"] and "ConnectionError" in first[0]["error"]
    again = status(broken)["outages"]
    assert again[0]["since"] == first[0]["since"] and again[0]["failures"] == 2
    code, body = health(broken)
    assert code == 503 and body["status"] == "failing"


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_status_command_prints_the_failing_systems(settings, tmp_path):
    """`pressbot status` as a user runs it, against the same database."""
    from tests.integration.test_cli import run

    outages.failed(settings, outages.SMTP, "cannot reach SMTP mail.example.org:587: refused",
                   now=NOW - timedelta(hours=3))
    home = tmp_path / "data"
    shown = run(home, "status", DATABASE_URL=settings.effective_database_url)
    assert "failing outside systems" in shown.stdout
    line = next(l for l in shown.stdout.splitlines() if "SMTP server (smtp)" in l)
    assert "cannot reach SMTP mail.example.org:587: refused" in line   # one line, never wrapped
    assert (NOW - timedelta(hours=3)).isoformat()[:16].replace("T", " ") in line
    as_json = json.loads(run(home, "status", "--json", DATABASE_URL=settings.effective_database_url).stdout)
    assert [o["system"] for o in as_json["outages"]] == ["smtp"]
