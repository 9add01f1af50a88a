"""Realistic digest snapshots in English, French and Arabic, each with stories in the other
languages mixed in: the spam-score test, the browser screenshots and the bench script use
them. Long headlines on purpose (a phone's narrow column), authors, read times, image
captions, categories that make one real section and leave the rest in "More news"."""

from __future__ import annotations

import copy

from bot.newsletter.render import ListInfo, SiteInfo

SITE = SiteInfo("Example News", "https://news.example.org",
                brand_footer="Example News Ltd\n12 Harbour Street, Portsmouth PO1 2AB, United Kingdom",
                brand_copyright="Example News Ltd")
LISTS = {
    "en": ListInfo("morning", "The Morning Brief", "en", "Example News", "news@example.org",
                   None, "Europe/London", brand_color="#b3261e"),
    "fr": ListInfo("matin", "Le Matin", "fr", "Exemple Infos", "infos@example.org", None,
                   "Europe/Paris", brand_color="#0b6e4f"),
    "ar": ListInfo("sabah", "نشرة الصباح", "ar", "أخبار المثال", "akhbar@example.org", None,
                   "Asia/Beirut", brand_color="#1a5fb4"),
}

_IMG = "https://img.example.org/"


def _a(i, lang, title, summary, category, *, author=None, image=None, alt=None, words=600,
       published="2026-07-14T06:30:00+00:00", extra_categories=()):
    return {"id": i, "title": title, "url": f"https://news.example.org/{lang}/story-{i}",
            "summary": summary, "image": f"{_IMG}{image}.jpg" if image else None,
            "image_alt": alt, "categories": [category, *extra_categories] if category else [],
            "language": lang, "published": published, "author": author, "words": words}


ARTICLES = {
    "en": [
        _a(1, "en", "Council approves the harbour ferry budget after an all-night session",
           "Councillors voted 31 to 12 to fund two electric ferries and a new pier by 2028.",
           "Politics", author="Jane Okafor", image="ferry", words=1150,
           alt="An electric ferry moored at the harbour at dawn"),
        _a(2, "en", "City library to stay open until midnight during the exam season, "
                    "answering a petition signed by more than 3,000 students",
           "The reading room and quiet study area stay open on weekdays from 6 May.",
           "City", author="Tom Reyes", image="library", alt="Students at long tables"),
        _a(3, "en", "Tram line 4 closes for three weeks of track works in August",
           "Replacement buses run every eight minutes.", "City", author="Tom Reyes",
           image="tram", words=380),
        _a(4, "fr", "Les marchés de nuit reviennent sur le port tout l’été",
           "Vin chaud, lumières et foule : 40 stands chaque vendredi.", "Culture",
           author="Claire Dubois", image="market", published="2026-07-13T19:00:00+00:00"),
        _a(5, "ar", "افتتاح معرض الكتاب في بيروت بمشاركة ٣٠٠ دار نشر",
           "يفتتح المعرض أبوابه يوم الجمعة ويستمر حتى ٢٧ تموز.", "ثقافة",
           author="ليلى حداد", image="bookfair", published="2026-07-13T09:15:00+00:00"),
        _a(6, "en", "Derby ends in a 2–2 draw after a late penalty", "Nobody left early.",
           "Sport", author="Sam Patel", words=450),
        _a(7, "en", "Weather: a mild weekend with showers on Sunday", "", "", words=120),
    ],
    "fr": [
        _a(11, "fr", "Le conseil municipal vote le budget du ferry électrique après une nuit de débats",
           "31 voix contre 12 pour deux ferries électriques et un nouveau ponton d’ici 2028.",
           "Politique", author="Claire Dubois", image="ferry", words=980,
           alt="Un ferry électrique amarré au port à l’aube"),
        _a(12, "fr", "La bibliothèque municipale ouvrira jusqu’à minuit pendant toute la période "
                     "des examens, à la demande de plus de 3\u202f000 étudiants",
           "La salle de lecture reste ouverte en semaine à partir du 6 mai.", "Ville",
           author="Marc Lefèvre", image="library", alt="Des étudiants à de longues tables"),
        _a(13, "fr", "La ligne 4 du tram fermée trois semaines en août",
           "Des bus de remplacement toutes les huit minutes.", "Ville", author="Marc Lefèvre",
           image="tram", words=400),
        _a(14, "en", "Harbour night markets return all summer", "Forty stalls every Friday.",
           "Culture", author="Jane Okafor", image="market"),
        _a(15, "ar", "افتتاح معرض الكتاب في بيروت بمشاركة ٣٠٠ دار نشر",
           "يفتتح المعرض أبوابه يوم الجمعة ويستمر حتى ٢٧ تموز.", "ثقافة",
           author="ليلى حداد", image="bookfair", published="2026-07-13T09:15:00+00:00"),
        _a(16, "fr", "Météo : un week-end doux, des averses dimanche", "", "", words=150),
    ],
    "ar": [
        _a(21, "ar", "المجلس البلدي يقر ميزانية العبّارة الكهربائية بعد جلسة استمرت حتى الفجر",
           "صوّت ٣١ عضوًا مقابل ١٢ لتمويل عبّارتين كهربائيتين ورصيف جديد بحلول ٢٠٢٨.",
           "سياسة", author="ليلى حداد", image="ferry", words=900,
           alt="عبّارة كهربائية راسية في الميناء عند الفجر"),
        _a(22, "ar", "المكتبة العامة تفتح أبوابها حتى منتصف الليل طوال فترة الامتحانات "
                     "استجابة لعريضة وقّعها أكثر من ثلاثة آلاف طالب",
           "تبقى قاعة المطالعة مفتوحة في أيام الأسبوع اعتبارًا من ٦ أيار.", "المدينة",
           author="كريم نصر", image="library", alt="طلاب حول طاولات طويلة"),
        _a(23, "ar", "إغلاق خط الترام ٤ ثلاثة أسابيع في آب لأعمال الصيانة",
           "حافلات بديلة كل ثماني دقائق.", "المدينة", author="كريم نصر", image="tram",
           words=350),
        _a(24, "en", "Council approves the harbour ferry budget", "Councillors voted 31 to 12.",
           "Politics", author="Jane Okafor", image="market",
           published="2026-07-13T21:00:00+00:00"),
        _a(25, "fr", "Les marchés de nuit reviennent sur le port", "40 stands chaque vendredi.",
           "Culture", author="Claire Dubois", published="2026-07-13T19:00:00+00:00"),
        _a(26, "ar", "الطقس: عطلة نهاية أسبوع معتدلة مع زخات يوم الأحد", "", "", words=100),
    ],
}


def snapshot(language: str) -> dict:
    """An edition of the `language` list (see LISTS) as bot.services.digests freezes it."""
    return {"edition_id": 42, "list": LISTS[language].name, "date": "2026-07-14",
            "intro": "", "web_url": "https://news.example.org/editions/42",
            "articles": copy.deepcopy(ARTICLES[language])}
