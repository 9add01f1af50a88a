"""An article's image description (issue 13: the digest's lead image needs real alt text):
read from the JSON schema and from WordPress's media library."""

from __future__ import annotations

from bot.ingest.files import article_from_json


def test_json_articles_carry_image_alt():
    draft = article_from_json({"title": "Ferry", "url": "https://news.example.org/ferry",
                               "image": "https://img.example.org/ferry.jpg",
                               "image_alt": "  The ferry\nat dawn "}, "a.json")
    assert draft.image_alt == "The ferry at dawn"
    assert article_from_json({"title": "Ferry", "url": "https://news.example.org/f"},
                             "b.json").image_alt is None


def test_html_pages_carry_og_image_alt_or_the_json_ld_caption():
    from bot.ingest.files import parse_html_article

    page = ('<html lang="en"><head><title>Ferry</title>'
            '<link rel="canonical" href="https://news.example.org/ferry">'
            '<meta property="og:image" content="https://img.example.org/ferry.jpg">'
            '<meta property="og:image:alt" content="A ferry &amp; its crew">'
            '</head><body><article><h1>Ferry</h1><p>The ferry runs again from Monday, '
            'the harbour office said.</p></article></body></html>')
    assert parse_html_article(page, "a.html").image_alt == "A ferry & its crew"
    ld = ('<html><head><title>Quay</title><script type="application/ld+json">{"@type": '
          '"NewsArticle", "headline": "Quay", "url": "https://news.example.org/quay", "image": '
          '{"@type": "ImageObject", "url": "https://img.example.org/q.jpg", "caption": '
          '"The quay at dawn"}}</script></head><body><p>The quay reopens.</p></body></html>')
    assert parse_html_article(ld, "b.html").image_alt == "The quay at dawn"
