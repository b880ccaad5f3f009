"""Enrolments: joining a run, withdrawing, finding a learner's enrolment (no Flask here).

The rest of the learner's side lives beside this module, one topic each: runs.py
(runs of a course), answers.py (drafts, quizzes, submitting), pending.py (drafts kept
through a login), dashboard.py (the dashboard's summaries); rules.py holds the
date rules. Services flush; the view or command that called them commits."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.models import Enrolment, Response, Run, Submission
from shooc.enrolment.responses import save_answer
from shooc.enrolment.runs import open_runs
from shooc.evaluate import counters
from shooc.workbooks import current, published
from shooc.workbooks.models import Course


class EnrolmentError(ValueError):
    """The learner cannot do this now (run closed, not released, submitted...)."""


# Enrolment ---------------------------------------------------------------------

def enrol(session: Session, run: Run, user_id: int, today: dt.date | None = None) -> Enrolment:
    """Enrol a learner in an open run; their start date is today (the run's today).
    Enrolling again is harmless; enrolling after withdrawing rejoins."""
    today = today or run.today()
    existing = session.scalar(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id))
    if existing is not None and existing.withdrawn_at is None:
        return existing
    enrolled = session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.run_id == run.id, Enrolment.withdrawn_at.is_(None)))
    decision = rules.enrolment_decision(run.opens_on, run.closes_on, today, run.capacity, enrolled or 0)
    if not decision.allowed:
        raise EnrolmentError(decision.reason)
    if existing is not None:
        existing.withdrawn_at = None
        counters.withdrawal_changed(session, existing, len(course_workbook_slugs(session, run)), -1)
        session.flush()
        return existing
    previous = enrolment_for(session, user_id, run.course)  # before this one exists: an earlier run's
    enrolment = Enrolment(run_id=run.id, user_id=user_id, enrolled_on=today)
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:  # the same learner enrolling from two tabs at once
        return session.scalars(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id)).one()
    counters.registered(session, enrolment)
    if previous is not None:
        carry_over(session, previous, enrolment)
    return enrolment


# A returning learner ---------------------------------------------------------------
#
# A learner whose run has closed (or who withdrew from it) may join a later open run
# of the same course: enrol() makes them a new enrolment there (one per run per
# learner) and carries over what is worth carrying. Decisions:
#
# - Submitted workbooks stay with the run they were submitted in, with their
#   submissions, badges, feedback and (if all were submitted) the certificate: a
#   credential says which run it was earned in, and the old run's figures and the
#   course team's view of it do not change.
# - The answers of workbooks NOT submitted in the learner's latest earlier enrolment
#   of the course are copied (not moved) into the new enrolment as drafts, so that
#   nothing typed has to be typed again; the old enrolment keeps its own copy, read
#   only. Copied answers count as the learner's start in the new run, as a saved
#   draft does.
# - Left out: answers to activities the course's current version no longer has, and
#   peer-discussion answers (a post in the old run's discussion is not one in the new
#   run's, whose people differ). Submitted workbooks start empty in the new run.

def carry_over(session: Session, previous: Enrolment, enrolment: Enrolment) -> int:
    """Copy ``previous``'s answers of unsubmitted workbooks into ``enrolment`` (see
    above); returns how many answers were copied."""
    submitted = set(session.scalars(select(Submission.workbook_slug).where(Submission.enrolment_id == previous.id)))
    course = enrolment.run.course
    version = published.version(session, course.current_version_id) if course.current_version_id else None
    kinds = {(w.slug, a.activity_id): a.kind for w in (version.workbooks if version else [])
             for a in w.activities}
    copied = 0
    for response in session.scalars(select(Response).where(Response.enrolment_id == previous.id)
                                    .order_by(Response.workbook_slug, Response.activity_id)):
        kind = kinds.get((response.workbook_slug, response.activity_id))
        if response.workbook_slug in submitted or kind is None or kind == "peer-discussion":
            continue
        save_answer(session, enrolment, response.workbook_slug, response.activity_id, dict(response.answer),
                    response.workbook_version_id)
        copied += 1
    session.flush()
    return copied


def run_to_join(session: Session, enrolment: Enrolment, today: dt.date | None = None) -> Run | None:
    """For an enrolment whose time is over (closed, or withdrawn from a run that has
    closed): the course's run open for enrolment now that the learner is not in yet,
    if this is their latest enrolment in the course."""
    today = today or enrolment.run.today()
    if enrolment.user_id is None or (today <= enrolment.close_date and not (
            enrolment.withdrawn_at is not None and today > enrolment.run.closes_on)):
        return None
    course = enrolment.run.course
    latest = enrolment_for(session, enrolment.user_id, course)
    if latest is None or latest.id != enrolment.id:
        return None
    joined = set(session.scalars(select(Enrolment.run_id).where(Enrolment.user_id == enrolment.user_id)))
    return next((run for run in open_runs(session, course, today) if run.id not in joined), None)


def withdraw(session: Session, enrolment: Enrolment) -> None:
    if enrolment.withdrawn_at is None:
        enrolment.withdrawn_at = utcnow()
        counters.withdrawal_changed(session, enrolment, len(course_workbook_slugs(session, enrolment.run)), 1)
        session.flush()


def course_workbook_slugs(session: Session, run: Run) -> list[str]:
    """The workbooks of the run's course as published now."""
    return current.workbook_slugs(session, run.course)


def enrolment_for(session: Session, user_id: int, course: Course) -> Enrolment | None:
    """The learner's enrolment in the course: the latest run they joined."""
    return session.scalar(_enrolment_query(), {"user_id": user_id, "course_id": course.id})


@functools.cache
def _enrolment_query() -> Select[Enrolment]:
    """Built once (every workbook page asks): building it with its eager run cost more than running it."""
    return (select(Enrolment).join(Run)
            .where(Enrolment.user_id == bindparam("user_id", type_=Integer),
                   Run.course_id == bindparam("course_id", type_=Integer))
            .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())
            .options(contains_eager(Enrolment.run)).limit(1))
