"""CSV cells that a spreadsheet will not run: a cell starting with = + - @ (or a tab or a
carriage return, which some spreadsheets skip before looking) is a formula to Excel,
LibreOffice and Google Sheets, so `=HYPERLINK("https://evil.example", "click")` typed into
the public sign-up form would run in the admin's spreadsheet (OWASP "CSV injection").

Every exported cell goes through `neutralise`, which puts a ' in front; the importer
calls `restore`, so an exported file still re-imports to the same values."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def restore(cell: str) -> str:
    """The value `neutralise` was given (a ' before anything else is kept as it is)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell
