"""``shooc backup`` and ``shooc restore`` (issue 8): a consistent copy of a live
instance, restored and compared row by row; what is not a shooc backup, or would
overwrite data, is refused and changes nothing.

On the suite's database: a SQLite file of the test's own (sqlite3's online backup),
or the PostgreSQL test database (pg_dump and pg_restore), restored into a database
made for the test beside it.
"""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from conftest import PASSWORD
from fault_kit import half_written, seed_learners
from shooc import create_app
from shooc.auth.models import Role, User
from shooc.auth.services import hash_password
from shooc.db import Database
from shooc.unit_of_work import get_db
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol
from shooc.models import Base


def table_rows(database: Database) -> dict[str, list[tuple]]:
    """Every row of every table (Alembic's included), in primary-key order."""
    rows = {}
    with database.engine.connect() as connection:
        for table in [*Base.metadata.sorted_tables]:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in connection.execute(select(table).order_by(*order))]
        rows["alembic_version"] = [tuple(r) for r in connection.execute(text("SELECT version_num FROM alembic_version"))]
    return rows


@pytest.fixture
def source(committed_app) -> Database:
    """An instance with real data: the course published, a run, learners, drafts,
    submissions, badges, and one certificate."""
    database = get_db(committed_app)
    seed_learners(database, ["all.five@example.org"], submitted=5)
    seed_learners(database, ["two@example.org", "three@example.org"], submitted=2)
    seed_learners(database, ["none@example.org"])
    return database


@pytest.fixture
def fresh_url(committed_app, tmp_path: Path) -> Iterator[str]:
    """An empty database to restore into: a new SQLite file, or a new PostgreSQL
    database beside the test database, dropped afterwards."""
    url = get_db(committed_app).url
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/restored.sqlite3"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed (postgresql-client)")
    target = make_url(url).set(database=make_url(url).database + "_restored")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


def shooc(url: str, instance: Path, *args: str):  # type: ignore[no-untyped-def]
    """Run a ``shooc`` command on the database at ``url``, as an operator would."""
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": str(instance), "SHOOC_SECRET_KEY": "backup"})
    try:
        return app.test_cli_runner().invoke(args=list(args))
    finally:
        get_db(app).engine.dispose()


class Writer(threading.Thread):
    """Registers learners one committed transaction at a time (an account, its
    enrolment, the run's counters), as a crowd of registrations would, until stopped.
    The accounts share one password hash, made once: scrypt per account would
    leave the writer idle most of the time."""

    def __init__(self, database: Database) -> None:
        super().__init__(daemon=True)
        self.database, self.stopping, self.commits = database, threading.Event(), 0
        self.password_hash = hash_password(PASSWORD)
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                with self.database.session() as session:
                    run = session.scalars(select(Run)).first()
                    user = User(email=f"writer{self.commits}@example.org", name=f"Writer {self.commits}",
                                role=Role.learner, password_hash=self.password_hash)
                    session.add(user)
                    session.flush()
                    enrol(session, run, user.id, dt.date.today())
                    session.commit()
                self.commits += 1
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            self.errors.append(exc)


def test_a_backup_taken_while_writing_restores_consistent_and_equal(source: Database, fresh_url: str,
                                                                     tmp_path: Path) -> None:
    writer = Writer(source)
    writer.start()
    try:
        while writer.commits < 20 and not writer.errors:
            time.sleep(0.01)
        during = tmp_path / "during.backup"
        made = shooc(source.url, tmp_path, "backup", str(during))
        commits_at_backup = writer.commits
        while writer.commits < commits_at_backup + 20 and not writer.errors:
            time.sleep(0.01)  # the writer goes on after the backup, too
    finally:
        writer.stopping.set()
        writer.join(timeout=30)
    assert not writer.errors, writer.errors
    assert made.exit_code == 0, made.output
    assert "Backed up" in made.output and during.stat().st_size > 0

    restored = shooc(fresh_url, tmp_path, "restore", str(during))
    assert restored.exit_code == 0, restored.output
    assert "Restart every app server" in restored.output
    copy = Database(fresh_url)
    try:
        with copy.session() as session:
            # One moment's snapshot: every registration whole (an account with its
            # enrolment, counted), the submissions with their badges, the certificate.
            assert half_written(session) == {}
            writers = session.execute(text(
                "SELECT count(*), count(e.id) FROM users u LEFT JOIN enrolments e ON e.user_id = u.id "
                "WHERE u.email LIKE 'writer%'")).one()
            assert writers[0] == writers[1] and 0 < writers[0] < writer.commits
            assert session.scalar(text("SELECT count(*) FROM certificates")) == 1
            assert session.scalar(text("SELECT count(*) FROM badge_assertions")) == 5 + 2 + 2

        # At rest, a second backup replaces that copy (--force) and equals the source, table by table.
        quiet = tmp_path / "quiet.backup"
        assert shooc(source.url, tmp_path, "backup", str(quiet)).exit_code == 0
        replaced = shooc(fresh_url, tmp_path, "restore", "--force", str(quiet))
        assert replaced.exit_code == 0, replaced.output
        original, restored_rows = table_rows(source), table_rows(copy)
        assert {t: len(r) for t, r in restored_rows.items()} == {t: len(r) for t, r in original.items()}
        for table, rows in original.items():
            assert restored_rows[table] == rows, table
        filled = {"courses", "course_versions", "workbook_versions", "activity_versions", "assets", "runs", "users",
                  "enrolments", "responses", "submissions", "badge_assertions", "certificates", "run_counters",
                  "run_workbook_counters", "alembic_version"}
        assert filled <= {table for table, rows in original.items() if rows}
    finally:
        copy.engine.dispose()


def test_a_backup_never_overwrites_a_file(source: Database, tmp_path: Path) -> None:
    existing = tmp_path / "existing.backup"
    existing.write_bytes(b"keep me")
    result = shooc(source.url, tmp_path, "backup", str(existing))
    assert result.exit_code == 1 and "never overwrites" in result.output
    assert existing.read_bytes() == b"keep me"


def _foreign_sqlite(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("INSERT INTO notes (body) VALUES ('not shooc')")
    connection.commit()
    connection.close()
    return path


def test_what_is_not_a_shooc_backup_or_would_overwrite_data_is_refused_and_changes_nothing(
        source: Database, fresh_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.backup"
    assert shooc(source.url, tmp_path, "backup", str(good)).exit_code == 0
    text_file = tmp_path / "notes.txt"
    text_file.write_text("SELECT 1;\n")
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    refusals = {
        text_file: "is not a shooc backup",
        _foreign_sqlite(tmp_path / "other-app.sqlite3"): "not a shooc backup",
        truncated: "",  # a damaged copy: whatever the reason given, refused
    }
    if source.url.startswith("sqlite"):
        future = tmp_path / "future.backup"
        shutil.copyfile(good, future)
        connection = sqlite3.connect(future)
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
        connection.commit()
        connection.close()
        refusals[future] = "not one of this shooc's migrations"

    before = table_rows(source)
    for bad, reason in refusals.items():
        for target, force in ((fresh_url, False), (source.url, True)):
            result = shooc(target, tmp_path, "restore", *(["--force"] if force else []), str(bad))
            assert result.exit_code == 1, (bad.name, result.output)
            assert result.output.startswith("Error: ") and reason in result.output, (bad.name, result.output)
            assert "Traceback" not in result.output
    # A good backup over a database with data, without --force.
    result = shooc(source.url, tmp_path, "restore", str(good))
    assert result.exit_code == 1 and "is not empty" in result.output and "--force" in result.output
    assert table_rows(source) == before
    fresh = Database(fresh_url)
    try:
        assert not [t for t in inspect(fresh.engine).get_table_names() if t != "alembic_version"]
    finally:
        fresh.engine.dispose()


def test_without_pg_dump_the_backup_says_what_to_run(source: Database, tmp_path: Path, monkeypatch) -> None:
    """On PostgreSQL the command to run instead; SQLite needs no program at all."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump on it, nor anything else
    target = tmp_path / "x.backup"
    result = shooc(source.url, tmp_path, "backup", str(target))
    if source.url.startswith("sqlite"):
        assert result.exit_code == 0 and target.exists(), result.output
        return
    assert result.exit_code == 1
    assert "pg_dump is not installed" in result.output and "pg_dump --format=custom" in result.output
    assert "postgresql://" in result.output and not target.exists()
