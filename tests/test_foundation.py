"""Configuration, the schema's migrations, and the app factory."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import select, text

from shooc import create_app
from shooc.unit_of_work import get_db, get_session
from shooc.models import Base


def test_migrations_match_the_models(app) -> None:
    """Every model change comes with its migration (checked on SQLite and PostgreSQL)."""
    with get_db(app).engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []


def test_defaults_use_the_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOOC_DATABASE_URL", "SHOOC_SECRET_KEY", "SHOOC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"SHOOC_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SHOOC_DATABASE_URL"] == f"sqlite:///{tmp_path}/shooc.sqlite3"
    key = (tmp_path / "secret_key").read_text()
    assert app.config["SECRET_KEY"] == key and len(key) == 64
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    assert create_app({"SHOOC_INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == key  # kept, not remade
    assert app.config["SHOOC_BASE_URL"] is None
    assert not app.debug


def test_environment_overrides_instance_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shooc.cfg").write_text(
        'SHOOC_BASE_URL = "https://from-file.example"\nSHOOC_SECRET_KEY = "file-key"\n')
    monkeypatch.setenv("SHOOC_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SHOOC_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHOOC_BASE_URL", "https://learn.example.ac.uk/")
    monkeypatch.delenv("SHOOC_SECRET_KEY", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path)
    assert app.config["SHOOC_BASE_URL"] == "https://learn.example.ac.uk"  # env wins, no trailing slash
    assert app.config["SECRET_KEY"] == "file-key"
    assert not (tmp_path / "secret_key").exists()


def test_session_cookie_settings(app) -> None:
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_error_pages_show_no_trace(client) -> None:
    response = client.get("/does/not/exist")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "There is no page at this address." in body and "Traceback" not in body


def test_site_urls_are_the_apps_own_routes(app) -> None:  # type: ignore[no-untyped-def]
    """shooc.urls.SiteUrls writes the public paths once; each is the URL the app's own
    map builds for its view, so the two cannot drift apart."""
    from flask import url_for

    from shooc.urls import SiteUrls

    urls = SiteUrls("http://localhost")
    with app.test_request_context("/", base_url="http://localhost"):
        expected = {
            urls.issuer: url_for("badges.issuer", _external=True),
            urls.badge_class("mentoring", "the-mentors-role"): url_for(
                "badges.badge_class", course_slug="mentoring", workbook_slug="the-mentors-role", _external=True),
            urls.assertion("a" * 32): url_for("badges.assertion", assertion_id="a" * 32, _external=True),
            urls.certificate("ABCD1234EFGH"): url_for("badges.certificate", code="ABCD1234EFGH", _external=True),
            urls.asset("f" * 64): url_for("workbooks.asset", sha256="f" * 64, ext="png", _external=True),
            urls.course("mentoring"): url_for("workbooks.course_page", course_slug="mentoring", _external=True),
            urls.workbook("mentoring", "the-mentors-role"): url_for(
                "learn.workbook", course_slug="mentoring", workbook_slug="the-mentors-role", _external=True),
            urls.dashboard: url_for("learn.dashboard", _external=True),
            urls.account: url_for("account.account", _external=True),
        }
    assert [ours for ours, apps in expected.items() if ours != apps] == []


# Database errors: an outage is a 503, a bug a 500 ----------------------------------

@pytest.fixture
def failing_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app as production makes it (not TESTING: errors are handled, not
    raised), with a page whose query names a column no table has and one whose
    database goes away in the middle of the request."""
    fresh = create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(tmp_path),
                        "SHOOC_SECRET_KEY": "fresh"})

    @fresh.route("/test-only/missing-column")
    def missing_column() -> str:
        get_session().execute(text("SELECT no_such_column FROM users"))
        return "unreachable"

    @fresh.route("/test-only/connection-lost")
    def connection_lost() -> str:
        session = get_session()
        if database_url.startswith("postgresql"):
            # The server ends this request's connection ("terminating connection due to
            # administrator command"), as a restart or a failover does.
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        else:
            # Another process holds SQLite's write lock and this one is not let wait.
            session.execute(text("PRAGMA busy_timeout = 0"))
        session.execute(text("UPDATE users SET name = name"))
        return "unreachable"

    yield fresh
    get_db(fresh).engine.dispose()


def test_a_missing_column_is_a_bug_not_an_outage(failing_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    """sqlite3 reports "no such column" as an OperationalError, as it does a locked
    database; PostgreSQL as a ProgrammingError. Either way: the 500 page, logged with
    its traceback."""
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/test-only/missing-column")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "no_such_column" not in body and "Traceback" not in body
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "no_such_column" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_a_lost_connection_is_a_503_drawn_without_the_database(failing_app: Flask, database_url: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    client = failing_app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "1:a-session-token"  # someone logged in: finding out who needs the database
    lock = None
    if database_url.startswith("sqlite"):
        lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING):
            response = client.get("/test-only/connection-lost")
    finally:
        if lock is not None:
            lock.rollback()
            lock.close()
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    body = response.get_data(as_text=True)
    assert "Temporarily unavailable" in body and "Traceback" not in body
    assert 'href="/auth/login"' in body  # drawn for a visitor
    assert [record.getMessage().split(":")[0] for record in caplog.records if record.levelno >= logging.WARNING] == [
        "database unavailable for GET /test-only/connection-lost"]
    assert not any(record.exc_info for record in caplog.records)  # an outage is one line, no traceback


def test_migration_0012_gives_every_earlier_import_a_job_and_goes_back(tmp_path: Path) -> None:
    """Imports made before jobs existed keep their outcome; one left running by the
    upgrade's restart is failed, saying so; the downgrade puts the columns back."""
    import datetime as dt

    from alembic import command

    from conftest import mentoring
    from shooc.db import Database
    from shooc.enrolment.runs import create_run
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.publish import publish_course

    database = Database(f"sqlite:///{tmp_path}/old.sqlite3")
    upgrade(database)
    with database.session() as session:  # a run to import into, then back to 0011's schema
        course = publish_course(session, mentoring()).course
        run_id = create_run(session, course, dt.date(2017, 1, 9), dt.date(2017, 7, 31), slug="r").id
        session.commit()
    command.downgrade(alembic_config(database), "0011")
    with database.engine.begin() as connection:
        for name, status, error, finished in (("a.csv", "done", None, "2017-02-01 10:05:00.000000"),
                                               ("b.csv", "running", None, None),
                                               ("c.csv", "failed", "bad row", "2017-02-03 10:01:00.000000")):
            connection.execute(text(
                "INSERT INTO record_imports (run_id, filename, data, status, rows, summary, created_at, finished_at, "
                "error) VALUES (:run, :name, x'00', :status, 5, '{}', '2017-02-01 10:00:00.000000', :finished, "
                ":error)"), {"run": run_id, "name": name, "status": status, "finished": finished, "error": error})
    upgrade(database)
    with database.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT r.filename, j.kind, j.status, j.done, j.total, j.error FROM record_imports r "
            "JOIN jobs j ON j.id = r.job_id ORDER BY r.id")).all() == [
            ("a.csv", "records.import", "done", 5, 5, None),
            ("b.csv", "records.import", "failed", 0, 5,
             "stopped by an upgrade before it finished; import the file again"),
            ("c.csv", "records.import", "failed", 0, 5, "bad row")]
    command.downgrade(alembic_config(database), "0011")
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT filename, status, error FROM record_imports ORDER BY id")).all() == [
            ("a.csv", "done", None),
            ("b.csv", "failed", "stopped by an upgrade before it finished; import the file again"),
            ("c.csv", "failed", "bad row")]
    database.engine.dispose()


def test_migration_0014_dates_first_posts_and_counts_the_discussions_of_earlier_runs(tmp_path: Path) -> None:
    """Posts written before the community counters: the upgrade dates each learner's
    first post (not the course team's) and counts the run once from its rows."""
    import datetime as dt

    from alembic import command

    from conftest import PASSWORD, mentoring
    from shooc.auth.services import create_user
    from shooc.community import services as community
    from shooc.db import Database
    from shooc.enrolment.models import Enrolment, Run
    from shooc.enrolment.runs import create_run
    from shooc.enrolment.services import enrol
    from shooc.evaluate import counters
    from shooc.evaluate.stats import run_stats
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.publish import publish_course

    database = Database(f"sqlite:///{tmp_path}/old.sqlite3")
    upgrade(database)
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        today = dt.date.today()
        run = create_run(session, course, today - dt.timedelta(days=9), today + dt.timedelta(days=90), slug="r")
        leader = create_user(session, "leader@example.org", "Leo Leader", "leader", PASSWORD)
        learners = [create_user(session, f"l{n}@example.org", f"Learner {n}", "learner", PASSWORD) for n in range(3)]
        for learner in learners:
            enrol(session, run, learner.id)
        first = community.write_post(session, community.member(session, learners[0], run),  # type: ignore[arg-type]
                                     "the-mentors-role", "a thread")
        community.write_post(session, community.member(session, learners[1], run),  # type: ignore[arg-type]
                             "the-mentors-role", "a reply", parent=first)
        community.write_post(session, community.member(session, leader, run),  # type: ignore[arg-type]
                             None, "welcome, everyone")
        session.commit()
    command.downgrade(alembic_config(database), "0013")
    with database.engine.begin() as connection:  # as 0013 had it: no community counters
        connection.execute(text("DELETE FROM run_tallies WHERE tally = 'community'"))
    upgrade(database)
    with database.session() as session:
        run = session.scalars(select(Run)).one()
        posted = {e.user_id: e.first_posted_at for e in session.scalars(select(Enrolment))}
        assert posted[learners[0].id] is not None and posted[learners[1].id] is not None
        assert posted[learners[2].id] is None
        assert counters.read(session, run) == counters.recount(session, run)
        figures = run_stats(session, run)["community"]
        assert (figures["posts"], figures["replies"], figures["contributors"]) == (3, 1, 2)
    database.engine.dispose()
