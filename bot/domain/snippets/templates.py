"""Snippet templates: `templates/social/<platform>.txt`, Jinja, editable by editors.

Nothing is read at import time (DESIGN principle 5): environments are built on first use
and cached; Jinja's loader re-reads a template file when it changes on disk."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from bot.errors import BadInput

# snippets/ → domain/ → bot/ → the repository, whose templates/ ships the defaults.
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"


def _environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    # No autoescaping: three platforms take plain text, and Telegram's variables are
    # escaped for its HTML before rendering. StrictUndefined: a misspelt variable in an
    # edited template fails loudly instead of silently vanishing from every post.
    return jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=8)
def _file_environment(templates_dir: Path) -> jinja2.Environment:
    return _environment(jinja2.FileSystemLoader(str(templates_dir)))


@lru_cache(maxsize=1)
def _string_environment() -> jinja2.Environment:
    return _environment()


def load_template(platform: str, templates_dir: Path | None = None) -> jinja2.Template:
    """The template for `platform` under `templates_dir` (the app passes
    `settings.templates_dir`; default: the repository's own `templates/`)."""
    directory = Path(templates_dir or DEFAULT_TEMPLATES_DIR).resolve()
    name = f"social/{platform}.txt"
    try:
        return _file_environment(directory).get_template(name)
    except jinja2.TemplateNotFound:
        raise BadInput(f"{directory / name}: template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"{directory / name}, line {exc.lineno}: {exc.message}") from None


@lru_cache(maxsize=64)
def template_from_text(text: str) -> jinja2.Template:
    """A template given as text (an editor's draft, a test)."""
    try:
        return _string_environment().from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"template, line {exc.lineno}: {exc.message}") from None


def render(template: jinja2.Template, values: dict) -> str:
    try:
        return template.render(**values)
    except jinja2.TemplateError as exc:
        raise BadInput(f"template {template.name or '(text)'}: {exc}") from None
