"""The front door (issue 18), in a real Chromium against a live server: the catalogue
and the course page as a visitor sees them, and a learner's dashboard, at desktop
and phone width (browser_kit.Shots; SHOOC_SCREENSHOTS=1 writes the PNGs)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from browser_kit import log_in, set_up_course
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
