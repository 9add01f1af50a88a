"""Golden files: compared by default, rewritten only with `--update-golden`.

Run as `pytest --update-golden` (the option is declared in tests/conftest.py).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "data" / "golden"


class Golden:
    def __init__(self, update: bool):
        self.update = update

    def check(self, relative: str, actual: str) -> None:
        path = GOLDEN_DIR / relative
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="")
            return
        if not path.exists():
            pytest.fail(f"{path} is missing: run pytest with --update-golden to create it")
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                fromfile=f"{relative} (golden)", tofile=f"{relative} (rendered)", n=2))
            pytest.fail(f"{relative} differs from its golden file "
                        f"(--update-golden to accept):\n{diff}", pytrace=False)


@pytest.fixture
def golden(request) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden", default=False)))
