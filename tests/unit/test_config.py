"""Settings: environment first, then pressbot.toml in the data folder, then defaults."""

from __future__ import annotations

import stat

from bot.config import Settings, get_settings, reset_settings_cache


def test_defaults_put_everything_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PRESSBOT_HOME", str(tmp_path / "data"))
    settings = Settings()
    assert settings.home == tmp_path / "data"
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'data' / 'pressbot.db').resolve()}"
    assert settings.redis_url is None
    assert settings.fetch_max_bytes == 10 * 1024 * 1024


def test_environment_beats_the_toml_file_which_beats_defaults(tmp_path, monkeypatch):
    home = tmp_path / "data"
    home.mkdir()
    (home / "pressbot.toml").write_text('site_name = "Gazette"\ntimezone = "Europe/Paris"\n')
    monkeypatch.setenv("PRESSBOT_HOME", str(home))
    monkeypatch.setenv("PRESSBOT_TIMEZONE", "America/Montreal")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/news")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    reset_settings_cache()
    try:
        settings = get_settings()
        assert settings.site_name == "Gazette"
        assert settings.timezone == "America/Montreal"
        assert settings.database_url == "postgresql+psycopg://u@db/news"
        assert settings.redis_url == "redis://127.0.0.1:6379/2"
    finally:
        reset_settings_cache()


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    settings = Settings(home=tmp_path / "data")
    first = settings.effective_secret_key()
    assert len(first) >= 40
    assert Settings(home=tmp_path / "data").effective_secret_key() == first
    mode = (tmp_path / "data" / "secret_key").stat().st_mode
    assert not mode & (stat.S_IRGRP | stat.S_IROTH)
    assert Settings(home=tmp_path / "x", secret_key="given").effective_secret_key() == "given"


def test_links_follow_the_port_while_no_base_url_is_set(monkeypatch):
    monkeypatch.delenv("PRESSBOT_BASE_URL", raising=False)
    monkeypatch.setenv("PRESSBOT_PORT", "8123")
    derived = Settings()
    assert derived.base_url == "http://localhost:8123" and derived.base_url_derived
    monkeypatch.setenv("PRESSBOT_BASE_URL", "https://news.example.org")
    chosen = Settings()
    assert chosen.base_url == "https://news.example.org" and not chosen.base_url_derived


def test_real_mail_with_links_that_are_not_https_is_warned_about():
    plain = Settings(base_url="http://news.example.org", smtp_url="smtp://mail.example.org:587")
    assert "one-click unsubscribe" in plain.insecure_links_warning()
    assert "http://news.example.org" in plain.insecure_links_warning()
    assert Settings(base_url="https://news.example.org",
                    smtp_url="smtp://mail.example.org:587").insecure_links_warning() is None
    assert Settings(base_url="http://localhost:8000").insecure_links_warning() is None  # outbox


def test_run_on_a_named_host_puts_that_host_in_the_links(tmp_path, monkeypatch):
    from bot.cli.run import _with_host

    monkeypatch.delenv("PRESSBOT_BASE_URL", raising=False)   # restored (absent) afterwards
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PRESSBOT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PRESSBOT_PORT", "8123")
    reset_settings_cache()
    try:
        assert _with_host(get_settings(), "127.0.0.1").base_url == "http://localhost:8123"
        assert _with_host(get_settings(), "0.0.0.0").base_url == "http://localhost:8123"
        named = _with_host(get_settings(), "news.lan")
        assert named.base_url == "http://news.lan:8123"
        monkeypatch.setenv("PRESSBOT_BASE_URL", "https://news.example.org")
        reset_settings_cache()
        assert _with_host(get_settings(), "news.lan").base_url == "https://news.example.org"
    finally:
        reset_settings_cache()
