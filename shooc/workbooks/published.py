"""Published course versions as the learners' pages read them, kept in each process.

A version never changes once published (publishing makes a new one, with new rows),
so what the workbook page, the dashboard and the course page need of it (the
version, its workbooks with their rendered bodies, their activities) is read from
the database once per process and version, not on every request: at 100,000
learners that is five fewer queries and tens of kilobytes of JSON less per page.

The objects handed out are ORM instances loaded in a session of their own and then
detached from it, every attribute the pages use loaded: read them, never change
them or add them to a session (queries may use their ids). Nothing needs emptying
when a course is published: the new version has a new id. A process whose database
is replaced under it (a restore, a test's rolled-back transaction) calls ``forget``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from shooc.db import write_intent
from shooc.workbooks.models import CourseVersion, WorkbookVersion

KEEP = 32  # versions per process: a few courses, each with its recent versions

_versions: OrderedDict[int, CourseVersion] = OrderedDict()
_lock = threading.Lock()


def version(session: Session, version_id: int) -> CourseVersion | None:
    """The published version ``version_id`` with its workbooks and activities, or None."""
    found = _versions.get(version_id)
    if found is not None:
        return found
    # A session of its own on the same connection or engine as the caller's, closed
    # at once: the objects are detached, loaded, and no request's identity map holds
    # them. It only reads: on SQLite it must not queue for the write lock that the
    # caller's own transaction may be holding.
    reading = write_intent.set(False)
    try:
        with Session(bind=session.get_bind(), expire_on_commit=False) as own:
            found = own.scalar(select(CourseVersion).where(CourseVersion.id == version_id).options(
                selectinload(CourseVersion.workbooks).options(
                    undefer(WorkbookVersion.body_parts), selectinload(WorkbookVersion.activities))))
    finally:
        write_intent.reset(reading)
    if found is None:
        return None
    with _lock:
        _versions[version_id] = found
        while len(_versions) > KEEP:
            _versions.popitem(last=False)
    return found


def workbook(session: Session, version_id: int, slug: str) -> WorkbookVersion | None:
    published = version(session, version_id)
    if published is None:
        return None
    return next((w for w in published.workbooks if w.slug == slug), None)


def forget() -> None:
    with _lock:
        _versions.clear()
