"""Issue 14, the settings side of the dashboard in French and Arabic: settings (sources,
lists, accounts, users), subscribers (search, one subscriber, import preview), failures,
the edition's engagement figures, My account and the login page. Each page is rendered
with data for an editor who chose the language; none of its English sentences may remain,
flash messages after real form posts speak the editor's language, and the login page
(no editor yet) speaks the browser's Accept-Language or the ?lang= picked on it."""

from __future__ import annotations

import html
import logging
import re
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.services import editors, ingest, outages
from bot.store.db import session_scope
from bot.store.models import Source
from bot.web.i18n import MESSAGES
from bot.web.i18n_admin_settings import ADMIN_SETTINGS
from tests.integration.test_ingest_http import item, rss
from tests.integration.test_web_admin_i18n import choose
from tests.integration.test_web_failures import (GONE, REPLY, add_article, broken_edition,
                                                 failed_delivery, failed_posts)
from tests.support.httpserver import Route
from tests.support.web import PASSWORD, add_editor, client_for, csrf, csrf_from

BOSS = "boss@example.com"
ROOT = Path(__file__).resolve().parents[2]
MY_TEMPLATES = ("settings*.html", "subscribers*.html", "failures.html", "login.html",
                "account.html", "_outages.html", "_engagement.html", "edition_missing.html",
                "_layout.html")
# What the data of these pages holds that is English on purpose: names, addresses, titles
# and the messages of outside servers and services (they are not the dashboard's words).
DATA = ("@example", "The Morning Gazette", "The harbour ferry runs again", "Story ", "Gazette",
        "gazette-", "news.example.org", "test:feed", "127.0.0.1", "localhost", "readers.csv",
        "Test News", "Body text", "title is empty", "is not a valid email address",
        "on the suppression list (", "same address as line",
        "digest/body.html", "You are not allowed", "AuthenticationRequired", "User unknown",
        "connection refused", "en, fr, ar", "Français", "Boss (", "Old.Hand", "Apple Mail Privacy")


# -- reading a page as its reader does -----------------------------------------------------------


def visible_texts(page: str) -> list[str]:
    """The text a person reads: text nodes and the attributes a browser shows (placeholder,
    confirm prompts, labels of navigation), whitespace collapsed; no script or style."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    shown = re.findall(r'(?:placeholder|data-confirm|aria-label|title)="([^"]*)"', page)
    nodes = re.sub(r"<[^>]+>", "\n", page).split("\n") + shown
    return [text for text in (" ".join(html.unescape(node).split()) for node in nodes) if text]


def english_fragments(lang: str) -> list[tuple[str, str]]:
    """(key, fragment): the English words of each of this part's sentences, cut at their
    placeholders; fragments the translation itself keeps ("Sources", "Redis") left out."""
    found = []
    for key, pattern in ADMIN_SETTINGS["en"].items():
        for literal, *_ in string.Formatter().parse(pattern):
            fragment = (literal or "").strip(" :;,.()+←→·-")
            if len(re.findall(r"[A-Za-z]{3,}", fragment)) and fragment not in ADMIN_SETTINGS[lang][key]:
                found.append((key, fragment))
    return found


def english_left(texts: list[str], lang: str) -> list[str]:
    """The catalogue's English sentences still on a page shown in `lang`."""
    left = []
    for key, fragment in english_fragments(lang):
        one_word = " " not in fragment
        for text in texts:
            hit = (text.strip(" :;,.()") == fragment if one_word
                   else re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text))
            if hit:
                left.append(f"{key}: {text!r}")
    return left


def untranslated(english: list[str], translated: list[str]) -> list[str]:
    """Sentences shown identically in English and in the editor's language, data aside."""
    same = set(english) & set(translated)
    return sorted(text for text in same
                  if len(re.findall(r"[A-Za-z]{2,}", text)) >= 2 and not any(d in text for d in DATA)
                  and not re.fullmatch(r"[a-z0-9_]+", text))    # a credential's field name


# -- the data: a list with readers, a failed delivery and posts, sources, accounts, users ------


@pytest.fixture
def newsroom(settings, http_server):
    article = add_article(settings)
    edition, delivery = failed_delivery(settings)
    x_post, bsky_post = failed_posts(settings, article)
    broken_edition(settings)
    http_server.routes["/feed.xml"] = Route(rss(item(1), item(2), item(3, title=" ", body="")))
    source = ingest.add_source(settings, http_server.url("/feed.xml"))
    with session_scope(settings.effective_database_url) as s:
        found = s.get(Source, source)
        found.discovered_from = "https://news.example.org/"
        found.last_error = "HTTP 503 from news.example.org"
        found.failure_count = 3
    outages.failed(settings, outages.SMTP, "connection refused")
    outages.failed(settings, outages.SMTP, "connection refused")
    add_editor(settings, "old.hand@example.com")
    [old] = [u for u in editors.list_users(settings) if u["email"] == "old.hand@example.com"]
    editors.update_user(settings, old["id"], active=False)
    client = client_for(settings, login_as=BOSS, role="admin")
    return {"client": client, "edition": edition, "delivery": delivery, "x_post": x_post,
            "bsky_post": bsky_post, "source": source}


def staged_import(client) -> str:
    """The preview of a CSV with a good row, a bad one, a duplicate and one who left."""
    rows = f"email,name,language,topics\nnew@example.org,Nadia,fr,City\nbad,,,\nnew@example.org,,,\n{GONE},,,\n"
    response = client.post("/admin/subscribers/import", follow_redirects=False,
                           data={"csrf_token": csrf(client, "/admin/subscribers"), "list": "morning"},
                           files={"file": ("readers.csv", rows.encode(), "text/csv")})
    assert response.status_code == 303
    return response.headers["location"]


def pages_of(client, data) -> dict[str, list[str]]:
    """Every page of the settings side, as the client's editor reads it."""
    subscriber = re.search(rf'href="(/admin/subscribers/\d+)">{re.escape(GONE)}<',
                           client.get("/admin/subscribers").text).group(1)
    paths = ["/admin/settings", "/admin/settings/sources", "/admin/settings/lists",
             "/admin/settings/lists/morning", "/admin/settings/accounts", "/admin/settings/users",
             "/admin/subscribers", "/admin/subscribers?status=confirmed", subscriber,
             "/admin/failures", "/admin/account", "/admin/editions/999999"]
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        pages[path] = response.text
    pages["import preview"] = client.get(staged_import(client)).text
    token = csrf(client, "/admin/settings")
    pages["test fetch"] = client.post(f"/admin/settings/sources/{data['source']}/test",
                                      data={"csrf_token": token}).text
    edition = client.get(f"/admin/editions/{data['edition']}").text
    pages["engagement"] = re.search(r'(?s)<section class="card edition-engagement".*?</section>',
                                    edition).group(0)
    return pages


# -- (a) every page in French and in Arabic -------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_no_english_sentence_remains_on_the_settings_side(settings, newsroom, lang, caplog):
    client = newsroom["client"]
    english = {path: visible_texts(page) for path, page in pages_of(client, newsroom).items()}
    assert "Outside systems failing" in english["/admin/failures"]   # the data shows everything
    assert any("3 failures in a row" in text for text in english["/admin/settings/sources"])
    assert any(text.startswith("items found: ") for text in english["test fetch"])
    # The check below sees the English it looks for.
    assert [path for path, texts in english.items() if not english_left(texts, lang)] == []

    choose(client, language=lang, timezone="")
    with caplog.at_level(logging.WARNING, logger="bot.web.i18n"):
        shown = pages_of(client, newsroom)

    assert [r.getMessage() for r in caplog.records if r.name == "bot.web.i18n"] == []
    for path, page in shown.items():
        if path != "engagement":
            assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in page, path
        texts = visible_texts(page)
        assert english_left(texts, lang) == [], path
        assert untranslated(english[path], texts) == [], path

    words = {path: " ".join(visible_texts(page)) for path, page in shown.items()}
    expected = {
        "fr": {"/admin/settings": "flux, sites et dossiers lus par pressbot",
               "/admin/settings/sources": "3 échecs d’affilée",
               "/admin/settings/lists/morning": "Modifier la liste morning",
               "/admin/settings/accounts": "Heures de silence (heure locale)",
               "/admin/settings/users": "désactivé",
               "/admin/subscribers": "Ajouter un abonné",
               "/admin/failures": "Systèmes extérieurs en panne",
               "test fetch": "éléments trouvés — nouveaux :",
               "import preview": "lignes seront écartées — invalides :",
               "engagement": "Taux de clic"},
        "ar": {"/admin/settings": "النشرات البريدية، وعددها",
               "/admin/settings/sources": "إخفاقات متتالية: \u20683\u2069",
               "/admin/settings/lists/morning": "→ القوائم",
               "/admin/settings/accounts": "ساعات الهدوء (بالتوقيت المحلي)",
               "/admin/settings/users": "معطَّل",
               "/admin/subscribers": "إضافة مشترك",
               "/admin/failures": "أنظمة خارجية متعطلة",
               "test fetch": "— الجديدة:",
               "import preview": "الأسطر التي ستُستبعد:",
               "engagement": "معدل النقر"},
    }[lang]
    for path, sentence in expected.items():
        assert sentence in words[path], (path, sentence)
    if lang == "ar":
        # Right to left, "back" and "newer" point right, the way the page is read.
        assert "→ المشتركون" in words[[p for p in shown if re.fullmatch(r"/admin/subscribers/\d+", p)][0]]


# -- (b) flash messages after real form posts ----------------------------------------------------


LIST_EDIT = {"title": "The Morning Gazette", "from_name": "Gazette", "from_email": "news@gazette.example.org",
             "language": "en", "template": "digest", "schedule": "daily 07:00", "timezone": "Europe/Paris",
             "max_articles": "6", "categories": ""}


def flashes(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+" role="\w+">(.*?)</p>', page, re.S)]


def test_flash_messages_after_form_posts_speak_french(settings, newsroom):
    client = newsroom["client"]
    choose(client, language="fr", timezone="")
    token = csrf(client, "/admin/settings")

    saved = client.post("/admin/settings/lists/morning", data={"csrf_token": token, **LIST_EDIT})
    assert "Liste morning enregistrée." in flashes(saved.text)

    bad = client.post("/admin/settings/sources", data={"csrf_token": token, "url": "ftp://nowhere"})
    assert bad.status_code == 422
    [refusal] = flashes(bad.text)
    assert refusal.startswith("Source non ajoutée : ")     # the reason itself is the service's

    retried = client.post(f"/admin/failures/deliveries/{newsroom['delivery']}/retry",
                          data={"csrf_token": token})
    assert (f"L’envoi {newsroom['delivery']} (édition {newsroom['edition']}) repart dans la minute."
            in flashes(retried.text))

    paused = client.post("/admin/settings/accounts/pause", data={"csrf_token": token, "name": "gazette-x"})
    assert "gazette-x en pause : rien n’y sera publié tant qu’il n’est pas repris." in flashes(paused.text)

    added = client.post("/admin/subscribers/add", data={"csrf_token": token, "email": "nouvelle@example.org",
                                                        "list": "morning", "consent": "1"})
    assert "nouvelle@example.org est inscrit sur morning, confirmé." in flashes(added.text)


def test_flash_messages_after_form_posts_speak_arabic(settings, newsroom):
    client = newsroom["client"]
    choose(client, language="ar", timezone="")
    token = csrf(client, "/admin/settings")

    retried = client.post(f"/admin/failures/posts/{newsroom['bsky_post']}/retry", data={"csrf_token": token})
    [waits] = flashes(retried.text)
    assert waits.startswith("حان موعد منشور \u2068gazette-bsky\u2069 مجددًا لكنه ينتظر إصلاح الحساب: ")

    again = client.post(f"/admin/failures/posts/{newsroom['x_post']}/retry", data={"csrf_token": token})
    assert "يُعاد نشر منشور \u2068gazette-x\u2069 خلال دقيقة." in flashes(again.text)
    refused = client.post(f"/admin/failures/posts/{newsroom['x_post']}/retry", data={"csrf_token": token})
    [frame] = flashes(refused.text)
    assert frame.startswith("لم تُعَد المحاولة: ")       # the reason stays the service's English

    added = client.post("/admin/settings/users", data={"csrf_token": token, "email": "new.ed@example.com",
                                                       "name": "", "role": "editor", "password": PASSWORD})
    assert ("يمكن لـ \u2068new.ed@example.com\u2069 الآن تسجيل الدخول بصفة \u2068محرر\u2069. "
            "سلّمه كلمة المرور شخصيًا، لا بالبريد الإلكتروني." in flashes(added.text))

    staged = staged_import(client).split("/")[-1].split("?")[0]
    cancelled = client.post(f"/admin/subscribers/import/{staged}/cancel", data={"csrf_token": token})
    assert "أُلغي الاستيراد؛ لم يُستورَد شيء." in flashes(cancelled.text)


# -- (c) the login page ---------------------------------------------------------------------------


def test_the_login_page_speaks_the_browsers_language_or_the_one_picked(settings):
    add_editor(settings, "ed@example.com")
    client = client_for(settings)

    english = client.get("/admin/login").text                       # no Accept-Language: English
    assert '<html lang="en" dir="ltr">' in english and "<h1>Log in</h1>" in english

    french = client.get("/admin/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}).text
    assert '<html lang="fr" dir="ltr">' in french and "<h1>Connexion</h1>" in french
    assert ">Adresse e-mail <input" in french and ">Mot de passe <input" in french
    assert english_left(visible_texts(french), "fr") == []
    wrong = client.post("/admin/login", headers={"Accept-Language": "fr"},
                        data={"email": "ed@example.com", "password": "nope", "csrf_token": csrf_from(french)})
    assert wrong.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in flashes(wrong.text)

    # An Arabic link on the page, whatever the browser says; the form keeps the choice.
    link = re.search(r'<a href="([^"]+)" lang="ar"', english).group(1)
    arabic = client.get(html.unescape(link), headers={"Accept-Language": "en"}).text
    assert '<html lang="ar" dir="rtl">' in arabic and "<h1>تسجيل الدخول</h1>" in arabic
    assert english_left(visible_texts(arabic), "ar") == []
    assert 'action="/admin/login?lang=ar"' in arabic
    wrong = client.post("/admin/login?lang=ar", headers={"Accept-Language": "en"},
                        data={"email": "ed@example.com", "password": "nope", "csrf_token": csrf_from(arabic)})
    assert "البريد الإلكتروني أو كلمة المرور غير صحيحة." in flashes(wrong.text)
    assert '<html lang="ar" dir="rtl">' in wrong.text

    right = client.post("/admin/login?lang=ar", follow_redirects=False,
                        data={"email": "ed@example.com", "password": PASSWORD, "next": "/admin/account",
                              "csrf_token": csrf_from(arabic)})
    assert (right.status_code, right.headers["location"]) == (303, "/admin/account")
    # Logged in, the editor's own choice (none: the site's English) speaks, not the link's.
    assert '<html lang="en" dir="ltr">' in client.get("/admin/account").text


# -- (d) the catalogue part -----------------------------------------------------------------------


def test_every_key_of_this_part_is_in_three_languages_with_the_same_placeholders():
    def names(pattern):
        return {field for _, field, *_ in string.Formatter().parse(pattern) if field}

    english = ADMIN_SETTINGS["en"]
    for lang in ("fr", "ar"):
        assert ADMIN_SETTINGS[lang].keys() == english.keys(), lang
        for key, pattern in english.items():
            assert names(ADMIN_SETTINGS[lang][key]) == names(pattern), (lang, key)
            assert "<" not in ADMIN_SETTINGS[lang][key], (lang, key)   # no markup in values
    # French takes the typographic apostrophe, as the rest of the catalogue does.
    assert [key for key, value in ADMIN_SETTINGS["fr"].items() if "'" in value] == []


def test_my_templates_use_only_known_keys_with_every_plural_form():
    known = MESSAGES["en"].keys()
    used, plural, words = set(), set(), set()
    for pattern in MY_TEMPLATES:
        for template in (ROOT / "templates/web/admin").glob(pattern):
            text = template.read_text()
            used |= set(re.findall(r"""t(?:\.markup)?\(\s*["'](a\.[a-z_]+)["']\s*[,)]""", text))
            plural |= set(re.findall(r"""t\.plural\(\s*["'](a\.[a-z_]+)["']\s*,""", text))
            words |= set(re.findall(r"""t\.word\(\s*["'](a\.[a-z_]+)["']\s*,""", text))
    assert used and plural and words
    assert used - known == set()
    assert {f"{key}_{form}" for key in plural for form in ("one", "other")} - known == set()
    assert [prefix for prefix in words if not any(k.startswith(prefix) for k in known)] == []
    # Keys made up in a template ("a.role_" ~ role) are checked by walking the pages.
    # No English sentence left in a template's text between tags (placeholders are data).
    for pattern in MY_TEMPLATES:
        for template in (ROOT / "templates/web/admin").glob(pattern):
            text = re.sub(r"(?s)\{#.*?#\}|\{% block body_class %\}\w+|\{%.*?%\}|\{\{.*?\}\}"
                          r"|<code>[^<]*</code>", "\x00", template.read_text())
            stray = [s.strip() for s in re.sub(r"<[^>]+>", "\x00", text).split("\x00")
                     if re.search(r"[A-Za-z]{3,}", s)]
            assert stray == [], (template.name, stray)
