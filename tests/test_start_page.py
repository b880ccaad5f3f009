"""The "Start here" page (start.md, issue 19): validated with file:line, published with
the version, public at /courses/<course>/start, with the baseline self-assessment for an
enrolled learner who has not given it, linked from the course page and the dashboard."""
from __future__ import annotations

from pathlib import Path

from conftest import TODAY, complete_and_submit, loaded
from sqlalchemy.orm import Session

from shooc.enrolment.services import enrol
from shooc.workbooks.loader import load_course
from shooc.workbooks.publish import diff_course


def test_a_bad_start_page_is_a_problem_at_its_line(course_copy: Path) -> None:
    (course_copy / "start.md").write_text("---\ntitle: Start here\nsumary: typo\n---\n\n![](missing.png)\n",
                                          encoding="utf-8")
    problems = [str(p) for p in load_course(course_copy).problems]
    assert any(p.endswith("start.md:3: unknown key 'sumary' in start.md's front matter (allowed: title, summary)")
               for p in problems), problems
    assert any("start.md:2: missing required key 'summary'" in p or "start.md:1: missing required key 'summary'" in p
               for p in problems), problems
    assert any("start.md:6:" in p and "missing.png" in p for p in problems), problems


def test_without_start_md_there_is_no_page(client, db: Session, course_copy: Path, publish) -> None:
    (course_copy / "start.md").unlink()
    publish(course_copy)
    assert client.get("/courses/mentoring/start").status_code == 404
    assert "Start here" not in client.get("/courses/mentoring").get_data(as_text=True)


def test_a_changed_start_page_is_a_new_version(db: Session, course_copy: Path, publish) -> None:
    publish(course_copy)
    page = course_copy / "start.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert diff_course(db, loaded(course_copy)).course_changed


def test_the_start_page_is_public_and_offers_the_baseline_to_an_enrolled_learner(
        client, auth, db: Session, make_run, make_user) -> None:
    run = make_run()
    anonymous = client.get("/courses/mentoring/start").get_data(as_text=True)
    assert "How the course works" in anonymous and "Five workbooks, in any order" in anonymous
    assert "Register to enrol" in anonymous and "Before and after" in anonymous
    assert 'name="rating-S1"' not in anonymous
    assert 'href="/courses/mentoring/start"' in client.get("/courses/mentoring").get_data(as_text=True)
    user = make_user("learner")
    enrolment = enrol(db, run, user.id, TODAY)
    db.commit()
    auth.login(user)
    page = client.get("/courses/mentoring/start").get_data(as_text=True)
    assert "Before you start: rate your confidence" in page and page.count('name="rating-S4"') == 5
    assert f'action="/dashboard/enrolments/{enrolment.id}/self-assessment/before"' in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/courses/mentoring/start"' in dashboard  # not started: the dashboard links it
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    page = client.get("/courses/mentoring/start").get_data(as_text=True)
    assert 'name="rating-S1"' not in page and "Go to your dashboard" in page
    assert 'href="/courses/mentoring/start"' not in client.get("/dashboard").get_data(as_text=True)
