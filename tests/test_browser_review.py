"""The course team reviews work and writes to learners from the browser (issue 17), in a
real Chromium against a live server, as the leader and the teacher click through it:
feedback from the review queue (marked new on her dashboard until she reads it), a
workbook handed back and submitted again for a new badge, a badge revoked and seen by
her, and a message to a filtered group found on her notifications page. Each page is
also loaded at phone width (browser_kit.Shots)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import log_in, set_up_course, watch_problems
from conftest import PASSWORD, TODAY, complete_and_submit
from shooc.auth.services import create_user
from shooc.badges.models import BadgeAssertion
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST, SECOND = "the-mentors-role", "building-the-relationship"


def _teacher_with_two_workbooks(database) -> None:  # type: ignore[no-untyped-def]
    set_up_course(database, leader=True)
    with database.session() as session:
        run = session.scalar(select(Run))
        tess = create_user(session, "tess@school.example", "Tess Teacher", "learner", PASSWORD)
        tess.email_opt_in = True
        enrolment = enrol(session, run, tess.id, TODAY)
        complete_and_submit(session, enrolment, FIRST, marker="Mine")
        complete_and_submit(session, enrolment, SECOND, marker="Mine")
        session.commit()


def test_feedback_from_the_queue_then_a_workbook_handed_back_and_submitted_again(live_server, page, browser) -> None:
    base, database = live_server
    _teacher_with_two_workbooks(database)
    teacher = watch_problems(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    log_in(teacher, base, "tess@school.example")
    log_in(page, base, "leader@example.org")

    # the leader opens the run's review queue and keeps to what has no feedback yet
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("row", name=re.compile("Open run")).get_by_role("link", name="Review queue").click()
    expect(page.get_by_text("2 submissions.")).to_be_visible()
    page.get_by_label("Workbook", exact=True).select_option(FIRST)
    page.get_by_role("checkbox", name="No feedback yet").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Submissions with no feedback yet, newest first.")).to_be_visible()
    expect(page.locator(".review-item")).to_have_count(1)
    page.shots.take(page, "review-queue")
    page.get_by_label("Feedback Tess Teacher sees on this workbook’s page").fill("Clear about your role. Say more about your school.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save feedback").click()
    expect(page.get_by_text("Feedback saved: the learner sees it on the workbook's page.")).to_be_visible()
    assert "workbook=the-mentors-role" in page.url and "unreviewed=1" in page.url  # back to the same queue
    expect(page.get_by_text("No submission matches these filters.")).to_be_visible()

    # the teacher sees the workbook marked, reads the feedback, and the mark goes
    teacher.goto(base + "/dashboard")
    new_feedback = teacher.get_by_role("link", name="new feedback on The mentor's role")
    expect(new_feedback).to_be_visible()
    with teacher.expect_navigation():
        new_feedback.click()
    expect(teacher.get_by_text("Clear about your role. Say more about your school.")).to_be_visible()
    teacher.goto(base + "/dashboard")
    expect(teacher.get_by_role("link", name=re.compile("new feedback"))).to_have_count(0)

    # the leader hands the workbook back from the queue, with a reason
    page.goto(base + "/lead/runs/" + page.url.split("/lead/runs/")[1].split("/")[0] + "/review")
    item = page.locator(".review-item", has_text="The mentor's role")
    item.get_by_text("Hand this workbook back…").click()
    item.get_by_label("Why it is handed back (Tess Teacher reads this)").fill(
        "Your reflection needs a paragraph on your school's context.")
    with page.expect_navigation():
        item.get_by_role("button", name="Hand back").click()
    expect(page.get_by_text("The mentor's role is handed back: the learner is told why")).to_be_visible()
    expect(page.get_by_text("1 submission.")).to_be_visible()

    # she is told, finds her answers, adds to them and submits again
    teacher.goto(base + "/dashboard")
    expect(teacher.get_by_text("1 of 5 workbooks submitted")).to_be_visible()
    expect(teacher.locator(".status-banner.returned")).to_contain_text("paragraph on your school's context")
    teacher.shots = page.shots
    page.shots.take(teacher, "dashboard-handed-back")
    with teacher.expect_navigation():
        teacher.locator(".status-banner.returned").get_by_role("link", name="The mentor's role").click()
    expect(teacher.locator(".status-banner.returned")).to_contain_text("Your answers are kept")
    reflection = teacher.locator('[name="a.my-mentoring-context.text"]')
    expect(reflection).to_have_value(re.compile("^Mine word"))
    reflection.fill(reflection.input_value() + " In my school, trainees join a department of six.")
    teacher.get_by_role("button", name="Submit workbook").click()  # asks first, in a dialog
    with teacher.expect_navigation():
        teacher.locator("#submit-dialog").get_by_role("button", name="Submit workbook").click()
    expect(teacher.get_by_text("Workbook 1 is submitted. Well done!")).to_be_visible()
    expect(teacher.get_by_text("2 of 5 workbooks submitted")).to_be_visible()
    expect(teacher.locator(".status-banner.returned")).to_have_count(0)
    with database.session() as check:
        badges = check.scalars(select(BadgeAssertion).where(BadgeAssertion.workbook_slug == FIRST)).all()
    assert sorted(b.revoked for b in badges) == [False, True]
    new_badge = next(b for b in badges if not b.revoked)
    teacher.goto(base + "/badges")
    expect(teacher.locator(f"#badge-{new_badge.id}")).to_be_visible()
    assert page.problems == [] and teacher.problems == []


def test_a_revoked_badge_is_seen_by_the_teacher(live_server, page, browser) -> None:
    base, database = live_server
    _teacher_with_two_workbooks(database)
    with database.session() as check:
        badge = check.scalar(select(BadgeAssertion.id).where(BadgeAssertion.workbook_slug == SECOND))
    log_in(page, base, "leader@example.org")
    page.goto(f"{base}/badges/assertions/{badge}")
    page.get_by_label("Reason").fill("The answers were copied from another participant")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke the badge").click()

    teacher = watch_problems(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    log_in(teacher, base, "tess@school.example")
    teacher.goto(base + "/dashboard")
    expect(teacher.locator(".status-banner.revoked")).to_contain_text("copied from another participant")
    expect(teacher.get_by_role("row", name=re.compile("Building the relationship")).get_by_text("badge revoked")
           ).to_be_visible()
    with teacher.expect_navigation():
        teacher.locator(".status-banner.revoked").get_by_role("link", name="Building the relationship").click()
    expect(teacher.locator(".status-banner.revoked")).to_contain_text("The workbook stays submitted")
    teacher.goto(base + "/notifications")
    expect(teacher.get_by_text("Your badge for Building the relationship was revoked")).to_be_visible()
    assert page.problems == [] and teacher.problems == []


def test_a_leader_writes_to_the_learners_who_have_not_started(live_server, page, browser) -> None:
    base, database = live_server
    set_up_course(database, leader=True)
    with database.session() as session:
        run = session.scalar(select(Run))
        for email, name in (("nia@school.example", "Nia New"), ("ola@school.example", "Ola Other")):
            user = create_user(session, email, name, "learner", PASSWORD)
            user.email_opt_in = email.startswith("nia")
            enrol(session, run, user.id, TODAY)
        session.commit()
    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("row", name=re.compile("Open run")).get_by_role("link", name="Messages").click()
    page.get_by_label("To").select_option("not-started")
    page.get_by_label("Subject").fill("Your first workbook")
    page.get_by_role("textbox", name="Message").fill("It takes about an hour: start with the video.")
    with page.expect_navigation():
        page.get_by_role("button", name="Count who it reaches").click()
    expect(page.locator("#reach")).to_contain_text("2 people will find it on their notifications page")
    expect(page.locator("#reach")).to_contain_text("1 will be e-mailed")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("It takes about an hour: start with the video.")
    page.shots.take(page, "messages")
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Sent “Your first workbook” to 2 people; 1 e-mail on the way.")).to_be_visible()
    expect(page.locator(".announcement", has_text="Your first workbook")).to_contain_text("to Not started: 2 people")

    learner = watch_problems(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    log_in(learner, base, "ola@school.example")
    learner.goto(base + "/notifications")
    expect(learner.get_by_text("Lee Leader: Your first workbook")).to_be_visible()
    expect(learner.get_by_text("It takes about an hour: start with the video.")).to_be_visible()
    assert page.problems == [] and learner.problems == []
