"""A course as it is published now, read in the caller's session (no Flask here).

Every area asks the same few things of a course's current version: its workbooks in
order, their slugs, its title, its metadata (objectives, issuer, certificate texts).
They are asked here, in one way, and in the caller's own transaction, so that a
version published earlier in that transaction is the one seen. (The learners' pages
read published versions through ``shooc.workbooks.published`` instead, kept per
process: they only ever show committed versions.)
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shooc.workbooks.models import Course, CourseVersion, WorkbookVersion


def workbooks(session: Session, course: Course, *, with_activities: bool = False) -> list[WorkbookVersion]:
    """The workbooks of the course's current version, by position (none if unpublished)."""
    query = select(WorkbookVersion).where(WorkbookVersion.course_version_id == course.current_version_id) \
        .order_by(WorkbookVersion.position)
    if with_activities:
        query = query.options(selectinload(WorkbookVersion.activities))
    return list(session.scalars(query))


def workbook_slugs(session: Session, course: Course) -> list[str]:
    """The slugs of those workbooks, by position."""
    return list(session.scalars(select(WorkbookVersion.slug).where(
        WorkbookVersion.course_version_id == course.current_version_id).order_by(WorkbookVersion.position)))


def workbook_title(session: Session, course: Course, slug: str) -> str:
    """A current workbook's title (its slug if the current version has no such workbook)."""
    return session.scalar(select(WorkbookVersion.title).where(
        WorkbookVersion.course_version_id == course.current_version_id, WorkbookVersion.slug == slug)) or slug


def positions(session: Session, course: Course) -> dict[str, int]:
    """Each current workbook's position, by slug."""
    return {slug: position for slug, position in session.execute(
        select(WorkbookVersion.slug, WorkbookVersion.position).where(
            WorkbookVersion.course_version_id == course.current_version_id))}


def title(session: Session, course: Course) -> str:
    """The course's title as published now ("" if unpublished)."""
    return session.scalar(select(CourseVersion.title).where(CourseVersion.id == course.current_version_id)) or ""


def meta(session: Session, course: Course) -> dict[str, Any]:
    """The current version's metadata from course.md (empty if unpublished)."""
    return session.scalar(select(CourseVersion.meta).where(CourseVersion.id == course.current_version_id)) or {}


def version_number(session: Session, course: Course) -> int | None:
    return session.scalar(select(CourseVersion.number).where(CourseVersion.id == course.current_version_id))
