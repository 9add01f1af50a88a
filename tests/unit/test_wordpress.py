"""bot.ingest.wordpress: the REST API's posts as drafts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import BadInput
from bot.ingest.wordpress import parse_wp_posts, wp_posts_url

SITE = "https://news.example.org"
POSTS = json.loads((Path(__file__).resolve().parents[1] / "data" / "feeds" / "wp_posts.json")
                   .read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def post(**fields) -> dict:
    """A minimal post as the API gives it, with `fields` replaced."""
    base = {"id": 1, "status": "publish", "link": f"{SITE}/p/1/", "guid": {"rendered": f"{SITE}/?p=1"},
            "title": {"rendered": "A title"}, "content": {"rendered": "<p>Body.</p>", "protected": False},
            "excerpt": {"rendered": "", "protected": False},
            "date_gmt": "2024-05-01T10:00:00", "modified_gmt": "2024-05-02T11:00:00"}
    base.update(fields)
    return base


# -- wp_posts_url -----------------------------------------------------------------------------


def test_posts_url_asks_for_embedded_newest_changes_first():
    url = wp_posts_url("https://news.example.org/", page=3, per_page=20)
    parts = urlsplit(url)

    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == \
        "https://news.example.org/wp-json/wp/v2/posts"
    assert parse_qs(parts.query) == {"_embed": ["1"], "per_page": ["20"], "page": ["3"],
                                     "orderby": ["modified"], "order": ["desc"]}


def test_posts_url_keeps_a_subfolder_and_sends_modified_after_in_utc_with_offset():
    after = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    url = wp_posts_url("https://example.com/blog/?x=1", after=after)

    assert url.startswith("https://example.com/blog/wp-json/wp/v2/posts?")
    assert parse_qs(urlsplit(url).query)["modified_after"] == ["2024-05-01T10:00:00+00:00"]


def test_posts_url_takes_a_naive_after_as_utc():
    url = wp_posts_url(SITE, after=datetime(2024, 5, 1, 12, 0))
    assert parse_qs(urlsplit(url).query)["modified_after"] == ["2024-05-01T12:00:00+00:00"]


@pytest.mark.parametrize("kwargs", [{"page": 0}, {"per_page": 0}, {"per_page": 101}])
def test_posts_url_refuses_what_wordpress_would_refuse(kwargs):
    with pytest.raises(ValueError):
        wp_posts_url(SITE, **kwargs)


# -- parse_wp_posts: the fixture --------------------------------------------------------------


def test_full_post_from_real_shaped_output():
    result = parse_wp_posts(POSTS, SITE)
    ferry = result.drafts[0]

    # entities decoded exactly once: &#8217; -> ’, &#038; -> &, &amp;lt; -> the text "&lt;"
    assert ferry.title == "Harbour’s new ferry: Q&A on &lt;fares&gt;"
    assert ferry.url == "https://news.example.org/2024/05/14/harbours-new-ferry-qa/"
    assert ferry.guid == "https://news.example.org/?p=4812"
    assert ferry.author == "Maya Lindqvist"
    assert ferry.image == "https://news.example.org/wp-content/uploads/2024/05/ferry.jpg"
    assert ferry.image_alt == "The new ferry at the quay"   # the media's alt text (issue 13)
    # categories first, then tags; "Uncategorized" dropped; tag names decoded once
    assert ferry.categories == ("Transport", "Ferries", "Arts & Culture")
    assert ferry.published == utc(2024, 5, 14, 8, 15)       # date_gmt, not local date
    assert ferry.updated == utc(2024, 5, 14, 9, 2, 41)
    assert ferry.language is None
    # the "Continue reading" link is not part of the summary
    assert ferry.summary == "The new ferry enters service on 1 June. Here is what changes for passengers."


def test_body_is_sanitised_and_absolute():
    body = parse_wp_posts(POSTS, SITE).drafts[0].body_html

    assert '<a href="https://news.example.org/fares/"' in body
    assert "<script" not in body and "trackRead" not in body
    assert "<iframe" not in body and "srcset" not in body and "class=" not in body
    assert "£2.40" in body
    assert '<figcaption>The <em>Gull</em> at the quay.</figcaption>' in body


def test_auto_excerpt_tail_and_error_objects_in_embeds():
    export = parse_wp_posts(POSTS, SITE).drafts[1]

    assert export.summary.endswith("d’agrandir le terminal nord d’ici…")
    assert "[" not in export.summary
    assert export.author is None                  # embedded author is an error object
    assert export.image is None                   # featured media is rest_forbidden
    assert export.image_alt is None
    assert export.categories == ("Économie",)
    # guid.rendered went through esc_url: decoded once it matches the RSS <guid>
    assert export.guid == "https://news.example.org/?post_type=post&p=4807"
    assert export.title == "Les exportations du port progressent de 12 %"


def test_bad_posts_are_rejected_with_position_and_the_rest_ingest():
    result = parse_wp_posts(POSTS, SITE)

    assert [d.guid for d in result.drafts] == [
        "https://news.example.org/?p=4812", "https://news.example.org/?post_type=post&p=4807",
        f"{SITE}#post-4795"]
    assert [(r.where, r.reason) for r in result.rejected] == [
        (f"{SITE} post 3", "not a post object (got str)"),
        (f"{SITE} post 4 (id 4801)", "title is empty"),
        (f"{SITE} post 5 (id 4799)", "post is password-protected"),
    ]


def test_post_without_guid_gets_a_stable_one_and_lead_paragraph_summary():
    lifeboat = parse_wp_posts(POSTS, SITE).drafts[2]

    assert lifeboat.guid == "https://news.example.org#post-4795"
    assert parse_wp_posts(POSTS, SITE + "/").drafts[2].guid == lifeboat.guid
    assert lifeboat.url == "https://news.example.org/2024/05/10/lifeboat-gull-point/"  # no utm_
    assert lifeboat.summary == "Both kayakers were brought ashore unhurt."
    assert lifeboat.author == "Ben Okafor"


# -- parse_wp_posts: edge cases ---------------------------------------------------------------


def test_error_object_instead_of_a_list_raises_bad_input_with_its_message():
    error = {"code": "rest_no_route",
             "message": "No route was found matching the URL and request method.",
             "data": {"status": 404}}
    with pytest.raises(BadInput, match="rest_no_route: No route was found matching the URL"):
        parse_wp_posts(error, SITE)


@pytest.mark.parametrize("data", [None, "<html>", 42, {"posts": []}])
def test_other_non_lists_raise_bad_input(data):
    with pytest.raises(BadInput, match="expected a JSON list of posts"):
        parse_wp_posts(data, SITE)


def test_empty_list_is_an_empty_result():
    result = parse_wp_posts([], SITE)
    assert result.drafts == [] and result.rejected == []


def test_missing_title_field_and_unpublished_status_are_rejected():
    result = parse_wp_posts([{k: v for k, v in post().items() if k != "title"},
                             post(status="draft"), post(id=3)], SITE)

    assert [r.reason for r in result.rejected] == ["post has no title",
                                                   "status is 'draft', not published"]
    assert len(result.drafts) == 1


def test_markup_only_title_is_rejected():
    result = parse_wp_posts([post(title={"rendered": "<b></b>"})], SITE)
    assert result.rejected[0].reason == "title is empty"


def test_read_more_and_ellipsis_tails_are_stripped_from_excerpts():
    excerpts = [
        '<p>Lead text [&hellip;]</p>\n',
        '<p>Lead text [...]</p>',
        '<p>Lead text <a class="read-more" href="/p/1/">Read more &raquo;</a></p>',
        '<p>Lead text &hellip; <a href="/p/1/">Continue reading &rarr;</a></p>',
    ]
    summaries = [parse_wp_posts([post(excerpt={"rendered": e})], SITE).drafts[0].summary
                 for e in excerpts]

    assert summaries[:3] == ["Lead text"] * 3
    assert summaries[3] == "Lead text …"


def test_excerpt_text_is_decoded_once():
    draft = parse_wp_posts([post(excerpt={"rendered": "<p>Use &amp;lt;p&amp;gt; tags</p>"})],
                           SITE).drafts[0]
    assert draft.summary == "Use &lt;p&gt; tags"


def test_missing_or_bad_dates_become_none_not_rejections():
    result = parse_wp_posts([post(date_gmt=None, modified_gmt="0000-00-00T00:00:00")], SITE)

    assert result.rejected == []
    assert result.drafts[0].published is None and result.drafts[0].updated is None


def test_an_unexpected_shape_rejects_only_that_post():
    result = parse_wp_posts([post(content={"rendered": "<p>x</p>", "protected": False},
                                  _embedded={"wp:term": "oops", "author": [{"name": 5}]}),
                             post(id=2, guid=None, title="Plain string title")], SITE)

    assert result.rejected == []
    assert result.drafts[0].categories == () and result.drafts[0].author is None
    assert result.drafts[1].title == "Plain string title"
    assert result.drafts[1].guid == f"{SITE}#post-2"


def test_a_featured_image_without_alt_text_is_described_by_its_caption():
    from bot.ingest.wordpress import _featured_image_alt

    media = {"wp:featuredmedia": [{"alt_text": "", "caption": {"rendered": "<p>The <em>Gull</em> at the quay.</p>\n"}}]}
    assert _featured_image_alt(media) == "The Gull at the quay."
    assert _featured_image_alt({"wp:featuredmedia": [{"alt_text": " ", "caption": {}}]}) is None
