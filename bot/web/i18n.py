"""The words of the public pages (subscribe, confirm, unsubscribe, preferences, archive),
per language, like bot/newsletter/catalogue.py for the emails: a small catalogue rather
than a gettext toolchain. The dashboard's words are in bot/web/i18n_admin.py ("a." keys),
merged in below; each editor picks the dashboard's language (issue 14).

Values are `str.format` patterns filled in by the templates (then HTML-escaped), so none
may contain markup."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request
from markupsafe import Markup, escape

from bot.web.i18n_admin import ADMIN
from bot.web.i18n_admin_ab import ADMIN_AB
from bot.web.i18n_admin_content import ADMIN_CONTENT
from bot.web.i18n_admin_settings import ADMIN_SETTINGS

LANGUAGES = ("en", "fr", "ar")
RTL = {"ar"}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English",
        "languages": "Language",
        "nav_subscribe": "Subscribe",
        "nav_archive": "Past editions",
        # subscribe
        "subscribe_title": "Subscribe to our newsletters",
        "subscribe_title_one": "Subscribe to {list}",
        "subscribe_intro": "Enter your email address: we will send you a link to confirm it. "
                           "You are subscribed only once you follow that link.",
        "field_email": "Email address",
        "field_name": "Your name (optional)",
        "field_language": "Language of the emails",
        "field_lists": "Newsletters",
        "honeypot_label": "Leave this field empty",
        "subscribe_button": "Subscribe",
        "privacy_note": "We use your address only to send you the newsletters you choose. "
                        "Every email has a link to unsubscribe in one click.",
        "no_lists": "There is no newsletter to subscribe to yet.",
        "error_email": "This email address does not look right. Check it and try again.",
        "error_lists": "Choose at least one newsletter.",
        "check_title": "Check your inbox",
        "check_body": "If this address can receive our newsletters, a confirmation email is on "
                      "its way. Follow the link in it to start receiving them.",
        "check_spam": "Nothing after a few minutes? Look in your spam folder, or fill in the "
                      "form again.",
        "too_many_title": "Too many attempts",
        "too_many_body": "Too many sign-ups came from your connection in a short time. "
                         "Please try again in {minutes} minutes.",
        # schedules: choosing a list is choosing how often
        "schedule_daily": "Every day at {time} ({zone})",
        "schedule_weekly": "Every {day} at {time} ({zone})",
        "schedule_none": "When there is news",
        # confirm
        "confirmed_title": "Subscription confirmed",
        "confirmed_body": "Thank you! You are subscribed to {lists}.",
        "confirm_title": "Confirm your subscription",
        "confirm_question": "Do you want to receive {lists}?",
        "confirm_button": "Yes, subscribe me",
        "confirm_why_click": "We ask for this click so that a program checking your email "
                             "cannot subscribe you by following the link.",
        "confirm_refused_title": "This sign-up cannot be confirmed",
        "confirm_refused_body": "This address has unsubscribed or cannot receive our emails, "
                                "or the sign-up was withdrawn. Nothing was changed.",
        "manage_preferences": "Manage your preferences",
        # bad links
        "bad_link_title": "This link does not work",
        "bad_link_body": "The link is incomplete, has expired or was not made by us. Copy the "
                         "whole link from the email and try again.",
        "bad_confirm_body": "The link is incomplete, has expired or was not made by us. "
                            "Confirmation links work for 7 days: to get a new one, fill in the "
                            "subscription form again.",
        # unsubscribe
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Do you want to stop receiving {lists}?",
        "unsubscribe_question_all": "Do you want to stop receiving all our newsletters?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribe_why_click": "We ask for this click so that a program checking your email "
                                 "cannot unsubscribe you by accident.",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_body": "You will no longer receive {lists}.",
        "unsubscribed_body_all": "You will no longer receive our newsletters.",
        "personal_link_title": "Use the link in your email",
        "personal_link_body": "To unsubscribe or change your preferences, use the link at the "
                              "bottom of any newsletter we sent you. It is personal, so that "
                              "nobody else can change your subscription.",
        # preferences
        "preferences_title": "Your preferences",
        "preferences_for": "Preferences for {email}",
        "lists_legend": "Newsletters you receive",
        "frequency_help": "Each newsletter has its own rhythm: choose how often you hear from "
                          "us by choosing the daily or the weekly one, or both. Untick them all "
                          "to receive nothing.",
        "topics_legend": "Topics in {list}",
        "topics_help": "Tick the topics you want; with none ticked you get every topic.",
        "topics_free_help": "The topics you want, separated by commas; leave it empty to get "
                            "every topic.",
        "language_legend": "Language of the emails",
        "save_button": "Save my preferences",
        "saved": "Your preferences are saved.",
        "ended_note": "This address has unsubscribed or cannot receive our emails: it gets "
                      "nothing from us, and no newsletter can be added here.",
        "error_cannot_resubscribe": "This address has unsubscribed or cannot receive our "
                                    "emails, so no newsletter can be added to it here.",
        "error_form": "Part of the form was not understood: choose among the options shown.",
        # archive and web version
        "archive_title": "Past editions",
        "archive_title_list": "Past editions of {list}",
        "archive_empty": "No edition has been sent yet.",
        "all_lists": "All newsletters",
        "col_date": "Date",
        "col_list": "Newsletter",
        "col_subject": "Subject",
        "not_found_title": "Page not found",
        "not_found_body": "There is nothing here: this edition does not exist or has not been "
                          "sent yet.",
        "list_not_found_body": "There is no newsletter by that name.",
    },
    "fr": {
        "language_name": "Français",
        "languages": "Langue",
        "nav_subscribe": "S’abonner",
        "nav_archive": "Éditions précédentes",
        "subscribe_title": "Abonnez-vous à nos lettres d’information",
        "subscribe_title_one": "Abonnez-vous à « {list} »",
        "subscribe_intro": "Indiquez votre adresse e-mail : nous vous enverrons un lien pour "
                           "la confirmer. Vous ne serez abonné·e qu’après avoir suivi ce lien.",
        "field_email": "Adresse e-mail",
        "field_name": "Votre nom (facultatif)",
        "field_language": "Langue des e-mails",
        "field_lists": "Lettres d’information",
        "honeypot_label": "Laissez ce champ vide",
        "subscribe_button": "S’abonner",
        "privacy_note": "Nous utilisons votre adresse uniquement pour vous envoyer les lettres "
                        "choisies. Chaque e-mail contient un lien de désabonnement en un clic.",
        "no_lists": "Il n’y a pas encore de lettre d’information à laquelle s’abonner.",
        "error_email": "Cette adresse e-mail ne semble pas valide. Vérifiez-la et réessayez.",
        "error_lists": "Choisissez au moins une lettre d’information.",
        "check_title": "Consultez votre boîte de réception",
        "check_body": "Si cette adresse peut recevoir nos lettres, un e-mail de confirmation est "
                      "en route. Suivez le lien qu’il contient pour commencer à les recevoir.",
        "check_spam": "Rien après quelques minutes ? Regardez dans vos indésirables, ou "
                      "remplissez à nouveau le formulaire.",
        "too_many_title": "Trop de tentatives",
        "too_many_body": "Trop d’inscriptions sont venues de votre connexion en peu de temps. "
                         "Réessayez dans {minutes} minutes.",
        "schedule_daily": "Tous les jours à {time} ({zone})",
        "schedule_weekly": "Chaque {day} à {time} ({zone})",
        "schedule_none": "Quand il y a du nouveau",
        "confirmed_title": "Abonnement confirmé",
        "confirmed_body": "Merci ! Vous êtes abonné·e à {lists}.",
        "confirm_title": "Confirmez votre abonnement",
        "confirm_question": "Voulez-vous recevoir {lists} ?",
        "confirm_button": "Oui, je m’abonne",
        "confirm_why_click": "Nous demandons ce clic pour qu’un logiciel qui analyse vos "
                             "e-mails ne puisse pas vous abonner en suivant le lien.",
        "confirm_refused_title": "Cette inscription ne peut pas être confirmée",
        "confirm_refused_body": "Cette adresse s’est désabonnée ou ne peut pas recevoir nos "
                                "e-mails, ou l’inscription a été retirée. Rien n’a été modifié.",
        "manage_preferences": "Gérer mes préférences",
        "bad_link_title": "Ce lien ne fonctionne pas",
        "bad_link_body": "Le lien est incomplet, a expiré ou ne vient pas de nous. Copiez le lien "
                         "en entier depuis l’e-mail et réessayez.",
        "bad_confirm_body": "Le lien est incomplet, a expiré ou ne vient pas de nous. Les liens de "
                            "confirmation sont valables 7 jours : pour en recevoir un "
                            "nouveau, remplissez à nouveau le formulaire d’abonnement.",
        "unsubscribe_title": "Se désabonner",
        "unsubscribe_question": "Voulez-vous ne plus recevoir {lists} ?",
        "unsubscribe_question_all": "Voulez-vous ne plus recevoir aucune de nos lettres ?",
        "unsubscribe_button": "Me désabonner",
        "unsubscribe_why_click": "Nous demandons ce clic pour qu’un logiciel qui analyse vos "
                                 "e-mails ne puisse pas vous désabonner par erreur.",
        "unsubscribed_title": "Vous êtes désabonné·e",
        "unsubscribed_body": "Vous ne recevrez plus {lists}.",
        "unsubscribed_body_all": "Vous ne recevrez plus nos lettres d’information.",
        "personal_link_title": "Utilisez le lien de votre e-mail",
        "personal_link_body": "Pour vous désabonner ou modifier vos préférences, utilisez le lien "
                              "en bas de n’importe quelle lettre que nous vous avons envoyée. Il "
                              "vous est personnel : personne d’autre ne peut ainsi modifier "
                              "votre abonnement.",
        "preferences_title": "Vos préférences",
        "preferences_for": "Préférences de {email}",
        "lists_legend": "Lettres que vous recevez",
        "frequency_help": "Chaque lettre a son propre rythme : choisissez la fréquence en "
                          "choisissant la lettre quotidienne, l’hebdomadaire, ou les deux. "
                          "Décochez tout pour ne plus rien recevoir.",
        "topics_legend": "Thèmes de « {list} »",
        "topics_help": "Cochez les thèmes qui vous intéressent ; si aucun n’est coché, vous "
                       "recevez tous les thèmes.",
        "topics_free_help": "Les thèmes qui vous intéressent, séparés par des virgules ; "
                            "laissez vide pour recevoir tous les thèmes.",
        "language_legend": "Langue des e-mails",
        "save_button": "Enregistrer mes préférences",
        "saved": "Vos préférences sont enregistrées.",
        "ended_note": "Cette adresse s’est désabonnée ou ne peut pas recevoir nos e-mails : "
                      "elle ne reçoit rien de notre part, et aucune lettre ne peut être ajoutée ici.",
        "error_cannot_resubscribe": "Cette adresse s’est désabonnée ou ne peut pas recevoir nos "
                                    "e-mails : aucune lettre ne peut y être ajoutée ici.",
        "error_form": "Une partie du formulaire n’a pas été comprise\u00a0: choisissez parmi les options proposées.",
        "archive_title": "Éditions précédentes",
        "archive_title_list": "Éditions précédentes de « {list} »",
        "archive_empty": "Aucune édition n’a encore été envoyée.",
        "all_lists": "Toutes les lettres",
        "col_date": "Date",
        "col_list": "Lettre",
        "col_subject": "Objet",
        "not_found_title": "Page introuvable",
        "not_found_body": "Il n’y a rien ici : cette édition n’existe pas ou n’a pas encore "
                          "été envoyée.",
        "list_not_found_body": "Aucune lettre d’information ne porte ce nom.",
    },
    "ar": {
        "language_name": "العربية",
        "languages": "اللغة",
        "nav_subscribe": "اشترك",
        "nav_archive": "الأعداد السابقة",
        "subscribe_title": "اشترك في نشراتنا البريدية",
        "subscribe_title_one": "اشترك في {list}",
        "subscribe_intro": "أدخل عنوان بريدك الإلكتروني وسنرسل إليك رابطًا لتأكيده. "
                           "لن يبدأ اشتراكك إلا بعد أن تفتح هذا الرابط.",
        "field_email": "البريد الإلكتروني",
        "field_name": "اسمك (اختياري)",
        "field_language": "لغة الرسائل",
        "field_lists": "النشرات البريدية",
        "honeypot_label": "اترك هذا الحقل فارغًا",
        "subscribe_button": "اشترك",
        "privacy_note": "نستخدم عنوانك فقط لإرسال النشرات التي تختارها. "
                        "تحتوي كل رسالة على رابط لإلغاء الاشتراك بنقرة واحدة.",
        "no_lists": "لا توجد نشرة بريدية للاشتراك فيها بعد.",
        "error_email": "يبدو أن عنوان البريد الإلكتروني هذا غير صحيح. تحقق منه وحاول مرة أخرى.",
        "error_lists": "اختر نشرة واحدة على الأقل.",
        "check_title": "تفقّد بريدك الوارد",
        "check_body": "إذا كان بإمكان هذا العنوان تلقي نشراتنا، فإن رسالة تأكيد في طريقها إليه. "
                      "افتح الرابط الموجود فيها لتبدأ في تلقي النشرات.",
        "check_spam": "لم يصلك شيء بعد بضع دقائق؟ تحقق من مجلد الرسائل غير المرغوب فيها، "
                      "أو املأ النموذج مرة أخرى.",
        "too_many_title": "محاولات كثيرة جدًا",
        "too_many_body": "وصلت طلبات اشتراك كثيرة من اتصالك في وقت قصير. "
                         "يرجى المحاولة مرة أخرى بعد {minutes} دقيقة.",
        "schedule_daily": "يوميًا الساعة {time} ({zone})",
        "schedule_weekly": "أسبوعيًا يوم {day} الساعة {time} ({zone})",
        "schedule_none": "عند وجود جديد",
        "confirmed_title": "تم تأكيد الاشتراك",
        "confirmed_body": "شكرًا لك! أنت الآن مشترك في {lists}.",
        "confirm_title": "أكّد اشتراكك",
        "confirm_question": "هل تريد تلقي {lists}؟",
        "confirm_button": "نعم، اشترك",
        "confirm_why_click": "نطلب منك هذه النقرة حتى لا يتمكن برنامج يفحص بريدك "
                             "من اشتراكك باتباع الرابط.",
        "confirm_refused_title": "لا يمكن تأكيد هذا الاشتراك",
        "confirm_refused_body": "ألغى هذا العنوان اشتراكه أو لا يمكنه تلقي رسائلنا، "
                                "أو سُحب طلب الاشتراك. لم يتغير شيء.",
        "manage_preferences": "إدارة تفضيلاتك",
        "bad_link_title": "هذا الرابط لا يعمل",
        "bad_link_body": "الرابط ناقص أو منتهي الصلاحية أو لم يصدر عنا. "
                         "انسخ الرابط كاملًا من الرسالة وحاول مرة أخرى.",
        "bad_confirm_body": "الرابط ناقص أو منتهي الصلاحية أو لم يصدر عنا. روابط التأكيد صالحة "
                            "لمدة 7 أيام: للحصول على رابط جديد، املأ نموذج الاشتراك مرة أخرى.",
        "unsubscribe_title": "إلغاء الاشتراك",
        "unsubscribe_question": "هل تريد التوقف عن تلقي {lists}؟",
        "unsubscribe_question_all": "هل تريد التوقف عن تلقي جميع نشراتنا؟",
        "unsubscribe_button": "إلغاء الاشتراك",
        "unsubscribe_why_click": "نطلب منك هذه النقرة حتى لا يتمكن برنامج يفحص بريدك "
                                 "من إلغاء اشتراكك عن طريق الخطأ.",
        "unsubscribed_title": "تم إلغاء اشتراكك",
        "unsubscribed_body": "لن تصلك {lists} بعد الآن.",
        "unsubscribed_body_all": "لن تصلك نشراتنا بعد الآن.",
        "personal_link_title": "استخدم الرابط الموجود في رسالتك",
        "personal_link_body": "لإلغاء الاشتراك أو تغيير تفضيلاتك، استخدم الرابط الموجود أسفل أي "
                              "نشرة أرسلناها إليك. هذا الرابط خاص بك، حتى لا يتمكن أي شخص آخر "
                              "من تغيير اشتراكك.",
        "preferences_title": "تفضيلاتك",
        "preferences_for": "تفضيلات {email}",
        "lists_legend": "النشرات التي تتلقاها",
        "frequency_help": "لكل نشرة إيقاعها الخاص: اختر عدد مرات تلقي رسائلنا باختيار النشرة "
                          "اليومية أو الأسبوعية أو كلتيهما. ألغِ تحديد الجميع كي لا يصلك شيء.",
        "topics_legend": "مواضيع {list}",
        "topics_help": "حدّد المواضيع التي تهمك؛ إذا لم تحدد أي موضوع فستصلك جميع المواضيع.",
        "topics_free_help": "المواضيع التي تهمك مفصولة بفواصل؛ اتركه فارغًا لتلقي جميع المواضيع.",
        "language_legend": "لغة الرسائل",
        "save_button": "حفظ تفضيلاتي",
        "saved": "تم حفظ تفضيلاتك.",
        "ended_note": "ألغى هذا العنوان اشتراكه أو لا يمكنه تلقي رسائلنا: لا يصله منا شيء، "
                      "ولا يمكن إضافة أي نشرة إليه من هنا.",
        "error_cannot_resubscribe": "ألغى هذا العنوان اشتراكه أو لا يمكنه تلقي رسائلنا، "
                                    "لذا لا يمكن إضافة أي نشرة إليه من هنا.",
        "error_form": "لم نفهم جزءًا من النموذج: اختر من بين الخيارات المعروضة.",
        "archive_title": "الأعداد السابقة",
        "archive_title_list": "الأعداد السابقة من {list}",
        "archive_empty": "لم يُرسل أي عدد بعد.",
        "all_lists": "جميع النشرات",
        "col_date": "التاريخ",
        "col_list": "النشرة",
        "col_subject": "الموضوع",
        "not_found_title": "الصفحة غير موجودة",
        "not_found_body": "لا يوجد شيء هنا: هذا العدد غير موجود أو لم يُرسل بعد.",
        "list_not_found_body": "لا توجد نشرة بريدية بهذا الاسم.",
    },
}


for _part in (ADMIN, ADMIN_SETTINGS, ADMIN_CONTENT, ADMIN_AB):
    for _lang, _words in _part.items():
        # Each part brings its own keys: one repeated across parts is a mistake.
        _twice = _words.keys() & MESSAGES[_lang].keys()
        if _twice:
            raise RuntimeError(f"dashboard keys defined twice ({_lang}): {sorted(_twice)}")
        MESSAGES[_lang].update(_words)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Translator:
    lang: str

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def __call__(self, key: str, **values) -> str:
        pattern = self._pattern(key)
        values = self._isolated(key, values)
        return pattern.format(**values) if values else pattern

    def markup(self, key: str, **values) -> Markup:
        """A sentence around markup (a link, a figure's <span>): the pattern and plain values
        are escaped, Markup values (a template's `{% set %}…{% endset %}` block) kept as they
        are, so the words stay whole sentences in the catalogue."""
        values = {name: value if isinstance(value, Markup) else escape(value)
                  for name, value in values.items()}
        return Markup(escape(self._pattern(key))).format(**self._isolated(key, values))

    def plural(self, key: str, n: int) -> str:
        """The key of the form of `key` for the number n: `key_one` or `key_other` (French
        counts 0 as one; the Arabic values are worded to suit any number)."""
        one = n == 1 or (self.lang == "fr" and n == 0)
        return f"{key}_{'one' if one else 'other'}"

    def word(self, prefix: str, value: object) -> str:
        """A stored word shown to people (a status such as "sent"): its translation under
        prefix + value, or the word itself when the catalogue has none (logged, like a key)."""
        key = f"{prefix}{value}"
        if key in MESSAGES["en"]:
            return self(key)
        log.warning("no %s text for %r in the catalogue: shown as stored", self.lang, key)
        return str(value)

    def _pattern(self, key: str) -> str:
        pattern = MESSAGES[self.lang].get(key)
        if pattern is None:
            # Shown in English rather than not at all; logged so a test (or the newsroom's
            # log) names the gap.
            log.warning("no %s text for %r in the catalogue: shown in English", self.lang, key)
            pattern = MESSAGES["en"].get(key) or key
        return pattern

    def _isolated(self, key: str, values: dict) -> dict:
        if values and self.dir == "rtl" and key.startswith("a."):
            # Dates, zones and names filled into right-to-left dashboard text are isolated
            # (FSI…PDI), or "2026-11-26" shows as "26-11-2026" and "Asia/Tokyo." as ".Asia/Tokyo".
            # The public pages' Arabic is left as it was checked (tests/data golden pages).
            return {name: Markup("\u2068") + value + Markup("\u2069") if isinstance(value, Markup)
                    else f"\u2068{value}\u2069" for name, value in values.items()}
        return values


def negotiate(request: Request, preferred: str | None = None) -> Translator:
    """?lang= first (the language switcher), then a language the page already knows (the
    subscriber's or the list's), then the browser's Accept-Language, then English."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return Translator(asked)
    if preferred:
        base = preferred.split("-")[0].lower()
        if base in LANGUAGES:
            return Translator(base)
    for lang, _q in _accept_language(request.headers.get("accept-language", "")):
        if lang in LANGUAGES:
            return Translator(lang)
    return Translator("en")


def _accept_language(header: str) -> list[tuple[str, float]]:
    ranked = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((tag.split("-")[0].lower(), q))
    return sorted(ranked, key=lambda item: -item[1])
