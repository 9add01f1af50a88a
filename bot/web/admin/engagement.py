"""The article reach page (/admin/articles/{id}/reach) and the edition page's figures
(issue 14); the numbers come from bot.services.engagement_figures."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from bot.services import engagement_figures as figures
from bot.web.charts import bar_chart
from bot.web.security import settings_of
from bot.web.i18n import Translator
from bot.web.templating import admin_translator, render

router = APIRouter()


@router.get("/articles/{article_id}/reach")
def article_reach_page(request: Request, article_id: int):
    try:
        reach = figures.article_reach(settings_of(request), article_id)
    except figures.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    chart = bar_chart([(f"#{e['edition_id']} {e['list']} {e['date'][:10]}", e["clicks"])
                       for e in reach["editions"]],
                      title=admin_translator(request)("a.reach_chart_title"))
    return render(request, "admin/article_reach.html", {"reach": reach, "chart": chart})


def edition_context(settings, edition_id: int, t: Translator = Translator("en")) -> dict:
    """What admin/_engagement.html needs, for the edition page (the chart's words in `t`'s
    language: the editor's)."""
    engagement = figures.edition_figures(settings, edition_id)
    chart = bar_chart([(a["title"] or t("a.reach_article_n", id=a["article_id"]), a["clicks"])
                       for a in engagement["top_articles"]], title=t("a.reach_chart_top"))
    return {"engagement": engagement, "chart": chart}
