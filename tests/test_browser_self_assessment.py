"""Before and after (issue 19) in a real Chromium against a live server, at desktop
and phone width: a learner enrols, is asked to rate their confidence, says "Not now",
rates themself from the quieter link (a missing standard is named and what they chose
kept), reads the start page, finishes the course and rates themself again, and sees
the change; axe on each page (SHOOC_SCREENSHOTS=1 writes the PNGs)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, SCREENSHOTS, WRITE_SCREENSHOTS, log_in, set_up_course, watch_problems
from test_accessibility import AXE, assert_no_axe_failures
from conftest import PASSWORD, complete_and_submit
from shooc.auth.services import create_user
from shooc.enrolment.models import Enrolment
from test_portfolio import SLUGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page, label: str, name: str) -> None:  # type: ignore[no-untyped-def]
    if WRITE_SCREENSHOTS:
        folder = SCREENSHOTS / "self-assessment"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{label}-{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} is {width}px wide at {label}"


def rate(page, ratings: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    for code, value in ratings.items():
        group = page.get_by_role("group", name=re.compile(f"^{code} "))
        group.get_by_role("radio", name=re.compile(f"^{value} ")).check()


@pytest.mark.parametrize("label", ["desktop", "phone"])
def test_rating_at_the_start_skipping_and_rating_at_the_end(live_server, browser, label: str) -> None:
    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        create_user(session, "rhea@school.example", "Rhea Rater", "learner", PASSWORD)
        session.commit()
    context = browser.new_context(viewport=PHONE if label == "phone" else {"width": 1280, "height": 900},
                                  device_scale_factor=1)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    watch_problems(page)
    log_in(page, base, "rhea@school.example")
    page.goto(base + "/courses/mentoring")
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol now").click()
    prompt = page.get_by_role("region", name="Before you start: rate your confidence")
    expect(prompt).to_be_visible()
    expect(page.get_by_role("link", name="Start here: how the course works")).to_be_visible()
    assert_no_axe_failures(page, f"the dashboard with the prompt at {label}")
    shot(page, label, "01-dashboard-prompt")
    with page.expect_navigation():
        prompt.get_by_role("button", name=re.compile("^Not now")).click()
    expect(page.get_by_role("region", name="Before you start: rate your confidence")).to_have_count(0)
    # the start page offers the same form
    page.goto(base + "/courses/mentoring/start")
    expect(page.get_by_role("heading", name="Before you start: rate your confidence")).to_be_visible()
    assert_no_axe_failures(page, f"the start page at {label}")
    shot(page, label, "02-start-page")
    page.goto(base + "/dashboard")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Rate your confidence against the standards before you start")).click()
    rate(page, {"S1": 2, "S2": 3, "S4": 1})
    with page.expect_navigation():
        page.get_by_role("button", name="Keep my ratings").click()
    expect(page.get_by_role("alert")).to_contain_text("S3 Professionalism")
    expect(page.get_by_role("group", name=re.compile("^S1 ")).get_by_role("radio", name=re.compile("^2 "))).to_be_checked()
    assert_no_axe_failures(page, f"the refused form at {label}")
    shot(page, label, "03-form-problem")
    box = page.get_by_role("radio", name=re.compile("^3 ")).first.bounding_box()
    label_box = page.locator(".scale-choice").first.bounding_box()
    assert box["width"] >= 24 and label_box["height"] >= 24  # a target a thumb can hit
    rate(page, {"S3": 3})
    with page.expect_navigation():
        page.get_by_role("button", name="Keep my ratings").click()
    expect(page.get_by_role("heading", name="Your confidence when you started")).to_be_visible()
    # finishing the course opens the rating after it
    with database.session() as session:
        enrolment = session.scalar(select(Enrolment))
        for slug in SLUGS:
            complete_and_submit(session, enrolment, slug)
        session.commit()
    page.goto(base + "/dashboard")
    after = page.get_by_role("region", name="You have finished: rate your confidence again")
    expect(after).to_be_visible()
    with page.expect_navigation():
        after.get_by_role("link", name=re.compile("^Rate yourself")).click()
    rate(page, {"S1": 4, "S2": 4, "S3": 3, "S4": 3})
    with page.expect_navigation():
        page.get_by_role("button", name="Keep my ratings").click()
    change = page.get_by_role("region", name="How your confidence changed")
    expect(change).to_contain_text("2 A little confident → 4 Confident")
    expect(change).to_contain_text("(up 2)")
    expect(change).to_contain_text("(no change)")
    assert_no_axe_failures(page, f"the dashboard with the change at {label}")
    shot(page, label, "04-dashboard-change")
    assert page.problems == []
    context.close()
