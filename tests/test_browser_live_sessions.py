"""A leader schedules a live session; a teacher sees it on her dashboard with the
join link in its window and takes her calendar feed; afterwards the leader attaches
the recording to the session and places it in workbook 5's media activity, where
the teacher finds it (and nowhere else on the page). Real Chromium, live server."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from sqlalchemy import select

from browser_kit import PHONE, WRITE_SCREENSHOTS, log_in, set_up_course
from conftest import PASSWORD, TODAY
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol
from shooc.lead.models import LiveSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Chromium journey: over 5 s on its own


def test_a_leader_schedules_a_session_and_a_teacher_joins_then_watches_it(live_server, page,
                                                                          tmp_path: Path) -> None:
    base, database = live_server
    set_up_course(database, leader=True)
    with database.session() as session:
        run = session.scalar(select(Run))
        assert run is not None
        lara = create_user(session, "lara@school.example", "Lara Learner", "learner", PASSWORD, email_opt_in=True)
        enrol(session, run, lara.id, TODAY)
        session.commit()
        zone = ZoneInfo(run.timezone)
    shots = page.shots
    # in ten minutes, on the minute, in the run's time zone: the join link's window is open
    starts = (dt.datetime.now(zone) + dt.timedelta(minutes=11)).replace(second=0, microsecond=0)

    # the leader schedules it; a bad join link first
    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("row", name="Open run").get_by_role("link", name="Live sessions").click()
    page.get_by_label("Title").fill("Mentors' chat: first meetings")
    page.get_by_label("Starts").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Length in minutes").fill("45")
    page.get_by_label("Join link (optional)").fill("javascript:alert(1)")
    page.get_by_label("Description (optional)").fill("Bring one question about your first meeting.")
    with page.expect_navigation():
        page.get_by_role("button", name="Schedule").click()
    assert page.get_by_text("The join link must be a web address starting with https://").is_visible()
    assert page.get_by_label("Description (optional)").input_value() == "Bring one question about your first meeting."
    assert page.get_by_label("Title").input_value() == "Mentors' chat: first meetings"  # nothing lost
    shots.take(page, "session-refused")
    page.get_by_label("Join link (optional)").fill("https://meet.example.org/first-meetings")
    with page.expect_navigation():
        page.get_by_role("button", name="Schedule").click()
    assert page.get_by_text("“Mentors' chat: first meetings” is scheduled for").is_visible()
    card = page.locator(".card.live-session")
    assert f"{starts:%H:%M} {starts.tzname()}" in card.inner_text()
    shots.take(page, "session-scheduled")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    # the teacher sees it on her dashboard, with the join link (in its window)
    log_in(page, base, "lara@school.example")
    page.goto(base + "/dashboard")
    sessions = page.get_by_role("region", name="Live sessions")
    assert sessions.get_by_text("Mentors' chat: first meetings", exact=True).is_visible()
    assert f"{starts:%H:%M} {starts.tzname()}" in sessions.inner_text()
    join = sessions.get_by_role("link", name="Join now")
    assert join.get_attribute("href") == "https://meet.example.org/first-meetings"
    shots.take(page, "dashboard-session")

    # and takes her calendar: the address to copy, and the .ics itself
    sessions.get_by_role("link", name="Add them to your calendar").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Make my calendar address").click()
    feed = page.get_by_label("Copy this address").input_value()
    assert feed.startswith(base + "/calendar/") and feed.endswith(".ics")
    shots.take(page, "calendar-address")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the calendar (.ics)").click()
    calendar = vobject.readOne(Path(downloading.value.path()).read_text())
    with database.session() as session:
        stored = session.scalars(select(LiveSession)).one()
        events = {e.uid.value: e for e in calendar.vevent_list}
        event = events[f"session-{stored.id}@127.0.0.1"]
        assert event.dtstart.value == stored.starts_at == starts.astimezone(dt.timezone.utc)
    assert event.url.value == "https://meet.example.org/first-meetings"
    assert any("-close@" in uid for uid in events)
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    # afterwards the leader attaches the recording to the session, in workbook 5's media activity
    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("row", name="Open run").get_by_role("link", name="Live sessions").click()
    page.get_by_role("link", name="Attach its recording").click()
    assert page.get_by_label("Title").input_value() == "Mentors' chat: first meetings"
    page.get_by_label("Workbook").select_option("mentoring-communities")
    page.get_by_label("Where it shows").select_option("community-webinar")
    page.get_by_label("Title").fill("Recording: mentors' chat on first meetings")
    page.get_by_label("Address of the recording").fill("https://video.example.ac.uk/chat-1")
    page.get_by_label("Transcript").fill("Welcome to the chat.\n\nFirst question: how do you open a first meeting?")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the recording").click()
    assert page.get_by_text("in its recording activity").is_visible()
    shots.take(page, "recording-placed")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    # the teacher finds it in the activity, and only there
    log_in(page, base, "lara@school.example")
    page.goto(base + "/courses/mentoring/workbooks/mentoring-communities")
    activity = page.locator("#activity-community-webinar")
    link = activity.get_by_role("link", name="Watch the recording")
    assert link.get_attribute("href") == "https://video.example.ac.uk/chat-1"
    activity.get_by_text("Read the transcript", exact=True).click()
    assert activity.get_by_text("First question: how do you open a first meeting?").is_visible()
    assert page.get_by_text("The recording will be posted here").count() == 0
    assert page.locator("#recordings-heading").count() == 0
    assert page.locator('a[href="https://video.example.ac.uk/chat-1"]').count() == 1
    activity.scroll_into_view_if_needed()
    shots.take(page, "workbook-recording-in-activity")
    if WRITE_SCREENSHOTS:  # the activity alone: the whole workbook is a very long picture
        activity.screenshot(path=str(shots.folder / "07-the-media-activity.png"))
        page.set_viewport_size(PHONE)
        activity.screenshot(path=str(shots.folder / "07-the-media-activity-phone.png"))
    assert page.problems == []
