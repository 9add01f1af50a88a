"""The one place that turns an account and settings into a publisher (DESIGN principle 5)."""

from __future__ import annotations

from bot.config import Settings
from bot.social.base import Publisher
from bot.social.credentials import decrypt_credentials
from bot.social.outbox import OutboxPublisher

# What each platform's publisher needs; an account missing any of these posts to the outbox.
REQUIRED = {
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "mastodon": ("api_base_url", "access_token"),
    "bluesky": ("handle", "app_password"),
    "telegram": ("bot_token", "chat_id"),
}
OPTIONAL = {"x": ("api_host",), "mastodon": (), "bluesky": ("base_url",), "telegram": ("api_base",)}


def account_credentials(settings: Settings, platform: str, encrypted: str | None) -> dict[str, str]:
    if encrypted:
        return decrypt_credentials(settings.effective_secret_key(), encrypted)
    return settings.platform_credentials(platform)


def has_credentials(platform: str, credentials: dict[str, str]) -> bool:
    return all(credentials.get(name) for name in REQUIRED[platform])


def build_publisher(settings: Settings, platform: str, account_name: str,
                    encrypted: str | None, *, demo: bool = False) -> Publisher:
    """The account's publisher. A demo account (the first run's) always gets the outbox:
    credentials set in the settings later must not make its demo posts go out for real."""
    creds = {} if demo else account_credentials(settings, platform, encrypted)
    if not has_credentials(platform, creds):
        return OutboxPublisher(settings.home / "outbox" / "social", platform, account_name)
    args = {k: creds[k] for k in REQUIRED[platform] + OPTIONAL[platform] if creds.get(k)}
    if platform == "x":
        from bot.social.x import XPublisher
        return XPublisher(**args, outbound=settings.outbound_policy)
    if platform == "mastodon":
        from bot.social.mastodon import MastodonPublisher
        return MastodonPublisher(**args)
    if platform == "bluesky":
        from bot.social.bluesky import BlueskyPublisher
        # Named by handle too: new credentials for the account must not resume the old session.
        session_path = settings.home / "sessions" / f"bluesky-{account_name}-{creds['handle']}.session"
        return BlueskyPublisher(session_path=session_path, outbound=settings.outbound_policy,
                                **args)
    from bot.social.telegram import TelegramPublisher
    return TelegramPublisher(**args)
