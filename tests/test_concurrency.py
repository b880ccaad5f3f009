"""Submissions under concurrency: a double click, two tabs, a crowd of requests."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from conftest import PASSWORD, mentoring
from shooc.auth.services import create_user
from shooc.unit_of_work import get_db
from shooc.enrolment import models as enrolment_models
from shooc.enrolment import runs
from shooc.enrolment import services
from shooc.enrolment.models import Submission
from shooc.workbooks.publish import publish_course


def _learner_with(database, submitted: list[str]):  # type: ignore[no-untyped-def]
    """A committed learner in an open run who has submitted these workbooks."""
    from conftest import complete_and_submit

    session = database.session()
    course = publish_course(session, mentoring()).course
    today = dt.date.today()
    run = runs.create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=30))
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
            complete_and_submit(own, own.get(enrolment_models.Enrolment, enrolment_id), slug)
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
        _counters_equal_a_recount(check)


def test_parallel_submits_of_one_workbook_make_one_submission(committed_app) -> None:
    """20 threads, each with its own connection and transaction, submit the same
    complete workbook at once (on PostgreSQL when the suite runs there)."""
    database = get_db(committed_app)
    enrolment_id = _learner_with(database, [])
    assert _crowd(database, enrolment_id, ["the-mentors-role"] * 20) == []
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(Submission)) == 1
        _counters_equal_a_recount(check)


def _counters_equal_a_recount(session) -> None:  # type: ignore[no-untyped-def]
    """The statistics counters, bumped by each of the crowd's transactions, still
    equal a count of the rows."""
    from shooc.enrolment.models import Run
    from shooc.evaluate import counters

    run = session.scalar(select(Run))
    counted = counters.read(session, run)
    assert counted == counters.recount(session, run)
    assert counted["totals"]["registered"] == 1
