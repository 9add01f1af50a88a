"""DSN (RFC 3464) and ARF (RFC 5965) parsing on real-looking reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.newsletter.bounces import COMPLAINT, DELAYED, FEEDBACK, HARD, SOFT, NotAReport, parse_report

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"


def parse(name: str, **subst: str):
    raw = (DATA / name).read_text()
    for key, value in subst.items():
        raw = raw.replace("{" + key + "}", value)
    return parse_report(raw.encode())


def test_postfix_hard_bounce():
    [event] = parse("postfix-hard.eml")
    assert event.kind == HARD
    assert event.recipient == "Gone.Away@Example.com"      # Original-Recipient: what we sent to
    assert event.status == "5.1.1" and event.action == "failed"
    assert event.diagnostic.startswith("smtp; 550 5.1.1 <gone.away@example.com>: Recipient address rejected")
    assert "\n" not in event.diagnostic                     # folded header unfolded
    assert event.original_message_id == "<e42.s17.digest@news.example.org>"
    assert event.list_unsubscribe == ("https://news.example.org/unsubscribe/WzEsMV0.awsrLA.forgedforgedforgedforgedforge",)
    assert "5.1.1" in event.detail


def test_one_report_with_a_hard_and_a_soft_failure():
    events = parse("sendmail-two-recipients.eml")
    assert [(e.recipient, e.kind, e.status) for e in events] == [
        ("former.student@example.edu", HARD, "5.2.1"),
        ("full.mailbox@example.edu", SOFT, "4.2.2"),     # failed, but 4.x.x: not a hard bounce
    ]


def test_delayed_is_not_a_bounce():
    [event] = parse("exim-delayed.eml")
    assert event.kind == DELAYED and event.status == "4.0.0"
    assert event.recipient == "slow.inbox@example.net"


def test_success_notice_has_no_events():
    assert parse("delivered-notice.eml") == []


def test_arf_complaint_names_the_recipient():
    [event] = parse("arf-abuse.eml")
    assert event.kind == COMPLAINT and event.feedback_type == "abuse"
    assert event.recipient == "annoyed.reader@mailbox.example"
    assert event.original_message_id == "<e42.s55.digest@news.example.org>"


def test_redacted_arf_keeps_the_unsubscribe_url_of_the_original():
    [event] = parse("arf-redacted.eml.tmpl", unsubscribe_url="https://news.example.org/unsubscribe/TOKEN")
    assert event.kind == COMPLAINT
    assert event.recipient == "redacted@bigmail.example"    # from the original's To
    assert event.list_unsubscribe == ("https://news.example.org/unsubscribe/TOKEN",)  # not the mailto


def test_arf_falls_back_to_the_original_to_and_other_feedback_types_are_not_complaints():
    raw = (DATA / "arf-abuse.eml").read_text()
    raw = raw.replace("Original-Rcpt-To: <annoyed.reader@mailbox.example>\n", "")
    raw = raw.replace("To: annoyed.reader@mailbox.example", "To: Annoyed Reader <reader2@mailbox.example>")
    [event] = parse_report(raw.encode())
    assert event.recipient == "reader2@mailbox.example"
    [other] = parse_report(raw.replace("Feedback-Type: abuse", "Feedback-Type: not-spam").encode())
    assert other.kind == FEEDBACK


def test_a_failed_action_without_a_status_is_not_hard():
    raw = (DATA / "postfix-hard.eml").read_text().replace("Status: 5.1.1\n", "")
    [event] = parse_report(raw.encode())
    assert event.kind == SOFT


@pytest.mark.parametrize("raw, needle", [
    ((DATA / "out-of-office.eml").read_bytes(), "no multipart/report"),
    (b"", "no multipart/report"),
    (b"\x00\xff\xfe garbage", "no multipart/report"),
    (b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\n\n--x\n"
     b"Content-Type: message/disposition-notification\n\nDisposition: manual-action/MDN-sent-manually; displayed\n--x--\n",
     "disposition-notification"),
    (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
     b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n--x--\n", "names no recipient"),
])
def test_what_is_not_a_report_says_so(raw, needle):
    with pytest.raises(NotAReport, match=needle):
        parse_report(raw)
