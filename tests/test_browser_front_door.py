"""The front door (issue 18), in a real Chromium against a live server: the catalogue
and the course page as a visitor sees them, and a learner's dashboard, at desktop
and phone width (browser_kit.Shots; SHOOC_SCREENSHOTS=1 writes the PNGs); a visitor
who lands, reads the course page (its picture, what they will learn, the badges, a
question of the FAQ opened), registers and enrols, on a phone and a desktop, with axe
on each page on the way."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, last_mail, log_in, set_up_course, watch_problems
from test_accessibility import AXE, assert_no_axe_failures
from conftest import PASSWORD, TODAY, complete_and_submit
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_front_door_and_a_dashboard_at_desktop_and_phone_width(live_server, page) -> None:
    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        run = session.scalar(select(Run))
        tess = create_user(session, "tess@school.example", "Tess Teacher", "learner", PASSWORD)
        enrolment = enrol(session, run, tess.id, TODAY)
        complete_and_submit(session, enrolment, "the-mentors-role", marker="Mine")
        session.commit()
    page.goto(base + "/")
    page.shots.take(page, "catalogue")
    page.goto(base + "/courses/mentoring")
    page.shots.take(page, "course")
    log_in(page, base, "tess@school.example")
    page.goto(base + "/dashboard")
    page.shots.take(page, "dashboard")
    assert page.problems == []


def _sells_the_course(page, base: str, shots, label: str) -> None:  # type: ignore[no-untyped-def]
    """The visitor's way in: the catalogue, then the course page, read as they would."""
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Courses for teachers, at your own pace")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Two teachers talk across a table"))).to_be_visible()
    assert_no_axe_failures(page, f"the catalogue at {label}")
    if shots:
        shots.take(page, "catalogue")
    with page.expect_navigation():
        page.get_by_role("link", name="Mentoring trainee and early-career teachers").click()
    picture = page.get_by_role("img", name=re.compile("^Two teachers talk across a table"))
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 1200  # served from /assets/
    expect(page.get_by_role("heading", name="What you will learn")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Observe teaching and give feedback")).to_be_visible()
    expect(page.get_by_role("heading", name="Who it is for")).to_be_visible()
    badges = page.locator(".badge-row li")
    expect(badges).to_have_count(5)
    for index in range(5):
        assert badges.nth(index).locator("img").evaluate("img => img.complete && img.naturalWidth") > 0
    expect(badges.nth(2)).to_contain_text("Mentoring 3: Observation and feedback")
    expect(page.get_by_text("Complete all 5 workbooks and you receive a certificate like this one")).to_be_visible()
    answer = page.get_by_text("Any day while the run is open.")
    expect(answer).to_be_hidden()
    page.get_by_text("When can I start?").click()
    expect(answer).to_be_visible()
    assert_no_axe_failures(page, f"the course page at {label}, a question open")
    if shots:
        shots.take(page, "course")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the course page is {width}px wide at {label}"


def test_a_visitor_lands_reads_the_course_page_and_registers_and_enrols(live_server, page, browser,
                                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, database = live_server
    set_up_course(database)
    # on a phone first: the same way in, laid out for 390 px
    phone_context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    phone_context.add_init_script(path=str(AXE))
    phone = watch_problems(phone_context.new_page())
    _sells_the_course(phone, base, None, "390 px")
    assert phone.problems == []
    phone_context.close()

    page.context.add_init_script(path=str(AXE))
    _sells_the_course(page, base, page.shots, "1280 px")
    with page.expect_navigation():
        page.get_by_role("link", name="Register to enrol").click()
    page.get_by_label("Your name").fill("Tess Teacher")
    page.get_by_label("E-mail address").fill("tess@hillside.example")
    page.get_by_label("Place of work").fill("Hillside Primary School")
    page.get_by_label("Your role").select_option("mentor")
    page.get_by_label("Mentoring experience").select_option("1-3")
    page.get_by_label("Password", exact=True).fill("tall green lanterns")
    page.get_by_label("Password again").fill("tall green lanterns")
    page.get_by_label("I have read the privacy notice").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    link = re.search(r"https?://\S+/auth/confirm/\S+", last_mail(tmp_path / "outbox")).group(0)
    page.goto(link)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and log in").click()
    page.goto(base + "/courses/mentoring")
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol now").click()
    expect(page.get_by_text("0 of 5 workbooks submitted")).to_be_visible()
    assert_no_axe_failures(page, "the new learner's dashboard")
    page.shots.take(page, "dashboard-new")
    assert page.problems == []
