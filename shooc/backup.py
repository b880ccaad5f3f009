"""A copy of an instance's database and its restoring (``shooc backup``, ``shooc restore``).

Everything an instance holds is in its database (README: "What the servers share"),
so a copy of the database is a copy of the instance. It is taken while the app
serves and is consistent, as of one moment:

- SQLite: sqlite3's online backup API, all pages in one step under one read
  transaction (WAL: writers carry on meanwhile). The copy is one self-contained
  file (journal mode DELETE).
- PostgreSQL: ``pg_dump --format=custom``, which reads in one snapshot. Its
  ``pg_restore`` puts it back in a single transaction: all or nothing.

A restore refuses what is not a shooc backup (a SQLite file or pg_dump archive with
an ``alembic_version`` of this shooc's migrations), a backup of the other database
kind, and a database that already has data, unless forced.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from shooc.db import Database
from shooc.migrate import alembic_config

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
T = TypeVar("T")
PG_TOOLS_HINT = ("install PostgreSQL's client programs (Debian: apt install postgresql-client, of the server's "
                 "major version or newer), or run it yourself")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    kind: str  # "sqlite" or "postgresql"
    revision: str  # the schema's Alembic revision
    is_latest: bool  # that revision is this shooc's newest


def database_kind(database: Database) -> str:
    return "sqlite" if database.engine.dialect.name == "sqlite" else "postgresql"


def describe(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=True)


# Backing up ----------------------------------------------------------------------

def backup(database: Database, target: Path) -> BackupInfo:
    """Write a consistent copy of the database to ``target`` (a new file)."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file; give a new name")
    revision = _reachable(database, _current_revision)
    partial = target.with_name(target.name + ".partial")  # never a half-written file under the real name
    try:
        if database_kind(database) == "sqlite":
            _sqlite_backup(_sqlite_path(database), partial)
        else:
            _pg_dump(database, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return _info(database_kind(database), revision, database)


def _sqlite_backup(source: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # pages=-1: every page in one step, one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy is a single file
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy {source} to {target}: {exc}") from None


def _pg_dump(database: Database, target: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError(f"pg_dump is not installed: {PG_TOOLS_HINT}: "
                          f"pg_dump --format=custom --file={target} '{_libpq_url(database)[0]}'")
    url, env = _libpq_url(database)
    _run([program, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", f"--dbname={url}"], env)


# Checking a file -----------------------------------------------------------------

def inspect_backup(path: Path, database: Database) -> BackupInfo:
    """What the file is, if it is a shooc backup; BackupError saying why not."""
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return _info("sqlite", _sqlite_backup_revision(path), database)
    if head.startswith(PG_DUMP_MAGIC):
        return _info("postgresql", _pg_dump_revision(path), database)
    raise BackupError(f"{path} is not a shooc backup: neither a SQLite database nor a pg_dump archive "
                      "(shooc backup makes one or the other)")


def _sqlite_backup_revision(path: Path) -> str:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            if connection.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupError(f"{path} is a damaged SQLite file (PRAGMA quick_check fails)")
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a shooc backup: {exc}") from None
    if len(rows) != 1:
        raise BackupError(f"{path} is not a shooc backup: its alembic_version is empty")
    return str(rows[0][0])


def _pg_dump_revision(path: Path) -> str:
    program = _pg_restore_program()
    listing = _run([program, "--list", str(path)], None)
    if not re.search(r"^\d+; \d+ \d+ TABLE DATA public alembic_version(\s|$)", listing, re.M):
        raise BackupError(f"{path} is a pg_dump archive but not of a shooc database (no alembic_version)")
    data = _run([program, "--data-only", "--table=alembic_version", "--file=-", str(path)], None)
    match = re.search(r"^COPY public\.alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", data, re.M)
    if match is None:
        raise BackupError(f"{path} is not a shooc backup: its alembic_version is empty")
    return match.group(1)


def _info(kind: str, revision: str, database: Database) -> BackupInfo:
    scripts = ScriptDirectory.from_config(alembic_config(database))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(f"the backup's schema (revision {revision}) is not one of this shooc's migrations: "
                          "restore it with the release that made it")
    return BackupInfo(kind, revision, revision in set(scripts.get_heads()))


# Restoring -----------------------------------------------------------------------

def rows_held(database: Database) -> dict[str, int]:
    """Rows in each of the database's tables that have any (Alembic's own left out)."""
    tables = [t for t in inspect(database.engine).get_table_names() if t != "alembic_version"]
    held = {}
    with database.engine.connect() as connection:
        for table in tables:
            count = connection.scalar(text(f'SELECT count(*) FROM "{table}"'))
            if count:
                held[table] = int(count)
    return held


def restore(database: Database, path: Path, force: bool = False) -> BackupInfo:
    """Replace the database's contents by the backup's, all or nothing."""
    info = inspect_backup(path, database)
    kind = database_kind(database)
    if info.kind != kind:
        raise BackupError(f"{path} is a {info.kind} backup and the database at {describe(database)} is {kind}: "
                          "restore it into a database of its kind")
    held = _reachable(database, rows_held)
    if held and not force:
        some = ", ".join(f"{n:,} {table}" for table, n in sorted(held.items(), key=lambda x: -x[1])[:3])
        raise BackupError(f"the database at {describe(database)} is not empty ({some} ...): restore into an "
                          "empty database, or give --force to replace everything in it")
    database.engine.dispose()  # none of this process's connections sees the old contents
    if kind == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(_sqlite_path(database))
            try:
                source.backup(target)  # one step, in one transaction of the target's
            finally:
                target.close()
        except sqlite3.Error as exc:
            raise BackupError(f"could not write {_sqlite_path(database)}: {exc}") from None
        finally:
            source.close()
    else:
        url, env = _libpq_url(database)
        # --clean drops what the dump will create (the tables of an emptied or replaced
        # database); --single-transaction: a failure leaves the database as it was.
        clean = ["--clean", "--if-exists"] if inspect(database.engine).get_table_names() else []
        _run([_pg_restore_program(), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              *clean, f"--dbname={url}", str(path)], env)
        database.engine.dispose()
    return info


def _pg_restore_program() -> str:
    program = shutil.which("pg_restore")
    if program is None:
        raise BackupError(f"pg_restore is not installed: {PG_TOOLS_HINT}")
    return program


# Helpers -------------------------------------------------------------------------

def _current_revision(database: Database) -> str:
    names = inspect(database.engine).get_table_names()
    if "alembic_version" not in names:
        raise BackupError(f"the database at {describe(database)} has no shooc schema: nothing to back up")
    with database.engine.connect() as connection:
        return str(connection.scalar(text("SELECT version_num FROM alembic_version")))


def _reachable(database: Database, read: Callable[[Database], T]) -> T:
    try:
        return read(database)
    except OperationalError as exc:
        raise BackupError(f"cannot reach the database at {describe(database)}: {exc.orig}") from None


def _sqlite_path(database: Database) -> Path:
    name = database.engine.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(name)


def _libpq_url(database: Database) -> tuple[str, dict[str, str]]:
    """The database as pg_dump and pg_restore take it, the password in the environment
    (PGPASSWORD), not on a command line that every user of the machine can read."""
    url = make_url(database.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str] | None) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout
