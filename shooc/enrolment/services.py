"""Enrolments: joining a run, withdrawing, finding a learner's enrolment (no Flask here).

The rest of the learner's side lives beside this module, one topic each: runs.py
(runs of a course), answers.py (drafts, quizzes, submitting), pending.py (drafts kept
through a login), dashboard.py (the dashboard's summaries); rules.py holds the
date rules. Services flush; the view or command that called them commits."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.models import Enrolment, Run
from shooc.evaluate import counters
from shooc.workbooks import current
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
    enrolment = Enrolment(run_id=run.id, user_id=user_id, enrolled_on=today)
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:  # the same learner enrolling from two tabs at once
        return session.scalars(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id)).one()
    counters.registered(session, enrolment)
    return enrolment


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
    return session.scalar(
        select(Enrolment).join(Run).where(Enrolment.user_id == user_id, Run.course_id == course.id)
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc()).options(contains_eager(Enrolment.run)).limit(1))
