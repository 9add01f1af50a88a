"""Editors' changes to share posts (the dashboard and the API): their own text, held to
the composer's counting; another time; post now; skip back in; share again.

Nothing is published from here: a post made due is published by the next dispatch tick,
claim and all, like any due post."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.posting import check_post_time
from bot.domain.snippets import PlatformRules, default_rules, platform_length
from bot.domain.snippets.rules import fits
from bot.domain.snippets.telegram import check_markup
from bot.errors import BadInput
from bot.services.shares import _compose, _get_account, _post_dict, _schedule
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, SocialAccount, utcnow

# A post may change while it has not gone out; a claimed one is being published right now.
EDITABLE = (PostState.SCHEDULED, PostState.FAILED)
# A skipped post can be brought back by giving it a time again.
MOVABLE = EDITABLE + (PostState.SKIPPED,)
PLATFORM_NAMES = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky", "telegram": "Telegram"}


def _account_by(session: Session, account: int | str) -> SocialAccount:
    if isinstance(account, int) or str(account).isdigit():
        found = session.get(SocialAccount, int(account))
        if found is None:
            raise BadInput(f"no social account with id {account}")
        return found
    return _get_account(session, str(account))


def _editor_rules(platform: str) -> PlatformRules:
    """The rules an editor's text is held to. Mastodon's are the stock ones: asking the
    instance on every keystroke is I/O the page cannot wait on; an instance with a lower
    limit refuses the post and the failure shows with its reason."""
    return default_rules(platform)


def _clean(text: str) -> str:
    # Browsers send a textarea's line breaks as CRLF; platforms would count the CR.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def share_length(settings: Settings, account: int | str, text: str) -> tuple[int, int]:
    """`text`'s length as the account's platform counts it, and the limit: the composer's
    own counting, for the editor's live counter."""
    with session_scope(settings.effective_database_url) as session:
        platform = _account_by(session, account).platform
    rules = _editor_rules(platform)
    return platform_length(platform, _clean(text), rules), rules.limit


def check_text(platform: str, text: str) -> str:
    """The editor's text, cleaned, if the platform would take it; else BadInput saying why."""
    text = _clean(text)
    name = PLATFORM_NAMES.get(platform, platform)
    if not text:
        raise BadInput("the text is empty")
    if platform == "telegram":
        check_markup(text, "the text (Telegram HTML)")
    rules = _editor_rules(platform)
    if fits(platform, text, rules):
        return text
    length = platform_length(platform, text, rules)
    if length > rules.limit:
        raise BadInput(f"the text is {length} characters as {name} counts them; "
                       f"the limit is {rules.limit}. Shorten it by {length - rules.limit}.")
    if rules.max_bytes is not None and len(text.encode("utf-8")) > rules.max_bytes:
        raise BadInput(f"the text is {len(text.encode('utf-8'))} bytes; {name} takes at most "
                       f"{rules.max_bytes}")
    raise BadInput(f"the text has characters {name} does not accept")


def _composed_text(settings: Settings, article: Article, account: SocialAccount) -> str | None:
    try:
        return _compose(settings, article, account.platform, account, _editor_rules(account.platform)).text
    except BadInput:
        return None


def _editable_post(session: Session, post_id: int, action: str,
                   states: tuple[str, ...] = EDITABLE) -> tuple[SharePost, SocialAccount]:
    post = session.get(SharePost, post_id)
    if post is None:
        raise BadInput(f"no share post with id {post_id}")
    if post.state not in states:
        raise BadInput(f"share post {post_id} is {post.state}; only {' or '.join(states)} posts "
                       f"can be {action}")
    return post, session.get(SocialAccount, post.account_id)


def _guarded_update(session: Session, post_id: int, action: str,
                    states: tuple[str, ...] = EDITABLE, **values) -> None:
    """Change a post only while it is still editable: a worker may claim it at any moment,
    and a claimed post is not to be changed under it."""
    changed = session.execute(
        update(SharePost).where(SharePost.id == post_id, SharePost.state.in_(states))
        .values(**values).execution_options(synchronize_session="fetch")).rowcount
    if not changed:
        raise BadInput(f"share post {post_id} is being published right now; it can no longer "
                       f"be {action}")


def edit_share(settings: Settings, post_id: int, text: str) -> dict:
    """An editor's own text for a post not yet out. A text equal to what the composer
    writes is stored as no edit, so a later fix to the article still reaches the post."""
    with session_scope(settings.effective_database_url) as session:
        post, account = _editable_post(session, post_id, "edited")
        text = check_text(account.platform, text)
        composed = _composed_text(settings, session.get(Article, post.article_id), account)
        _guarded_update(session, post_id, "edited", text=None if text == composed else text)
        return _post_dict(post, account)


def _due_again(session: Session, post: SharePost, at: datetime, action: str) -> None:
    # attempts back to 0: the backoff starts over, and a failed attempt is not taken for
    # one that went out (see _record_duplicate). Pinned: the editor chose the time, so
    # newest-first slotting (share_scheduling) never moves it.
    _guarded_update(session, post.id, action, MOVABLE, state=PostState.SCHEDULED,
                    scheduled_at=at, lease_until=None, attempts=0, pinned=True)


def reschedule_share(settings: Settings, post_id: int, at: datetime,
                     now: datetime | None = None) -> dict:
    """Move a scheduled, failed or skipped post to exactly `at`, past the account's rules:
    the editor chose the time."""
    now = now or utcnow()
    at = check_post_time(at, now)
    with session_scope(settings.effective_database_url) as session:
        post, account = _editable_post(session, post_id, "rescheduled", MOVABLE)
        _due_again(session, post, at, "rescheduled")
        return _post_dict(post, account)


def post_now(settings: Settings, post_id: int, now: datetime | None = None) -> dict:
    """Make the post due now. Nothing is published from here: the next dispatch tick
    (within a minute) publishes it like any due post, claim and all. `waiting_for` says
    why it will not go out yet (an account paused on its credentials, or inactive)."""
    now = now or utcnow()
    with session_scope(settings.effective_database_url) as session:
        post, account = _editable_post(session, post_id, "posted now", MOVABLE)
        _due_again(session, post, now, "posted now")
        return {**_post_dict(post, account), "waiting_for": _waiting_for(account)}


def _waiting_for(account: SocialAccount) -> str | None:
    if not account.active:
        return f"the account {account.name} is inactive"
    return account.needs_attention


def reshare(settings: Settings, post_id: int, now: datetime | None = None) -> dict:
    """Share a sent post again, at the account's next free slot: a new generation, so a
    new idempotency key (the platform must not take it for a retry of the first)."""
    now = now or utcnow()
    with session_scope(settings.effective_database_url) as session:
        post = session.get(SharePost, post_id)
        if post is None:
            raise BadInput(f"no share post with id {post_id}")
        if post.state != PostState.SENT:
            raise BadInput(f"share post {post_id} is {post.state}; only a sent post can be "
                           "shared again")
        account = session.get(SocialAccount, post.account_id)
        post = _schedule(session, session.get(Article, post.article_id), account, now, exact=False)
        return _post_dict(post, account)


def new_share(settings: Settings, article_id: int, account: int | str, *, text: str | None = None,
              at: datetime | None = None, now: datetime | None = None) -> dict:
    """A post for an account that has none for this article (added after it, or inactive
    then): at `at` exactly, or the account's next free slot; with the editor's text, if
    given and not the composer's."""
    now = now or utcnow()
    if at is not None:
        check_post_time(at, now)
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise BadInput(f"no article with id {article_id}")
        acct = _account_by(session, account)
        if session.scalar(select(SharePost.id).where(SharePost.article_id == article_id,
                                                     SharePost.account_id == acct.id)):
            raise BadInput(f"article {article_id} already has a post on {acct.name}")
        composed = _compose(settings, article, acct.platform, acct, _editor_rules(acct.platform)).text
        edited = check_text(acct.platform, text) if text and _clean(text) else None
        post = _schedule(session, article, acct, at or now, exact=at is not None)
        post.text = None if edited in (None, composed) else edited
        return _post_dict(post, acct)


def article_shares(settings: Settings, article_id: int) -> list[dict]:
    """One card per account for the article's page: its post (if any) and the text that
    would go out (the editor's, else the composer's), counted as the platform counts."""
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise BadInput(f"no article with id {article_id}")
        posts = {p.account_id: p for p in session.scalars(
            select(SharePost).where(SharePost.article_id == article_id))}
        accounts = [a for a in session.scalars(select(SocialAccount).order_by(SocialAccount.name))
                    if a.active or a.id in posts]
        return [_card(settings, article, account, posts.get(account.id)) for account in accounts]


def _card(settings: Settings, article: Article, account: SocialAccount,
          post: SharePost | None) -> dict:
    rules = _editor_rules(account.platform)
    composed, compose_error, link = None, None, None
    try:
        snippet = _compose(settings, article, account.platform, account, rules)
        composed, link = snippet.text, snippet.url
    except BadInput as exc:
        compose_error = str(exc)
    text = (post.text if post is not None and post.text else composed) or ""
    length = platform_length(account.platform, text, rules) if text else 0
    return {
        "account_id": account.id, "account": account.name, "platform": account.platform,
        "platform_name": PLATFORM_NAMES.get(account.platform, account.platform),
        "waiting_for": _waiting_for(account), "text": text, "edited": bool(post and post.text),
        "length": length, "limit": rules.limit, "over": length > rules.limit,
        "compose_error": compose_error, "link": link,  # the campaign-tagged URL (previews)
        "post": _post_dict(post, account) | {"generation": post.generation} if post else None,
        "editable": post is not None and post.state in EDITABLE,
        "movable": post is not None and post.state in MOVABLE,
    }
