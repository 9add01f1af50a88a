"""The dashboard translator's helpers (issue 14): sentences around markup, plural forms,
stored words such as statuses."""

from __future__ import annotations

import logging

from markupsafe import Markup

from bot.web.i18n import Translator


def test_markup_keeps_markup_values_and_escapes_the_rest():
    figure = Markup('<span data-figure="n">3</span>')
    shown = Translator("en").markup("a.calendar_note", first=figure, last="<b>", zone="UTC")
    assert isinstance(shown, Markup)
    assert shown == ('Digest editions and share posts from <span data-figure="n">3</span> '
                     "to &lt;b&gt;, times in UTC.")


def test_markup_in_arabic_isolates_markup_values_too():
    shown = Translator("ar").markup("a.calendar_note", first=Markup("<b>1</b>"), last="2", zone="Z")
    assert "\u2068<b>1</b>\u2069" in shown and "\u20682\u2069" in shown


def test_plural_picks_the_form_by_language():
    assert Translator("en").plural("a.k", 1) == "a.k_one"
    assert Translator("en").plural("a.k", 0) == "a.k_other"
    assert Translator("fr").plural("a.k", 0) == "a.k_one"   # « 0 article »
    assert Translator("fr").plural("a.k", 2) == "a.k_other"
    assert Translator("ar").plural("a.k", 5) == "a.k_other"


def test_an_unknown_stored_word_shows_as_stored_and_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="bot.web.i18n"):
        assert Translator("fr").word("a.no_such_state_", "frozen") == "frozen"
    assert "a.no_such_state_frozen" in caplog.text
