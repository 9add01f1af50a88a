"""A newsroom's own templates (PRESSBOT_TEMPLATES) layered over the ones pressbot ships:
one overridden file wins, every other template still comes from the defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from bot import resources
from bot.config import Settings
from bot.newsletter.render import ListInfo, SiteInfo, render_digest
from bot.services import subscribers
from bot.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "articles" / "library-night-opening.txt"
MORNING = ListInfo("morning", "Morning Brief", "en", "Example News", "news@example.org")
CONTENT = {
    "edition_id": 7, "list": "morning", "date": "2026-12-01", "intro": "",
    "web_url": "https://news.example.org/editions/7",
    "articles": [{"id": 1, "title": "Ferry resumes", "url": "https://news.example.org/ferry",
                  "summary": "The harbour ferry runs again.", "image": None,
                  "categories": ["City"], "language": "en",
                  "published": "2026-12-01T06:00:00+00:00"}],
}


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _pressbot(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_defaults_are_the_shipped_templates_and_examples():
    # In a checkout (and an editable install) they are the top-level folders themselves,
    # so an edited template counts at once; a wheel's copy is checked by test_wheel.py.
    assert resources.default_templates_dir() == ROOT / "templates"
    assert resources.examples_dir() == ROOT / "examples"
    assert Settings().template_dirs == (ROOT / "templates",)


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_one_social_template_is_overridden_and_the_others_come_from_the_defaults(tmp_path):
    overlay = tmp_path / "newsroom"
    _write(overlay, "social/x.txt", "From our newsroom: {{ title }} {{ url }}")
    env = {**os.environ, "PRESSBOT_HOME": str(tmp_path / "home"),
           "PRESSBOT_TEMPLATES": str(overlay)}
    env.pop("DATABASE_URL", None)
    assert _pressbot(env, "ingest", str(ARTICLE)).returncode == 0

    x = _pressbot(env, "share", "compose", "1", "--platform", "x", "--json")
    assert x.returncode == 0, x.stderr
    assert json.loads(x.stdout)["text"].startswith("From our newsroom: City library to stay open")

    mastodon = _pressbot(env, "share", "compose", "1", "--platform", "mastodon", "--json")
    assert mastodon.returncode == 0, mastodon.stderr
    text = json.loads(mastodon.stdout)["text"]
    assert "From our newsroom" not in text and "City library to stay open" in text


def test_a_digest_subject_is_overridden_and_its_bodies_stay_the_defaults(tmp_path):
    overlay = tmp_path / "newsroom"
    _write(overlay, "email/digest/subject.txt", "Our pick: {{ lead.title }}")
    plain = render_digest(CONTENT, MORNING, settings_view=SiteInfo("Example News", "https://news.example.org"))
    site = SiteInfo.from_settings(Settings(templates=overlay, site_name="Example News",
                                           base_url="https://news.example.org"))
    layered = render_digest(CONTENT, MORNING, settings_view=site)
    assert layered.subject == "Our pick: Ferry resumes" != plain.subject
    assert layered.text == plain.text   # the subject is the HTML's <title>; nothing else differs
    assert layered.html.replace(layered.subject, plain.subject) == plain.html


def test_a_new_digest_template_in_the_newsroom_folder_can_be_chosen_by_a_list(sqlite_settings, tmp_path):
    overlay = tmp_path / "newsroom"
    _write(overlay, "email/weekend/subject.txt", "Weekend: {{ list.title }}")
    # The bodies extend the shipped ones: a newsroom writes only what differs.
    _write(overlay, "email/weekend/body.html", '{% extends "email/digest/body.html" %}')
    _write(overlay, "email/weekend/body.txt", '{% extends "email/digest/body.txt" %}')
    settings = sqlite_settings.model_copy(update={"templates": overlay})

    assert {"digest", "weekend"} <= set(subscribers.list_templates(settings))
    subscribers.add_list(settings, "weekend", title="Weekend Brief", from_email="news@example.org",
                         from_name="Example News", template="weekend")
    rendered = render_digest(CONTENT, ListInfo("weekend", "Weekend Brief", template="weekend"),
                             settings_view=SiteInfo.from_settings(settings))
    assert rendered.subject == "Weekend: Weekend Brief" and "Ferry resumes" in rendered.html
    # Without the newsroom folder the template does not exist, and the error says so.
    with pytest.raises(subscribers.BadInput, match="--template: no template folder"):
        subscribers.add_list(sqlite_settings, "weekend2", title="W", from_email="news@example.org",
                             from_name="Example News", template="weekend")


def test_a_web_page_is_overridden_and_the_other_pages_are_unchanged(sqlite_settings, tmp_path):
    overlay = tmp_path / "newsroom"
    shipped = (resources.default_templates_dir() / "web" / "public" / "subscribe.html").read_text()
    _write(overlay, "web/public/subscribe.html",
           shipped.replace("<h1>{{ title }}</h1>", "<h1>{{ title }}</h1><p>Our newsroom's own words</p>"))
    subscribers.add_list(sqlite_settings, "morning", title="Morning Brief",
                         from_email="news@example.org", from_name="Example News")
    layered = TestClient(create_app(sqlite_settings.model_copy(update={"templates": overlay})))
    plain = TestClient(create_app(sqlite_settings))

    page = layered.get("/subscribe")
    assert page.status_code == 200 and "Our newsroom's own words" in page.text
    assert "Our newsroom's own words" not in plain.get("/subscribe").text
    login = layered.get("/admin/login")   # not overridden: the shipped page
    assert login.status_code == 200 and 'name="password"' in login.text
    assert "Our newsroom's own words" not in login.text


def test_a_templates_folder_that_does_not_exist_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PRESSBOT_TEMPLATES", str(tmp_path / "nowhere"))
    with pytest.raises(ValidationError, match=r"PRESSBOT_TEMPLATES: .*nowhere is not a folder"):
        Settings()
