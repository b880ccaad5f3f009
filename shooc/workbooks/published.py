"""Published course versions as the learners' pages read them, kept in each process.

A version never changes once published (publishing makes a new one, with new rows),
so what the workbook page, the dashboard and the course page need of it (the
version, its workbooks with their rendered bodies, their activities) is read from
the database once per process and version, not on every request: at 100,000
learners that is five fewer queries and tens of kilobytes of JSON less per page.
Published images (``asset_data``: badge images, baked into every badge served) are
kept the same way, by the SHA-256 that addresses them.

The objects handed out are ORM instances loaded in a session of their own and then
detached from it, every attribute the pages use loaded: read them, never change
them or add them to a session (queries may use their ids). Nothing needs emptying
when a course is published: the new version has a new id. A process whose database
is replaced under it (a restore, a test's rolled-back transaction) calls ``forget``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from shooc.db import write_intent
from shooc.workbooks.models import Asset, CourseVersion, WorkbookVersion

KEEP = 32  # versions per process: a few courses, each with its recent versions
KEEP_ASSETS = 64  # images: one badge image per workbook, a few per course
KEEP_DERIVED = 4096  # things made from a version's rows (a few per activity: shooc/workbooks/fragments.py)

_versions: OrderedDict[int, CourseVersion] = OrderedDict()
_assets: OrderedDict[str, bytes] = OrderedDict()
_derived: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def _keep(store: OrderedDict, key: object, value: object, most: int) -> None:
    with _lock:
        store[key] = value
        while len(store) > most:
            store.popitem(last=False)


def version(session: Session, version_id: int | None) -> CourseVersion | None:
    """The published version ``version_id`` with its workbooks and activities, or None
    (also for a course's ``current_version_id`` of None: nothing published yet)."""
    if version_id is None:
        return None
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
    _keep(_versions, version_id, found, KEEP)
    return found


def workbook(session: Session, version_id: int | None, slug: str) -> WorkbookVersion | None:
    published = version(session, version_id)
    if published is None:
        return None
    return next((w for w in published.workbooks if w.slug == slug), None)


def asset_data(session: Session, sha256: str) -> bytes | None:
    """A published image's bytes (badge images, baked into every badge served).
    Assets are addressed by their SHA-256, so what is kept can never be stale."""
    data = _assets.get(sha256)
    if data is None:
        asset = session.get(Asset, sha256)
        if asset is None:
            return None
        data = asset.data
        _keep(_assets, sha256, data, KEEP_ASSETS)
    return data


T = TypeVar("T")


def kept(key: Hashable, build: Callable[[], T]) -> T:
    """What ``build`` makes of published rows, kept per process under ``key``, which
    names those rows by their ids (a published row never changes; emptied by ``forget``
    with the versions, for a database replaced under the process)."""
    try:
        return _derived[key]
    except KeyError:
        pass
    value = build()
    _keep(_derived, key, value, KEEP_DERIVED)
    return value


def forget() -> None:
    with _lock:
        _versions.clear()
        _assets.clear()
        _derived.clear()
