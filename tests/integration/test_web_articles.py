"""The article pages: share posts per account with the composer's own count, the live
length endpoint, saving (and refusing) an editor's text, reschedule, skip, post now,
re-share, and a Bluesky text edited by hand still getting its facets."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.articles import ArticleDraft
from bot.domain.snippets import platform_length
from bot.domain.snippets.bluesky import short_url
from bot.services import dispatch, share_edits, shares
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.models import PostState, SharePost, Source, SourceKind
from tests.support.web import client_for, csrf

LATER = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
LONG_URL = "https://news.example.org/2026/11/28/the-harbour-ferry-runs-again-after-the-storm?ref=x"


def add_articles(settings, n: int = 1, title: str = "Story {i} about the harbour") -> list[int]:
    with session_scope(settings.effective_database_url) as s:
        source = s.query(Source).filter_by(url="test:feed").one_or_none()
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", title="The Feed",
                            poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        now = datetime.now(timezone.utc)
        drafts = [ArticleDraft(title=title.format(i=i), url=f"https://news.example.org/{i}",
                               guid=f"g{i}", summary="The ferry runs again after the storm.",
                               categories=("City",), published=now - timedelta(minutes=i),
                               language="en") for i in range(n)]
        return [r.article.id for r in store_drafts(s, source, drafts, now=now)]


@pytest.fixture
def newsroom(settings):
    """An article, four accounts; X and Bluesky have a post scheduled, the others none."""
    for name, platform in (("gazette-x", "x"), ("gazette-bsky", "bluesky"),
                           ("gazette-masto", "mastodon"), ("gazette-tg", "telegram")):
        shares.add_account(settings, name, platform)
    [article] = add_articles(settings)
    posts = {p["account"]: p["id"] for a in ("gazette-x", "gazette-bsky")
             for p in shares.schedule_share(settings, article, a, at=LATER)}
    ids = {a["name"]: a["id"] for a in shares.list_accounts(settings)}
    return {"article": article, "posts": posts, "accounts": ids}


def editor(settings):
    return client_for(settings, login_as="ed@example.com")


def post_row(settings, post_id: int) -> SharePost:
    with session_scope(settings.effective_database_url) as s:
        post = s.get(SharePost, post_id)
        s.expunge(post)
        return post


def counter(html: str, account_id: int) -> str:
    match = re.search(rf'<output id="counter-{account_id}" class="counter( over)?"[^>]*>([^<]*)</output>', html)
    assert match, f"no counter for account {account_id}"
    return match.group(2) + (" over" if match.group(1) else "")


def textarea(page: str, account_id: int) -> str:
    match = re.search(rf'<textarea id="text-{account_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea for account {account_id}"
    return html.unescape(match.group(1))


def test_the_article_page_has_a_card_per_account_counted_by_the_composer(settings, newsroom):
    client = editor(settings)
    article, accounts = newsroom["article"], newsroom["accounts"]

    page = client.get(f"/admin/articles/{article}")

    assert page.status_code == 200
    body = page.text
    assert "Story 0 about the harbour" in body and "https://news.example.org/0" in body
    assert "The Feed" in body
    for name, platform in (("gazette-x", "x"), ("gazette-bsky", "bluesky"),
                           ("gazette-masto", "mastodon"), ("gazette-tg", "telegram")):
        snippet = shares.compose_share(settings, article, platform, name)
        assert counter(body, accounts[name]) == f"{snippet.length} / {snippet.limit}"
        assert textarea(body, accounts[name]) == snippet.text
    # Posts that exist have their actions; accounts without one can be scheduled.
    for post_id in newsroom["posts"].values():
        assert f"/posts/{post_id}/text" in body and f"/posts/{post_id}/reschedule" in body
        assert f"/posts/{post_id}/now" in body and f"/posts/{post_id}/skip" in body
    assert f"/accounts/{accounts['gazette-masto']}/schedule" in body
    assert '<script src="/static/counter.js" defer></script>' in body
    assert client.get("/static/counter.js").status_code == 200


def test_the_article_list_searches_and_pages(settings):
    add_articles(settings, 30)
    add_articles(settings, 1, title="Tram line {i} approved")  # guid g0 again: updates story 0
    client = editor(settings)

    first = client.get("/admin/articles").text
    assert "30 articles" in first and "Page 1 of 2" in first
    second = client.get("/admin/articles?page=2").text
    assert second.count('href="/admin/articles/') == 5

    found = client.get("/admin/articles", params={"q": "TRAM"}).text
    assert "1 article matching" in found and "Tram line 0 approved" in found
    assert "Story 5" not in found
    assert "0 articles" in client.get("/admin/articles", params={"q": "100%"}).text


def test_the_length_endpoint_counts_as_each_platform_does(settings, newsroom):
    client = editor(settings)
    token = csrf(client, f"/admin/articles/{newsroom['article']}")
    base = f"/admin/articles/{newsroom['article']}/accounts"
    x_id, bsky_id = newsroom["accounts"]["gazette-x"], newsroom["accounts"]["gazette-bsky"]

    text = f"Read {LONG_URL} now"
    x = client.post(f"{base}/{x_id}/length", data={"text": text}, headers={"X-CSRF-Token": token})
    assert x.json() == {"length": platform_length("x", text), "limit": 280, "over": False}
    assert x.json()["length"] == len("Read  now") + 23  # any URL counts 23 on X

    family = "👨‍👩‍👧‍👦"  # one grapheme, seven code points
    text = f"{family} Zürich e\u0301"
    bsky = client.post(f"{base}/{bsky_id}/length", data={"text": text},
                       headers={"X-CSRF-Token": token}).json()
    assert bsky == {"length": platform_length("bluesky", text), "limit": 300, "over": False}
    assert bsky["length"] == 10 != len(text)

    over = client.post(f"{base}/{bsky_id}/length", data={"text": "é" * 301},
                       headers={"X-CSRF-Token": token}).json()
    assert over == {"length": 301, "limit": 300, "over": True}
    cjk = client.post(f"{base}/{x_id}/length", data={"text": "漢" * 141},
                      headers={"X-CSRF-Token": token}).json()
    assert cjk == {"length": 282, "limit": 280, "over": True}  # CJK weighs 2 on X

    assert client.post(f"{base}/{x_id}/length", data={"text": "hi"}).status_code == 403


def test_text_over_the_limit_is_refused_with_the_count_and_nothing_is_saved(settings, newsroom):
    client = editor(settings)
    article, post_id = newsroom["article"], newsroom["posts"]["gazette-x"]
    x_id = newsroom["accounts"]["gazette-x"]
    token = csrf(client, f"/admin/articles/{article}")
    too_long = "The harbour ferry " * 15 + LONG_URL  # 270 + 23

    response = client.post(f"/admin/articles/{article}/posts/{post_id}/text",
                           data={"csrf_token": token, "account_id": x_id, "text": too_long})

    assert response.status_code == 422
    assert "Not saved: the text is 293 characters as X counts them; the limit is 280" in response.text
    assert counter(response.text, x_id) == "293 / 280 over"
    assert "The harbour ferry The harbour ferry" in response.text  # the draft is kept
    assert post_row(settings, post_id).text is None


def test_saving_a_text_stores_it_and_answers_with_the_count(settings, newsroom):
    client = editor(settings)
    article, post_id = newsroom["article"], newsroom["posts"]["gazette-x"]
    x_id = newsroom["accounts"]["gazette-x"]
    token = csrf(client, f"/admin/articles/{article}")
    text = f"Ferry back on after the storm\r\n{LONG_URL} #harbour"

    response = client.post(f"/admin/articles/{article}/posts/{post_id}/text",
                           data={"csrf_token": token, "account_id": x_id, "text": text},
                           follow_redirects=False)

    assert response.status_code == 303
    saved = text.replace("\r\n", "\n")
    assert post_row(settings, post_id).text == saved
    page = client.get(response.headers["location"]).text
    assert f"Saved the text for gazette-x ({platform_length('x', saved)} / 280)" in page
    assert "(edited)" in page and counter(page, x_id) == f"{platform_length('x', saved)} / 280"


def test_a_telegram_text_with_broken_markup_is_refused(settings, newsroom):
    client = editor(settings)
    article, tg_id = newsroom["article"], newsroom["accounts"]["gazette-tg"]
    token = csrf(client, f"/admin/articles/{article}")
    response = client.post(f"/admin/articles/{article}/accounts/{tg_id}/schedule",
                           data={"csrf_token": token, "text": "Fish & <script>chips</script>",
                                 "at": ""})
    assert response.status_code == 422 and "not allowed in Telegram HTML" in response.text
    assert [p for p in shares.list_shares(settings) if p["account"] == "gazette-tg"] == []


def test_reschedule_reads_the_time_in_the_site_zone(settings, newsroom):
    paris = settings.model_copy(update={"timezone": "Europe/Paris"})
    client = editor(paris)
    article, post_id = newsroom["article"], newsroom["posts"]["gazette-bsky"]
    token = csrf(client, f"/admin/articles/{article}")
    year = LATER.year + 1

    page = client.post(f"/admin/articles/{article}/posts/{post_id}/reschedule",
                       data={"csrf_token": token, "at": f"{year}-01-15T09:30"}).text

    assert post_row(paris, post_id).scheduled_at == datetime(year, 1, 15, 8, 30, tzinfo=timezone.utc)
    assert f"scheduled for {year}-01-15 09:30 (Europe/Paris)" in page
    assert f'value="{year}-01-15T09:30"' in page

    past = client.post(f"/admin/articles/{article}/posts/{post_id}/reschedule",
                       data={"csrf_token": token, "at": "2020-01-01T09:00"}).text
    assert "Not rescheduled" in past and "has passed" in past
    assert post_row(paris, post_id).scheduled_at.year == year


def test_skip_and_post_now(settings, newsroom):
    client = editor(settings)
    article = newsroom["article"]
    x_post, bsky_post = newsroom["posts"]["gazette-x"], newsroom["posts"]["gazette-bsky"]
    token = csrf(client, f"/admin/articles/{article}")

    page = client.post(f"/admin/articles/{article}/posts/{x_post}/skip", data={"csrf_token": token}).text
    assert post_row(settings, x_post).state == PostState.SKIPPED
    assert "will not go out" in page

    before = datetime.now(timezone.utc)
    page = client.post(f"/admin/articles/{article}/posts/{bsky_post}/now", data={"csrf_token": token}).text
    after = datetime.now(timezone.utc)
    row = post_row(settings, bsky_post)
    assert row.state == PostState.SCHEDULED and before - timedelta(seconds=1) <= row.scheduled_at <= after
    assert "goes out within a minute" in page
    # What the next dispatch tick will pick up:
    assert ("post", bsky_post) in {(j.kind, j.item_id) for j in dispatch.find_due(settings, after)}

    # A skipped post comes back by giving it a time again.
    client.post(f"/admin/articles/{article}/posts/{x_post}/now", data={"csrf_token": token})
    assert post_row(settings, x_post).state == PostState.SCHEDULED


def test_a_sent_post_is_shared_again_under_a_new_key(settings, newsroom):
    client = editor(settings)
    article, post_id = newsroom["article"], newsroom["posts"]["gazette-x"]
    shares.publish_one(settings, post_id, now=LATER)
    first = post_row(settings, post_id)
    assert first.state == PostState.SENT
    token = csrf(client, f"/admin/articles/{article}")

    page = client.post(f"/admin/articles/{article}/posts/{post_id}/reshare",
                       data={"csrf_token": token}).text

    again = post_row(settings, post_id)
    assert "Shared again on gazette-x" in page
    assert again.state == PostState.SCHEDULED and again.generation == 1
    assert again.idempotency_key != first.idempotency_key
    refused = client.post(f"/admin/articles/{article}/posts/{post_id}/reshare",
                          data={"csrf_token": token}).text
    assert "only a sent post can be shared again" in refused


def test_an_account_without_a_post_gets_one_with_the_editors_text(settings, newsroom):
    client = editor(settings)
    article, masto_id = newsroom["article"], newsroom["accounts"]["gazette-masto"]
    token = csrf(client, f"/admin/articles/{article}")
    at = LATER + timedelta(hours=1)

    client.post(f"/admin/articles/{article}/accounts/{masto_id}/schedule",
                data={"csrf_token": token, "text": f"Ferry news {LONG_URL}",
                      "at": at.strftime("%Y-%m-%dT%H:%M")})

    [post] = [p for p in shares.list_shares(settings) if p["account"] == "gazette-masto"]
    row = post_row(settings, post["id"])
    assert row.text == f"Ferry news {LONG_URL}" and row.scheduled_at == at.replace(second=0)


def test_an_edited_bluesky_text_gets_facets_for_its_own_bytes(settings, newsroom):
    post_id = newsroom["posts"]["gazette-bsky"]
    url = shares.compose_share(settings, newsroom["article"], "bluesky", "gazette-bsky").url
    text = f"Zürich’s ferry 🚢 runs again: {url} and https://news.example.com/more #Harbour"
    share_edits.edit_share(settings, post_id, text)

    assert shares.publish_one(settings, post_id, now=LATER).sent == [post_id]

    [sent] = [json.loads(line) for line in
              (settings.home / "outbox" / "social" / "bluesky.jsonl").read_text().splitlines()]
    # Posted as Bluesky's client posts it: each link shown short, the full URL in its facet.
    assert sent["text"] == text.replace(url, short_url(url)).replace("https://news", "news")
    data = sent["text"].encode()
    spans = [(data[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(), f["features"][0])
             for f in sent["facets"]]
    assert spans == [
        (short_url(url), {"$type": "app.bsky.richtext.facet#link", "uri": url}),
        ("news.example.com/more",
         {"$type": "app.bsky.richtext.facet#link", "uri": "https://news.example.com/more"}),
        ("#Harbour", {"$type": "app.bsky.richtext.facet#tag", "tag": "Harbour"}),
    ]
