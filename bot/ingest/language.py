"""Language of an article when its source does not say."""

from __future__ import annotations

# Below this many letters the classifier guesses more than it knows.
MIN_TEXT = 40


def normalize_language(code: str | None) -> str | None:
    """`fr-FR`, `fr_FR` and `FR` are all `fr`; `pt-BR` keeps its region as `pt-br`."""
    if not code:
        return None
    code = code.strip().replace("_", "-").lower()
    if not code or not code[0].isalpha():
        return None
    primary, _, region = code.partition("-")
    if primary in ("pt", "zh") and region:
        return f"{primary}-{region}"
    return primary[:8]


def detect_language(text: str) -> str | None:
    if len(text) < MIN_TEXT:
        return None
    import py3langid  # loads its model on first use; kept out of import time

    code, _score = py3langid.classify(text)
    return code
