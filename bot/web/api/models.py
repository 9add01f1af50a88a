"""The API's request and response bodies. Times are ISO 8601 in UTC ("…Z")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Dict, List, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.services.planning import MAX_CAMPAIGN_ARTICLES, MAX_INTRO
from bot.web.api.common import MAX_ID, Text, UtcDatetime

EditionState = Literal["pending", "sending", "sent", "skipped", "failed", "cancelled", "preview",
                       "scheduled"]
PostStateName = Literal["scheduled", "claimed", "sent", "failed", "skipped"]
SubscriberState = Literal["pending", "confirmed", "unsubscribed", "bounced", "complained"]
DeliveryStateName = Literal["pending", "claimed", "sent", "deferred", "failed", "suppressed",
                            "held"]


class Input(BaseModel):
    # A misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


# -- Articles -------------------------------------------------------------------------------------


class ArticleSummary(BaseModel):
    id: int
    title: str
    url: str | None
    published: datetime
    categories: List[str]
    language: str | None
    updated: bool = Field(description="Changed since it was first ingested")


class Article(ArticleSummary):
    guid: str | None
    summary: str
    body_html: str = Field(description="Sanitised HTML")
    image: str | None
    author: str | None
    source_id: int
    revision: int
    modified: datetime | None
    first_seen: datetime


# -- Editions -------------------------------------------------------------------------------------


class DeliveryCounts(BaseModel):
    pending: int = 0
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    held: int = Field(0, description="Waiting for an A/B subject test's winner")
    total: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> "DeliveryCounts":
        return cls.model_validate({**counts, "total": sum(counts.values())})   # other keys: ignored


class Edition(BaseModel):
    id: int
    list_id: int
    list: str
    status: EditionState
    subject: str | None = Field(description="Known once the edition is built")
    error: str | None
    scheduled_for: datetime
    sent_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime | None
    created_by: str | None = Field(description="The editor who planned it; null: the list's schedule")
    articles: int = Field(description="How many articles it carries")
    article_ids: List[int]
    deliveries: DeliveryCounts
    ab_test: AbTest | None = Field(None, description="A campaign's A/B subject test; "
                                                       "null when it has none")

    @classmethod
    def of(cls, row: dict) -> "Edition":
        return cls(**{**row, "deliveries": DeliveryCounts.of(row["deliveries"])})


class AbVariant(BaseModel):
    sent: int = Field(description="Messages sent with this subject")
    delivered: int = Field(description="Sent less bounced")
    clicks: int = Field(description="Reader clicks (scanners and HEAD requests not counted)")
    click_rate: float | None = Field(description="Clicks per delivered message")


class AbTest(BaseModel):
    """A campaign's A/B subject test: a sample gets A or B, the rest the winner."""
    subject_a: str
    subject_b: str
    sample_percent: int
    decide_after_hours: int
    state: Literal["planned", "testing", "decided"] = Field(
        description="planned: not sent yet; testing: the sample went out, the rest is held; "
                    "decided: the winner goes (or went) to the rest")
    sample_at: datetime | None = Field(description="When the sample was released")
    decide_at: datetime | None = Field(description="When the winner is (or was) picked")
    sample: Dict[str, int] = Field(description="Sample size per subject: {\"a\": n, \"b\": n}")
    held: int = Field(description="Deliveries waiting for the winner")
    winner: Literal["a", "b"] | None
    reason: Literal["clicks", "tie", "no_clicks"] | None = Field(
        description="clicks: more reader clicks per delivered message; tie or no_clicks: A kept")
    decided_at: datetime | None
    figures: Dict[str, AbVariant] = Field(description="Now, per subject: a, b, and w (the rest, "
                                                      "sent with the winner's subject)")


# -- Share posts ----------------------------------------------------------------------------------


class PostMetrics(BaseModel):
    """A sent post's public counts, fetched back 1 h, 6 h, 24 h and 72 h after sending."""
    likes: int | None = Field(description="null: not fetched yet, or the platform gives none")
    reposts: int | None
    replies: int | None
    views: int | None = Field(description="X's impressions; null on platforms that show none")
    at: datetime | None = Field(description="When the counts were fetched")
    next_at: datetime | None = Field(description="The next fetch; null: no more")
    note: str | None = Field(description="Why there are no counts (e.g. Telegram gives bots "
                                         "none), or the last fetch's error")


class SharePost(BaseModel):
    id: int
    article_id: int
    account: str
    platform: Literal["x", "mastodon", "bluesky", "telegram"]
    state: PostStateName
    scheduled_at: datetime
    text: str | None = Field(description="The editor's text; null: composed when it goes out")
    attempts: int
    last_error: str | None
    remote_id: str | None
    remote_url: str | None
    sent_at: datetime | None
    metrics: PostMetrics


class SharePostChange(Input):
    """Change a post that has not gone out (scheduled or failed)."""
    text: Text(10_000, min_length=1) | None = Field(
        None, description="The post's text, checked against the platform's own length rules")
    scheduled_at: UtcDatetime | None = Field(
        None, description="When it goes out (with a time zone); a failed post is retried then")

    @model_validator(mode="after")
    def _something(self) -> "SharePostChange":
        if self.text is None and self.scheduled_at is None:
            raise ValueError("give text and/or scheduled_at")
        return self


# -- Subscribers ----------------------------------------------------------------------------------


class Subscriber(BaseModel):
    id: int
    email: str
    name: str | None
    language: str | None
    status: SubscriberState
    created_at: datetime | None
    confirmed_at: datetime | None
    lists: List[str] = Field(description="Lists the subscriber is active on")


class Subscription(BaseModel):
    list: str | None
    active: bool
    topics: List[str]
    since: datetime | None


class ConsentRecord(BaseModel):
    at: datetime | None
    list: str | None
    action: str
    method: str
    origin: str | None


class DeliveryRecord(BaseModel):
    edition_id: int
    list: str | None
    state: DeliveryStateName
    attempts: int
    sent_at: datetime | None
    smtp_reply: str | None
    last_error: str | None
    subject: str | None = None
    scheduled_for: datetime | None = None


class SubscriberDetail(BaseModel):
    id: int
    email: str
    name: str | None
    language: str | None
    timezone: str | None
    status: SubscriberState
    created_at: datetime | None
    confirmed_at: datetime | None
    subscriptions: List[Subscription]
    consents: List[ConsentRecord]
    deliveries: List[DeliveryRecord]
    suppressed: str | None = Field(description="Why the address is on the suppression list, if it is")


class NewSubscriber(Input):
    email: Text(320, min_length=1)
    list: Text(100, min_length=1) = Field(description="The list's name")
    name: Text(200) | None = None
    language: Text(35) | None = Field(None, description="BCP 47, e.g. en, fr, pt-BR")
    topics: List[Text(100)] = Field([], max_length=50,
                                    description="Only articles in these categories; empty: all")
    confirmed: bool = Field(False, description="You hold their consent: no confirmation email. "
                                               "Otherwise they get one and stay pending until "
                                               "they follow its link.")


class SubscriberAdded(BaseModel):
    subscriber_id: int
    email: str
    list: str
    status: Literal["pending", "confirmed"]
    confirmation_sent: bool


# -- Lists ----------------------------------------------------------------------------------------


class MailingList(BaseModel):
    id: int
    name: str
    title: str
    from_name: str
    from_email: str
    reply_to: str | None
    language: str
    template: str
    schedule: str | None = Field(description="'daily 07:00' or 'weekly mon 08:00', in `timezone`")
    timezone: str
    max_articles: int
    categories: List[str]
    subscribers: int = Field(description="Confirmed, active subscribers")


class NewList(Input):
    name: Text(100, min_length=1) = Field(description="Lower-case letters, digits, - and _")
    title: Text(200, min_length=1)
    from_email: Text(320, min_length=1)
    from_name: Text(200, min_length=1)
    reply_to: Text(320) | None = None
    language: Text(35) = "en"
    template: Text(100) = "digest"
    schedule: Text(100) | None = None
    timezone: Text(64) = "UTC"
    max_articles: int = Field(10, ge=1, le=200)
    categories: List[Text(100)] = Field([], max_length=100)


# -- Planning: the calendar, moving and cancelling, campaigns ---------------------------------------


class CalendarItem(BaseModel):
    """A digest on the calendar: an edition row, or a run the list's schedule will still
    produce (no row yet: `edition_id` is null; move or cancel it with
    POST /api/lists/{list}/runs/{slot_key})."""
    edition_id: int | None = Field(description="Null for a run of the schedule that has no row yet")
    list_id: int
    list: str
    list_title: str
    key: str = Field(description="Stable across requests: edition-{id} or run-{list_id}-{slot_key}")
    when: datetime = Field(description="When it goes (or went) out")
    status: EditionState
    counts: Dict[str, int] = Field(description="An edition row's deliveries by state; for a run "
                                               "without a row, {\"subscribers\": n} it would go to")
    subject: str | None = Field(description="Known once the edition is built")
    slot: datetime | None = Field(description="The schedule run it stands for; null for a campaign")
    slot_key: str | None = Field(description="`slot` as the runs route takes it: 2026-11-29T06:00Z")
    campaign: bool
    moved: bool = Field(description="A run an editor moved away from its slot")
    created_by: str | None
    error: str | None

    @classmethod
    def of(cls, item: dict, slot_key: str | None) -> "CalendarItem":
        return cls.model_validate({**item, "slot_key": slot_key})


class CalendarPost(BaseModel):
    """A share post on the calendar: one article on one account."""
    post_id: int
    key: str = Field(description="Stable across requests: post-{id}")
    article_id: int
    title: str = Field(description="The article's title")
    account: str
    platform: str
    when: datetime = Field(description="When it goes (or was due to go) out")
    sent_at: datetime | None
    status: PostStateName
    error: str | None
    remote_url: str | None = Field(description="The post on the platform, once sent")

    @classmethod
    def of(cls, item: dict) -> "CalendarPost":
        return cls.model_validate(item)


class Calendar(BaseModel):
    start: datetime
    end: datetime
    items: List[CalendarItem] = Field(description="Digest editions, by time")
    posts: List[CalendarPost] = Field(description="Share posts, by time")


class EditionChange(Input):
    """Move a scheduled edition (a moved run or a campaign that has not been built)."""
    scheduled_for: UtcDatetime = Field(description="The new time, with a time zone, ahead of now")


class EditionCancelled(Edition):
    stopped: int = Field(description="Deliveries not sent yet, now recorded suppressed")
    already_sent: int = Field(description="Deliveries that had gone out before the cancel")


class RunChange(Input):
    """Either `{"scheduled_for": "2026-11-29T08:00:00+01:00"}` to move the run, or
    `{"cancel": true}` to keep it from going out."""
    scheduled_for: UtcDatetime | None = Field(None, description="Its new time, with a time zone")
    cancel: bool = Field(False, description="true: this run does not go out")

    @model_validator(mode="after")
    def _one(self) -> "RunChange":
        if self.cancel == (self.scheduled_for is not None):
            raise ValueError("give either scheduled_for (to move the run) or cancel: true, not both")
        return self


class RunEdit(Input):
    """What an editor sets for a coming regular run (issue 14): its articles in order (empty:
    the list's new articles, as usual), an intro, a subject (empty: the template's)."""
    article_ids: List[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        [], max_length=MAX_CAMPAIGN_ARTICLES, description="The articles, in the order they appear")
    intro: Text(MAX_INTRO) = Field("", description="A paragraph above the articles (plain text)")
    subject: Text(200) = Field("", description="The email's subject; empty: the template's")


class NewCampaign(Input):
    list: Text(100, min_length=1) = Field(description="The list's name")
    article_ids: List[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=MAX_CAMPAIGN_ARTICLES, description="The articles, in the order they appear")
    intro: Text(MAX_INTRO) = Field("", description="A paragraph above the articles (plain text)")
    send_at: UtcDatetime | None = Field(None, description="When it goes out, with a time zone; "
                                                          "null: now (within the minute)")
    subject: Text(200) = Field("", description="The email's subject; empty: the template's")
    subject_b: Text(200) = Field("", description="A second subject: an A/B subject test. A "
                                                 "sample gets `subject` or this, the rest the one "
                                                 "with more reader clicks")
    sample_percent: int | None = Field(None, description="A/B test: percent of the list in the "
                                                         "sample (2–50, default 20), half each")
    decide_after_hours: int | None = Field(None, description="A/B test: hours after the sample "
                                                             "went out to pick the winner "
                                                             "(1–72, default 4)")


class EmailPreview(BaseModel):
    """The email as the list's subscribers get it, for a subscriber without a name; the
    personal links (unsubscribe, preferences) point nowhere."""
    subject: str
    html: str
    text: str
