"""The post editor's preview body (bot.domain.snippets.preview): links as each platform
shows them, Telegram's HTML as formatted text, #tags marked."""

from __future__ import annotations

from bot.domain.snippets.preview import Piece, body, link_card, mastodon_shown

URL = "https://www.news.example.com/2026/11/harbour-reopens?utm_source=x&utm_medium=social"


def test_mastodon_hides_scheme_and_www_and_cuts_after_30():
    assert mastodon_shown(URL) == "news.example.com/2026/11/harbo…"
    assert mastodon_shown("https://a.example/x") == "a.example/x"


def test_mastodon_and_x_show_the_link_cut_with_its_full_href_and_tags():
    assert body("mastodon", f"Ferry back {URL} #City", URL) == [
        Piece("Ferry back "), Piece("news.example.com/2026/11/harbo…", href=URL), Piece(" "),
        Piece("#City", tag=True)]


def test_bluesky_shows_its_clients_short_link_text():
    pieces = body("bluesky", f"Ferry back {URL} #City", URL)
    assert pieces == [Piece("Ferry back "), Piece("www.news.example.com/2026/11/harb...", href=URL),
                      Piece(" "), Piece("#City", tag=True)]


def test_telegram_html_is_shown_formatted_not_as_tags():
    markup = (f'<b>Harbour</b> &amp; <i>ferry</i>\n<a href="{URL.replace("&", "&amp;")}">Read more</a>'
              " #City")
    assert body("telegram", markup, URL) == [
        Piece("Harbour", styles=("bold",)), Piece(" & "), Piece("ferry", styles=("italic",)),
        Piece("\n"), Piece("Read more", href=URL), Piece(" "), Piece("#City", tag=True)]


def test_the_link_card_names_the_host_without_www():
    card = link_card(URL, "Harbour reopens", "The ferry runs again.", "https://i.example/a.jpg")
    assert card == {"url": URL, "host": "news.example.com", "title": "Harbour reopens",
                    "description": "The ferry runs again.", "image": "https://i.example/a.jpg"}
    assert link_card("", "t", "d", None) is None
