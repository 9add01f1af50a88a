"""Issue 14: the dashboard in each editor's language (en/fr/ar, Arabic right to left) and
time zone, chosen on "My account"; every admin page walked in Arabic with no catalogue
key missing; times shown and datetime-local fields read in the editor's zone."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot.services import editors, shares
from bot.store.db import session_scope
from bot.store.models import SharePost
from bot.web.i18n import MESSAGES
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.support.web import client_for, csrf

EDITOR = "ed@example.com"
LATER = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(days=2)


def choose(client, **fields):
    token = csrf(client, "/admin/account")
    return client.post("/admin/account", data={"csrf_token": token, **fields})


def test_an_arabic_editor_gets_the_dashboard_right_to_left_in_arabic(settings):
    client = client_for(settings, login_as=EDITOR)
    before = client.get("/admin/calendar").text
    assert '<html lang="en" dir="ltr">' in before and ">Calendar</a>" in before

    saved = choose(client, language="ar", timezone="")

    assert saved.status_code == 200
    assert '<html lang="ar" dir="rtl">' in saved.text
    assert "حُفظت إعداداتك." in saved.text   # the flash, already in the new language
    page = client.get("/admin/calendar").text
    assert '<html lang="ar" dir="rtl">' in page
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S).group(1)
    for word in ("التقويم", "حملة جديدة", "المقالات", "المشتركون", "الإخفاقات", "حسابي"):
        assert word in nav
    assert "تسجيل الخروج" in page and "<h1>التقويم</h1>" in page
    # Dates in Arabic sentences are bidi-isolated, or 2026-11-26 would show as 26-11-2026.
    assert re.search("من \u2068\\d{4}-\\d{2}-\\d{2}\u2069 إلى", page)
    # Another editor keeps the site's language: the choice is per editor.
    other = client_for(settings, login_as="other@example.com")
    assert '<html lang="en" dir="ltr">' in other.get("/admin/calendar").text


def test_a_french_editor_gets_french_titles_and_table_headers(settings):
    client = client_for(settings, login_as=EDITOR)
    choose(client, language="fr", timezone="")
    page = client.get("/admin/failures").text
    assert '<html lang="fr" dir="ltr">' in page
    assert "<h1>Échecs</h1>" in page and "Mon compte" in page and "Se déconnecter" in page


def test_every_admin_page_in_arabic_has_every_word_in_the_catalogue(settings, caplog):
    make_list(settings, created=datetime.now(timezone.utc) - timedelta(days=3))
    add_readers(settings, 1)
    [article] = add_articles(settings, ["Harbour reopens after the storm"],
                             seen=datetime.now(timezone.utc) - timedelta(hours=1))
    shares.add_account(settings, "gazette-x", "x")
    client = client_for(settings, login_as=EDITOR, role="admin")
    choose(client, language="ar", timezone="Asia/Tokyo")
    calendar = client.get("/admin/calendar").text
    run = re.search(r'href="(/admin/(?:lists/\d+/runs|editions)/[^"]+)"', calendar)
    assert run, "the calendar links no digest run"
    subscriber = re.search(r'href="(/admin/subscribers/\d+)"', client.get("/admin/subscribers").text)
    assert subscriber, "the subscribers page links no subscriber"
    pages = ["/admin/calendar", "/admin/calendar?view=week", "/admin/campaigns/new",
             "/admin/articles", f"/admin/articles/{article}", f"/admin/articles/{article}/reach",
             run.group(1), "/admin/editions/999999", "/admin/subscribers", subscriber.group(1),
             "/admin/failures", "/admin/settings", "/admin/settings/sources", "/admin/settings/lists",
             "/admin/settings/lists/morning", "/admin/settings/accounts", "/admin/settings/users",
             "/admin/account"]

    with caplog.at_level(logging.WARNING, logger="bot.web.i18n"):
        for path in pages:
            response = client.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
            assert '<html lang="ar" dir="rtl">' in response.text, path
            assert "حسابي" in response.text, path
            assert not re.search(r">\s*a\.[a-z_]+\s*<", response.text), f"{path} shows a raw key"

    missing = [r.getMessage() for r in caplog.records if r.name == "bot.web.i18n"]
    assert missing == []


def test_the_catalogues_have_every_dashboard_key_and_the_templates_use_only_known_ones():
    keys = {k for k in MESSAGES["en"] if k.startswith("a.")}
    for lang in ("fr", "ar"):
        assert keys - MESSAGES[lang].keys() == set(), lang
    from pathlib import Path
    used = set()
    for template in Path("templates/web/admin").glob("*.html"):
        # Whole keys only ("a.role_" ~ role is checked by the walk of every page).
        used |= set(re.findall(r"""t\(["'](a\.[a-z_]+)["']\s*[,)]""", template.read_text()))
    assert used and used - keys == set()


def test_an_editor_in_tokyo_sees_and_enters_times_in_tokyo_time(settings):
    settings.timezone = "UTC"
    shares.add_account(settings, "gazette-bsky", "bluesky")
    [article] = add_articles(settings, ["Harbour reopens after the storm"],
                             seen=datetime.now(timezone.utc) - timedelta(hours=1))
    [post] = shares.schedule_share(settings, article, "gazette-bsky", at=LATER)
    client = client_for(settings, login_as=EDITOR)
    tokyo = (LATER + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    assert tokyo not in client.get(f"/admin/articles/{article}").text   # site zone: UTC

    choose(client, language="", timezone="Asia/Tokyo")
    page = client.get(f"/admin/articles/{article}").text
    assert f"Scheduled for {tokyo} (Asia/Tokyo)" in page
    week = client.get("/admin/calendar?view=week").text
    assert (LATER + timedelta(hours=9)).strftime("%H:%M") in week

    year = LATER.year + 1
    token = csrf(client, f"/admin/articles/{article}")
    moved = client.post(f"/admin/articles/{article}/posts/{post['id']}/reschedule",
                        data={"csrf_token": token, "at": f"{year}-01-15T09:30"}).text
    with session_scope(settings.effective_database_url) as s:
        stored = s.get(SharePost, post["id"]).scheduled_at
    assert stored == datetime(year, 1, 15, 0, 30, tzinfo=timezone.utc)   # 09:30 in Tokyo
    assert f"{year}-01-15 09:30 (Asia/Tokyo)" in moved


def test_an_unknown_time_zone_is_refused_by_name_and_nothing_is_stored(settings):
    client = client_for(settings, login_as=EDITOR)
    refused = choose(client, language="fr", timezone="Mars/Olympus")
    assert refused.status_code == 422
    assert "Mars/Olympus" in refused.text and "IANA" in refused.text
    assert 'value="Mars/Olympus"' in refused.text   # what was typed is kept
    stored = [u for u in editors.list_users(settings) if u["email"] == EDITOR][0]
    assert (stored["language"], stored["timezone"]) == (None, None)
    assert choose(client, language="xx", timezone="").status_code == 422


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_users_set_chooses_the_language_and_zone_from_the_command_line(tmp_path):
    from bot.config import Settings
    from tests.integration.test_editors import _cli
    from tests.support.web import PASSWORD, login

    home = tmp_path / "data"
    assert _cli(home, "users", "add", "chief@example.com", "--role", "admin",
                "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    bad = _cli(home, "users", "set", "chief@example.com", "--language", "ar", "--timezone", "Mars/Olympus")
    assert bad.returncode == 2 and "unknown time zone 'Mars/Olympus'" in bad.stderr
    settings = Settings(home=home)
    assert [(u["language"], u["timezone"]) for u in editors.list_users(settings)] == [(None, None)]

    done = _cli(home, "users", "set", "chief@example.com", "--language", "ar", "--timezone", "Asia/Tokyo")
    assert done.returncode == 0, done.stderr
    assert "ar, Asia/Tokyo" in done.stdout
    client = client_for(settings)
    login(client, "chief@example.com")
    page = client.get("/admin/calendar").text
    assert '<html lang="ar" dir="rtl">' in page and "Asia/Tokyo" in page

    back = _cli(home, "users", "set", "chief@example.com", "--language", "site", "--timezone", "site")
    assert back.returncode == 0 and "site language, site time zone" in back.stdout


def test_the_article_pages_flash_messages_speak_the_editors_language(settings):
    shares.add_account(settings, "gazette-bsky", "bluesky")
    [article] = add_articles(settings, ["Harbour reopens after the storm"],
                             seen=datetime.now(timezone.utc) - timedelta(hours=1))
    [post] = shares.schedule_share(settings, article, "gazette-bsky", at=LATER)
    client = client_for(settings, login_as=EDITOR)
    choose(client, language="ar", timezone="Asia/Tokyo")
    token = csrf(client, f"/admin/articles/{article}")
    year = LATER.year + 1

    moved = client.post(f"/admin/articles/{article}/posts/{post['id']}/reschedule",
                        data={"csrf_token": token, "at": f"{year}-01-15T09:30"}).text
    assert f"أصبح منشور \u2068gazette-bsky\u2069 مجدولًا في \u2068{year}-01-15 09:30 (Asia/Tokyo)\u2069." in moved
    past = client.post(f"/admin/articles/{article}/posts/{post['id']}/reschedule",
                       data={"csrf_token": token, "at": "2020-01-01T09:00"}).text
    assert "لم تُعَد الجدولة: " in past   # the reason itself comes from the service, in English
