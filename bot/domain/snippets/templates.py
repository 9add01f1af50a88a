"""Snippet templates: `templates/social/<platform>.txt`, Jinja, editable by editors.

Nothing is read at import time (DESIGN principle 5): environments are built on first use
and cached; Jinja's loader re-reads a template file when it changes on disk."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jinja2

from bot import resources
from bot.errors import BadInput

# The templates pressbot ships (the package's copy, or the checkout's templates/).
DEFAULT_TEMPLATES_DIR = resources.default_templates_dir()


def _environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    # No autoescaping: three platforms take plain text, and Telegram's variables are
    # escaped for its HTML before rendering. StrictUndefined: a misspelt variable in an
    # edited template fails loudly instead of silently vanishing from every post.
    return jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=8)
def _file_environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    return _environment(resources.loader(dirs))


@lru_cache(maxsize=1)
def _string_environment() -> jinja2.Environment:
    return _environment()


def load_template(platform: str,
                  templates_dir: Path | Sequence[Path] | None = None) -> jinja2.Template:
    """The template for `platform` under `templates_dir`: one folder or several, first
    match wins (the app passes `settings.template_dirs`: the newsroom's, then the
    defaults); default: the templates pressbot ships."""
    dirs = resources.as_dirs(templates_dir)
    directory = dirs[0]
    name = f"social/{platform}.txt"
    try:
        return _file_environment(dirs).get_template(name)
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
