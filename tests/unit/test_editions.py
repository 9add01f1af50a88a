"""The pure rules of an edition: which articles, in which order, and variant keys; and how
an SMTP reply is classified."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.editions import select_articles, variant_key
from bot.mail.transport import MailRejected

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)


def art(i: int, hours_ago: float, categories=(), seen_hours_ago: float | None = None) -> dict:
    published = T0 - timedelta(hours=hours_ago)
    seen = T0 - timedelta(hours=hours_ago if seen_hours_ago is None else seen_hours_ago)
    return {"id": i, "title": f"t{i}", "published": published.isoformat(),
            "first_seen": seen.isoformat(), "categories": list(categories)}


def ids(selected: list[dict]) -> list[int]:
    return [a["id"] for a in selected]


def test_window_is_first_seen_half_open_and_the_filter_needs_one_category_in_common():
    articles = [art(1, 1, ["City"]), art(2, 30, ["City"]), art(3, 2, ["Sport"]),
                art(4, 72, ["city"], seen_hours_ago=3),   # old story, ingested late: in
                art(5, 0, ["City"], seen_hours_ago=0)]    # seen exactly at `until`: next time
    chosen = select_articles(articles, since=T0 - timedelta(hours=24), until=T0,
                             categories={"City"}, max_articles=10)
    assert ids(chosen) == [1, 4]
    everything = select_articles(articles, since=T0 - timedelta(hours=24), until=T0,
                                 categories=set(), max_articles=10)
    assert set(ids(everything)) == {1, 3, 4}


def test_newest_lead_first_then_grouped_by_category_and_the_cap_drops_the_oldest():
    articles = [art(1, 5, ["Sport"]), art(2, 1, ["City"]), art(3, 2, ["Sport"]),
                art(4, 3, ["City"]), art(5, 4, []), art(6, 9, ["Arts"])]
    chosen = select_articles(articles, since=None, until=T0, categories=set(), max_articles=5)
    # lead 2 (newest); then Sport (its newest, 3, is next newest), City, then uncategorised.
    assert ids(chosen) == [2, 3, 1, 4, 5]
    assert [a["section"] for a in chosen] == ["", "Sport", "Sport", "City", ""]
    assert select_articles(articles, since=T0, until=T0, categories=set(), max_articles=5) == []


def test_variant_keys_ignore_topic_order_and_case():
    assert variant_key("fr", ["Sport", "city"]) == variant_key("fr", ("City", "sport", "Sport"))
    assert variant_key("fr", []) != variant_key("en", [])
    assert variant_key(None, []) == "-|"


def test_only_a_missing_mailbox_counts_as_unknown():
    def rejected(reply: str, phase: str = "rcpt") -> MailRejected:
        return MailRejected(reply, code=int(reply[:3]), reply=reply, phase=phase)

    assert rejected("550 5.1.1 <a@b>: Recipient address rejected: User unknown").mailbox_unknown
    assert rejected("550 5.1.10 RESOLVER.ADR.RecipientNotFound").mailbox_unknown
    assert rejected("550 No such user here").mailbox_unknown
    assert not rejected("550 5.7.1 Message rejected as spam").mailbox_unknown
    assert not rejected("550 Requested action not taken: mailbox unavailable").mailbox_unknown
    assert not rejected("550 5.1.1 sender unknown", phase="mail").mailbox_unknown
