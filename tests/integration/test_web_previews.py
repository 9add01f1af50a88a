"""The post editor's previews (issue 14): each account's card shows the post as its platform
shows it, with the link card and the article's image; an over-limit save shows the error
at the field, which has the focus. The real app (TestClient), SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from sqlalchemy import update

from bot.domain.snippets.bluesky import short_url
from bot.services import shares
from bot.store.db import session_scope
from bot.store.models import Article
from tests.integration.test_web_articles import LONG_URL, editor, newsroom  # noqa: F401 (fixture)
from tests.support.web import csrf

IMAGE = "https://img.example.org/harbour.jpg"


def preview_of(page: str, platform: str) -> str:
    match = re.search(rf'<figure class="post-preview post-preview-{platform}"(.*?)</figure>', page, re.S)
    assert match, f"no {platform} preview"
    return match.group(1)


def test_each_card_previews_its_post_as_the_platform_shows_it(settings, newsroom):
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(Article).where(Article.id == newsroom["article"]).values(image=IMAGE))
    article = newsroom["article"]
    link = {p: shares.compose_share(settings, article, p).url for p in ("bluesky", "telegram", "x")}

    page = editor(settings).get(f"/admin/articles/{article}").text

    bsky = preview_of(page, "bluesky")
    assert f'<a href="{html.escape(link["bluesky"])}" rel="noopener noreferrer">{short_url(link["bluesky"])}</a>' in bsky
    assert '<span class="post-tag">#City</span>' in bsky
    assert f'<img src="{IMAGE}" alt="" loading="lazy">' in bsky and "news.example.org" in bsky
    assert '<strong class="link-card-title">Story 0 about the harbour</strong>' in bsky
    tg = preview_of(page, "telegram")
    # Telegram's HTML is shown rendered: its <a> is a link here, not "&lt;a href=" text.
    assert "&lt;" not in tg and f'<a href="{html.escape(link["telegram"])}"' in tg
    x = preview_of(page, "x")
    assert "news.example.org/0?utm_source=…" in x and f'href="{html.escape(link["x"])}"' in x


def test_an_over_limit_save_puts_the_error_at_the_focused_field(settings, newsroom):
    client = editor(settings)
    article, post_id = newsroom["article"], newsroom["posts"]["gazette-x"]
    x_id = newsroom["accounts"]["gazette-x"]
    token = csrf(client, f"/admin/articles/{article}")

    response = client.post(f"/admin/articles/{article}/posts/{post_id}/text", data={
        "csrf_token": token, "account_id": x_id, "text": "The harbour ferry " * 15 + LONG_URL})

    assert response.status_code == 422
    card = re.search(rf'<section class="card share-card" id="account-{x_id}"(.*?)</section>',
                     response.text, re.S)[1]
    error = card.index(f'id="error-{x_id}" role="alert"')
    field = card.index(f'<textarea id="text-{x_id}"')
    assert error < field and "Not saved" in card[error:field]
    assert re.search(rf'<textarea id="text-{x_id}"[^>]* autofocus aria-invalid="true"', card)
    assert response.text.count("autofocus") == 1   # only the field at fault
    assert "over the limit" in preview_of(response.text, "x")
