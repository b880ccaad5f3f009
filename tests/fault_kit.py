"""What the fault tests (test_faults.py, test_backup.py) share: an instance with
learners ready to submit, a learner submitting through real HTTP, and the database's
own check that nothing is half-written."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from conftest import MENTORING, PASSWORD, answer_required
from shooc.auth.models import Role
from shooc.auth.services import create_user
from shooc.db import Database
from shooc.enrolment.models import Enrolment, Run
from shooc.enrolment.runs import create_run
from shooc.enrolment.services import enrol
from shooc.evaluate import counters
from shooc.workbooks.loader import CourseSource, load_course
from shooc.workbooks.models import WorkbookVersion
from shooc.workbooks.publish import publish_course
from test_multiserver import Browser, Page, workbook_answers

WORKBOOKS = 5


def mentoring() -> CourseSource:
    loaded = load_course(MENTORING)
    assert loaded.ok and loaded.course is not None, [str(p) for p in loaded.problems]
    return loaded.course


def seed_learners(database: Database, emails: list[str], submitted: int = 0) -> None:
    """The course published, a run open, and these learners enrolled with every
    required activity of every workbook answered (quizzes marked), the first
    ``submitted`` workbooks submitted: each submission left is one POST away."""
    from conftest import complete_and_submit

    today = dt.date.today()
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, today - dt.timedelta(days=7), today + dt.timedelta(days=90))
        workbooks = session.scalars(select(WorkbookVersion).where(
            WorkbookVersion.course_version_id == course.current_version_id).order_by(WorkbookVersion.position)).all()
        for email in emails:
            user = create_user(session, email, email.split("@")[0].title(), Role.learner, PASSWORD)
            enrolment = enrol(session, run, user.id, today)
            for n, workbook in enumerate(workbooks):
                if n < submitted:
                    complete_and_submit(session, enrolment, workbook.slug)
                else:
                    answer_required(session, enrolment, workbook)
        session.commit()


def log_in(browser: Browser, base_url: str, email: str) -> Page:
    page = browser.get(base_url + "/auth/login")
    if page.status != 200:
        return page
    return browser.open(base_url + "/auth/login", {"email": email, "password": PASSWORD, "csrf_token": page.csrf()})


def submit(browser: Browser, base_url: str, workbook: Any) -> Page:
    """GET the workbook's page, then press Submit with its answers, as a browser does.
    A page that is not 200 is returned as it is (a 503 while the database is away)."""
    url = f"{base_url}/courses/mentoring/workbooks/{workbook.slug}"
    page = browser.get(url)
    if page.status != 200:
        return page
    return browser.open(url, {**workbook_answers(workbook, page.text), "action": "submit", "csrf_token": page.csrf()})


def submitted(page: Page) -> bool:
    return page.status == 302 and page.location.endswith("/dashboard")


def unavailable_page_problems(page: Page) -> list[str]:
    """What is wrong with a page answered while the database is away (empty: a clean 503)."""
    problems = []
    if page.status != 503:
        problems.append(f"status {page.status}, not 503")
    if not (page.headers.get("Retry-After") or "").isdigit():
        problems.append(f"Retry-After {page.headers.get('Retry-After')!r}")
    if "Temporarily unavailable" not in page.text:
        problems.append("not the site's own error page")
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlalchemy", 'File "'):
        if leak in page.text:
            problems.append(f"the page shows {leak!r}")
    return problems


#: Each query lists what it finds broken; every one must find nothing.
HALF_WRITTEN = {
    "submission without its badge": """
        SELECT s.id FROM submissions s LEFT JOIN badge_assertions b ON b.submission_id = s.id
        WHERE b.id IS NULL""",
    "badge without its submission": """
        SELECT b.id FROM badge_assertions b LEFT JOIN submissions s ON s.id = b.submission_id
        WHERE s.id IS NULL""",
    "workbook submitted twice": """
        SELECT enrolment_id, workbook_slug FROM submissions
        GROUP BY enrolment_id, workbook_slug HAVING count(*) > 1""",
    "certificate without all five badges": f"""
        SELECT c.code FROM certificates c
        WHERE (SELECT count(DISTINCT b.workbook_slug) FROM badge_assertions b
               WHERE b.enrolment_id = c.enrolment_id AND b.revoked_at IS NULL) < {WORKBOOKS}""",
    "five badges and no certificate": f"""
        SELECT e.id FROM enrolments e
        WHERE (SELECT count(DISTINCT b.workbook_slug) FROM badge_assertions b
               WHERE b.enrolment_id = e.id AND b.revoked_at IS NULL) = {WORKBOOKS}
          AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.enrolment_id = e.id)""",
    "submitted_count that is not the submissions'": """
        SELECT e.id FROM enrolments e
        WHERE e.submitted_count <> (SELECT count(*) FROM submissions s WHERE s.enrolment_id = e.id)""",
}


def half_written(session: Session) -> dict[str, list]:
    """Everything half-written in the database, by what is wrong (empty: consistent),
    the run's statistics counters against a recount of the rows included."""
    found = {name: [tuple(row) for row in session.execute(text(sql))] for name, sql in HALF_WRITTEN.items()}
    for run in session.scalars(select(Run)):
        if counters.read(session, run) != counters.recount(session, run):
            found.setdefault("counters that are not the rows' recount", []).append(run.slug)
    return {name: rows for name, rows in found.items() if rows}


def count_rows(session: Session, email: str) -> dict[str, int]:
    """One learner's submissions, badges and certificates."""
    from shooc.auth.models import User
    from shooc.badges.models import BadgeAssertion, Certificate
    from shooc.enrolment.models import Submission
    from sqlalchemy import func

    enrolment_id = session.scalar(select(Enrolment.id).join(User, User.id == Enrolment.user_id).where(User.email == email))
    return {name: session.scalar(select(func.count()).select_from(model).where(model.enrolment_id == enrolment_id))
            for name, model in (("submissions", Submission), ("badges", BadgeAssertion), ("certificates", Certificate))}
