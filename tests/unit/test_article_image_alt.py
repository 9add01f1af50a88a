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
