"""`pressbot lists set`: change a newsletter's schedule, sender, template, size… after it was
created. Checked by the same rules as `lists add` (bot.services.subscribers.update_list).

The `lists` group itself lives in bot/cli/subscribers.py beside `lists add`."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from bot.cli.common import fail, out, settings_with_schema
from bot.cli.subscribers import lists_app
from bot.errors import BadInput

# `--schedule none` (or off): the list gets no scheduled digests, only one-off campaigns.
NO_SCHEDULE = ("none", "off", "")


def changes(current: dict, **given) -> dict:
    """The list's settings with the options given (not None) replacing the current ones;
    what `update_list` takes. Raises BadInput when nothing was given."""
    wanted = {key: value for key, value in given.items() if value is not None}
    if not wanted:
        raise BadInput("nothing to change: give at least one option (see `pressbot lists set --help`)")
    if "schedule" in wanted and wanted["schedule"].strip().lower() in NO_SCHEDULE:
        wanted["schedule"] = None
    if wanted.get("reply_to") == "":
        wanted["reply_to"] = None
    keys = ("title", "from_email", "from_name", "reply_to", "language", "template", "schedule",
            "timezone", "max_articles", "categories")
    # Brand, languages, sections (bot.services.list_look): only the ones given are passed,
    # so update_list leaves the others as they are; '' sets one back to its default.
    look = ("logo_url", "brand_color", "footer_text", "copyright_holder", "languages", "sections")
    return {**{key: wanted.get(key, current[key]) for key in keys},
            **{key: wanted[key] for key in look if key in wanted}}


@lists_app.command("set")
def lists_set(
    name: str = typer.Argument(..., help="The list's name (it does not change: List-Id)."),
    schedule: Optional[str] = typer.Option(None, help="'daily 07:00', 'weekly mon 08:00', or "
                                                      "'none' for no scheduled digests."),
    timezone_: Optional[str] = typer.Option(None, "--timezone", help="Time zone of the schedule."),
    from_email: Optional[str] = typer.Option(None, help="Sender address."),
    from_name: Optional[str] = typer.Option(None, help="Sender name."),
    reply_to: Optional[str] = typer.Option(None, help="Reply-To address ('' removes it)."),
    template: Optional[str] = typer.Option(None, help="Template folder under templates/email/."),
    max_articles: Optional[int] = typer.Option(None, help="Most articles in one digest."),
    title: Optional[str] = typer.Option(None, help="The newsletter's title."),
    language: Optional[str] = typer.Option(None, help="Language of the digest (en, fr, ar…)."),
    category: Optional[List[str]] = typer.Option(None, help="Only articles in this category; "
                                                            "repeat (replaces the current set)."),
    all_categories: bool = typer.Option(False, "--all-categories", help="Drop the category filter."),
    only_language: Optional[List[str]] = typer.Option(
        None, help="Only articles in this language; repeat (replaces the set; '' for all)."),
    section: Optional[List[str]] = typer.Option(
        None, help="Section headings in order; repeat (replaces them; '' groups by category)."),
    logo_url: Optional[str] = typer.Option(None, help="Masthead image, https ('' for the site's)."),
    brand_color: Optional[str] = typer.Option(None, help="Brand colour #rrggbb ('' for the site's)."),
    footer: Optional[str] = typer.Option(None, help="Footer: publisher and postal address; \\n "
                                                    "between lines ('' for the site's)."),
    copyright_: Optional[str] = typer.Option(None, "--copyright", help="Copyright holder ('' for the site's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the list's settings as JSON."),
) -> None:
    """Change a newsletter's settings; the others stay as they are. Editions already built
    keep what they were built with; the next tick uses the new schedule."""
    from bot.services import subscribers

    settings = settings_with_schema()
    if all_categories and category:
        fail("--category and --all-categories exclude each other")
    try:
        current = subscribers.get_list(settings, name)
        fields = changes(current, schedule=schedule, timezone=timezone_, from_email=from_email,
                         from_name=from_name, reply_to=reply_to, template=template,
                         max_articles=max_articles, title=title, language=language,
                         categories=[] if all_categories else (category or None),
                         languages=only_language, sections=section, logo_url=logo_url,
                         brand_color=brand_color, copyright_holder=copyright_,
                         footer_text=footer.replace("\\n", "\n") if footer is not None else None)
        row = subscribers.update_list(settings, name, **fields)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        out.print_json(json.dumps(row, ensure_ascii=False, default=str))
        return
    changed = [key for key in fields if row[key] != current[key]]
    if not changed:
        out.print(f"list {name}: unchanged", highlight=False)
        return
    out.print(f"list {name}: " + ", ".join(f"{key} {_shown(row[key])}" for key in changed),
              highlight=False)


def _shown(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(value) or "(all)"
    return str(value)


@lists_app.command("click-history")
def lists_click_history(
    name: str = typer.Argument(..., help="The list's name."),
    on: bool = typer.Option(..., "--on/--off", help="Keep each subscriber's clicks (personal "
                                                    "data: off by default), or stop and erase them."),
) -> None:
    """Per-subscriber click history for a list (issue 14). Aggregate click counts are kept
    either way; --off also erases the history kept so far."""
    from bot.services import engagement_figures

    settings = settings_with_schema()
    try:
        engagement_figures.set_click_history(settings, name, on)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"{name}: per-subscriber click history {'on' if on else 'off (erased)'}", highlight=False)
