"""The session of a request or a command, and the one way their work is kept.

Domain services take a ``Session`` and only ``flush()``; what called them decides
whether the work is kept (issue 15: one unit of work, as Indico keeps one commit
point per request in its handler):

- **A view** uses the request's session, ``get_session()`` (opened on first use,
  closed when the request ends, which undoes whatever was not kept), and ends its
  work with ``commit()`` or ``rollback()`` from here, never on the session itself.
  A view commits before anything that must not happen for nothing (an e-mail sent,
  a background job started, a login begun), and once at its end.
- **A command** opens ``command_session()``: committed when its block ends, rolled
  back if it raises (a command's ``fail()`` included), closed always.
- **Write intent** (SQLite only matters): a transaction that will write takes the
  write lock when it begins, so that it waits its turn instead of failing when
  another writer commits first. Requests declare it from their method (GET, HEAD
  and OPTIONS read), a reading request that will write after all says
  ``will_write()`` before its first query, and ``write_now()`` gives a reading
  request a short writing transaction of its own (a token's last use noted).

tests/test_architecture.py fails if a view or command commits or rolls back a
session any other way.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shooc import jobs
from shooc.db import Database, database_unreachable, write_intent

log = logging.getLogger(__name__)


def init_app(app: Flask) -> Database:
    database = Database(app.config["SHOOC_DATABASE_URL"], int(app.config["SHOOC_DATABASE_POOL_SIZE"]),
                        int(app.config["SHOOC_DATABASE_MAX_OVERFLOW"]))
    app.extensions["shooc.db"] = database

    @app.before_request
    def _declare_write_intent() -> None:
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            session.close()
        except DBAPIError as error:
            # The database went away after the answer was made (a restart): closing
            # rolls back on a dead connection. The answer stands; the pool drops the
            # connection (pre-ping replaces it), and nothing was kept that was not
            # committed.
            if not database_unreachable(error):
                raise
            log.warning("closing a request's session failed, the database is out of reach: %s", error.orig)

    return database


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["shooc.db"]


def will_write() -> None:
    """Declare, before its first query, that this GET request writes (a cache, a
    confirmation): on SQLite its transaction then waits for the write lock instead
    of failing when another request is writing."""
    write_intent.set(True)


def get_session() -> Session:
    """The session of the current app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def commit() -> None:
    """Keep the work this request has done so far, then start the background jobs it
    queued for after its commit (``jobs.start_after_commit``)."""
    session = get_session()
    session.commit()
    _start_jobs(session, current_app)


def _start_jobs(session: Session, app: Flask) -> None:
    to_start = jobs.take_jobs_to_start(session)
    if not to_start:
        return
    environment = jobs.Environment(get_db(app), app.config, app.instance_path)
    for job_id in to_start:
        try:
            jobs.dispatch(environment, job_id)
        except Exception:  # noqa: BLE001 (the runner out of reach: recovery starts the queued job later)
            log.exception("job %s is queued but its runner could not be reached", job_id)


def rollback() -> None:
    """Undo the work this request has done since it last committed."""
    get_session().rollback()


@contextmanager
def _kept(session: Session) -> Iterator[Session]:
    """Commit the session's work when the block ends; roll it back if it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def write_now() -> Iterator[Session]:
    """A writing transaction of its own inside a reading request: what was read so
    far is let go, the write takes the lock at its start and is committed at the end
    of the block, and the rest of the request reads again."""
    session = get_session()
    session.rollback()
    will_write()
    try:
        with _kept(session):
            yield session
    finally:
        write_intent.set(False)


@contextmanager
def command_session(app: Flask | None = None) -> Iterator[Session]:
    """A command's session (or a background job's): committed when the block ends,
    rolled back if it raises, closed always."""
    with get_db(app).session() as session:
        with _kept(session):
            yield session
        _start_jobs(session, app or current_app._get_current_object())  # type: ignore[attr-defined]
