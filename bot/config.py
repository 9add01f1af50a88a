"""Settings: the only reader of the environment (DESIGN principle 5).

Values come from, highest first: environment variables (`PRESSBOT_*`, plus `DATABASE_URL`
and `REDIS_URL`), then `pressbot.toml` in the data folder, then the defaults below. Nothing
here runs at import time: call `get_settings()`.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.net.policy import OutboundPolicy, parse_networks
from bot.resources import default_templates_dir, template_dirs

# The folder holding the `bot` package (the checkout, or site-packages when installed).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"


def _home_from_env() -> Path:
    return Path(os.environ.get("PRESSBOT_HOME", "./pressbot-data")).expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESSBOT_", extra="ignore")

    home: Path = Path("./pressbot-data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PRESSBOT_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "PRESSBOT_REDIS_URL")
    )
    site_name: str = "pressbot"
    # Unset: http://localhost:$PRESSBOT_PORT (see _derive_base_url), so links in emails and
    # on pages follow the port `pressbot run` serves on. Production sets its https address.
    base_url: str = ""
    timezone: str = "UTC"
    secret_key: str | None = None
    webhook_secret: str | None = None  # shared with the CMS; unset: the webhook refuses all

    # Hostile input (issue 11). Request bodies are counted as they stream in and refused
    # with 413 past these sizes, before anything parses them (bot.web.limits).
    webhook_max_bytes: int = 1024 * 1024          # one pushed article
    upload_max_bytes: int = 20 * 1024 * 1024      # a subscriber CSV upload
    form_max_bytes: int = 256 * 1024              # every other form and API call
    # A signed webhook older or newer than this many seconds is a replay (or a wrong clock).
    webhook_max_skew: int = 300
    # A pending address gets at most one confirmation email per this many hours, however
    # often the public form is posted for it (mail-bombing through our form).
    confirm_resend_hours: float = 24.0

    # Fetching
    user_agent: str = "pressbot/0.1 (+https://github.com/pressbot; feed fetcher)"
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    poll_interval: int = 900         # seconds between polls of a source
    max_backoff: int = 24 * 3600     # a failing source is still tried at least daily
    # Outbound requests (bot/net, issue 11): a URL from a user, a feed or a CMS never reaches
    # loopback, private, link-local or reserved addresses (SSRF). A CMS on the newsroom's LAN
    # is reached by listing its network(s) here: "10.0.0.0/8, fd00::/8" (CIDRs or addresses).
    allowed_private_networks: str = ""
    # Files sources are a server's own files: stored ones (`pressbot sources add PATH`) must
    # be under this folder (unset: $PRESSBOT_HOME/import); `pressbot ingest PATH` reads what
    # the operator names. Every article file is a regular file of at most file_max_bytes.
    files_root: Path | None = None
    file_max_bytes: int = 10 * 1024 * 1024

    # The default templates (shipped in the package; bot/resources.py finds them) and a
    # newsroom's own folder, PRESSBOT_TEMPLATES, layered over them: a template there wins,
    # the others still come from the defaults, so overriding one needs no copy of the rest.
    templates_dir: Path = Field(default_factory=default_templates_dir)
    templates: Path | None = None
    # Read only so `digest preview` knows whether a browser can show a page: a browser
    # without a display would be a text one taking over the terminal.
    display: str | None = Field(default=None, validation_alias=AliasChoices("DISPLAY", "WAYLAND_DISPLAY"))

    # Email. Unset SMTP URL: messages go to the outbox (PRESSBOT_HOME/outbox/email/*.eml).
    smtp_url: str | None = None              # smtp://user:pass@host:587 (STARTTLS) or smtps://…
    smtp_timeout: float = 30.0
    # A CA bundle (PEM) to verify the SMTP server with instead of the system's: a
    # newsroom's own relay with a private CA. smtp+insecure:// allows AUTH without TLS.
    smtp_ca_file: Path | None = None
    send_rate: float = 0.0                   # messages per second per transport; 0: unlimited
    # With REDIS_URL, send_rate is for all workers together (a token bucket in Redis).
    shared_send_rate: bool = True
    batch_size: int = 500                    # deliveries claimed per batch
    unsubscribe_mailto: str | None = None    # adds mailto: to List-Unsubscribe when set
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_key_path: Path | None = None        # PEM private key; all three set: messages are signed
    # The digest's brand, for lists that set none of their own (`lists add --logo-url …`).
    # CAN-SPAM wants the sender's valid postal address in every commercial email: put it in
    # brand_footer (several lines allowed). Copyright: "© <year> <holder>"; unset: site name.
    brand_logo_url: str | None = None        # masthead image (https), shown instead of the title
    brand_color: str = "#1a5fb4"             # links, kicker, rules; darkened when too light to read
    brand_footer: str | None = None          # publisher's name and postal address
    brand_copyright: str | None = None

    # Engagement (issue 14). Digest article links go through /r/<signed token> and the HTML
    # carries an open pixel; counts are buffered (in Redis with REDIS_URL) and folded into
    # aggregate tables by the dispatcher tick (bot/services/engagement.py).
    click_tracking: bool = True
    # A click or open this soon after the message was sent is a scanner's or a proxy's
    # prefetch, not a reader's (security gateways fetch every link on arrival).
    scanner_window_seconds: int = 10

    # Bounces (issue 13). With bounce_address set, each delivery's envelope sender (the
    # Return-Path bounces go to) is bounce_address with a signed token for the delivery
    # (VERP, bot/newsletter/verp.py); unset, it is the list's From address.
    bounce_address: str | None = None        # bounces@news.example.org (no '+')
    # The mailbox those bounces (and mailto: unsubscribes) arrive in, read on every dispatch
    # tick: imap[s]://user:pass@host[:port][/FOLDER] or pop3[s]://user:pass@host[:port].
    bounce_mailbox_url: str | None = None
    bounce_mailbox_batch: int = 50           # at most this many messages a tick
    bounce_mailbox_timeout: float = 20.0     # seconds for the whole poll (and each socket call)
    bounce_mailbox_move_to: str | None = None  # IMAP folder for processed mail; unset: deleted
    # Provider webhooks (POST /api/hooks/bounces/<provider>); unset: that endpoint refuses all.
    ses_topic_arns: list[str] = []           # SNS topics whose notifications are accepted
    mailgun_signing_key: str | None = None   # Mailgun's "HTTP webhook signing key"
    postmark_webhook_user: str | None = None     # basic auth user and password in the
    postmark_webhook_password: str | None = None  # webhook URL given to Postmark
    sendgrid_webhook_public_key: str | None = None  # the "verification key" (base64 DER)

    # Social platforms. An account without credentials of its own uses these; with neither,
    # it posts to the outbox (PRESSBOT_HOME/outbox/social).
    x_consumer_key: str | None = None
    x_consumer_secret: str | None = None
    x_access_token: str | None = None
    x_access_token_secret: str | None = None
    x_api_host: str | None = None            # tests and proxies; unset: the real API
    mastodon_api_base_url: str | None = None
    mastodon_access_token: str | None = None
    bluesky_handle: str | None = None
    bluesky_app_password: str | None = None
    bluesky_base_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_api_base: str | None = None

    # Orchestration (tasks/, bot/services/dispatch.py). Unset REDIS_URL: Kombu's filesystem
    # transport in PRESSBOT_HOME/broker (embedded mode, no server).
    queue: str = "pressbot"                  # the Celery queue every task goes to
    tick_seconds: float = 60.0               # beat's dispatch interval
    # A due item already enqueued is enqueued again only after this long (its message may
    # have been lost: a flushed Redis, a killed embedded worker). Longer than a normal backlog.
    redispatch_after: float = 600.0
    worker_concurrency: int = 2              # `pressbot run`'s worker processes
    port: int = 8000                         # `pressbot run`'s web app
    _base_url_derived: bool = PrivateAttr(default=False)

    # Social shares (issue 10). Only articles published within this many hours are shared
    # (an account may override it): a backfilled archive stays in the archive.
    share_recency_hours: int = Field(default=48, ge=1)
    # A tick schedules new articles in committed chunks of this many per account, at most
    # share_chunks_per_tick chunks a tick (every active account gets one), so a bulk arrival
    # never holds a tick past its time limit: the rest follows at the next ticks.
    share_chunk: int = Field(default=500, ge=1)
    share_chunks_per_tick: int = Field(default=8, ge=1)

    @property
    def broker_folder(self) -> Path:
        return self.home.resolve() / "broker"

    def platform_credentials(self, platform: str) -> dict[str, str]:
        """The `PRESSBOT_<PLATFORM>_*` values that are set, keyed without the prefix."""
        prefix = f"{platform}_"
        return {name[len(prefix):]: value for name, value in self.model_dump().items()
                if name.startswith(prefix) and value}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _home_from_env() / "pressbot.toml"
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @field_validator("templates")
    @classmethod
    def _templates_folder(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_dir():
            raise ValueError(f"PRESSBOT_TEMPLATES: {value} is not a folder")
        return value.expanduser() if value is not None else None

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        """Where templates are looked up, first match wins (see bot/resources.py)."""
        return template_dirs(self)

    @field_validator("allowed_private_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> str:
        value = ", ".join(value) if isinstance(value, (list, tuple)) else (value or "")
        parse_networks(value)  # a typo fails at start-up, naming the entry, not at a fetch
        return value

    @property
    def outbound_policy(self) -> OutboundPolicy:
        return OutboundPolicy.from_setting(self.allowed_private_networks)

    @property
    def effective_files_root(self) -> Path:
        return (self.files_root or self.home / "import").expanduser().resolve()

    @model_validator(mode="after")
    def _derive_base_url(self) -> "Settings":
        if not self.base_url:
            self.base_url = f"http://localhost:{self.port}"
            self._base_url_derived = True
        return self

    @property
    def base_url_derived(self) -> bool:
        """True when PRESSBOT_BASE_URL is unset and base_url was made from the port."""
        return self._base_url_derived

    def insecure_links_warning(self) -> str | None:
        """Why real mail should not go out with these settings' links, or None: mail
        clients only offer one-click unsubscribe (RFC 8058) for an https link."""
        if self.smtp_url and not self.base_url.lower().startswith("https://"):
            return (f"PRESSBOT_BASE_URL is {self.base_url}, not https: mail clients will not "
                    "offer one-click unsubscribe and links in the digests point there; set "
                    "PRESSBOT_BASE_URL to the site's public https address")
        return None

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        # Heroku-style URLs name no driver; SQLAlchemy would then look for psycopg2.
        if value and value.startswith(("postgres://", "postgresql://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'pressbot.db').resolve()}"

    def ensure_home(self) -> Path:
        """The data folder, made if missing, readable by its owner only (0700): it holds
        the database, the secret key, subscriber imports and the outbox."""
        private_folder(self.home)
        return self.home

    def effective_secret_key(self) -> str:
        """The configured key, or one generated into the data folder on first use (and kept
        there, so tokens signed yesterday still verify today)."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_home() / SECRET_KEY_FILE
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def private_folder(path: Path) -> Path:
    """Make `path` (and missing parents) if needed, and take group and other access away
    from it (issue 11: the data folder was 0755, its database 0644)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
    return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """For tests and the CLI's --home option: read the environment again."""
    get_settings.cache_clear()


def override(**values: Any) -> Settings:
    """Settings with some values replaced (tests, benchmarks)."""
    return get_settings().model_copy(update=values)
