"""TelegramPublisher over real HTTP against a stand-in Bot API on loopback."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.domain.snippets.telegram import escape_attribute, escape_text, link_preview
from bot.social.base import AuthError, PermanentError, PostRequest, TransientError
from bot.social.telegram import TelegramPublisher
from tests.support.fake_telegram import BAD_GATEWAY, TOKEN, FakeTelegram

URL = "https://news.example.org/tram?utm_source=telegram&utm_medium=social"
TEXT = (f"<b>{escape_text('Council approves the new & improved tram line')}</b>\n\n"
        f"The vote was 31 to 12. <a href=\"{escape_attribute(URL)}\">Read more</a>")


@pytest.fixture
def api():
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


def publisher(api: FakeTelegram, chat_id: str = "@newsroom", token: str = TOKEN):
    return TelegramPublisher(token, chat_id, api_base=api.base)


def post(text: str = TEXT) -> PostRequest:
    return PostRequest(key="pressbot-post-7", text=text, url=URL, parse_mode="HTML",
                       link_preview=link_preview(URL))


def test_one_message_in_html_with_the_link_preview(api):
    published = publisher(api).publish(post())

    assert api.messages == [{"chat_id": "@newsroom", "text": TEXT, "parse_mode": "HTML",
                             "link_preview_options": {"url": URL, "prefer_large_media": True}}]
    assert published.remote_id == "1"
    assert published.remote_url == "https://t.me/newsroom/1"


def test_a_chat_without_a_public_username_has_no_link(api):
    plain = PostRequest(key="k", text="Plain &amp; simple", url=URL)  # parse_mode defaults to HTML

    published = publisher(api, chat_id="-1009876543210").publish(plain)

    assert api.messages[0]["parse_mode"] == "HTML" and "link_preview_options" not in api.messages[0]
    assert published.remote_id == "1" and published.remote_url is None


def test_the_limit_is_4096_after_entity_parsing(api):
    telegram = publisher(api)
    telegram.publish(post("<b>" + "&amp;" * 4096 + "</b>"))   # 20,487 characters of markup

    with pytest.raises(PermanentError, match="message is too long"):
        telegram.publish(post("<b>" + "&amp;" * 4097 + "</b>"))
    assert len(api.messages) == 1


def test_429_is_transient_with_telegrams_retry_after(api):
    api.force("sendMessage", 429, {"ok": False, "error_code": 429,
                                   "description": "Too Many Requests: retry after 7",
                                   "parameters": {"retry_after": 7}}, {"Retry-After": "7"})

    with pytest.raises(TransientError) as caught:
        publisher(api).publish(post())

    assert caught.value.retry_after == 7
    assert str(caught.value) == "telegram: HTTP 429: Too Many Requests: retry after 7"


def test_502_from_the_proxy_is_transient(api):
    api.force("sendMessage", 502, BAD_GATEWAY)

    with pytest.raises(TransientError, match="HTTP 502: Bad Gateway") as caught:
        publisher(api).publish(post())
    assert caught.value.retry_after is None


def test_a_revoked_token_is_an_auth_error_that_never_shows_the_token(api, caplog):
    revoked = TOKEN.replace("AAH", "BBH")
    caplog.set_level(logging.INFO, logger="httpx")

    with pytest.raises(AuthError) as caught:
        publisher(api, token=revoked).publish(post())

    assert str(caught.value) == "telegram: HTTP 401: Unauthorized"
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/bot<token>/sendMessage" in line for line in logged)  # it was logged, redacted
    assert not any(revoked in line or revoked.split(":")[1] in line for line in logged)


def test_a_malformed_token_is_an_auth_error(api):
    with pytest.raises(AuthError, match="HTTP 404: Not Found"):
        publisher(api, token="not-a-token").check()


def test_a_bot_kicked_from_the_channel_is_an_auth_error(api):
    with pytest.raises(AuthError, match="403: Forbidden: bot was kicked from the channel chat"):
        publisher(api, chat_id="@formerly").publish(post())


def test_bad_markup_is_permanent_with_telegrams_description(api):
    with pytest.raises(PermanentError) as caught:
        publisher(api).publish(post("<div>Tram</div> line"))

    assert not isinstance(caught.value, AuthError)
    assert str(caught.value) == ("telegram: HTTP 400: Bad Request: can't parse entities: "
                                 'Unsupported start tag "div" at byte offset 0')
    assert api.messages == []


def test_an_unreachable_api_is_transient_and_never_shows_the_token():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    telegram = TelegramPublisher(TOKEN, "@newsroom", api_base=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match="telegram: network error") as caught:
        telegram.publish(post())
    assert TOKEN.split(":")[1] not in str(caught.value) and caught.value.__cause__ is None


def test_check_names_the_bot(api):
    assert publisher(api).check() == "@pressbot_test_bot"
    assert [call.method for call in api.calls] == ["getMe"]
