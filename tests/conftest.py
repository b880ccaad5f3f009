"""Fixtures in the manner of Flask's flaskr tutorial: ``app``, ``client``, ``runner``,
a login helper, and factories for users, courses and runs.

The database is real: SQLite by default, PostgreSQL when SHOOC_TEST_DATABASE_URL is
set. The schema is made once per test session by the Alembic migrations; each test
then runs inside a transaction that is rolled back at its end (views and CLI commands
commit to a SAVEPOINT), so tests are isolated without re-creating tables.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, NoReturn
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from shooc import create_app
from shooc.auth import limits
from shooc.workbooks import published
from shooc.workbooks.views import anonymous_pages
from shooc.auth.models import Role, User
from shooc.auth import services as auth_services
from shooc.auth.services import create_user
from shooc.config import PROJECT_ROOT
from shooc.db import Database, write_intent
from shooc.unit_of_work import get_db
from shooc.enrolment.models import Run
from shooc.enrolment.runs import create_run
from shooc.migrate import upgrade
from shooc.models import Base
from shooc.workbooks.loader import CourseSource, load_course
from shooc.workbooks.publish import PublishResult, publish_course

# Fixtures by area, in tests/fixtures/ (tests/ is on sys.path: pytest puts this file's
# folder there): the scenario the route-walking tests share.
pytest_plugins = ["fixtures.scenario"]

# Property-based tests (hypothesis): the same modest, derandomised examples on every
# run, so that the suite stays fast and a failure is never luck. HYPOTHESIS_PROFILE=explore
# tries many more, new ones each time (and keeps failures in .hypothesis/ to replay).
# Function-scoped fixtures are shared by a test's examples on purpose: each example
# checks what it changed itself, inside the test's rolled-back transaction.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("explore", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that opens no database (none of its fixtures needs ``database_url``) runs
    the same whatever SHOOC_TEST_DATABASE_URL says: it is marked ``database_free``, and
    .ci/run's PostgreSQL run leaves it out rather than run it twice."""
    for item in items:
        if "database_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database_free)


# Passwords are hashed with one round of PBKDF2 in the tests' own process instead of
# scrypt's 80 ms: thousands of accounts and logins would otherwise spend minutes
# hashing. What the app stores in production, and the tests that compare timings,
# use the real method again (``real_password_hashing``). Servers the tests start as
# processes (gunicorn, the console script) hash as in production.
auth_services.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"


@pytest.fixture
def real_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_services, "PASSWORD_HASH_METHOD", "scrypt")


CONTENT = PROJECT_ROOT / "content"
MENTORING = CONTENT / "mentoring"
PASSWORD = "correct horse battery staple"


def _today_for_the_whole_run(longest_run: dt.timedelta = dt.timedelta(minutes=15)) -> dt.date:
    """Today as the app sees it (a run's day, in its time zone: Europe/London unless
    a test says otherwise), fixed once for the test run. The app asks the clock on
    each request, so a run that crossed midnight would compare two different days:
    started less than ``longest_run`` before midnight, the tests wait for it to pass
    (rare, and said so) rather than fail by the date."""
    from shooc.enrolment.rules import DEFAULT_TIMEZONE, today_in

    now = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE))
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=now.tzinfo)
    if midnight - now < longest_run:
        wait = (midnight - now).total_seconds() + 5
        print(f"conftest: {wait:.0f} s to midnight in {DEFAULT_TIMEZONE}: waiting for it, so that the whole run "
              "has one date", file=sys.stderr, flush=True)
        time.sleep(wait)
    return today_in(DEFAULT_TIMEZONE)


TODAY = _today_for_the_whole_run()


def unavailable(requirement: str, message: str) -> NoReturn:
    """A part the tests need is missing: a skip, or a failure when CI requires that
    part (SHOOC_REQUIRE_BROWSER, _POSTGRES or _REDIS set to 1: .ci/run sets them all)."""
    if os.environ.get(f"SHOOC_REQUIRE_{requirement}") == "1":
        pytest.fail(f"{message} (SHOOC_REQUIRE_{requirement}=1)")
    pytest.skip(message)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def worker_database(url: str) -> str:
    """The PostgreSQL database of this pytest-xdist worker: the one named in
    SHOOC_TEST_DATABASE_URL with the worker's id after it (``test_gw0``), made on first
    use, so that workers never drop each other's schema. Without xdist, that one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    own = make_url(url).set(database=f"{make_url(url).database}_{worker}")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}):
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database for the whole test session (of this xdist worker)."""
    url = os.environ.get("SHOOC_TEST_DATABASE_URL")
    if url:
        url = worker_database(url)
        _reset_postgres(url)
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    database = Database(url)
    upgrade(database)
    database.engine.dispose()
    return url


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def session_app(database_url: str, instance_path: Path) -> Flask:
    return create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(instance_path),
                       "SHOOC_SECRET_KEY": "test-secret", "TESTING": True,
                       # the test's sessions share one connection: a job runs in the request
                       "SHOOC_JOB_RUNNER": "inline",
                       # tests roll back and reuse a run's id: figures are counted each time
                       # (test_evaluate.py tests keeping them)
                       "SHOOC_FIGURES_SECONDS": 0})


@pytest.fixture
def app(session_app: Flask) -> Iterator[Flask]:
    """The app, its sessions bound to one connection whose transaction is rolled back."""
    database = get_db(session_app)
    connection = database.engine.connect()
    # A deferred BEGIN: on SQLite the test's transaction takes the write lock only
    # once it writes, so that a command's own connection (migrations) can read.
    intent = write_intent.set(False)
    transaction = connection.begin()
    write_intent.reset(intent)
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    limits.reset(session_app)  # no test inherits another's failed logins
    anonymous_pages.clear()  # nor a page kept from data it rolled back,
    published.forget()  # nor a version whose id the rollback freed
    try:
        yield session_app
    finally:
        database.sessionmaker.configure(bind=database.engine, join_transaction_mode="conservative_savepoint")
        transaction.rollback()
        connection.close()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session for a test's own setting up and checking."""
    session = get_db(app).session()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def make_user(db: Session):  # type: ignore[no-untyped-def]
    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.learner, email: str | None = None, name: str | None = None) -> User:
        n = next(counter)
        role = Role(role)
        user = create_user(db, email or f"{role.value}{n}@example.org", name or f"{role.value.title()} {n}",
                           role, PASSWORD)
        db.commit()
        return user

    return make


@functools.cache
def mentoring() -> CourseSource:
    """The shipped course, loaded once for the whole session: the loader's result is
    frozen, so every test may share it (a test that changes the course loads its own
    copy: ``course_copy``)."""
    result = load_course(MENTORING)
    assert result.ok, [str(p) for p in result.problems]
    assert result.course is not None
    return result.course


def loaded(path: Path | str) -> CourseSource:
    """A course folder, loaded and checked (the shipped one from the cache)."""
    if Path(path) == MENTORING:
        return mentoring()
    result = load_course(path)
    assert result.ok and result.course is not None, [str(p) for p in result.problems]
    return result.course


@pytest.fixture
def publish(db: Session):  # type: ignore[no-untyped-def]
    def do(path: Path | str = MENTORING) -> PublishResult:
        published = publish_course(db, loaded(path))
        db.commit()
        return published

    return do


@pytest.fixture
def make_run(db: Session, publish):  # type: ignore[no-untyped-def]
    def make(course_slug: str = "mentoring", opens: dt.date | None = None, closes: dt.date | None = None,
             **kwargs: Any) -> Run:
        from shooc.workbooks.publish import find_course

        course = find_course(db, course_slug) or publish(CONTENT / course_slug).course
        run = create_run(db, course, opens or TODAY - dt.timedelta(days=10),
                         closes or TODAY + dt.timedelta(days=100), **kwargs)
        db.commit()
        return run

    return make


def set_base_url(app: Flask, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Give a running test app SHOOC_BASE_URL, as if it had started with it: the hosts
    it answers follow (shooc/urls.py; create_app sets them from the settings)."""
    from shooc.urls import trusted_hosts

    monkeypatch.setitem(app.config, "SHOOC_BASE_URL", url)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", trusted_hosts(app.config))


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/auth/login") -> str:
    """The CSRF token of the client's session, read from a page's form as a browser would."""
    match = CSRF_RE.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user_or_email: User | str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        email = user_or_email.email if isinstance(user_or_email, User) else user_or_email
        return self.client.post("/auth/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(self.client)})

    def logout(self):  # type: ignore[no-untyped-def]
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(self.client, "/auth/logout")})


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A copy of the shipped course to break or change."""
    target = tmp_path / "mentoring"
    shutil.copytree(MENTORING, target)
    return target


@pytest.fixture(scope="session")
def schema_tables() -> list[str]:
    return [t.name for t in reversed(Base.metadata.sorted_tables)]


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) serving ``app``: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(committed_app: Flask) -> Iterator[tuple[str, Database]]:
    """A real HTTP server on 127.0.0.1 (a free port) serving the committing app."""
    with serving(committed_app) as base:
        yield base, get_db(committed_app)


def empty_tables(database: Database, tables: list[str]) -> None:
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@contextmanager
def committing_app(database_url: str, folder: Path, schema_tables: list[str]) -> Iterator[Flask]:
    """An app whose requests really commit: its own SQLite file in ``folder``, or the
    PostgreSQL test database emptied before and after (the other tests leave nothing
    there: they roll back)."""
    postgres = not database_url.startswith("sqlite")
    url = database_url if postgres else f"sqlite:///{folder}/committed.sqlite3"
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": str(folder),
                      "SHOOC_SECRET_KEY": "committed", "SHOOC_DATABASE_POOL_SIZE": 25,
                      "SHOOC_FIGURES_SECONDS": 0})
    database = get_db(app)
    if postgres:
        empty_tables(database, schema_tables)
    else:
        upgrade(database)
    try:
        yield app
    finally:
        if postgres:
            empty_tables(database, schema_tables)
        database.engine.dispose()


@pytest.fixture
def committed_app(database_url: str, tmp_path: Path, schema_tables: list[str]) -> Iterator[Flask]:
    """An app whose requests really commit, for tests of concurrency and of a live server."""
    with committing_app(database_url, tmp_path, schema_tables) as app:
        yield app


def complete_answer(activity, marker: str = "") -> dict:  # type: ignore[no-untyped-def]
    """A complete answer to any activity (quizzes still need marking); ``marker``
    starts every text the learner writes, for tests that look for it on pages."""
    definition = activity.definition
    if activity.kind in ("reflection", "discussion"):
        return {"text": " ".join([marker] * bool(marker) + ["word"] * max(definition.get("min_words") or 0, 5))}
    if activity.kind == "quiz":
        return {"choices": {q["id"]: [i for i, o in enumerate(q["options"]) if o.get("correct")]
                            for q in definition["questions"]}}
    if activity.kind == "self-assessment":
        return {"ratings": {s["id"]: 4 for s in definition["statements"]}}
    if activity.kind == "smart-goal":
        return {**{k: f"{marker} done".strip() for k in ("specific", "measurable", "achievable", "relevant", "time_bound")},
                "target_date": "2030-01-01"}
    return {"watched": True}


def answer_required(session: Session, enrolment, workbook, leave: int = 0, state=None,  # type: ignore[no-untyped-def]
                    marker: str = "") -> None:
    """Complete every required activity of a workbook but the last ``leave`` of them
    (quizzes marked, as the page's Check button does); the caller commits."""
    from shooc.enrolment import answers

    state = state or answers.workbook_state(session, enrolment, workbook)
    required = [a for a in workbook.activities if a.required]
    for activity in required[:len(required) - leave]:
        answer = complete_answer(activity, marker)
        if activity.kind == "quiz":
            answers.check_quiz(session, enrolment, state, activity.activity_id, answer)
        else:
            answers.save_drafts(session, enrolment, state, {activity.activity_id: answer})


def complete_and_submit(session: Session, enrolment, workbook_slug: str, marker: str = ""):  # type: ignore[no-untyped-def]
    """Answer every required activity of a workbook of the enrolment's course, then submit it."""
    from sqlalchemy import select

    from shooc.enrolment import answers, services
    from shooc.workbooks.models import WorkbookVersion

    workbook = session.scalar(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == enrolment.run.course.current_version_id,
        WorkbookVersion.slug == workbook_slug))
    state = answers.workbook_state(session, enrolment, workbook)
    if state.submission is not None:  # as the page does: a second submit changes nothing
        return state.submission
    try:
        answer_required(session, enrolment, workbook, state=state, marker=marker)
    except services.EnrolmentError:
        if state.submission is None:  # submitted by another request meanwhile: that one stands
            raise
        return state.submission
    return answers.submit_workbook(session, enrolment, state)


# Browser tests (tests/browser_kit.py): one Chromium for the whole session, whichever
# test files use it.

@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from browser_kit import launch_browser

    yield from launch_browser()


@pytest.fixture
def page(browser, request):  # type: ignore[no-untyped-def]
    from browser_kit import open_page

    yield from open_page(browser, request)
