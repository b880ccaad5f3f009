"""A leader posts an announcement and a webinar recording; a teacher finds both, in
a real Chromium against a live server (see test_browser.py for the set-up)."""
from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import PASSWORD, TODAY
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol
from browser_kit import log_in, set_up_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own


def _mail_to(outbox: Path, address: str, timeout: float = 10) -> str:
    """The body of the e-mail to ``address``, waiting for the background delivery."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                return message.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} in {outbox}")


def test_a_leader_announces_a_webinar_and_a_teacher_finds_it(live_server, page, tmp_path: Path) -> None:  # noqa: F811
    base, database = live_server
    set_up_course(database, leader=True)
    with database.session() as session:
        run = session.scalar(select(Run))
        lara = create_user(session, "lara@school.example", "Lara Learner", "learner", PASSWORD, email_opt_in=True)
        enrol(session, run, lara.id, TODAY)
        session.commit()
    shots = page.shots

    # the leader writes an announcement, previews it, posts it
    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("row", name="Open run").get_by_role("link", name="Announcements").click()
    expect(page.locator("#audience")).to_contain_text("1 learner will see it on their dashboard; 1 has opted in to e-mail")
    page.get_by_label("Title").fill("Live webinar on Thursday at 4pm")
    page.get_by_label("Message").fill(
        "Join us on **Thursday at 4pm** to talk about observation and feedback.\n\n"
        "- bring a lesson you observed\n- bring your questions\n\n"
        "The recording will be on workbook 3 afterwards.")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    assert page.locator(".announcement-preview strong").inner_text() == "Thursday at 4pm"
    shots.take(page, "announcement-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="Post and e-mail").click()
    assert page.get_by_text("Posted “Live webinar on Thursday at 4pm”").is_visible()
    assert page.locator(".card.announcement h3").inner_text() == "Live webinar on Thursday at 4pm"
    shots.take(page, "announcement-posted")
    mail = _mail_to(tmp_path / "outbox", "lara@school.example")  # delivered in the background
    assert "Join us on **Thursday at 4pm**" in mail and "/dashboard" in mail

    # then attaches the webinar's recording to workbook 3: a bad address first
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Leading").click()
    page.get_by_role("link", name="Webinar recordings").click()
    page.get_by_label("Workbook").select_option("observation-and-feedback")
    page.get_by_label("Title").fill("Webinar: observation and feedback")
    page.get_by_label("Address of the recording").fill("javascript:alert(1)")
    page.get_by_label("Recorded on (optional)").fill(TODAY.isoformat())
    page.get_by_label("Transcript").fill("Welcome, everyone. Today we look at <feedback> that helps.\n\n"
                                         "First, what makes an observation useful?")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the recording").click()
    assert page.get_by_text("Give a web address starting with https://").is_visible()
    assert page.get_by_label("Title").input_value() == "Webinar: observation and feedback"  # nothing lost
    shots.take(page, "recording-refused")
    page.get_by_label("Address of the recording").fill("https://video.example.ac.uk/webinar-3")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the recording").click()
    assert page.get_by_text("is on the workbook's page, with its transcript").is_visible()
    shots.take(page, "recording-added")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    # the teacher sees the announcement on her dashboard and the recording on workbook 3
    log_in(page, base, "lara@school.example")
    page.goto(base + "/dashboard")
    news = page.get_by_role("region", name="From the course team")
    assert news.get_by_role("heading", name="Live webinar on Thursday at 4pm").is_visible()
    assert news.get_by_text("Lee Leader").is_visible()
    shots.take(page, "dashboard-announcement")
    page.get_by_role("link", name="Observation and feedback").click()
    recordings = page.get_by_role("region", name="Webinar recording")
    link = recordings.get_by_role("link", name="Webinar: observation and feedback")
    assert link.get_attribute("href") == "https://video.example.ac.uk/webinar-3"
    assert "noopener" in link.get_attribute("rel")
    recordings.get_by_text("Read the transcript").click()
    assert recordings.get_by_text("Today we look at <feedback> that helps.").is_visible()
    recordings.scroll_into_view_if_needed()
    shots.take(page, "workbook-recording")
    assert page.problems == []
