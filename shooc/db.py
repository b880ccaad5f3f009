"""Database: the declarative base, the engine and its sessions (no Flask here).

Domain services take a ``Session`` argument and only ``flush()``; the request
handler (or the command) that called them commits, through shooc/unit_of_work.py,
which also gives a view the session of its request.
"""
from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

#: Whether the transactions begun in this context may write. On SQLite, writing
#: transactions begin IMMEDIATE; reading ones (GET requests) stay concurrent.
write_intent: ContextVar[bool] = ContextVar("shooc_write_intent", default=True)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An engine with a connection pool per process (per gunicorn worker):
    ``pool_size`` kept open, up to ``max_overflow`` more under load."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=max_overflow)
        _configure_sqlite(engine)
    else:
        # pool_pre_ping: a connection the database dropped (restart, failover) is
        # replaced before use instead of failing a request.
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # SQLAlchemy's recipe "Transactions with SQLite and the sqlite3 driver": let
    # SQLAlchemy emit BEGIN itself so that SAVEPOINTs and rollbacks work as on
    # PostgreSQL; WAL lets readers go on while one writer commits.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that reads and then writes cannot wait for another writer
        # in WAL mode (its snapshot is stale: "database is locked" at once); one
        # that takes the write lock at BEGIN IMMEDIATE waits its turn instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


#: PostgreSQL's SQLSTATEs (or their classes) of a connection that failed rather than a
#: statement: class 08 (connection exception), the server shutting down or starting
#: (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), and no
#: connection to spare (53300 too_many_connections).
CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
#: SQLite's: the write lock not granted within the timeout ("database is locked", and
#: its extended codes), the file not opened.
CONNECTION_SQLITE_ERRORS = ("SQLITE_BUSY", "SQLITE_CANTOPEN")


def database_unreachable(error: BaseException) -> bool:
    """Whether a database error means the database is out of reach for now (the
    connection refused, reset or closed by the server, no free connection in the
    pool, SQLite's lock not granted in time), which passes by itself: not an error
    of the statement, like a missing table or column (sqlite3 reports those as
    OperationalError too), which is a bug."""
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # the dialect recognised a disconnect
        return True
    sqlite_error = getattr(error.orig, "sqlite_errorname", None)
    if sqlite_error is not None:
        return str(sqlite_error).startswith(CONNECTION_SQLITE_ERRORS)
    if isinstance(error, OperationalError):
        # psycopg: no SQLSTATE when the client failed (refused, connection lost)
        sqlstate = getattr(error.orig, "sqlstate", None)
        return sqlstate is None or str(sqlstate).startswith(CONNECTION_SQLSTATES)
    return False


class Database:
    """The engine and session factory of one app (``app.extensions['shooc.db']``)."""

    def __init__(self, url: str, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size, max_overflow)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()
