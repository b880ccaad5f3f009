"""Faults lose no data (issue 8): the database restarted under a load of submissions,
and a gunicorn worker killed in the middle of one.

Both run real gunicorns (deploy/gunicorn.conf.py, as tests/test_multiserver.py
starts them) and real HTTP. The database is checked with SQL of its own
(fault_kit.HALF_WRITTEN), never by reading the code.

- PostgreSQL restarted: on a private PostgreSQL server this test starts (initdb into
  a temporary folder, pg_ctl on a free port), never the machine's shared cluster.
  Without PostgreSQL's server programs it is skipped, unless SHOOC_REQUIRE_POSTGRES=1.
- A worker killed: on the suite's own database (a SQLite file of its own, or the
  PostgreSQL test database), stopped at a test-only fault point (shooc/faults.py).
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import unavailable
from fault_kit import (count_rows, half_written, log_in, mentoring, seed_learners, submit, submitted,
                       unavailable_page_problems)
from processes import free_port, stop_process_group
from shooc.api.tokens import TOKEN_PREFIX
from shooc.db import Database
from shooc.unit_of_work import get_db
from shooc.migrate import upgrade
from test_multiserver import Browser, Server, _start, _wait_until_answering

pytestmark = [pytest.mark.server, pytest.mark.slow]  # real gunicorns and a private PostgreSQL, started here

pytest.importorskip("gunicorn", reason="gunicorn is in the test extra: pip install -e '.[test]'")


# A PostgreSQL server of the test's own -------------------------------------------

class PrivatePostgres:
    """initdb into a temporary folder, pg_ctl on a free port of 127.0.0.1. PostgreSQL
    will not run as root: when the tests are root, its commands run as postgres,
    which owns the folder."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root, self.data = bindir, root, root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/shooc"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                        "-c fsync=off -c max_connections=50")

    def _run(self, program: str, *args: str) -> None:
        completed = subprocess.run([*self.as_owner, str(self.bindir / program), *args], capture_output=True, text=True,
                                   timeout=120)
        if completed.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)}: {completed.stdout}{completed.stderr}\n{self.log_tail()}")

    def log_tail(self) -> str:
        log = self.root / "postgres.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")

    def pg_ctl(self, action: str, mode: str = "fast") -> None:
        args = ["-D", str(self.data), "-w", "-t", "60", "-m", mode]
        if action != "stop":
            args += ["-l", str(self.root / "postgres.log"), "-o", self.options]
        self._run("pg_ctl", *args, action)

    def create_database(self) -> None:
        engine = create_engine(self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE shooc"))
        engine.dispose()


def _postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = _postgres_bindir()
    if bindir is None:
        unavailable("POSTGRES", "PostgreSQL's server programs are not installed (/usr/lib/postgresql/*/bin)")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("POSTGRES", "running as root and there is no postgres user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            unavailable("POSTGRES", "running as root and runuser is not installed")
    # Not under pytest's tmp_path: its folders are private to root, and postgres must reach this one.
    root = Path(tempfile.mkdtemp(prefix="shooc-faults-pg-"))
    if os.geteuid() == 0:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(bindir, root)
    try:
        server.init()
        server.pg_ctl("start")
        server.create_database()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.pg_ctl("stop", "immediate")
        shutil.rmtree(root, ignore_errors=True)


LOAD_LEARNERS = 12  # x 5 workbooks: 60 submissions
LOAD_THREADS = 4


def _learners(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d}@example.org" for i in range(n)]


@pytest.fixture(scope="module")
def restart_server(private_postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A gunicorn of two workers (two connections each) on the private PostgreSQL."""
    database = Database(private_postgres.url)
    try:
        upgrade(database)
        seed_learners(database, _learners("load", LOAD_LEARNERS) + ["idle@example.org"])
    finally:
        database.engine.dispose()
    server = _start("pg-restart", private_postgres.url, secrets.token_hex(16), tmp_path_factory.mktemp("pg-restart"),
                    {"GUNICORN_WORKERS": "2", "SHOOC_DATABASE_POOL_SIZE": "2", "GUNICORN_ACCESS_LOG": ""})
    try:
        _wait_until_answering(server)
        yield server
    finally:
        stop_process_group(server.process)


@dataclass
class LoadLog:
    """What the clients saw, request by request."""
    succeeded: list[tuple[str, str]] = field(default_factory=list)  # (learner, workbook) answered "submitted"
    answers: Counter = field(default_factory=Counter)  # "302", "503", "connection lost" ...
    unexpected: list[str] = field(default_factory=list)
    restarted_after: int | None = None  # successes seen when the restart began


def _learner_submits_everything(email: str, base_url: str, log: LoadLog, deadline: float) -> None:
    """A patient learner: logs in and submits all five workbooks, and whenever the
    site answers 503 (or the connection fails), waits a moment and tries again."""
    browser = Browser()
    workbooks = list(mentoring().workbooks)
    logged_in = False
    while workbooks and time.monotonic() < deadline:
        try:
            if not logged_in:
                page = log_in(browser, base_url, email)
                logged_in = page.status == 302
            else:
                page = submit(browser, base_url, workbooks[0])
                if submitted(page):
                    log.succeeded.append((email, workbooks.pop(0).slug))
        except OSError as error:  # the connection itself failed (URLError is an OSError)
            log.answers["connection failed"] += 1
            log.unexpected.append(f"{email}: {error!r}")
            time.sleep(0.2)
            continue
        log.answers[str(page.status)] += 1
        if page.status == 503:
            problems = unavailable_page_problems(page)
            if problems:
                log.unexpected.append(f"{email}: 503 page: {problems}")
            time.sleep(0.2)
        elif page.status != 302:
            log.unexpected.append(f"{email}: {page.status}: {page.text[:300]}")
            return
    if workbooks:
        log.unexpected.append(f"{email}: gave up with {len(workbooks)} workbooks left")


@pytest.mark.own_database  # a private PostgreSQL server, started here
def test_every_submission_survives_a_postgres_restart_under_load(restart_server: Server,
                                                                   private_postgres: PrivatePostgres) -> None:
    log = LoadLog()
    learners = _learners("load", LOAD_LEARNERS)
    total = LOAD_LEARNERS * 5
    deadline = time.monotonic() + 240
    pending = list(learners)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                email = pending.pop(0)
            _learner_submits_everything(email, restart_server.url, log, deadline)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    while len(log.succeeded) < total // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    log.restarted_after = len(log.succeeded)
    # "immediate": every backend killed at once, crash recovery on start, as a power cut
    private_postgres.pg_ctl("restart", "immediate")
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    print(f"\nPostgreSQL restarted after {log.restarted_after} of {total} submissions; answers: {dict(log.answers)}")

    assert not log.unexpected, (log.unexpected[:10], restart_server.log_tail())
    assert 0 < log.restarted_after < total  # the restart came in the middle of the load
    assert len(log.succeeded) == total == len(set(log.succeeded))
    database = Database(private_postgres.url)
    try:
        with database.session() as session:
            stored = session.execute(text(
                "SELECT u.email, s.workbook_slug FROM submissions s JOIN enrolments e ON e.id = s.enrolment_id "
                "JOIN users u ON u.id = e.user_id")).all()
            assert sorted(map(tuple, stored)) == sorted(log.succeeded)  # each stored, none twice, nothing else
            assert half_written(session) == {}
            certificates = session.scalar(text("SELECT count(*) FROM certificates"))
            assert certificates == LOAD_LEARNERS
    finally:
        database.engine.dispose()


def test_the_app_reconnects_by_itself_and_says_503_while_the_database_is_down(
        restart_server: Server, private_postgres: PrivatePostgres) -> None:
    browser = Browser()
    assert log_in(browser, restart_server.url, "idle@example.org").status == 302
    dashboard = restart_server.url + "/dashboard"
    # Enough requests that both workers hold pooled connections.
    assert [browser.get(dashboard).status for _ in range(12)] == [200] * 12

    # Restarted while idle: every pooled connection is now dead. pool_pre_ping
    # (shooc/db.py) replaces them on checkout; no request fails.
    private_postgres.pg_ctl("restart", "fast")
    assert [browser.get(dashboard).status for _ in range(12)] == [200] * 12, restart_server.log_tail()

    # Down: a clean 503 page that says to try again, for a learner's page and the API.
    private_postgres.pg_ctl("stop", "fast")
    try:
        for _ in range(4):
            page = browser.get(dashboard)
            assert unavailable_page_problems(page) == [], (page.status, page.text[:1000])
        # A token cannot be checked without the database: the API says 503 too, in JSON.
        request = urllib.request.Request(restart_server.url + "/api/v1/runs",
                                         headers={"Authorization": "Bearer " + TOKEN_PREFIX + secrets.token_urlsafe(32)})
        with pytest.raises(urllib.error.HTTPError) as api:
            urllib.request.urlopen(request, timeout=30)
        body = api.value.read().decode()
        assert api.value.code == 503 and api.value.headers["Retry-After"].isdigit(), body
        assert api.value.headers["Content-Type"].startswith("application/json") and '"unavailable"' in body
    finally:
        private_postgres.pg_ctl("start")
    # Back: served again at once, by the same workers, the learner still logged in.
    assert [browser.get(dashboard).status for _ in range(6)] == [200] * 6, restart_server.log_tail()


# A worker killed in the middle of a submission ------------------------------------

#: The test-only fault points of a submission (shooc/faults.py), in the order reached.
FAULT_POINTS = ["submission-inserted", "badge-issued", "submission-complete"]


def _pid_stopped_at(folder: Path, point: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        taken = [p for p in folder.glob(f"{point}.*") if p.suffix[1:].isdigit()]
        if taken:
            return int(taken[0].suffix[1:])
        time.sleep(0.02)
    raise AssertionError(f"no worker stopped at {point} within {timeout} s")


def test_a_worker_killed_in_the_middle_of_a_submission_leaves_nothing_half_written(committed_app, tmp_path: Path) -> None:
    database = get_db(committed_app)
    learners = _learners("killed", len(FAULT_POINTS))
    # Four workbooks submitted: the one each submits here is the fifth, with its certificate.
    seed_learners(database, learners, submitted=4)
    fifth = mentoring().workbooks[4]
    faults = tmp_path / "faults"
    faults.mkdir()
    server = _start("faults", database.url, secrets.token_hex(16), tmp_path,
                    {"GUNICORN_WORKERS": "2", "SHOOC_DATABASE_POOL_SIZE": "2", "SHOOC_TEST_FAULT_DIR": str(faults)})
    killed = 0
    try:
        _wait_until_answering(server)
        for point, email in zip(FAULT_POINTS, learners):
            browser = Browser()
            assert log_in(browser, server.url, email).status == 302
            (faults / point).touch()  # armed: the next submission stops there
            answered: list[object] = []
            request = threading.Thread(target=lambda: answered.append(_try(submit, browser, server.url, fifth)))
            request.start()
            os.kill(_pid_stopped_at(faults, point), signal.SIGKILL)
            killed += 1
            request.join(timeout=30)
            assert answered and isinstance(answered[0], OSError), (point, answered)  # no answer: the worker died

            with database.session() as session:
                assert half_written(session) == {}, point
                assert count_rows(session, email) == {"submissions": 4, "badges": 4, "certificates": 0}, point
            # The learner presses Submit again (another worker, or the one gunicorn starts
            # in the dead one's place): no lock was left behind, the submission goes through.
            again = submit(browser, server.url, fifth)
            assert submitted(again), (point, again.status, again.text[:500], server.log_tail())
            with database.session() as session:
                assert half_written(session) == {}, point
                assert count_rows(session, email) == {"submissions": 5, "badges": 5, "certificates": 1}, point
    finally:
        stop_process_group(server.process)
    assert killed == len(FAULT_POINTS)
    print(f"\n{killed} workers killed at {', '.join(FAULT_POINTS)}: nothing half-written")


def _try(function, *args):  # type: ignore[no-untyped-def]
    try:
        return function(*args)
    except OSError as error:  # the connection was cut
        return error
