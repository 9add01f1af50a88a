"""The pure checks of a run's plan (bot.services.run_edits): ids in the editor's order, once
each; intro and subject trimmed; what is wrong named by field."""

import pytest

from bot.errors import BadInput
from bot.services.run_edits import clean_plan, parse_ids


def test_ids_keep_the_editors_order_once_each_and_text_is_trimmed():
    assert clean_plan([7, 3, 7, 9], "  Our picks \n", " Storm special ") == {
        "article_ids": [7, 3, 9], "intro": "Our picks", "subject": "Storm special"}
    assert clean_plan(None, None, None) == {"article_ids": [], "intro": "", "subject": ""}


def test_typed_ids_are_read_in_order_with_commas_or_spaces():
    assert parse_ids("12, 7 9,,3") == [12, 7, 9, 3]
    assert parse_ids("  ") == []


@pytest.mark.parametrize("call, named", [
    (lambda: parse_ids("12, seven"), "articles: 'seven' is not an article id"),
    (lambda: clean_plan(list(range(1, 52)), "", ""), "articles: at most 50"),
    (lambda: clean_plan([], "x" * 2001, ""), "intro: 2001 characters"),
    (lambda: clean_plan([], "", "two\nlines"), "subject: one line"),
    (lambda: clean_plan([], "", "s" * 201), "subject: 201 characters"),
])
def test_bad_plans_are_refused_naming_the_field(call, named):
    with pytest.raises(BadInput) as caught:
        call()
    assert str(caught.value).startswith(named)
