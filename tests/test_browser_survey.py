"""A teacher who has finished the course gives their evaluation (a missing answer
first, then complete); an evaluator opens the results, withheld below five
responses, then shown; in a real Chromium against a live server (see test_browser.py)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from browser_kit import log_in, set_up_course
from conftest import PASSWORD, TODAY, complete_and_submit
from sqlalchemy import select

from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import course_workbook_slugs, enrol, withdraw
from shooc.evaluate import survey
from shooc.evaluate.models import Evaluation, OverallEffect

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own

COMMENT = "Observing with a focus, then one question at a time,\nchanged how my trainee and I talk after lessons."


def test_a_teacher_who_finished_evaluates_the_course_and_an_evaluator_reads_it(live_server, page) -> None:
    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        run = session.scalar(select(Run))
        slug = run.slug
        fern = create_user(session, "fern@school.example", "Fern Finisher", "learner", PASSWORD,
                           organisation="Heathfield Primary")
        create_user(session, "eve@uni.example", "Eve Evaluator", "evaluator", PASSWORD)
        enrolment = enrol(session, run, fern.id, TODAY)
        session.commit()
        for workbook in course_workbook_slugs(session, run):
            complete_and_submit(session, enrolment, workbook)
        session.commit()
        close_date = enrolment.close_date
    shots = page.shots

    # the dashboard offers the survey to a teacher with a certificate
    log_in(page, base, "fern@school.example")
    offer = page.locator(".survey-offer")
    assert "Tell us what the course did for your mentoring" in offer.inner_text()
    shots.take(page, "dashboard-offer")
    with page.expect_navigation():
        offer.get_by_role("link", name="Give your evaluation").click()
    assert page.url == f"{base}/runs/{slug}/evaluation"
    assert page.get_by_role("heading", level=1).inner_text() == "What did the course do for your mentoring?"
    shots.take(page, "survey-empty")

    # everything but the last objective
    page.get_by_role("group", name=re.compile("^Overall, what effect")).get_by_label("Very good").check()
    for n, rating in zip(range(1, 5), ["5 · Fully", "4 · Mostly", "4 · Mostly", "3 · Partly"]):
        page.get_by_role("group", name=re.compile(f"^Objective {n}:")).get_by_label(rating).check()
    page.get_by_label("Comments (optional)").fill(COMMENT)
    with page.expect_navigation():
        page.get_by_role("button", name="Send your evaluation").click()
    alert = page.locator(".problems")
    assert "Rate objective 5 from 1 (not at all) to 5 (fully)." in alert.inner_text()
    assert page.locator("#objective_5 .error").is_visible()
    assert page.get_by_label("Comments (optional)").input_value() == COMMENT  # nothing lost
    assert page.get_by_role("group", name=re.compile("^Objective 4:")).get_by_label("3 · Partly").is_checked()
    assert page.get_by_role("group", name=re.compile("^Overall, what effect")).get_by_label("Very good").is_checked()
    shots.take(page, "survey-missing-answer")

    # the error links to the question; answering it sends the evaluation
    alert.get_by_role("link").click()
    page.get_by_role("group", name=re.compile("^Objective 5:")).get_by_label("4 · Mostly").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send your evaluation").click()
    assert page.url == f"{base}/dashboard"
    assert page.get_by_text("Thank you: your evaluation is saved.").is_visible()
    assert f"You can change your answers until {close_date:%-d %B %Y}" in page.locator(".survey-offer").inner_text()
    shots.take(page, "dashboard-thanks")
    with database.session() as session:
        (evaluation,) = session.scalars(select(Evaluation)).all()
        assert evaluation.overall_effect is OverallEffect.very_good
        assert evaluation.objective_ratings == {"1": 5, "2": 4, "3": 4, "4": 3, "5": 4}
        assert evaluation.comments == COMMENT

    # changing it later shows the answers as given
    with page.expect_navigation():
        page.locator(".survey-offer").get_by_role("link", name="Change your answers").click()
    assert page.get_by_label("Comments (optional)").input_value() == COMMENT
    assert page.get_by_role("group", name=re.compile("^Objective 5:")).get_by_label("4 · Mostly").is_checked()
    shots.take(page, "survey-to-change")

    # once the learner's close date has passed, the answers can be read, not changed
    with database.session() as session:
        session.get(Run, run.id).closes_on = TODAY - dt.timedelta(days=1)
        session.commit()
    page.reload()
    assert "The evaluation closed on" in page.locator(".survey-status").inner_text()
    assert page.get_by_role("button", name=re.compile("Save|Send")).count() == 0
    assert page.get_by_role("group", name=re.compile("^Objective 5:")).get_by_label("4 · Mostly").is_disabled()
    assert "changed how my trainee and I talk" in page.locator(".survey-readonly-comments").inner_text()
    shots.take(page, "survey-closed")
    with database.session() as session:
        session.get(Run, run.id).closes_on = TODAY + dt.timedelta(days=90)
        session.commit()
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    # an evaluator sees one response: withheld, and nobody named
    log_in(page, base, "eve@uni.example")
    page.goto(f"{base}/evaluate/runs/{slug}/evaluation")
    text = page.locator("main").inner_text()
    assert "1 response" in text and "withheld until at least 5 people" in text
    for private in ("Fern", "fern@school.example", "Heathfield", "Observing with a focus"):
        assert private not in page.content()
    shots.take(page, "results-withheld")

    # four more, who withdrew and answered: the breakdown and the comments appear
    with database.session() as session:
        run = session.get(Run, run.id)
        for n, (effect, comment) in enumerate([("excellent", "The <b>SMART goals</b> workbook was the most useful."),
                                               ("good", None), ("fair", "Too long for a busy term."),
                                               ("very_good", "")]):
            person = create_user(session, f"quitter{n}@school.example", f"Quentin Quitter {n}", "learner", PASSWORD)
            joined = enrol(session, run, person.id, TODAY)
            withdraw(session, joined)
            survey.save_evaluation(session, joined, effect, {str(k): 1 + (n + k) % 5 for k in range(1, 6)}, comment)
        session.commit()
    page.reload()
    text = page.locator("main").inner_text()
    assert "5 responses" in text and "withheld" not in text
    assert page.get_by_role("row", name=re.compile("^Very good")).inner_text().split() == ["Very", "good", "2", "40%"]
    assert "The <b>SMART goals</b> workbook was the most useful." in text  # shown as typed, not as HTML
    assert "Observing with a focus" in text and "Quentin" not in page.content() and "Fern" not in page.content()
    shots.take(page, "results")
    assert page.problems == []
