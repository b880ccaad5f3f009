"""The session of a request or a command, and the one place that ends its work.

Domain services take a ``Session`` and only ``flush()``; what called them decides
whether the work is kept. In a view that is ``get_session()`` (one session per
request, opened on first use and closed when the request ends) and, once the
services have done their part, ``commit()``; a command opens its own with
``command_session()``. On SQLite a transaction that will write must say so before
its first query (``will_write``: GET requests read, others write), so that it waits
for the write lock instead of failing when another request writes.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from shooc.db import Database, write_intent


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
        if session is not None:
            session.close()

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
