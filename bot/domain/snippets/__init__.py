"""Share snippets: one post's text per platform, fitted by that platform's own rules.

Pure functions over plain data (DESIGN principle 4); the only file access is reading the
editable templates under `templates/social/`, lazily.

    compose()                  the post for one platform
    hashtags_from_categories() "#ClimateChange" from "climate change"
    tag_url()                  the link with utm_source / utm_medium / utm_campaign
    platform_length()          a text's length as the platform counts it
"""

from .composer import Snippet, SnippetInput, SnippetTooLong, compose
from .hashtags import hashtags_from_categories
from .links import tag_url
from .rules import DEFAULT_RULES, PLATFORMS, PlatformRules, default_rules, platform_length
from .templates import DEFAULT_TEMPLATES_DIR, load_template

__all__ = [
    "DEFAULT_RULES", "DEFAULT_TEMPLATES_DIR", "PLATFORMS", "PlatformRules", "Snippet",
    "SnippetInput", "SnippetTooLong", "compose", "default_rules", "hashtags_from_categories",
    "load_template", "platform_length", "tag_url",
]
