"""Two app servers, one PostgreSQL database: the scale-out claim of DESIGN.md §2, proved.

Two gunicorns start exactly as deploy/shooc.service starts one (``gunicorn -c
deploy/gunicorn.conf.py 'shooc:create_app()'`` from the checkout), each with two sync
workers, on its own port and with its own, empty instance folder. They share only
what README ("From one machine to several") says servers share: SHOOC_DATABASE_URL,
SHOOC_SECRET_KEY and SHOOC_BASE_URL. One learner, with one cookie jar as a browser
behind a load balancer would have, then goes through the whole course hopping
between the two: log in on A, enrol on B, a draft saved on A is found on B, the five
workbooks completed and submitted on alternate servers, the dashboard, the baked
badge and the certificate PDF, and logging out on B ends the session on A.

The database is ``shooc_multiserver`` on 127.0.0.1:5432 (SHOOC_MULTISERVER_DATABASE_URL
to use another), emptied and migrated here; never the ``test`` database of the rest
of the suite. Without a reachable PostgreSQL the test is skipped, unless
SHOOC_REQUIRE_POSTGRES=1, when that is a failure.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from conftest import MENTORING, PASSWORD, _reset_postgres, unavailable
from processes import free_port, stop_process_group
from shooc.auth.models import Role
from shooc.auth.services import create_user
from shooc.config import PROJECT_ROOT
from shooc.db import Database
from shooc.enrolment.runs import create_run
from shooc.migrate import upgrade
from quiz_kit import choose
from shooc.workbooks.loader import CourseSource, load_course
from shooc.workbooks.publish import publish_course

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.own_database]  # real gunicorns, started here (make test keeps each file in one xdist worker)

REDIS_URL = os.environ.get("SHOOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASE_URL = os.environ.get("SHOOC_MULTISERVER_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/shooc_multiserver")
BASE_URL = "https://learn.example.ac.uk"  # shared by both servers: badge ids do not depend on which answered
LEARNER = "mira.multiserver@example.org"
START_TIMEOUT = 60  # seconds for a gunicorn to answer its first request
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# The database ---------------------------------------------------------------------

def _postgres_or_skip() -> None:
    admin = make_url(DATABASE_URL).set(database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            name = make_url(DATABASE_URL).database
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001  (any failure to reach PostgreSQL)
        unavailable("POSTGRES", f"PostgreSQL is not reachable at {admin.render_as_string(hide_password=True)}: {exc}")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def course() -> CourseSource:
    loaded = load_course(MENTORING)
    assert loaded.ok, [str(p) for p in loaded.problems]
    assert loaded.course is not None
    return loaded.course


@pytest.fixture(scope="module")
def database(course: CourseSource) -> Iterator[str]:
    """shooc_multiserver, emptied, migrated, with the course published, a run open and
    one learner account (made as an administrator would: confirmed)."""
    _postgres_or_skip()
    _reset_postgres(DATABASE_URL)
    db = Database(DATABASE_URL)
    try:
        upgrade(db)
        with db.session() as session:
            published = publish_course(session, course)
            today = dt.date.today()
            create_run(session, published.course, today - dt.timedelta(days=7), today + dt.timedelta(days=90),
                       name="Two-server run")
            create_user(session, LEARNER, "Mira Multiserver", Role.learner, PASSWORD)
            session.commit()
    finally:
        db.engine.dispose()
    yield DATABASE_URL


# The servers ----------------------------------------------------------------------

@dataclass
class Server:
    name: str
    url: str
    instance: Path
    log: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 40) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- gunicorn {self.name} log (last {lines} lines) ---\n" + "\n".join(text_.splitlines()[-lines:])


def _start(name: str, database_url: str, secret: str, tmp: Path, extra_env: dict[str, str]) -> Server:
    instance = tmp / f"instance-{name}"
    instance.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHOOC_", "GUNICORN_")) and k not in ("FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY")}
    env.update({
        "SHOOC_DATABASE_URL": database_url,
        "SHOOC_SECRET_KEY": secret,
        "SHOOC_BASE_URL": BASE_URL,
        "SHOOC_INSTANCE_PATH": str(instance),
        "SHOOC_DATABASE_POOL_SIZE": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESS_LOG": "-",
        "PYTHONUNBUFFERED": "1",
        **extra_env,  # last: a caller may change any of the above
    })
    log = tmp / f"gunicorn-{name}.log"
    with log.open("wb") as out:
        # As deploy/shooc.service runs it: from the checkout, with the deploy config.
        # A session (process group) of its own, so that the master and its workers
        # are ended together, whatever happens to the test.
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "shooc:create_app()"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    return Server(name, f"http://127.0.0.1:{port}", instance, log, process)


def _wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn {server.name} exited with {server.process.returncode}\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn {server.name} did not answer within {START_TIMEOUT} s\n{server.log_tail()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    pytest.importorskip("gunicorn", reason="gunicorn is in the test extra: pip install -e '.[test]'")
    tmp = tmp_path_factory.mktemp("multiserver")
    secret = secrets.token_hex(32)  # the one thing both must be given alike (with the database)
    started: list[Server] = []
    # The rate limits' counts, shared as README says (a prefix of this test's own)
    redis = {"SHOOC_REDIS_URL": REDIS_URL, "SHOOC_REDIS_PREFIX": "shooc-multiserver-" + secrets.token_hex(4)}
    try:
        for name in ("A", "B"):
            started.append(_start(name, database, secret, tmp, redis))
        for server in started:
            _wait_until_answering(server)
        yield started[0], started[1]
    finally:
        for server in started:
            stop_process_group(server.process)


# A browser: one cookie jar, whichever server answers ------------------------------

@dataclass
class Page:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def csrf(self) -> str:
        match = CSRF_RE.search(self.text)
        assert match, "no CSRF token on the page"
        return match.group(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # the test looks at each redirect itself
        return None


class Browser:
    def __init__(self) -> None:
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect)

    def open(self, url: str, data: dict[str, Any] | None = None, accept: str | None = None) -> Page:
        body = urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Accept": accept} if accept else {})
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx: looked at by the test
            response = error
        with response:
            return Page(response.status, response.headers, response.read())

    def get(self, url: str, accept: str | None = None) -> Page:
        return self.open(url, accept=accept)

    def post_form(self, url: str, fields: dict[str, Any]) -> Page:
        """GET the page, then POST its form with the page's CSRF token, as a browser does."""
        page = self.get(url)
        assert page.status == 200, (url, page.status)
        return self.open(url, {**fields, "csrf_token": page.csrf()})


def workbook_answers(workbook, page_html: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Form fields that complete every required activity of a workbook (a quiz's right
    options chosen by their text on the learner's page ``page_html``)."""
    fields: dict[str, Any] = {}
    for activity in workbook.activities:
        if not activity.required:
            continue
        prefix, definition = f"a.{activity.id}", activity.definition
        if activity.kind in ("reflection", "discussion"):
            words = max(definition.get("min_words") or 0, 5)
            fields[f"{prefix}.text"] = " ".join(f"thought{i}" for i in range(words))
        elif activity.kind == "quiz":
            fields.update(choose(page_html, activity.id, definition))
        elif activity.kind == "self-assessment":
            for statement in definition["statements"]:
                fields[f"{prefix}.{statement['id']}"] = "4"
        elif activity.kind == "smart-goal":
            for key in ("specific", "measurable", "achievable", "relevant", "time_bound"):
                fields[f"{prefix}.{key}"] = f"My {key.replace('_', '-')} part of the goal"
            fields[f"{prefix}.target_date"] = (dt.date.today() + dt.timedelta(days=60)).isoformat()
        elif activity.kind == "media":
            fields[f"{prefix}.watched"] = "yes"
        else:
            raise AssertionError(f"no answer for kind {activity.kind}")
    return fields


def _served(server: Server, request_line: str) -> bool:
    return request_line in server.log.read_text(errors="replace")


# The journey ----------------------------------------------------------------------

def test_a_learner_goes_through_the_course_across_two_app_servers(servers: tuple[Server, Server],
                                                                  course: CourseSource) -> None:
    a, b = servers
    browser = Browser()
    slugs = [w.slug for w in course.workbooks]
    assert len(slugs) == 5

    # Log in on A.
    login = browser.post_form(a.url + "/auth/login", {"email": LEARNER, "password": PASSWORD})
    assert login.status == 302, (login.status, a.log_tail())
    assert browser.get(a.url + "/dashboard").status == 200

    # Enrol on B: the session signed by A is B's too, and so is A's CSRF token.
    course_page = browser.get(b.url + "/courses/mentoring")
    assert course_page.status == 200 and "Enrol now" in course_page.text, b.log_tail()
    run_slug = re.search(r'name="run" value="([^"]+)"', course_page.text).group(1)  # type: ignore[union-attr]
    enrolled = browser.open(b.url + "/courses/mentoring/enrol", {"run": run_slug, "csrf_token": course_page.csrf()})
    assert enrolled.status == 302 and enrolled.location.endswith("/dashboard"), (enrolled.status, b.log_tail())
    assert "0 of 5 workbooks submitted" in browser.get(a.url + "/dashboard").text

    # A draft saved on A is there on B.
    first = f"/courses/mentoring/workbooks/{slugs[0]}"
    reflection = next(x for x in course.workbooks[0].activities if x.kind == "reflection")
    draft = "Draft written on server A, read back on server B."
    saved = browser.post_form(a.url + first, {f"a.{reflection.id}.text": draft, "action": "save"})
    assert saved.status == 302, (saved.status, a.log_tail())
    assert draft in browser.get(b.url + first).text

    # Five workbooks, alternating: quizzes checked on one server, the workbook
    # submitted on the other.
    for n, workbook in enumerate(course.workbooks):
        checker, submitter = (a, b) if n % 2 == 0 else (b, a)
        path = f"/courses/mentoring/workbooks/{workbook.slug}"
        answers = workbook_answers(workbook, browser.get(checker.url + path).text)
        for quiz in (x for x in workbook.activities if x.kind == "quiz"):
            checked = browser.post_form(checker.url + path, {**answers, "action": f"check:{quiz.id}"})
            assert checked.status == 302, (workbook.slug, checked.status, checker.log_tail())
        submitted = browser.post_form(submitter.url + path, {**answers, "action": "submit"})
        assert submitted.status == 302 and submitted.location.endswith("/dashboard"), (
            workbook.slug, submitted.status, re.findall(r'class="missing[^"]*"[^>]*>([^<]+)', submitted.text),
            submitter.log_tail())

    # The dashboard on A: five of five.
    dashboard = browser.get(a.url + "/dashboard").text
    assert "5 of 5 workbooks submitted" in dashboard
    assert "You have submitted all 5 workbooks" in dashboard

    # My badges (on B): five badges and the certificate.
    my_badges = browser.get(b.url + "/badges").text
    assertion_ids = list(dict.fromkeys(re.findall(r'/badges/assertions/([^/".]+)\.png', my_badges)))
    assert len(assertion_ids) == 5, my_badges[:2000]
    code = re.search(r'/certificates/([^/".]+)\.pdf', my_badges).group(1)  # type: ignore[union-attr]

    # The certificate PDF from B; A answers with the very same file (kept in the database).
    pdf_b = browser.get(f"{b.url}/certificates/{code}.pdf")
    assert pdf_b.status == 200 and pdf_b.headers["Content-Type"] == "application/pdf"
    assert pdf_b.body.startswith(b"%PDF-")
    assert browser.get(f"{a.url}/certificates/{code}.pdf").body == pdf_b.body

    # A badge: its assertion from B, its baked image from A, one and the same id.
    from openbadges_bakery import unbake

    assertion_id = assertion_ids[0]
    document = json.loads(browser.get(f"{b.url}/badges/assertions/{assertion_id}", accept="application/ld+json").body)
    assert document["id"] == f"{BASE_URL}/badges/assertions/{assertion_id}"
    png = browser.get(f"{a.url}/badges/assertions/{assertion_id}.png")
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    baked = json.loads(unbake(io.BytesIO(png.body)))
    assert baked["id"] == document["id"] and baked["recipient"] == document["recipient"]

    # Log out on B: the session is over on A, even for a copy of the old cookie.
    old_cookies = [(c.name, c.value) for c in browser.cookies]
    logout = browser.post_form(b.url + "/auth/logout", {})
    assert logout.status == 302
    after = browser.get(a.url + "/dashboard")
    assert after.status == 302 and "/auth/login" in after.location
    replay = urllib.request.Request(a.url + "/dashboard",
                                    headers={"Cookie": "; ".join(f"{k}={v}" for k, v in old_cookies)})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(_NoRedirect).open(replay, timeout=30)
    assert refused.value.code == 302 and "/auth/login" in refused.value.headers["Location"]

    # Both servers really served the journey (their own access logs) ...
    assert _served(a, '"POST /auth/login') and _served(b, '"POST /courses/mentoring/enrol')
    assert _served(a, f'"POST /courses/mentoring/workbooks/{slugs[1]}') and _served(b, f'"POST /courses/mentoring/workbooks/{slugs[0]}')
    # ... and neither wrote anything to its instance folder that the other needed:
    # no database, no secret key (the one generated when none is given).
    for server in (a, b):
        kept = sorted(p.relative_to(server.instance).as_posix() for p in server.instance.rglob("*"))
        assert not [p for p in kept if p == "secret_key" or p.endswith((".sqlite3", ".db"))], (server.name, kept)


def test_failed_logins_count_once_across_both_servers(servers: tuple[Server, Server]) -> None:
    """Four gunicorn workers on two servers, one count in Redis: ten failed logins
    from one address spread over them lock the account at that address on both
    servers, as one process's would. (With each process counting alone, an attacker
    would get four times the attempts.)"""
    from test_rate_limits import redis_reachable

    if not redis_reachable(REDIS_URL):
        unavailable("REDIS", f"Redis is not reachable at {REDIS_URL}")
    a, b = servers
    target = "someone.else@example.org"

    def attempt(server: Server) -> int:
        return Browser().post_form(server.url + "/auth/login", {"email": target, "password": "a guess"}).status

    assert [attempt(a if n % 2 else b) for n in range(10)] == [422] * 10
    assert attempt(a) == 429 and attempt(b) == 429
