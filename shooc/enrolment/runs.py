"""Runs of a course: opening one, checking its dates and mode, finding them (no Flask here).

Services flush; the view or command that called them commits."""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from shooc.enrolment import rules
from shooc.enrolment.models import Run, RunMode
from shooc.workbooks.models import Course

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class RunError(ValueError):
    """A run that cannot be created or changed as asked; the message says why."""


# Runs --------------------------------------------------------------------------

def create_run(session: Session, course: Course, opens_on: dt.date, closes_on: dt.date,
               mode: RunMode | str = RunMode.rolling, name: str | None = None,
               slug: str | None = None, pace_days: int = 7, capacity: int | None = None,
               timezone: str = rules.DEFAULT_TIMEZONE) -> Run:
    try:
        mode = RunMode(mode)
    except ValueError:
        raise RunError(f"mode must be 'rolling' or 'paced', not '{mode}'") from None
    if course.current_version_id is None:
        raise RunError(f"course '{course.slug}' has not been published yet")
    if slug is None:
        slug = _free_slug(session, f"{opens_on.year}-{mode.value}")
    check_run_fields(session, opens_on, closes_on, pace_days, capacity, slug)
    if name is None:
        name = f"{'Rolling' if mode is RunMode.rolling else 'Paced'} run from {opens_on:%-d %B %Y}"
    run = Run(course_id=course.id, slug=slug, name=name.strip(), opens_on=opens_on,
              closes_on=closes_on, mode=mode, pace_days=pace_days, capacity=capacity, timezone=timezone)
    session.add(run)
    session.flush()
    return run


def check_run_fields(session: Session, opens_on: dt.date, closes_on: dt.date, pace_days: int,
                     capacity: int | None, slug: str, current_slug: str | None = None) -> None:
    """The rules every run keeps, whether new or changed."""
    if closes_on <= opens_on:
        raise RunError("the closing date must be after the opening date")
    if pace_days < 1:
        raise RunError("the pace must be at least one day")
    if capacity is not None and capacity < 1:
        raise RunError("the cap on registrations must be at least 1")
    if not SLUG_RE.match(slug):
        raise RunError(f"run slug '{slug}' must be lower-case letters, digits and hyphens")
    if slug != current_slug and session.scalar(select(Run.id).where(Run.slug == slug)) is not None:
        raise RunError(f"a run with the slug '{slug}' already exists")


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Run.slug).where(Run.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def find_run(session: Session, slug: str) -> Run | None:
    """The run of that address, its course loaded with it (every page of a run shows it)."""
    return session.scalar(_run_of_slug(), {"slug": slug})


@functools.cache
def _run_of_slug() -> Any:
    # built once: building it was half of a cached statistics page's own time
    return select(Run).where(Run.slug == bindparam("slug")).options(joinedload(Run.course, innerjoin=True))


def open_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on <= today, Run.closes_on >= today)
        .order_by(Run.opens_on)))


def upcoming_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on > today).order_by(Run.opens_on)))
