"""Files sources read the server's own disk, so: never from the web (a path typed in the
dashboard showed the first lines of /etc's files), stored ones only under the files folder
(PRESSBOT_FILES_ROOT), and whatever the path, regular files only (a symlink to /dev/zero or
a FIFO named .txt would exhaust memory or hang), size-capped before reading."""

from __future__ import annotations

import html
import os
import re

import pytest

from bot.errors import BadInput
from bot.services import ingest
from bot.store.models import SourceKind
from tests.support.web import client_for, csrf

STORY = "Harbour reopens\nURL: https://news.example.org/harbour\n\nThe harbour reopened today.\n"


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def admin(sqlite_settings):
    return client_for(sqlite_settings, login_as="boss@example.com", role="admin")


def add_from_web(client, url: str, kind: str = ""):
    return client.post("/admin/settings/sources", follow_redirects=False, data={
        "csrf_token": csrf(client, "/admin/settings"), "url": url, "kind": kind})


@pytest.mark.parametrize("url,kind", [("/etc", ""), ("/etc/passwd", ""), ("file:///etc", ""),
                                      ("/etc", "files"), ("../../etc", "feed"),
                                      ("https://news.example.org/etc", "files")])
def test_the_dashboard_adds_no_files_source(sqlite_settings, admin, url, kind):
    response = add_from_web(admin, url, kind)
    assert response.status_code == 422
    assert "only http(s) feed, site or WordPress URLs can be added here" in text_of(response.text)
    assert ingest.list_sources(sqlite_settings) == []


def test_the_dashboards_test_fetch_reads_no_server_file(sqlite_settings, admin, tmp_path):
    """A files source the operator added on the server is not read by a click either."""
    root = sqlite_settings.effective_files_root
    root.mkdir(parents=True)
    (root / "story.txt").write_text(STORY)
    source_id = ingest.add_source(sqlite_settings, str(root))
    response = admin.post(f"/admin/settings/sources/{source_id}/test", follow_redirects=False,
                          data={"csrf_token": csrf(admin, "/admin/settings")})
    shown = text_of(response.text)
    assert "the dashboard does not read server files" in shown
    assert "Harbour reopens" not in shown


def test_a_stored_files_source_must_be_under_the_files_folder(sqlite_settings, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(BadInput, match="outside the files folder .*PRESSBOT_FILES_ROOT"):
        ingest.add_source(sqlite_settings, str(outside))
    with pytest.raises(BadInput, match="outside the files folder"):
        ingest.add_source(sqlite_settings, "/etc")
    root = sqlite_settings.effective_files_root
    (root / "desk").mkdir(parents=True)
    assert ingest.add_source(sqlite_settings, str(root / "desk")) > 0


def test_a_stored_files_source_outside_the_folder_is_not_read_when_polled(sqlite_settings, tmp_path):
    """E.g. one stored before this rule: polling it (not `pressbot ingest PATH`) reads nothing."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "story.txt").write_text(STORY)
    source_id = ingest.get_or_add_source(sqlite_settings, outside.resolve().as_uri(), SourceKind.FILES)
    report = ingest.poll_source(sqlite_settings, source_id)
    assert report.status == "bad-input" and "outside the files folder" in report.error
    assert report.added == []


def test_a_link_in_the_files_folder_pointing_out_of_it_is_not_followed(sqlite_settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\n\nnot for the newsletter\n")
    root = sqlite_settings.effective_files_root
    root.mkdir(parents=True)
    (root / "story.txt").write_text(STORY)
    (root / "linked.txt").symlink_to(secret)
    report = ingest.poll_source(sqlite_settings, ingest.add_source(sqlite_settings, str(root)))
    assert [a.title for a in report.added] == ["Harbour reopens"]
    [rejected] = report.rejected
    assert rejected["where"].endswith("linked.txt") and "outside the files folder" in rejected["reason"]


def test_pressbot_ingest_reads_an_explicit_path_anywhere(sqlite_settings, tmp_path):
    named = tmp_path / "story.txt"
    named.write_text(STORY)
    report = ingest.ingest_targets(sqlite_settings, [str(named)])
    assert [a.title for a in report.sources[0].added] == ["Harbour reopens"]


def test_devices_and_fifos_are_refused_and_the_rest_of_the_folder_ingests(sqlite_settings, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "story.txt").write_text(STORY)
    (folder / "zero.txt").symlink_to("/dev/zero")       # endless bytes
    os.mkfifo(folder / "pipe.txt")                      # no writer: a blocking open waits forever
    report = ingest.ingest_targets(sqlite_settings, [str(folder)])
    [source] = report.sources
    assert [a.title for a in source.added] == ["Harbour reopens"]
    reasons = {os.path.basename(r["where"]): r["reason"] for r in source.rejected}
    assert "not a regular file (a character device)" in reasons["zero.txt"]
    assert "not a regular file (a FIFO)" in reasons["pipe.txt"]


def test_a_named_fifo_is_refused_not_waited_on(sqlite_settings, tmp_path):
    os.mkfifo(tmp_path / "story.json")
    report = ingest.ingest_targets(sqlite_settings, [str(tmp_path / "story.json")])
    assert report.sources[0].status == "bad-input"
    assert "story.json: not a regular file (a FIFO)" in report.sources[0].error


def test_a_file_over_the_cap_is_refused_before_reading(sqlite_settings, tmp_path):
    settings = sqlite_settings.model_copy(update={"file_max_bytes": 1000})
    big = tmp_path / "big.md"
    big.write_text("# Big\n\n" + "word " * 1000)
    report = ingest.ingest_targets(settings, [str(big)])
    assert report.sources[0].status == "bad-input"
    assert "over the 1,000-byte cap (PRESSBOT_FILE_MAX_BYTES)" in report.sources[0].error
