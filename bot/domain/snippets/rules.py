"""Each platform's limit and its own way of counting."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import BadInput

from . import bluesky, mastodon, telegram, x

PLATFORMS = ("x", "mastodon", "bluesky", "telegram")


@dataclass(frozen=True)
class PlatformRules:
    """A platform's limit in its own unit, what one URL counts as (X and Mastodon), and a
    byte cap where the platform has one besides its character limit (Bluesky)."""

    limit: int
    url_length: int = 23
    max_bytes: int | None = None

    @classmethod
    def mastodon(cls, max_characters: int = mastodon.MAX_CHARACTERS,
                 characters_reserved_per_url: int = mastodon.CHARACTERS_RESERVED_PER_URL,
                 ) -> "PlatformRules":
        """An instance's rules, from `configuration.statuses` of its /api/v2/instance."""
        return cls(limit=max_characters, url_length=characters_reserved_per_url)


DEFAULT_RULES = {
    "x": PlatformRules(limit=x.LIMIT, url_length=x.URL_LENGTH),
    "mastodon": PlatformRules.mastodon(),
    "bluesky": PlatformRules(limit=bluesky.MAX_GRAPHEMES, max_bytes=bluesky.MAX_BYTES),
    "telegram": PlatformRules(limit=telegram.LIMIT),
}


def check_platform(platform: str) -> str:
    name = (platform or "").strip().lower()
    if name not in PLATFORMS:
        raise BadInput(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    return name


def default_rules(platform: str) -> PlatformRules:
    return DEFAULT_RULES[check_platform(platform)]


def platform_length(platform: str, text: str, rules: PlatformRules | None = None) -> int:
    """`text`'s length as `platform` counts it: X's weighted length, Mastodon's graphemes
    with URLs at the reserved length, Bluesky's graphemes with links as their short text, Telegram's UTF-16 units after
    its HTML is parsed."""
    platform = check_platform(platform)
    rules = rules or DEFAULT_RULES[platform]
    if platform == "x":
        return x.x_length(text, rules.url_length)
    if platform == "mastodon":
        return mastodon.mastodon_length(text, rules.url_length)
    if platform == "bluesky":
        return bluesky.bluesky_length(text)
    return telegram.telegram_length(text)


def fits(platform: str, text: str, rules: PlatformRules) -> bool:
    """Whether the platform would accept `text` as a post's text."""
    if platform == "bluesky":  # its links go out as their short text
        text = bluesky.shorten_links(text)[0]
    if rules.max_bytes is not None and len(text.encode("utf-8")) > rules.max_bytes:
        return False
    if platform == "x":
        return x.x_valid(text, rules.limit, rules.url_length)
    return 0 < platform_length(platform, text, rules) <= rules.limit
