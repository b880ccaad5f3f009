"""Background jobs (shooc/jobs.py): state in the database, one run at a time, a stopped
job resumed or failed, never stuck; and across two app servers and an RQ worker."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from conftest import PASSWORD, csrf_token, mentoring
from processes import stop_process_group
from records_data import expected_counts, records_rows, to_csv
from shooc import jobs
from shooc.auth.models import User
from shooc.auth.services import create_user
from shooc.config import PROJECT_ROOT
from shooc.db import Database, utcnow
from shooc.enrolment.models import Run
from shooc.enrolment.runs import create_run
from shooc.enrolment.services import enrol
from shooc.evaluate.stats import run_stats
from shooc.lead import imports, records
from shooc.lead.models import RecordImport
from shooc.mailqueue import DELIVERY_JOB
from shooc.unit_of_work import get_db
from shooc.web import job_environment
from shooc.workbooks.publish import publish_course

OPENS, CLOSES = dt.date(2017, 1, 9), dt.date(2017, 7, 31)
LEADER = "leader@example.org"


def _environment(app: Flask) -> jobs.Environment:
    return job_environment(app)


def _set(database: Database, job_id: int, **values: object) -> None:
    with database.session() as session, session.begin():
        session.execute(update(jobs.Job).where(jobs.Job.id == job_id).values(**values))


def _job(database: Database, job_id: int) -> jobs.Job:
    with database.session() as session:
        job = session.get_one(jobs.Job, job_id)
        session.expunge(job)
        return job


def _queued(database: Database, kind: str = DELIVERY_JOB) -> int:
    with database.session() as session, session.begin():
        return jobs.create(session, kind).id


# The state machine, on both databases ---------------------------------------------------

def test_a_queued_job_runs_once_whoever_else_tries(committed_app: Flask) -> None:
    environment = _environment(committed_app)
    job_id = _queued(environment.database)
    assert jobs.run(environment, job_id) == "done"
    assert jobs.run(environment, job_id) is None  # not queued any more: nobody runs it twice
    job = _job(environment.database, job_id)
    assert (job.status, job.attempts, job.error) == ("done", 1, None)
    assert job.started_at <= job.finished_at


def test_a_job_of_no_known_kind_is_refused_when_created(db: Session) -> None:
    with pytest.raises(LookupError, match="no handler for jobs of kind 'nothing.such'"):
        jobs.create(db, "nothing.such")


def test_a_stopped_job_is_queued_again_then_failed_after_its_third_start(committed_app: Flask) -> None:
    database = get_db(committed_app)
    job_id = _queued(database)
    an_hour_ago = utcnow() - dt.timedelta(hours=1)
    after = dt.timedelta(minutes=5)
    for attempt in (1, 2):
        # started, then its server stopped: running, and no heartbeat for an hour
        _set(database, job_id, status="running", attempts=attempt, heartbeat_at=an_hour_ago)
        with database.session() as session, session.begin():
            assert jobs.recover(session, after) == [job_id]
        job = _job(database, job_id)
        assert (job.status, job.attempts) == ("queued", attempt)
        with database.session() as session, session.begin():
            assert jobs.recover(session, after) == []  # queued again just now: not stale
    _set(database, job_id, status="running", attempts=3, heartbeat_at=an_hour_ago)
    with database.session() as session, session.begin():
        assert jobs.recover(session, after) == []
    job = _job(database, job_id)
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == ("stopped 3 times before it finished (was its server or worker restarted?); "
                         "nothing after the last progress shown was kept")


def test_a_job_queued_long_ago_that_never_started_is_queued_again(committed_app: Flask) -> None:
    database = get_db(committed_app)
    job_id = _queued(database)  # its thread died with the server, or Redis lost its queue
    with database.session() as session, session.begin():
        assert jobs.recover(session, dt.timedelta(minutes=5)) == []  # just queued: left alone
    _set(database, job_id, created_at=utcnow() - dt.timedelta(hours=1))
    with database.session() as session, session.begin():
        assert jobs.recover(session, dt.timedelta(minutes=5)) == [job_id]
    assert jobs.run(_environment(committed_app), job_id) == "done"


def test_a_run_presumed_dead_but_only_slow_can_keep_nothing_more(committed_app: Flask) -> None:
    """The attempt number fences the job: the old run's next progress is refused, in the
    transaction of the work it reports, so that work is rolled back."""
    database = get_db(committed_app)
    job_id = _queued(database)
    slow = jobs._claim(database, job_id)
    assert slow is not None
    _set(database, job_id, heartbeat_at=utcnow() - dt.timedelta(hours=1))
    with database.session() as session, session.begin():
        assert jobs.recover(session, dt.timedelta(minutes=5)) == [job_id]
    fresh = jobs._claim(database, job_id)
    assert fresh is not None and fresh.attempt == 2
    with database.session() as session, pytest.raises(jobs.Superseded):
        with session.begin():
            slow.progress(session, 10, 10)
    with database.session() as session, session.begin():
        fresh.progress(session, 3, 10)
    job = _job(database, job_id)
    assert (job.done, job.total, job.attempts) == (3, 10, 2)


# Records imports as jobs ------------------------------------------------------------------

def _course_run_leader(database: Database) -> tuple[int, str]:
    with database.session() as session, session.begin():
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, OPENS, CLOSES, slug="2017-rolling")
        create_user(session, LEADER, "Lee Leader", "leader", PASSWORD)
        return run.id, run.slug


def _stage_import(database: Database, run_id: int, rows: list[dict]) -> tuple[int, int]:
    """A checked file with its queued job, committed, as the upload leaves it."""
    with database.session() as session, session.begin():
        run = session.get_one(Run, run_id)
        data = to_csv(rows)
        checked = records.check_file(session, run, data, "2017.csv")
        leader = session.scalars(select(User).where(User.email == LEADER)).one()
        record = imports.queue_import(session, run, checked, data, leader)
        return record.id, record.job_id


def _log_in(app: Flask):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.post("/auth/login", data={"email": LEADER, "password": PASSWORD, "csrf_token": csrf_token(client)})
    return client


def _page_until(client, url: str, text: str, seconds: float = 60) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(url).get_data(as_text=True)
        if text in body or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_an_import_whose_server_stopped_is_resumed_when_its_page_is_looked_at(committed_app: Flask) -> None:
    # Stale after 10 s: each batch of 1,000 rows beats well within that, even on a loaded machine.
    committed_app.config.update(SHOOC_JOB_RUNNER="thread", SHOOC_JOB_STALE_SECONDS=10)
    database = get_db(committed_app)
    run_id, _ = _course_run_leader(database)
    rows = records_rows(1_200, OPENS, CLOSES, seed=11)
    import_id, job_id = _stage_import(database, run_id, rows)
    # Its server took it, then stopped: running, no heartbeat since.
    _set(database, job_id, status="running", attempts=1, heartbeat_at=utcnow() - dt.timedelta(minutes=1))
    body = _page_until(_log_in(committed_app), f"/lead/imports/{import_id}", "Imported 1,200 rows")
    assert "Imported 1,200 rows" in body
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.done, job.total) == ("done", 2, 1_200, 1_200)
    with database.session() as session:
        figures = run_stats(session, session.get_one(Run, run_id))
        record = session.get_one(RecordImport, import_id)
        assert record.data == b"" and record.summary["rows"] == 1_200
    expected = expected_counts(rows)
    assert {k: figures[k] for k in expected} == expected


def test_an_import_that_fails_in_its_job_says_why_and_imports_nothing(committed_app: Flask) -> None:
    """Checked at upload, then one address became a leader's before the job ran: the
    job checks again, fails, and its page names the row."""
    committed_app.config.update(SHOOC_JOB_RUNNER="inline")
    database = get_db(committed_app)
    run_id, _ = _course_run_leader(database)
    rows = records_rows(30, OPENS, CLOSES, seed=5)
    import_id, job_id = _stage_import(database, run_id, rows)
    with database.session() as session, session.begin():
        create_user(session, rows[3]["email"], "Now a leader", "leader", PASSWORD)
    assert jobs.run(_environment(committed_app), job_id) == "failed"
    body = _log_in(committed_app).get(f"/lead/imports/{import_id}").get_data(as_text=True)
    assert ("The import failed and nothing was imported: 2017.csv:5: "
            f"{rows[3]['email']} is a staff account (leader), not a participant") in body
    assert 'http-equiv="refresh"' not in body
    with database.session() as session:
        assert run_stats(session, session.get_one(Run, run_id))["registered"] == 0


def test_an_announcements_mail_is_delivered_by_its_job(committed_app: Flask, tmp_path: Path) -> None:
    from shooc.mailqueue import OutgoingMail

    committed_app.config.update(SHOOC_JOB_RUNNER="thread")
    database = get_db(committed_app)
    run_id, slug = _course_run_leader(database)
    with database.session() as session, session.begin():
        learner = create_user(session, "opted.in@example.org", "Opted In", "learner", PASSWORD)
        learner.email_opt_in, learner.email_verified_at = True, utcnow()
        session.flush()
        enrol(session, session.get_one(Run, run_id), learner.id, today=OPENS)
    client = _log_in(committed_app)
    token = csrf_token(client, f"/lead/runs/{slug}/announcements")
    response = client.post(f"/lead/runs/{slug}/announcements",
                           data={"csrf_token": token, "title": "Week two", "body": "The webinar is on Tuesday."})
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.session() as session:
            job = session.scalars(select(jobs.Job).where(jobs.Job.kind == DELIVERY_JOB)).one()
            sent = session.scalars(select(OutgoingMail.sent_at)).all()
            if job.finished:
                break
        time.sleep(0.1)
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    assert len(sent) == 1 and sent[0] is not None
    assert list((Path(committed_app.instance_path) / "outbox").iterdir())


# Two app servers and an RQ worker on one PostgreSQL and one Redis ---------------------------

def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


PROGRESS_RE = re.compile(r"([\d,]+) of ([\d,]+) rows")


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.own_database  # shooc_multiserver, as tests/test_multiserver.py
def test_an_import_on_one_server_shows_its_progress_on_the_other_and_survives_its_worker(
        tmp_path: Path) -> None:
    """A leader uploads 3,000 rows to server A; server B's page shows the same progress;
    the RQ worker is killed with the second batch written but not committed; a new
    worker resumes after the first batch and every figure comes out exact."""
    import urllib.error
    import urllib.request

    pytest.importorskip("rq")
    from test_multiserver import DATABASE_URL, REDIS_URL, Browser, _postgres_or_skip, _start, _wait_until_answering

    from conftest import _reset_postgres
    from shooc.migrate import upgrade

    _postgres_or_skip()
    _reset_postgres(DATABASE_URL)
    database = Database(DATABASE_URL)
    upgrade(database)
    run_id, slug = _course_run_leader(database)
    faults = tmp_path / "faults"
    faults.mkdir()
    secret = secrets.token_hex(32)
    env = {"SHOOC_REDIS_URL": REDIS_URL, "SHOOC_REDIS_PREFIX": "shooc-jobs-" + secrets.token_hex(4),
           "SHOOC_JOB_RUNNER": "rq", "SHOOC_JOB_STALE_SECONDS": "8", "SHOOC_IMPORT_INLINE_ROWS": "100",
           "SHOOC_TEST_FAULT_DIR": str(faults)}
    servers, workers = [], []

    def worker(name: str) -> subprocess.Popen:
        log = (tmp_path / f"worker-{name}.log").open("wb")
        process_env = {k: v for k, v in os.environ.items() if not k.startswith("SHOOC_")}
        process_env.update(env, SHOOC_DATABASE_URL=DATABASE_URL, SHOOC_SECRET_KEY=secret,
                           SHOOC_INSTANCE_PATH=str(tmp_path / f"worker-{name}"), PYTHONUNBUFFERED="1")
        process = subprocess.Popen([sys.executable, "-m", "shooc", "jobs", "work"], cwd=PROJECT_ROOT,
                                   env=process_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        workers.append(process)
        return process

    try:
        for name in ("A", "B"):
            servers.append(_start(name, DATABASE_URL, secret, tmp_path, env))
        for server in servers:
            _wait_until_answering(server)
        a, b = servers
        first = worker("1")
        (faults / "records-import-batch").touch()  # the worker stops inside the second batch

        browser = Browser()
        page = browser.get(a.url + "/auth/login")
        browser.open(a.url + "/auth/login", {"email": LEADER, "password": PASSWORD, "csrf_token": page.csrf()})
        form = browser.get(f"{a.url}/lead/runs/{slug}/import")
        rows = records_rows(3_000, OPENS, CLOSES, seed=17)
        body, content_type = _multipart({"csrf_token": form.csrf()}, "2017.csv", to_csv(rows))
        request = urllib.request.Request(f"{a.url}/lead/runs/{slug}/import", data=body,
                                         headers={"Content-Type": content_type})
        with pytest.raises(urllib.error.HTTPError) as redirect:  # the test's opener follows no redirect
            browser.opener.open(request, timeout=60)
        assert redirect.value.code == 302
        with database.session() as session:
            record = session.scalars(select(RecordImport)).one()
            job_page = f"/lead/imports/{record.id}"

        # Server B shows the worker's progress: the first batch kept, stopped in the second.
        deadline = time.monotonic() + 60
        while not list(faults.glob("records-import-batch.*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(faults.glob("records-import-batch.*")), "the worker never reached the second batch"
        on_b = browser.get(b.url + job_page).text
        assert PROGRESS_RE.search(on_b).groups() == ("1,000", "3,000"), on_b
        assert 'http-equiv="refresh"' in on_b
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        worker("2")  # finds the job stale within SHOOC_JOB_STALE_SECONDS and resumes it
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            on_b = browser.get(b.url + job_page).text
            if "Imported 3,000 rows" in on_b:
                break
            time.sleep(0.3)
        assert "Imported 3,000 rows" in on_b, on_b
        with database.session() as session:
            job = session.get_one(jobs.Job, record.job_id)
            assert (job.status, job.attempts, job.done) == ("done", 2, 3_000)
            figures = run_stats(session, session.get_one(Run, run_id))
        expected = expected_counts(rows)
        assert {k: figures[k] for k in expected} == expected  # the first batch not counted twice
        on_a = browser.get(a.url + job_page).text
        assert "Imported 3,000 rows" in on_a
    finally:
        for process in [*workers, *(s.process for s in servers)]:
            stop_process_group(process)
        database.engine.dispose()
