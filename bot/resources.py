"""Where pressbot's shipped files are: the default templates and the example articles.

The repository keeps them at the top level (`templates/`, `examples/`), where editors and
designers look for them. A wheel carries copies inside the package, `bot/_shipped/`, made
by the build (setup.py's build_py step), so an installed pressbot finds them without the
source tree. An editable install or a checkout has no `_shipped/` and uses the top-level
folders directly, so an edited template counts at once.

A newsroom's own folder (`PRESSBOT_TEMPLATES`) is layered over the defaults: a template
found there wins, anything it lacks comes from the defaults (a Jinja ChoiceLoader), so it
can change one template without copying them all. Every reader of templates goes through
`template_dirs` / `loader` here.

Light on purpose (pathlib only; jinja2 is imported when a loader is asked for): the CLI's
start-up imports this through bot.config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

PACKAGE = Path(__file__).resolve().parent
SHIPPED = PACKAGE / "_shipped"   # what the wheel build copies templates/ and examples/ into


def _shipped(name: str) -> Path:
    packaged = SHIPPED / name
    if packaged.is_dir():
        return packaged
    return PACKAGE.parent / name   # a checkout or an editable install


def default_templates_dir() -> Path:
    """The templates pressbot ships: email/, social/, web/."""
    return _shipped("templates")


def examples_dir() -> Path:
    """The example articles and feed the first run ingests."""
    return _shipped("examples")


def template_dirs(settings: Any) -> tuple[Path, ...]:
    """The folders templates are looked up in, first match wins: the newsroom's
    (`PRESSBOT_TEMPLATES`), if set, then the defaults (`settings.templates_dir`)."""
    overlay = getattr(settings, "templates", None)
    base = Path(getattr(settings, "templates_dir", None) or default_templates_dir())
    return (Path(overlay), base) if overlay else (base,)


def as_dirs(value: Path | str | Sequence[Path | str] | None) -> tuple[Path, ...]:
    """One folder, several (first wins) or None (the defaults), as resolved paths."""
    if value is None:
        return (default_templates_dir().resolve(),)
    if isinstance(value, (str, Path)):
        return (Path(value).resolve(),)
    return tuple(Path(v).resolve() for v in value)


def loader(dirs: Iterable[Path], subfolder: str = "") -> jinja2.BaseLoader:
    """A loader that looks in each of `dirs` (joined with `subfolder`) in turn."""
    import jinja2

    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(Path(d) / subfolder)) for d in dirs])


def find(dirs: Iterable[Path], relative: str) -> Path | None:
    """The first existing `dir/relative` (a file or a folder), or None."""
    for d in dirs:
        candidate = Path(d) / relative
        if candidate.exists():
            return candidate
    return None


def names(dirs: Iterable[Path], subfolder: str) -> set[str]:
    """The entries of `subfolder` across all `dirs` (a template folder in any layer)."""
    found: set[str] = set()
    for d in dirs:
        folder = Path(d) / subfolder
        if folder.is_dir():
            found.update(p.name for p in folder.iterdir() if p.is_dir())
    return found
