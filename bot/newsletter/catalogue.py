"""The words of the emails, per language: a small catalogue instead of a gettext
toolchain, because the templates need only a handful of phrases.

Values are `str.format` patterns; the templates fill them in and the HTML environment then
escapes the result, so none of them may contain markup. `more_stories` is keyed by CLDR
plural category (Babel's `Locale.plural_form`): Arabic has six.
"""

from __future__ import annotations

MESSAGES: dict[str, dict] = {
    "en": {
        "colon": ": ",   # "Unsubscribe: <link>" in the text part
        "greeting": "Hello,",
        "greeting_named": "Hello {name},",
        "view_in_browser": "View in browser",
        "read_more": "Read more",
        "lead": "Top story",
        "other": "More news",
        "unsubscribe": "Unsubscribe",
        "preferences": "Manage preferences",
        "why": "You are receiving this email because you subscribed to {list} from {site}.",
        "more_stories": {"one": "{n} more story", "other": "{n} more stories"},
        "read_web_version": "read the web version",
        "by": "By {author}",
        "read_time": {"one": "{n} min read", "other": "{n} min read"},
        "forwarded": "Forwarded this email?",
        "subscribe": "Subscribe",
        "manage_title": "Your subscription",
        "manage_text": "Choose your topics, update your details or leave the list at any time.",
        "copyright": "© {year} {holder}",
        "confirm_subject": "Confirm your subscription to {list}",
        "confirm_intro": "Please confirm that you want to receive {list} from {site}.",
        "confirm_button": "Confirm my subscription",
        "confirm_link_help": "If the button does not work, open this link:",
        "confirm_ignore": "If you did not ask for this, ignore this email: "
                          "you will not be subscribed.",
    },
    "fr": {
        "colon": "\u202f: ",   # French sets a narrow no-break space before the colon
        "greeting": "Bonjour,",
        "greeting_named": "Bonjour {name},",
        "view_in_browser": "Voir dans le navigateur",
        "read_more": "Lire la suite",
        "lead": "À la une",
        "other": "Autres actualités",
        "unsubscribe": "Se désabonner",
        "preferences": "Gérer mes préférences",
        "why": "Vous recevez cet e-mail car vous êtes abonné·e à «\u00a0{list}\u00a0» de {site}.",
        "more_stories": {"one": "{n} autre article", "other": "{n} autres articles"},
        "read_web_version": "lire la version web",
        "by": "Par {author}",
        "read_time": {"one": "{n} min de lecture", "other": "{n} min de lecture"},
        "forwarded": "On vous a transféré cet e-mail ?",
        "subscribe": "Abonnez-vous",
        "manage_title": "Votre abonnement",
        "manage_text": "Choisissez vos thèmes, modifiez vos informations ou arrêtez ces e-mails à tout moment.",
        "confirm_subject": "Confirmez votre abonnement à «\u00a0{list}\u00a0»",
        "confirm_intro": "Merci de confirmer que vous souhaitez recevoir «\u00a0{list}\u00a0» de {site}.",
        "confirm_button": "Confirmer mon abonnement",
        "confirm_link_help": "Si le bouton ne fonctionne pas, ouvrez ce lien :",
        "confirm_ignore": "Si vous n’êtes pas à l’origine de cette demande, ignorez cet "
                          "e-mail : vous ne serez pas abonné·e.",
    },
    "ar": {
        "greeting": "مرحبًا،",
        "greeting_named": "مرحبًا {name}،",
        "view_in_browser": "عرض في المتصفح",
        "read_more": "اقرأ المزيد",
        "lead": "الخبر الرئيسي",
        "other": "أخبار أخرى",
        "unsubscribe": "إلغاء الاشتراك",
        "preferences": "إدارة التفضيلات",
        "why": "تصلك هذه الرسالة لأنك مشترك في {list} من {site}.",
        "more_stories": {
            "zero": "لا مقالات أخرى",
            "one": "مقال آخر",
            "two": "مقالان آخران",
            "few": "{n} مقالات أخرى",
            "many": "{n} مقالًا آخر",
            "other": "{n} مقال آخر",
        },
        "read_web_version": "اقرأ النسخة الكاملة على الموقع",
        "by": "بقلم {author}",
        "read_time": {
            "zero": "أقل من دقيقة للقراءة",
            "one": "دقيقة واحدة للقراءة",
            "two": "دقيقتان للقراءة",
            "few": "{n} دقائق للقراءة",
            "many": "{n} دقيقة للقراءة",
            "other": "{n} دقيقة للقراءة",
        },
        "forwarded": "هل وصلتك هذه الرسالة من شخص آخر؟",
        "subscribe": "اشترك",
        "manage_title": "اشتراكك",
        "manage_text": "اختر المواضيع أو عدّل بياناتك أو أوقف هذه الرسائل في أي وقت.",
        "confirm_subject": "أكّد اشتراكك في {list}",
        "confirm_intro": "يرجى تأكيد رغبتك في تلقي {list} من {site}.",
        "confirm_button": "تأكيد اشتراكي",
        "confirm_link_help": "إذا لم يعمل الزر، افتح هذا الرابط:",
        "confirm_ignore": "إذا لم تطلب ذلك، فتجاهل هذه الرسالة: لن يتم اشتراكك.",
    },
}

DEFAULT_LANGUAGE = "en"


def messages(language: str) -> dict:
    """The catalogue for a base language code ("fr", not "fr-CA"); English when there is
    none. Missing keys in a partial catalogue fall back to English too."""
    own = MESSAGES.get(language)
    if own is None or language == DEFAULT_LANGUAGE:
        return MESSAGES[DEFAULT_LANGUAGE]
    return {**MESSAGES[DEFAULT_LANGUAGE], **own}
