"""Submissions under concurrency: a double click, two tabs, a crowd of requests."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from conftest import MENTORING, PASSWORD
from shooc.auth.services import create_user
from shooc.db import get_db
from shooc.enrolment import services
from shooc.enrolment.models import Submission
from shooc.workbooks.loader import load_course
from shooc.workbooks.models import WorkbookVersion
from shooc.workbooks.publish import publish_course


def test_parallel_submits_of_one_workbook_make_one_submission(committed_app) -> None:
    """20 threads, each with its own connection and transaction, submit the same
    complete workbook at once (on PostgreSQL when the suite runs there)."""
    database = get_db(committed_app)
    session = database.session()
    course = publish_course(session, load_course(MENTORING).course).course
    today = dt.date.today()
    run = services.create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=30))
    user = create_user(session, "crowd@example.org", "Crowd", "learner", PASSWORD)
    enrolment = services.enrol(session, run, user.id, today)
    workbook = session.scalar(select(WorkbookVersion).where(WorkbookVersion.slug == "the-mentors-role"))
    state = services.workbook_state(session, enrolment, workbook)
    quiz = next(a for a in workbook.activities if a.kind == "quiz")
    services.save_drafts(session, enrolment, state, {"my-mentoring-context": {"text": "word " * 200}})
    services.check_quiz(session, enrolment, state, quiz.activity_id, {"choices": {
        q["id"]: [i for i, o in enumerate(q["options"]) if o.get("correct")] for q in quiz.definition["questions"]}})
    session.commit()
    enrolment_id, workbook_id = enrolment.id, workbook.id
    session.close()

    barrier = threading.Barrier(20)
    results: list[int] = []
    errors: list[BaseException] = []

    def submit() -> None:
        barrier.wait(timeout=30)  # all at once (before any transaction: SQLite's writers queue)
        own = database.session()
        try:
            mine = own.get(services.Enrolment, enrolment_id)
            wb = own.get(WorkbookVersion, workbook_id)
            state = services.workbook_state(own, mine, wb)
            submission = services.submit_workbook(own, mine, state)
            own.commit()
            results.append(submission.id)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 20 and len(set(results)) == 1
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(Submission)) == 1


def _learner_with(database, submitted: list[str]):  # type: ignore[no-untyped-def]
    """A committed learner in an open run who has submitted these workbooks."""
    from conftest import complete_and_submit

    session = database.session()
    course = publish_course(session, load_course(MENTORING).course).course
    today = dt.date.today()
    run = services.create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=30))
    user = create_user(session, "finisher@example.org", "Finisher", "learner", PASSWORD)
    enrolment = services.enrol(session, run, user.id, today)
    for slug in submitted:
        complete_and_submit(session, enrolment, slug)
    session.commit()
    enrolment_id = enrolment.id
    session.close()
    return enrolment_id


def _crowd(database, enrolment_id: int, slugs: list[str]) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """One thread per slug, all submitting at the same moment."""
    from conftest import complete_and_submit

    barrier = threading.Barrier(len(slugs))
    errors: list[BaseException] = []

    def submit(slug: str) -> None:
        barrier.wait(timeout=30)
        own = database.session()
        try:
            complete_and_submit(own, own.get(services.Enrolment, enrolment_id), slug)
            own.commit()
        except BaseException as exc:  # noqa: BLE001 - collected and reported
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=submit, args=(slug,)) for slug in slugs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return errors


def test_twenty_concurrent_final_submissions_make_one_certificate(committed_app) -> None:
    from shooc.badges.models import BadgeAssertion, Certificate

    database = get_db(committed_app)
    enrolment_id = _learner_with(database, ["the-mentors-role", "building-the-relationship",
                                            "observation-and-feedback", "smart-goal-setting"])
    assert _crowd(database, enrolment_id, ["mentoring-communities"] * 20) == []
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(Submission)) == 5
        assert check.scalar(select(func.count()).select_from(BadgeAssertion)) == 5
        assert check.scalar(select(func.count()).select_from(Certificate)) == 1


def test_the_last_two_workbooks_submitted_at_once_still_make_the_certificate(committed_app) -> None:
    """Without a lock each would see only the other three, and neither would issue it."""
    from shooc.badges.models import Certificate

    database = get_db(committed_app)
    enrolment_id = _learner_with(database, ["the-mentors-role", "building-the-relationship",
                                            "observation-and-feedback"])
    assert _crowd(database, enrolment_id, ["smart-goal-setting", "mentoring-communities"] * 5) == []
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(Certificate)) == 1
