"""Pure parts of engagement tracking (issue 14): who is a reader, the signed link tokens,
the rewrite of a rendered variant, and the SVG chart."""

from __future__ import annotations

import pytest

from bot.domain.engagement import EngagementKind as K
from bot.domain.engagement import classify_click, classify_open, rate
from bot.newsletter.render import RenderedEmail
from bot.newsletter.tracking import TRACK, BadLink, Link, LinkSigner, read_track, track_value, tracked
from bot.web.charts import bar_chart

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.mark.parametrize("method, agent, sent, kind", [
    ("GET", FIREFOX, 1000, K.CLICK),
    ("GET", FIREFOX, None, K.CLICK),
    ("HEAD", FIREFOX, 1000, K.SCANNER),
    ("GET", "", 1000, K.SCANNER),
    ("GET", "Mozilla/5.0 (compatible; Barracuda Sentinel)", 1000, K.SCANNER),
    ("GET", "python-requests/2.32", 1000, K.SCANNER),
    ("GET", "Mozilla/5.0 (Windows NT 10.0) Microsoft Office/16.0 (SafeLinks)", 1000, K.SCANNER),
    ("GET", FIREFOX, 1995, K.SCANNER),     # 5 s after sending: a gateway's prefetch
])
def test_clicks(method, agent, sent, kind):
    assert classify_click(method, agent, sent, now=2000, window=10) == kind


@pytest.mark.parametrize("agent, sent, kind", [
    (FIREFOX, 1000, K.OPEN),
    ("Mozilla/5.0", 1000, K.PROXY_OPEN),                               # Apple MPP
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     1000, K.PROXY_OPEN),
    (FIREFOX, 1998, K.PROXY_OPEN),                                     # prefetched on arrival
    ("curl/8.0", 1000, None),                                          # not an open at all
])
def test_opens(agent, sent, kind):
    assert classify_open("GET", agent, sent, now=2000, window=10) == kind


def test_rate_without_deliveries_is_none():
    assert rate(1, 4) == 0.25 and rate(0, 0) is None


def test_tokens_round_trip_and_refuse_tampering():
    signer = LinkSigner("secret")
    token = signer.link_token(Link(7, 3, "https://example.org/a?b=1"))
    assert signer.read_link(token) == Link(7, 3, "https://example.org/a?b=1")
    with pytest.raises(BadLink):
        LinkSigner("other secret").read_link(token)
    with pytest.raises(BadLink):
        signer.read_link(token[:-1] + ("A" if token[-1] != "A" else "B"))
    # A signed payload that is not a link (a reader token) is refused too.
    with pytest.raises(BadLink):
        signer.read_link(signer.reader_token(5))
    assert signer.read_reader(signer.reader_token(5)) == 5
    assert signer.read_reader(token) is None
    # javascript: or other schemes cannot be signed into a redirect by a mistake either.
    with pytest.raises(BadLink):
        signer.read_link(signer.link_token(Link(7, 3, "javascript:alert(1)")))


def test_track_value():
    assert track_value(1700000000) == "t=1700000000"
    assert read_track({"t": "1700000000", "s": "abc"}) == (1700000000, "abc")
    assert read_track({"t": "junk"}) == (None, None)


def test_rewrite_touches_article_links_only():
    a, b = "https://news.example/a?utm_medium=email", "https://news.example/a?utm_medium=email&x=1"
    rendered = RenderedEmail(
        subject="S",
        text=f"One: {a}\nTwo: {b}\nSite: https://news.example/\n",
        html=(f'<html><body><a href="{a}">One</a><a href="{b.replace("&", "&amp;")}">Two</a>'
              f'<a href="https://news.example/">Site</a></body></html>'))
    signer = LinkSigner("s")
    out = tracked(rendered, base_url="https://pb.example/", edition_id=4,
                  article_urls={a: 1, b: 2}, signer=signer)
    assert 'href="https://news.example/"' in out.html and "Site: https://news.example/" in out.text
    assert out.html.count("https://pb.example/r/") == 2 and out.text.count("https://pb.example/r/") == 2
    # /a?…&x=1 is not rewritten as /a plus a tail.
    tokens = [line.split("/r/")[1].split("?")[0] for line in out.text.splitlines() if "/r/" in line]
    assert [signer.read_link(t).article_id for t in tokens] == [1, 2]
    assert out.text.count(TRACK) == 2 and f"?{TRACK}" in out.html
    assert out.html.index("/o/") < out.html.index("</body>")   # the pixel, inside the body


def test_chart_escapes_and_scales():
    svg = str(bar_chart([("<b>Big</b>", 10), ("Small", 5)], title="Clicks & more"))
    assert "<b>" not in svg and "&lt;b&gt;Big" in svg and "Clicks &amp; more" in svg
    assert 'width="300"' in svg and 'width="150"' in svg
    assert "style=" not in svg and "<script" not in svg
