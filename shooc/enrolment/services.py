"""Runs and enrolments over a session (no Flask here)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.enrolment.models import Enrolment, Response, Run, RunMode
from shooc.workbooks.models import Course

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class RunError(ValueError):
    """A run that cannot be created or changed as asked; the message says why."""


def create_run(session: Session, course: Course, opens_on: dt.date, closes_on: dt.date,
               mode: RunMode | str = RunMode.rolling, name: str | None = None,
               slug: str | None = None, pace_days: int = 7, capacity: int | None = None) -> Run:
    try:
        mode = RunMode(mode)
    except ValueError:
        raise RunError(f"mode must be 'rolling' or 'paced', not '{mode}'") from None
    if course.current_version_id is None:
        raise RunError(f"course '{course.slug}' has not been published yet")
    if closes_on <= opens_on:
        raise RunError("the closing date must be after the opening date")
    if pace_days < 1:
        raise RunError("the pace must be at least one day")
    if capacity is not None and capacity < 1:
        raise RunError("the cap on registrations must be at least 1")
    if slug is None:
        slug = _free_slug(session, f"{opens_on.year}-{mode.value}")
    elif not SLUG_RE.match(slug):
        raise RunError(f"run slug '{slug}' must be lower-case letters, digits and hyphens")
    elif session.scalar(select(Run.id).where(Run.slug == slug)) is not None:
        raise RunError(f"a run with the slug '{slug}' already exists")
    if name is None:
        name = f"{'Rolling' if mode is RunMode.rolling else 'Paced'} run from {opens_on:%-d %B %Y}"
    run = Run(course_id=course.id, slug=slug, name=name.strip(), opens_on=opens_on,
              closes_on=closes_on, mode=mode, pace_days=pace_days, capacity=capacity)
    session.add(run)
    session.flush()
    return run


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Run.slug).where(Run.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def find_run(session: Session, slug: str) -> Run | None:
    return session.scalar(select(Run).where(Run.slug == slug))


def open_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on <= today, Run.closes_on >= today)
        .order_by(Run.opens_on)))


def upcoming_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on > today).order_by(Run.opens_on)))


def enrol(session: Session, run: Run, user_id: int, today: dt.date) -> Enrolment:
    """Enrol a learner in an open run; their start date is today."""
    if run.state(today) != "open":
        raise RunError(f"run '{run.slug}' is not open for enrolment")
    existing = session.scalar(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id))
    if existing is not None:
        return existing
    enrolment = Enrolment(run_id=run.id, user_id=user_id, enrolled_on=today)
    session.add(enrolment)
    session.flush()
    return enrolment


def is_enrolled(session: Session, user_id: int, course: Course) -> bool:
    return session.scalar(
        select(Enrolment.id).join(Run).where(Enrolment.user_id == user_id, Run.course_id == course.id).limit(1)
    ) is not None


def save_answer(session: Session, enrolment: Enrolment, workbook_slug: str, activity_id: str,
                answer: dict, workbook_version_id: int | None = None) -> Response:
    """Store a learner's answer against the workbook slug and activity id."""
    response = session.scalar(select(Response).where(
        Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug,
        Response.activity_id == activity_id))
    if response is None:
        response = Response(enrolment_id=enrolment.id, workbook_slug=workbook_slug, activity_id=activity_id,
                            answer=answer, workbook_version_id=workbook_version_id)
        session.add(response)
    else:
        response.answer = answer
        response.workbook_version_id = workbook_version_id
    session.flush()
    return response


def answers_for(session: Session, enrolment: Enrolment, workbook_slug: str) -> dict[str, Response]:
    return {r.activity_id: r for r in session.scalars(select(Response).where(
        Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug))}
