"""Issue 14, the content side of the dashboard in French and Arabic: the article pages, the
calendar, editions and campaigns, rendered with real data (share posts on two accounts, a
digest sent through a real SMTP server with a reader's click counted, a scheduled
campaign), must keep no English sentence; the flash messages after real form posts speak
the editor's language.

How "no English left" is checked, per page: the same page is rendered for an English
editor; every text people read (text nodes, and the title, placeholder, data-confirm,
aria-label and alt attributes) is reduced to its words by removing the data the test made
(titles, addresses, account and list names, URLs, numbers, dates, zones). A French or
Arabic page may not show the words of any English text of its English twin, nor a text
matching the English pattern of a catalogue key it used (the keys are recorded while it
renders)."""

from __future__ import annotations

import email
import email.policy
import re
import string
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.mail.transport import SmtpTransport
from bot.services import digests, dispatch_email, engagement, planning, shares
from bot.services.engagement_figures import edition_figures
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus
from bot.store.models import PostState, SharePost
from bot.web.i18n import MESSAGES, Translator
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.integration.test_web_admin_i18n import choose
from tests.support.smtpserver import SmtpServer
from tests.support.web import client_for, csrf_from

EDITOR = "ed@example.com"
TITLES = ["Harbour reopens after the storm", "Tram line 3 extended", "Council votes the budget"]
ACCOUNTS = ("gazette-x", "gazette-bsky", "gazette-masto")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
# Words that are the same in French (and so prove nothing either way).
SAME_IN = {"fr": {"Articles", "Article", "Source", "Date", "Pages", "Actions", "articles", "article"},
           "ar": set()}


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# -- Reading a page as people do -----------------------------------------------------------------

# What is not the dashboard's own words: the email itself (its text part and subject, in the
# list's language), the share texts and previews (the article's words), and parts another
# change translates (the engagement figures, the outside systems' table).
CUT = [r'<pre class="text-part">.*?</pre>', r"<textarea[^>]*>.*?</textarea>",
       r'<strong class="email-subject">.*?</strong>', r'<p class="post-body">.*?</p>',
       r'<a class="link-card".*?</a>', r"<script.*?</script>",
       r'<section class="card edition-engagement" id="engagement".*?</section>',
       r'<section class="outages" id="outages">.*?</section>']
READ_ATTRS = ("title", "placeholder", "data-confirm", "aria-label", "alt")


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.texts += [value for name, value in attrs if name in READ_ATTRS and value]

    def handle_data(self, data):
        if data.strip():
            self.texts.append(data)


def texts_of(html: str) -> list[str]:
    for pattern in CUT:
        html = re.sub(pattern, "", html, flags=re.S)
    reader = _Texts()
    reader.feed(html)
    return [re.sub(r"\s+", " ", t.replace("\u2068", "").replace("\u2069", "")).strip()
            for t in reader.texts]


URL_RE = re.compile(r"https?://\S+|/admin/\S*|\S+@\S+")
DATA_RE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?|\d{1,2}:\d{2}"
                     r"|\b[A-Z][a-z]+/[A-Za-z_]+\b|\d+")


def words(text: str, data: list[str]) -> str:
    """The text without the data the test made: what is left is the page's own words."""
    text = URL_RE.sub(" ", text)
    for value in data:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text)
    text = DATA_RE.sub(" ", text)
    text = "".join(" " if c in string.punctuation or c in "“”«»←→—·…×،؛؟’ " else c for c in text)
    return " ".join(text.split())


def english_patterns(keys: set[str], lang: str) -> list[tuple[str, re.Pattern]]:
    """The English values of the keys a page used, as patterns (placeholders match anything),
    leaving out those the other language writes the same way."""
    patterns = []
    for key in keys:
        english = MESSAGES["en"].get(key)
        if not english or MESSAGES[lang].get(key) == english:
            continue
        parts = re.split(r"\{[a-z_]+\}", english)
        if not re.search(r"[A-Za-z]{2}", "".join(parts)):
            continue   # all placeholders ("{weekday} {day}…"): no English words of its own
        patterns.append((key, re.compile(".+".join(re.escape(p) for p in parts), re.S)))
    return patterns


@pytest.fixture
def used_keys(monkeypatch):
    """The catalogue keys asked for while a page renders."""
    seen: set[str] = set()
    original = Translator._pattern

    def recording(self, key):
        seen.add(key)
        return original(self, key)

    monkeypatch.setattr(Translator, "_pattern", recording)
    return seen


def assert_no_english(english_html: str, html: str, lang: str, data: list[str], keys: set[str],
                      page: str) -> None:
    english = {words(t, data) for t in texts_of(english_html)} - {""}
    shown = texts_of(html)
    left = sorted({t for t in shown if words(t, data) in english - SAME_IN[lang]})
    assert left == [], f"{page} ({lang}) still shows English: {left}"
    for key, pattern in english_patterns(keys, lang):
        matching = [t for t in shown if pattern.fullmatch(t)]
        assert matching == [], f"{page} ({lang}) shows the English of {key}: {matching}"


# -- A newsroom with something on every page ----------------------------------------------------


@pytest.fixture
def newsroom(settings):
    """A list with two readers; a digest sent through a real SMTP server (one reader refused,
    so a failed delivery) with one reader's click counted; articles shared on two accounts
    (one post sent with counts, one scheduled) and a third account with none; a scheduled
    campaign. Three clients, one editor each reading the dashboard in English, French and
    Arabic."""
    settings = settings.model_copy(update={"base_url": "http://testserver", "scanner_window_seconds": 0,
                                           "timezone": "Europe/Paris"})
    list_id = make_list(settings, created=now() - timedelta(days=3))
    add_readers(settings, 2)
    articles = add_articles(settings, TITLES, seen=now() - timedelta(hours=2))
    previous = dispatch_email.latest_slot("daily 07:00", "Europe/Paris", now() - timedelta(days=2), now())
    with SmtpServer() as smtp:
        smtp.handler.rcpt_replies["reader1@example.net"] = "550 5.7.1 Message rejected as spam"
        sent_id, _ = dispatch_email.build_scheduled(settings, list_id, previous, now())
        with SmtpTransport(smtp.url, timeout=10) as transport:
            digests.send_edition(settings, sent_id, transport=transport)
        [message] = smtp.handler.by_recipient("reader0@example.net")
    html = email.message_from_bytes(message.content, policy=email.policy.default).get_body(("html",))
    link = re.search(r'href="(http://testserver/r/[^"]+)"', html.get_content())
    assert link, "the digest has no tracked link"

    # The same pages for three editors, one per language (the language is the editor's).
    clients = {}
    for lang in ("en", "fr", "ar"):
        clients[lang] = client_for(settings, login_as=f"{lang}-desk@example.com", role="admin")
        choose(clients[lang], language=lang, timezone="")
    # One reader's click (a browser's), counted; then what the next tick would fold.
    path = urlsplit(link.group(1).replace("&amp;", "&"))
    assert clients["en"].get(f"{path.path}?{path.query}", headers={"User-Agent": BROWSER},
                             follow_redirects=False).status_code == 302
    engagement.drain(settings, clients["en"].app.state.engagement)
    engagement.fold(settings)
    [top] = edition_figures(settings, sent_id)["top_articles"]

    lead = top["article_id"]   # the clicked story: its reach page has a bit of everything
    for name, platform in zip(ACCOUNTS, ("x", "bluesky", "mastodon")):
        shares.add_account(settings, name, platform)
    [sent_post] = shares.schedule_share(settings, lead, "gazette-x", at=now() + timedelta(hours=1))
    [waiting] = shares.schedule_share(settings, lead, "gazette-bsky", at=now() + timedelta(hours=3))
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(SharePost).where(SharePost.id == sent_post["id"]).values(
            state=PostState.SENT, sent_at=now() - timedelta(minutes=30), remote_url="https://x.example/1",
            likes=4, reposts=2, replies=1, views=None, attempts=2, generation=1))
        s.execute(update(SharePost).where(SharePost.id == waiting["id"]).values(
            attempts=1, last_error="timeout from the platform"))
    campaign_at = (now() + timedelta(days=1, hours=3)).replace(second=0)
    campaign_id = planning.create_campaign(settings, "morning", article_ids=articles[1:],
                                           intro="Our transport special.", send_at=campaign_at,
                                           editor=EDITOR)

    with session_scope(settings.effective_database_url) as s:
        subjects = [x for x in s.scalars(select(Edition.subject)) if x]
    # Texts from the services (bot.errors.BadInput and failure reasons) stay English.
    service = ["no new articles since the list's last edition yet: if none arrive before it goes out, "
               "this run will be skipped", "rejected at rcpt: 550 5.7.1 Message rejected as spam"]
    data = sorted({*TITLES, *service, *ACCOUNTS, *subjects, EDITOR, *(f"{lang}-desk@example.com" for lang in clients),
                   "En-Desk", "Fr-Desk", "Ar-Desk", "reader0@example.net", "reader1@example.net",
                   "The Morning Gazette", "morning", "Our transport special.",
                   "timeout from the platform",
                   "daily 07:00", "Europe/Paris", "test:feed", "feed", "X", "Bluesky", "Mastodon",
                   "x", "bluesky", "mastodon", "B", "M", "The Feed", "City",
                   settings.site_name, "en"}, key=len, reverse=True)
    return {"settings": settings, "list_id": list_id, "articles": articles, "lead": lead,
            "sent_id": sent_id, "campaign_id": campaign_id, "clients": clients, "data": data}


def check_pages(newsroom, used_keys, lang: str, paths: list[str]) -> dict[str, str]:
    """Each page in English and in `lang`; no English left in the latter. The pages in `lang`."""
    clients, pages = newsroom["clients"], {}
    for path in paths:
        english = clients["en"].get(path)
        used_keys.clear()
        shown = clients[lang].get(path)
        assert shown.status_code == english.status_code, path
        assert f'<html lang="{lang}"' in shown.text, path
        assert_no_english(english.text, shown.text, lang, newsroom["data"], set(used_keys), path)
        pages[path] = shown.text
    return pages


def test_the_check_finds_english_left_on_a_page(newsroom, used_keys):
    """The check itself: a page left in English (the English editor's, passed off as French)
    fails it, naming the English it found."""
    english = newsroom["clients"]["en"].get(f"/admin/articles/{newsroom['lead']}").text
    with pytest.raises(AssertionError, match="Share posts"):
        assert_no_english(english, english, "fr", newsroom["data"], set(used_keys), "article")
    # With no English twin to compare with, the catalogue's English patterns still catch it.
    with pytest.raises(AssertionError, match=r"shows the English of a\."):
        assert_no_english("<p></p>", english, "fr", newsroom["data"], set(used_keys), "article")


@pytest.mark.parametrize("lang, expected", [
    ("fr", ["Rechercher dans les titres et les adresses", "3 articles.", "Lien", "Publications sur les réseaux",
            "planifiée", "publiée", "2 tentatives", "partagée 2 fois", "Passer cette publication ? Elle ne partira pas.",
            "Dernière erreur : ", "Audience de « ", "Clics dans chaque édition", "J’aime", "Sur les comptes sociaux"]),
    ("ar", ["البحث في العناوين والروابط", "عدد المقالات: ", "الرابط", "منشورات المشاركة", "مجدول",
            "تم النشر", "المحاولات: ", "تخطي هذا المنشور؟ لن يُنشر.", "آخر خطأ: ", "وصول «", "النقرات في كل عدد",
            "الإعجابات", "على حسابات التواصل الاجتماعي"]),
])
def test_the_article_pages_keep_no_english(newsroom, used_keys, lang, expected):
    lead = newsroom["lead"]
    pages = check_pages(newsroom, used_keys, lang, [
        "/admin/articles", "/admin/articles?q=Harbour", f"/admin/articles/{lead}", f"/admin/articles/{lead}/reach"])
    shown = "".join(pages.values()).replace("\u2068", "").replace("\u2069", "")
    missing = [word for word in expected if word not in shown]
    assert missing == []
    # The figures keep their hooks whatever the language.
    assert 'data-figure="clicks">1</span>' in pages[f"/admin/articles/{lead}/reach"]


MONTHS = {"fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                 "octobre", "novembre", "décembre"],
          "ar": ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
                 "نوفمبر", "ديسمبر"]}
WEEKDAYS = {"fr": ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"],
            "ar": ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]}


@pytest.mark.parametrize("lang, expected", [
    ("fr", ["planifiée", "envoyée", "1 envoyé", "1 en échec", "2 abonnés", "publiée", "envoyée ou publiée",
            "Campagne", "Lettre", "Tous les états"]),
    ("ar", ["مجدول", "تم الإرسال", "مُرسلة: 1", "فاشلة: 1", "المشتركون: 2", "تم النشر", "تم الإرسال أو النشر",
            "حملة", "النشرة", "أي حالة"]),
])
def test_the_calendar_keeps_no_english_and_names_days_in_the_editors_language(newsroom, used_keys, lang,
                                                                               expected):
    pages = check_pages(newsroom, used_keys, lang, ["/admin/calendar", "/admin/calendar?view=week"])
    listed, week = (pages[p].replace("\u2068", "").replace("\u2069", "") for p in pages)
    assert [word for word in expected if word not in listed] == []
    # Today's heading, spelled out in the editor's language; the week's columns too.
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    heading = f"{WEEKDAYS[lang][today.weekday()]} {today.day} {MONTHS[lang][today.month - 1]} {today.year}"
    assert f"<h2>{heading} <span" in listed
    assert f"<h2>{WEEKDAYS[lang][today.weekday()] if lang == 'ar' else WEEKDAYS[lang][today.weekday()][:3] + '.'} {today.day}</h2>" in week
    # The status filter still sends the stored word.
    assert '<option value="sent">' in listed


def coming_run(newsroom) -> str:
    calendar = newsroom["clients"]["en"].get("/admin/calendar").text
    run = re.search(r'href="(/admin/lists/\d+/runs/[^"]+)"', calendar)
    assert run, "the calendar links no coming run"
    return run.group(1)


@pytest.mark.parametrize("lang, expected", [
    ("fr", ["← Calendrier", "envoyée", "Liste : The Morning Gazette (morning), calendrier d’envoi « daily 07:00 » en heure Europe/Paris",
            "1 envoyé", "1 envoi en échec", "Renvoyer les envois en échec ?", "Objet : <strong", "Version texte",
            "L’e-mail tel que les abonnés le voient", "Clics sur les articles les plus lus",
            "Campagne ponctuelle de ed@example.com.", "2 articles", "Annuler cette édition ? Elle ne partira pas.",
            "Envoyer le (Europe/Paris)", "Un envoi prévu par le calendrier de la liste",
            "Articles (numéros, dans l’ordre)", "Introduction"]),
    ("ar", ["→ التقويم", "تم الإرسال", "القائمة: The Morning Gazette (morning)، بموعد «daily 07:00» بتوقيت Europe/Paris",
            "مُرسلة: 1", "رسالة واحدة فشل إرسالها", "إعادة إرسال الرسائل التي فشل إرسالها؟", "الموضوع: <strong",
            "النسخة النصية", "الرسالة كما يراها المشتركون", "النقرات على أبرز المقالات",
            "حملة لمرة واحدة أنشأها ed@example.com.", "عدد المقالات: 2", "إلغاء هذا العدد؟ لن يُرسل.",
            "الإرسال في (Europe/Paris)", "دورة من مواعيد القائمة", "المقالات (المعرّفات، بالترتيب)", "المقدمة"]),
])
def test_the_edition_pages_keep_no_english(newsroom, used_keys, lang, expected):
    pages = check_pages(newsroom, used_keys, lang, [
        f"/admin/editions/{newsroom['sent_id']}", f"/admin/editions/{newsroom['campaign_id']}", coming_run(newsroom)])
    shown = "".join(pages.values()).replace("\u2068", "").replace("\u2069", "")
    assert [word for word in expected if word not in shown] == []
    assert 'id="edition-status">' in shown and 'class="count count-sent"' in shown   # hooks kept


def flash_of(page: str) -> str:
    found = re.search(r'<[^>]*class="flash[^"]*"[^>]*>(.*?)</', page, re.S)
    assert found, "no flash message on the page"
    return found.group(1).replace("\u2068", "").replace("\u2069", "").strip()


def post_form(client, page: str, action: str, **data):
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


@pytest.mark.parametrize("lang, moved, cancelled", [
    ("fr", "Déplacée : elle part le {when} (Europe/Paris).", "Annulée : elle ne partira pas."),
    ("ar", "نُقل: يُرسل في {when} (Europe/Paris).", "أُلغي: لن يُرسل."),
])
def test_moving_and_cancelling_flash_in_the_editors_language(newsroom, lang, moved, cancelled):
    client, run = newsroom["clients"][lang], coming_run(newsroom)
    slot = planning.parse_slot(run.rsplit("/", 1)[1])
    later = (slot + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris"))

    page = post_form(client, run, run + "/reschedule", send_at=later.strftime("%Y-%m-%dT%H:%M"))

    assert page.status_code == 200 and flash_of(page.text) == moved.format(when=later.strftime("%Y-%m-%d %H:%M"))
    campaign = f"/admin/editions/{newsroom['campaign_id']}"
    page = post_form(client, campaign, campaign + "/cancel")
    assert flash_of(page.text) == cancelled
    assert f'id="edition-status">{ {"fr": "annulée", "ar": "ملغى"}[lang] }</span>' in page.text
    with session_scope(newsroom["settings"].effective_database_url) as s:
        assert s.get(Edition, newsroom["campaign_id"]).status == EditionStatus.CANCELLED


@pytest.mark.parametrize("lang, expected", [
    ("fr", "1 envoi en échec repartira dans la minute."),
    ("ar", "ستُعاد خلال دقيقة الرسالة التي فشل إرسالها."),
])
def test_resending_failures_flashes_in_the_editors_language(newsroom, lang, expected):
    edition = f"/admin/editions/{newsroom['sent_id']}"
    page = post_form(newsroom["clients"][lang], edition, edition + "/resend")
    assert flash_of(page.text) == expected


@pytest.mark.parametrize("lang, expected", [
    ("fr", ["Un e-mail ponctuel à une liste", "Choisissez une liste…", "The Morning Gazette (morning, 2 abonnés)",
            "Introduction (facultative, placée au-dessus des articles)", "Envoyer maintenant", "Envoyer le",
            "Date et heure (Europe/Paris)"]),
    ("ar", ["رسالة لمرة واحدة إلى قائمة واحدة", "اختر قائمة…", "The Morning Gazette (morning، المشتركون: 2)",
            "المقدمة (اختيارية، تظهر فوق المقالات)", "الإرسال الآن", "الإرسال في", "التاريخ والوقت (Europe/Paris)"]),
])
def test_the_campaign_form_keeps_no_english(newsroom, used_keys, lang, expected):
    page = check_pages(newsroom, used_keys, lang, ["/admin/campaigns/new"])["/admin/campaigns/new"]
    shown = page.replace("\u2068", "").replace("\u2069", "")
    assert [word for word in expected if word not in shown] == []


@pytest.mark.parametrize("lang, now_said, at_said", [
    ("fr", "Campagne planifiée : elle part au prochain passage (dans la minute).", "Campagne planifiée le {when}."),
    ("ar", "جُدولت الحملة: تُرسل في الدورة التالية (خلال دقيقة).", "جُدولت الحملة في {when}."),
])
def test_creating_a_campaign_flashes_in_the_editors_language(newsroom, lang, now_said, at_said):
    client, [article, *_] = newsroom["clients"][lang], newsroom["articles"]
    at = (now() + timedelta(days=2)).replace(second=0).astimezone(ZoneInfo("Europe/Paris"))
    if at.strftime("%H:%M") == "07:00":
        at += timedelta(minutes=5)

    later = post_form(client, "/admin/campaigns/new", "/admin/campaigns", list="morning",
                      article_ids=[str(article)], when="at", send_at=at.strftime("%Y-%m-%dT%H:%M"))
    right_away = post_form(client, "/admin/campaigns/new", "/admin/campaigns", list="morning",
                           article_ids=[str(article)], when="now")

    assert flash_of(later.text) == at_said.format(when=at.strftime("%Y-%m-%d %H:%M"))
    assert flash_of(right_away.text) == now_said
    with session_scope(newsroom["settings"].effective_database_url) as s:
        campaigns = s.scalars(select(Edition).where(Edition.created_by == f"{lang}-desk@example.com")).all()
    assert sorted(e.scheduled_for for e in campaigns)[-1] == at.astimezone(timezone.utc)
