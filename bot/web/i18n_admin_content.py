"""More of the dashboard's words (issue 14), merged like bot/web/i18n_admin.ADMIN: keys start
"a.", values are `str.format` patterns without markup, every key in en, fr and ar.
This part: articles, article reach, calendar, editions and campaigns.

Written as one row per key, (English, French, Arabic), so no key can miss a language;
ADMIN_CONTENT below is the same words by language. A `_one`/`_other` pair is one sentence
for a number (Translator.plural picks the form); the Arabic of such pairs is worded to
read right for any number ("المحاولات: 3")."""

from __future__ import annotations

_WORDS: dict[str, tuple[str, str, str]] = {
    # -- Status words people read (the CSS class keeps the stored value) --------------------
    # A share post's state (une publication; منشور).
    "a.post_state_scheduled": ("scheduled", "planifiée", "مجدول"),
    "a.post_state_claimed": ("claimed", "en cours de publication", "قيد النشر"),
    "a.post_state_sent": ("sent", "publiée", "تم النشر"),
    "a.post_state_failed": ("failed", "en échec", "فشل النشر"),
    "a.post_state_skipped": ("skipped", "ignorée", "تم التخطي"),

    # -- The articles list -------------------------------------------------------------------
    "a.art_search_label": ("Search titles and addresses", "Rechercher dans les titres et les adresses",
                           "البحث في العناوين والروابط"),
    "a.art_total_one": ("{n} article.", "{n} article.", "مقال واحد."),
    "a.art_total_other": ("{n} articles.", "{n} articles.", "عدد المقالات: {n}."),
    "a.art_found_one": ("{n} article matching “{q}”.", "{n} article correspondant à « {q} ».",
                        "مقال واحد يطابق «{q}»."),
    "a.art_found_other": ("{n} articles matching “{q}”.", "{n} articles correspondant à « {q} ».",
                          "عدد المقالات المطابقة لـ«{q}»: {n}."),
    "a.art_updated": ("(updated)", "(mis à jour)", "(محدَّث)"),
    "a.art_no_address": ("no address", "pas d’adresse", "بلا رابط"),
    "a.art_pages": ("Pages", "Pages", "الصفحات"),
    # Right to left, newer pages lie to the right: the arrows point the way the page reads.
    "a.art_newer": ("← Newer", "← Plus récents", "→ الأحدث"),
    "a.art_older": ("Older →", "Plus anciens →", "الأقدم ←"),
    "a.art_page_of": ("Page {page} of {pages}", "Page {page} sur {pages}", "الصفحة {page} من {pages}"),

    # -- One article and its share posts -------------------------------------------------------
    "a.art_article": ("Article", "Article", "مقال"),
    "a.art_back": ("← Articles", "← Articles", "→ المقالات"),
    "a.art_link": ("Link", "Lien", "الرابط"),
    "a.art_no_link": ("none: it cannot be shared", "aucun : l’article ne peut pas être partagé",
                      "لا يوجد: لا يمكن مشاركته"),
    "a.art_published": ("Published", "Publié", "تاريخ النشر"),
    "a.art_source": ("Source", "Source", "المصدر"),
    "a.art_reach_link": ("Reach: newsletter clicks and social post counts",
                         "Audience : clics dans les lettres et chiffres des réseaux sociaux",
                         "الوصول: النقرات في النشرات وأرقام منشورات التواصل الاجتماعي"),
    "a.art_share_posts": ("Share posts", "Publications sur les réseaux", "منشورات المشاركة"),
    "a.art_no_accounts": ("No social accounts yet.", "Aucun compte social pour l’instant.",
                          "لا توجد حسابات تواصل اجتماعي بعد."),
    "a.art_no_accounts_admin": ("No social accounts yet: add one under {settings}.",
                                "Aucun compte social pour l’instant : ajoutez-en un dans {settings}.",
                                "لا توجد حسابات تواصل اجتماعي بعد: أضف حسابًا من {settings}."),
    "a.art_not_scheduled": ("not scheduled", "non planifiée", "غير مجدول"),
    "a.art_needs_attention": ("This account needs attention: {reason}",
                              "Ce compte demande votre attention : {reason}",
                              "هذا الحساب يحتاج إلى تدخل: {reason}"),
    "a.art_sent_at": ("Sent {when}", "Publiée le {when}", "نُشر في {when}"),
    "a.art_view": ("view", "voir", "عرض"),
    "a.art_scheduled_for": ("Scheduled for {when} ({zone})", "Prévue le {when} ({zone})",
                            "مجدول في {when} ({zone})"),
    "a.art_attempts_one": ("{n} attempt", "{n} tentative", "محاولة واحدة"),
    "a.art_attempts_other": ("{n} attempts", "{n} tentatives", "المحاولات: {n}"),
    "a.art_shared_times": ("shared {n} times", "partagée {n} fois", "عدد مرات المشاركة: {n}"),
    "a.art_last_error": ("Last error: {error}", "Dernière erreur : {error}", "آخر خطأ: {error}"),
    "a.art_compose_error": ("The composer cannot write this post: {reason}",
                            "Le rédacteur automatique ne peut pas écrire cette publication : {reason}",
                            "تعذّر على المُنشئ كتابة هذا المنشور: {reason}"),
    "a.art_text_for": ("Text for {account}", "Texte pour {account}", "نص {account}"),
    "a.art_edited": ("(edited)", "(modifié)", "(معدَّل)"),
    "a.art_as_composed": ("(as the composer writes it)", "(tel que le rédacteur automatique l’écrit)",
                          "(كما يكتبه المُنشئ)"),
    "a.art_as_counted": ("as {platform} counts", "selon le décompte de {platform}",
                         "بحسب عدّ {platform}"),
    "a.art_time_label": ("Time ({zone}; empty: the account's next free slot)",
                         "Heure ({zone} ; vide : le prochain créneau libre du compte)",
                         "الوقت ({zone}؛ إذا تُرك فارغًا: أول موعد متاح للحساب)"),
    "a.art_how_shown": ("How {platform} shows it", "Comment {platform} l’affiche",
                        "كيف يعرضه {platform}"),
    "a.art_as_shown": ("As {platform} shows it", "Tel que {platform} l’affiche", "كما يعرضه {platform}"),
    "a.art_over_limit": ("(over the limit: it would be refused)", "(au-delà de la limite : il serait refusé)",
                         "(يتجاوز الحد: سيُرفض)"),
    "a.art_reschedule_to": ("Reschedule to ({zone})", "Nouvelle date et heure ({zone})",
                            "إعادة الجدولة إلى ({zone})"),
    "a.art_confirm_skip": ("Skip this post? It will not go out.",
                           "Passer cette publication ? Elle ne partira pas.",
                           "تخطي هذا المنشور؟ لن يُنشر."),
    "a.art_confirm_reshare": ("Share this article again on {account}?",
                              "Partager à nouveau cet article sur {account} ?",
                              "مشاركة هذا المقال مجددًا على {account}؟"),
    "a.art_publishing_now": ("Being published right now.", "Publication en cours.",
                             "يُنشر الآن."),
    "a.art_not_saved": ("Not saved: {reason}", "Non enregistré : {reason}", "لم يُحفظ: {reason}"),
    "a.art_not_scheduled_because": ("Not scheduled: {reason}", "Non planifiée : {reason}",
                                    "لم يُجدول: {reason}"),

    # -- An article's reach ------------------------------------------------------------------
    "a.reach_back": ("← {title}", "← {title}", "→ {title}"),
    "a.reach_heading": ("Reach of “{title}”", "Audience de « {title} »", "وصول «{title}»"),
    "a.reach_clicks_one": ("{n} reader click from newsletters", "{n} clic de lecteur depuis les lettres",
                           "{n} نقرة من القرّاء عبر النشرات"),
    "a.reach_clicks_other": ("{n} reader clicks from newsletters",
                             "{n} clics de lecteurs depuis les lettres",
                             "نقرات القرّاء عبر النشرات: {n}"),
    "a.reach_bots_note": ("(link scanners and bots not counted)",
                          "(analyseurs de liens et robots non comptés)",
                          "(دون احتساب فاحصات الروابط والروبوتات)"),
    "a.reach_in_newsletters": ("In newsletters", "Dans les lettres", "في النشرات"),
    "a.reach_chart_title": ("Clicks in each edition", "Clics dans chaque édition", "النقرات في كل عدد"),
    "a.reach_th_date": ("Date", "Date", "التاريخ"),
    "a.reach_th_clicks": ("Clicks", "Clics", "النقرات"),
    "a.reach_th_not_counted": ("Not counted", "Non comptés", "غير محتسبة"),
    "a.reach_no_clicks": ("No clicks from any newsletter yet.", "Aucun clic depuis une lettre pour l’instant.",
                          "لا نقرات من أي نشرة بعد."),
    "a.reach_on_social": ("On social accounts", "Sur les comptes sociaux", "على حسابات التواصل الاجتماعي"),
    "a.reach_th_likes": ("Likes", "J’aime", "الإعجابات"),
    "a.reach_th_reposts": ("Reposts", "Partages", "إعادات النشر"),
    "a.reach_th_replies": ("Replies", "Réponses", "الردود"),
    "a.reach_th_views": ("Views", "Vues", "المشاهدات"),
    "a.reach_dash_note": ("— : the platform gives no such count (or it was not fetched yet).",
                          "— : la plateforme ne donne pas ce chiffre (ou il n’a pas encore été relevé).",
                          "—: لا تقدّم المنصة هذا الرقم (أو لم يُجلب بعد)."),
    "a.reach_not_posted": ("Not posted to any account.", "Publié sur aucun compte.",
                           "لم يُنشر على أي حساب."),
    # The edition page's chart of its top articles (its figures are in admin/_engagement.html).
    "a.reach_chart_top": ("Clicks on the top articles", "Clics sur les articles les plus lus",
                          "النقرات على أبرز المقالات"),
    "a.reach_article_n": ("Article {id}", "Article {id}", "المقال {id}"),
}

ADMIN_CONTENT: dict[str, dict[str, str]] = {
    lang: {key: words[i] for key, words in _WORDS.items()}
    for i, lang in enumerate(("en", "fr", "ar"))
}
