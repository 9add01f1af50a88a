"""More of the dashboard's words (issue 14), merged like bot/web/i18n_admin.ADMIN: keys start
"a.", values are `str.format` patterns without markup, every key in en, fr and ar.
This part: the A/B subject test of campaigns (form fields, the edition page's results)."""

from __future__ import annotations

ADMIN_AB: dict[str, dict[str, str]] = {
    "en": {
        # the campaign form
        "a.ab_legend": "Subject and A/B test",
        "a.ab_subject": "Subject (optional; empty: the list's usual subject)",
        "a.ab_subject_b": "Subject B (A/B test, optional)",
        "a.ab_help": "With a subject B, a sample of the list gets subject A or B (half each); "
                     "the rest get the subject with more reader clicks per delivered email, "
                     "after the hours below. A tie, or no click at all, keeps subject A.",
        "a.ab_sample_percent": "Sample (percent of the list, 2–50)",
        "a.ab_decide_after": "Pick the winner after (hours, 1–72)",
        "a.ab_flash_scheduled": "A/B subject test: {percent}% of the list get subject A or B; "
                                "the rest get the winner {hours} h after the sample went out.",
        # the edition page
        "a.ab_title": "A/B subject test",
        "a.ab_col_variant": "Variant",
        "a.ab_col_subject": "Subject",
        "a.ab_col_sent": "Sample sent",
        "a.ab_col_clicks": "Reader clicks",
        "a.ab_col_click_rate": "Click rate",
        "a.ab_planned": "When it goes out, {percent}% of the list get subject A or B; "
                        "the winner is picked {hours} h later and goes to the rest.",
        "a.ab_deciding_at": "Deciding at {when}: until then the rest of the list ({held}) is held.",
        "a.ab_winner": "Subject {letter} won, picked {when}.",
        "a.ab_reason_clicks": "It had more reader clicks per delivered email.",
        "a.ab_reason_tie": "Both had the same click rate: subject A is kept.",
        "a.ab_reason_no_clicks": "The sample got no reader clicks: subject A is kept.",
        "a.ab_rest": "The rest of the list: {sent} sent with the winner's subject, {clicks} reader clicks.",
        "a.ab_winner_badge": "winner",
    },
    "fr": {
        "a.ab_legend": "Objet et test A/B",
        "a.ab_subject": "Objet (facultatif ; vide : l'objet habituel de la liste)",
        "a.ab_subject_b": "Objet B (test A/B, facultatif)",
        "a.ab_help": "Avec un objet B, un échantillon de la liste reçoit l'objet A ou B (moitié "
                     "chacun) ; le reste reçoit l'objet qui a le plus de clics de lecteurs par "
                     "e-mail remis, après le nombre d'heures ci-dessous. En cas d'égalité, ou "
                     "sans aucun clic, l'objet A est gardé.",
        "a.ab_sample_percent": "Échantillon (pourcentage de la liste, 2–50)",
        "a.ab_decide_after": "Choisir le gagnant après (heures, 1–72)",
        "a.ab_flash_scheduled": "Test A/B de l'objet : {percent} % de la liste reçoivent l'objet A "
                                "ou B ; le reste reçoit le gagnant {hours} h après l'envoi de "
                                "l'échantillon.",
        "a.ab_title": "Test A/B de l'objet",
        "a.ab_col_variant": "Variante",
        "a.ab_col_subject": "Objet",
        "a.ab_col_sent": "Échantillon envoyé",
        "a.ab_col_clicks": "Clics de lecteurs",
        "a.ab_col_click_rate": "Taux de clics",
        "a.ab_planned": "À l'envoi, {percent} % de la liste reçoivent l'objet A ou B ; le gagnant "
                        "est choisi {hours} h plus tard et part vers le reste.",
        "a.ab_deciding_at": "Décision le {when} : d'ici là, le reste de la liste ({held}) attend.",
        "a.ab_winner": "L'objet {letter} a gagné, choisi le {when}.",
        "a.ab_reason_clicks": "Il a eu plus de clics de lecteurs par e-mail remis.",
        "a.ab_reason_tie": "Les deux ont le même taux de clics : l'objet A est gardé.",
        "a.ab_reason_no_clicks": "L'échantillon n'a eu aucun clic de lecteur : l'objet A est gardé.",
        "a.ab_rest": "Le reste de la liste : {sent} envoyés avec l'objet gagnant, {clicks} clics de lecteurs.",
        "a.ab_winner_badge": "gagnant",
    },
    "ar": {
        "a.ab_legend": "الموضوع واختبار A/B",
        "a.ab_subject": "الموضوع (اختياري؛ إن تُرك فارغًا: موضوع القائمة المعتاد)",
        "a.ab_subject_b": "الموضوع B (اختبار A/B، اختياري)",
        "a.ab_help": "مع موضوع B، تتلقى عيّنة من القائمة الموضوع A أو B (نصفها لكلٍّ منهما)؛ "
                     "ويتلقى الباقون الموضوع الذي حصد نقرات قرّاء أكثر لكل رسالة مُسلَّمة، بعد "
                     "عدد الساعات أدناه. عند التعادل، أو إن لم تكن هناك أي نقرة، يُحتفظ بالموضوع A.",
        "a.ab_sample_percent": "العيّنة (نسبة مئوية من القائمة، 2–50)",
        "a.ab_decide_after": "اختيار الفائز بعد (ساعات، 1–72)",
        "a.ab_flash_scheduled": "اختبار A/B للموضوع: {percent}٪ من القائمة يتلقون الموضوع A أو B؛ "
                                "ويتلقى الباقون الفائز بعد {hours} ساعة من إرسال العيّنة.",
        "a.ab_title": "اختبار A/B للموضوع",
        "a.ab_col_variant": "النسخة",
        "a.ab_col_subject": "الموضوع",
        "a.ab_col_sent": "المُرسَل من العيّنة",
        "a.ab_col_clicks": "نقرات القرّاء",
        "a.ab_col_click_rate": "معدّل النقر",
        "a.ab_planned": "عند الإرسال، يتلقى {percent}٪ من القائمة الموضوع A أو B؛ ويُختار الفائز "
                        "بعد {hours} ساعة ويُرسَل إلى الباقين.",
        "a.ab_deciding_at": "يُتّخذ القرار في {when}: حتى ذلك الحين يبقى باقي القائمة ({held}) في الانتظار.",
        "a.ab_winner": "فاز الموضوع {letter}، اختير في {when}.",
        "a.ab_reason_clicks": "حصد نقرات قرّاء أكثر لكل رسالة مُسلَّمة.",
        "a.ab_reason_tie": "تساوى معدّل النقر لكليهما: يُحتفظ بالموضوع A.",
        "a.ab_reason_no_clicks": "لم تتلقَّ العيّنة أي نقرة من القرّاء: يُحتفظ بالموضوع A.",
        "a.ab_rest": "باقي القائمة: أُرسلت {sent} رسالة بموضوع الفائز، و{clicks} نقرة من القرّاء.",
        "a.ab_winner_badge": "الفائز",
    },
}
