"""Pages under load: shooc's busiest pages served by gunicorn and loaded with wrk,
against a bare Flask hello-world served the same way in the same run, at N
participants (default 100,000), on SQLite (a fresh file) and, when
SHOOC_BENCH_DATABASE_URL is set, PostgreSQL (a database this script empties).

    .venv/bin/python bench/pages.py [--participants N] [--duration S] [--rounds R]

Needs Debian's wrk (``make wrk``, or ``apt-get install wrk``); stops with a message
without it. Prints a table and writes it to bench/results/pages.txt.

How it measures:

- Both apps run under the same gunicorn settings: ``gunicorn -w 2 -k sync -b
  127.0.0.1:PORT``, no access log, started from an empty folder (so no
  ``gunicorn.conf.py`` is picked up) with no GUNICORN_* variables; hello-world is
  ``bench/hello.py``, shooc is ``shooc:create_app()`` with SHOOC_DATABASE_URL,
  SHOOC_SECRET_KEY, SHOOC_INSTANCE_PATH (a temporary folder) and a pool of 2 (+2)
  connections per worker, as ``deploy/env.example`` has it.
- Each page is loaded with ``wrk -t2 -c16 -d<duration>s --latency``; every round
  loads hello-world, then the page, for every page, for ``--rounds`` rounds. A page's
  figure is the median of its rounds: requests/s, the ratio to the hello-world run
  just before it (the median of the per-round ratios, so that a slower moment of the
  machine hits both sides of a ratio alike) and wrk's 99th-percentile latency. Every
  URL is first warmed up (wrk for a couple of seconds, not counted).
- Logged-in pages: the learner and the evaluator log in once over HTTP (the login
  form and its CSRF token, as a browser does, without "keep me logged in", so the one
  cookie is Flask's ``session``); wrk sends the cookie a browser would hold then (taken
  anew before each run: a browser keeps the cookie signed again once a minute) and the
  same User-Agent.
- A redirect to the login page would be fast and wrong, and wrk counts only 4xx/5xx
  as errors: each page is fetched before and after its runs and must answer 200 with
  the right content (the login form would not do), each run's bytes per response
  must be about the page's size, and any non-2xx/3xx response or socket error
  (connect, read, write, timeout) fails the benchmark.

The instance: bench/generate.py's N participants over three runs (two closed, the
national run open: opened 180 days ago, closing in 180), with their answers, badges
and certificates; the learner enrols in the national run today. The evaluator's
page is the national run's statistics.

The learner has submitted workbook 2 (a badge on the dashboard) and answered all
but the last required activity of workbook 1, the workbook page measured (the
editable form with answers in it).

The community (issue 16): 20,000 posts in the national run's first workbook (4,000
threads of a post and four replies; one thread in 50 reported). The learner loads
its discussion (20 threads with their latest replies); a leader loads the run's
moderation queue. Before the load, each of those pages (sorted both ways, deep in
its pages) has its SQL statements counted in this process, at 1,000 posts and again
at 20,000: bounded means the same number; the table says so for each database.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from conftest import answer_required  # noqa: E402
from generate import LIVE_SLUG, generate  # noqa: E402
from processes import free_port, stop_process_group  # noqa: E402

from shooc import create_app  # noqa: E402
from shooc.auth.services import create_user  # noqa: E402
from shooc.enrolment import answers, runs, services  # noqa: E402
from shooc.enrolment.models import Enrolment  # noqa: E402
from shooc.lead import records  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402
from shooc.workbooks.models import WorkbookVersion  # noqa: E402

PASSWORD = "correct horse battery staple"
LEARNER = ("lena.learner@example.net", "Lena Learner")
EVALUATOR = ("eva.evaluator@example.net", "Eva Evaluator")
LEADER = ("leo.leader@example.net", "Leo Leader")
BASE_URL = "https://learn.example.ac.uk"
USER_AGENT = "shooc-bench/1.0"  # the same for the login and for wrk (Flask-Login's session identifier)
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
START_TIMEOUT = 90  # seconds for a gunicorn to answer its first request
P99_GOAL_MS = 50.0  # the pages issue 21 does not name (the leaders' queues)


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    path: str
    who: str | None  # "learner", "evaluator", "leader" or None (anonymous)
    goal_ratio: float
    marker: str  # text the right page has (and the login page has not)
    goal_p99_ms: float = P99_GOAL_MS


def pages(stats_run: str) -> list[Page]:
    """The pages and their goals: issue 21's table (ratio to hello-world, p99) for the
    public course page, the learner's dashboard, workbook and discussion and the
    evaluator's statistics; issue 16/17's for the leaders' queues."""
    return [
        Page("public course page", "/courses/mentoring", None, 0.66, "Register to enrol", 10),
        Page("learner: dashboard", "/dashboard", "learner", 0.25, "Log out", 40),
        Page("learner: workbook", "/courses/mentoring/workbooks/the-mentors-role", "learner", 0.20, 'name="a.', 60),
        # 20,000 posts in the learner's run (issue 16): a page of 20 threads with their latest replies
        Page("learner: discussion", DISCUSSION, "learner", 0.20, "threads</h2>", 60),
        Page("leader: moderation queue", f"/lead/runs/{stats_run}/moderation", "leader", 0.35, "to look at</h2>"),
        # every submission of the run, newest first (issue 17), and one workbook's without feedback
        Page("leader: review queue", f"/lead/runs/{stats_run}/review", "leader", 0.35, "Review queue of"),
        Page("leader: review queue, filtered", f"/lead/runs/{stats_run}/review?workbook=the-mentors-role&unreviewed=1",
             "leader", 0.35, "Review queue of"),
        Page("evaluator: run statistics", f"/evaluate/runs/{stats_run}", "evaluator", 0.25, "Log out", 40),
    ]


class BenchError(RuntimeError):
    """The benchmark could not measure what it meant to: the message says why."""


# The instance ---------------------------------------------------------------------

def submit(session: Any, enrolment: Enrolment, workbook: WorkbookVersion) -> None:
    answer_required(session, enrolment, workbook)
    session.commit()
    answers.submit_workbook(session, enrolment, answers.workbook_state(session, enrolment, workbook))
    session.commit()


DISCUSSION = "/courses/mentoring/workbooks/the-mentors-role/discussion"
POSTS = 20_000  # in the big run's first workbook: threads of one post and four replies
FEW_POSTS = 1_000  # the statements of each page are counted at this many posts, then at POSTS
#: The pages whose SQL statements are counted, and by whom: the discussion sorted both
#: ways and deep in its pages, a thread, and the moderation queue
COUNTED = [("learner", DISCUSSION), ("learner", DISCUSSION + "?sort=helpful"), ("learner", DISCUSSION + "?page=40"),
           ("leader", "/lead/runs/{run}/moderation"), ("leader", "/lead/runs/{run}/moderation?page=2")]


def seed_posts(session: Any, run: Any, workbook_slug: str, count: int, first: int = 0) -> None:
    """``count`` posts by the run's participants, in bulk: a fifth of them threads
    with four replies each, helpful marks of 0 to 6, three threads pinned, one in 50
    reported (the moderation queue); numbered from ``first``, to add to earlier ones."""
    from sqlalchemy import insert, select, update

    from shooc.community.models import Post
    from shooc.db import utcnow

    authors = list(session.scalars(select(Enrolment.user_id).where(
        Enrolment.run_id == run.id, Enrolment.user_id.is_not(None)).limit(5_000)))
    now = utcnow()
    threads = count // 5
    rows = [{"run_id": run.id, "workbook_slug": workbook_slug, "author_id": authors[n % len(authors)],
             "by_course_team": False, "body": f"Thread {n}", "body_html": f"<p>Thread {n}: how do you start?</p>",
             "created_at": now, "helpful_count": n % 7, "reply_count": 4, "open_reports": int(n % 50 == 0)}
            for n in range(first // 5, first // 5 + threads)]
    ids = [row[0] for row in session.execute(insert(Post).returning(Post.id), rows)]
    replies = [{"run_id": run.id, "workbook_slug": workbook_slug, "parent_id": thread_id,
                "author_id": authors[(i * 4 + m + 1) % len(authors)], "by_course_team": False,
                "body": f"Reply {m}", "body_html": f"<p>Reply {m}</p>", "created_at": now,
                "helpful_count": 0, "reply_count": 0, "open_reports": 0}
               for i, thread_id in enumerate(ids) for m in range(4)]
    session.execute(insert(Post), replies)
    if first == 0:
        session.execute(update(Post).where(Post.id.in_(ids[:3])).values(pinned_at=now))


def logged_in(app: Any, email: str) -> Any:
    """Flask's test client for ``app``, logged in by the login form and its CSRF token."""
    client = app.test_client()
    match = CSRF_RE.search(client.get("/auth/login").get_data(as_text=True))
    done = client.post("/auth/login", data={"email": email, "password": PASSWORD,
                                            "csrf_token": match.group(1) if match else ""})
    if done.status_code != 302:
        raise BenchError(f"logging {email} in through the test client: {done.status_code}")
    return client


def count_statements(app: Any, run_slug: str) -> dict[str, int]:
    """The SQL statements each COUNTED page sends, in this process (Flask's test
    client, logged in by the login form), once the published course is in its cache."""
    from sqlalchemy import event

    engine = get_db(app).engine
    clients = {who: logged_in(app, email) for who, (email, _) in (("learner", LEARNER), ("leader", LEADER))}
    counts = {}
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    for who, template in COUNTED:
        path = template.format(run=run_slug)
        clients[who].get(path)  # warm the caches
        statements.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            answer = clients[who].get(path)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        if answer.status_code != 200:
            raise BenchError(f"GET {path} as the {who}: {answer.status_code}")
        counts[path] = len(statements)
    return counts


def app_config(url: str, instance: Path, secret: str) -> dict[str, str]:
    return {"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": str(instance), "SHOOC_SECRET_KEY": secret,
            "SHOOC_BASE_URL": BASE_URL}


@dataclasses.dataclass
class Built:
    run_slug: str
    statements: dict[str, tuple[int, int]]  # per counted page: at FEW_POSTS posts, at POSTS


def build(url: str, participants: int, instance: Path, secret: str) -> Built:
    """Empty the database and make the instance, counting the discussion's and the
    queue's statements at FEW_POSTS posts and again at POSTS."""
    generate(url, participants).database.engine.dispose()
    app = create_app(app_config(url, instance, secret))
    with app.app_context(), get_db(app).session() as session:
        run = runs.find_run(session, LIVE_SLUG)
        learner = create_user(session, LEARNER[0], LEARNER[1], "learner", PASSWORD)
        create_user(session, EVALUATOR[0], EVALUATOR[1], "evaluator", PASSWORD)
        create_user(session, LEADER[0], LEADER[1], "leader", PASSWORD)
        enrolment = services.enrol(session, run, learner.id)
        session.commit()
        first, second = records.course_workbooks(session, run)[:2]
        submit(session, enrolment, second)
        answer_required(session, enrolment, first, leave=1)
        session.commit()
        seed_posts(session, run, first.slug, FEW_POSTS)
        session.commit()
    few = count_statements(app, LIVE_SLUG)
    with app.app_context(), get_db(app).session() as session:
        seed_posts(session, runs.find_run(session, LIVE_SLUG), first.slug, POSTS - FEW_POSTS, first=FEW_POSTS)
        session.commit()
    if get_db(app).engine.dialect.name == "postgresql":
        # As autovacuum would have by now, after a bulk insert: VACUUM also marks the
        # pages all-visible, without which PostgreSQL will not count or read from an
        # index alone (the review queue's count of a run's 45,000 submissions was a
        # 160-200 ms scan of the table instead of a 7 ms walk of its index).
        with get_db(app).engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    many = count_statements(app, LIVE_SLUG)
    get_db(app).engine.dispose()
    return Built(LIVE_SLUG, {path: (few[path], many[path]) for path in many})


# Servers --------------------------------------------------------------------------

@dataclasses.dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} log, last {lines} lines ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without shooc's or gunicorn's settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOOC_", "GUNICORN_"))
           and k not in ("FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY")}
    env.update(extra)
    return env


def _no_control_socket() -> list[str]:
    """gunicorn 25.1+ opens a control socket at a path shared by every gunicorn of the
    user (deploy/gunicorn.conf.py turns it off too); older ones have no such option."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def start_server(name: str, args: Sequence[str], env: dict[str, str], folder: Path, port: int) -> Server:
    """``python -m gunicorn ARGS`` in a session (process group) of its own, so that the
    master and its workers are stopped together; run from ``folder``, its log there."""
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", *_no_control_socket(), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=clean_environment(env),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def wait_until_answering(server: Server, path: str = "/") -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.process.returncode}\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"{server.name} did not answer within {START_TIMEOUT} s\n{server.log_tail()}")
        time.sleep(0.2)


def hello_server(folder: Path) -> Server:
    port = free_port()
    return start_server("hello-world", ["-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
                                        "--pythonpath", str(ROOT / "bench"), "hello:app"], {}, folder, port)


def shooc_server(name: str, url: str, instance: Path, secret: str, folder: Path) -> Server:
    port = free_port()
    env = {**app_config(url, instance, secret), "SHOOC_DATABASE_POOL_SIZE": "2", "SHOOC_DATABASE_MAX_OVERFLOW": "2"}
    return start_server(name, ["-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "shooc:create_app()"],
                        env, folder, port)


# HTTP -----------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # every redirect is looked at, not followed
        return None


@dataclasses.dataclass
class Answer:
    status: int
    headers: Any
    text: str


class Browser:
    """One cookie jar and no redirects followed, with the benchmark's User-Agent."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect)

    def open(self, path: str, data: dict[str, Any] | None = None, timeout: float = 60) -> Answer:
        body = urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"User-Agent": USER_AGENT})
        try:
            response = self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            response = error
        with response:
            return Answer(response.status, response.headers, response.read().decode("utf-8", errors="replace"))

    def csrf(self, path: str) -> str:
        page = self.open(path)
        match = CSRF_RE.search(page.text)
        if page.status != 200 or not match:
            raise BenchError(f"GET {path}: {page.status}, no CSRF token")
        return match.group(1)

    def login(self, email: str, password: str) -> None:
        done = self.open("/auth/login", {"email": email, "password": password, "csrf_token": self.csrf("/auth/login")})
        if done.status != 302:
            raise BenchError(f"logging in {email}: {done.status} (expected a redirect)")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)


def fetch(url: str, cookie: str | None) -> Answer:
    """One GET with exactly the headers wrk sends."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    try:
        response = urllib.request.build_opener(_NoRedirect).open(urllib.request.Request(url, headers=headers),
                                                                 timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return Answer(response.status, response.headers, response.read().decode("utf-8", errors="replace"))


def check_page(url: str, cookie: str | None, marker: str) -> int:
    """Raise unless the page answers 200 with its marker; returns its size in bytes."""
    page = fetch(url, cookie)
    if page.status != 200:
        raise BenchError(f"GET {url} answered {page.status} {page.headers.get('Location', '')}, not 200")
    if marker not in page.text or 'name="password"' in page.text:
        raise BenchError(f"GET {url} answered 200 but not with the expected page (no {marker!r})")
    return len(page.text.encode())


# wrk ------------------------------------------------------------------------------

@dataclasses.dataclass
class Load:
    requests_per_s: float
    p99_ms: float
    requests: int
    bytes_read: float
    bad_status: int
    socket_errors: int

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def parse_wrk(output: str) -> Load:
    """The figures of ``wrk --latency`` output (Debian's wrk 4.1)."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB|TB) read", output, re.MULTILINE)
    if not (rps and p99 and total):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Load(requests_per_s=float(rps.group(1)), p99_ms=float(p99.group(1)) * TIME_UNITS[p99.group(2)],
                requests=int(total.group(1)), bytes_read=float(total.group(2)) * SIZE_UNITS[total.group(3)],
                bad_status=int(bad.group(1)) if bad else 0,
                socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0)


def wrk(url: str, cookie: str | None, seconds: float, threads: int, connections: int) -> Load:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s",
               "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run([*command, url], check=False, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def checked_load(url: str, cookie: str | None, seconds: float, threads: int, connections: int,
                 page_bytes: int) -> Load:
    load = wrk(url, cookie, seconds, threads, connections)
    if load.bad_status or load.socket_errors:
        raise BenchError(f"{url}: {load.bad_status} non-2xx/3xx responses and {load.socket_errors} socket errors "
                         f"in {load.requests} requests")
    if load.bytes_per_request < 0.9 * page_bytes:  # redirects or short answers instead of the page
        raise BenchError(f"{url}: {load.bytes_per_request:.0f} bytes per response, the page has {page_bytes}")
    return load


# The benchmark --------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    page: Page
    loads: list[Load] = dataclasses.field(default_factory=list)
    hellos: list[Load] = dataclasses.field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(x.requests_per_s for x in self.loads)

    @property
    def hello_rps(self) -> float:
        return statistics.median(x.requests_per_s for x in self.hellos)

    @property
    def ratio(self) -> float:
        return statistics.median(p.requests_per_s / h.requests_per_s
                                 for p, h in zip(self.loads, self.hellos, strict=True))

    @property
    def p99_ms(self) -> float:
        return statistics.median(x.p99_ms for x in self.loads)

    @property
    def met(self) -> bool:
        return self.ratio >= self.page.goal_ratio and self.p99_ms < self.page.goal_p99_ms


def measure(server: Server, hello: Server, big_run: str, args: argparse.Namespace) -> list[Row]:
    cookies: dict[str | None, str | None] = {None: None}
    browsers: dict[str, Browser] = {}
    for who, (email, _) in (("learner", LEARNER), ("evaluator", EVALUATOR), ("leader", LEADER)):
        browsers[who] = Browser(server.url)
        browsers[who].login(email, PASSWORD)

    def as_a_browser_holds(who: str | None, path: str) -> str | None:
        """The cookie a browser holds on this page: it keeps the cookie each response
        sends (the login's, then one signed again once a minute). wrk sends one cookie
        for ever, so it is taken anew before each run; sending the login's own made
        every request mint a CSRF token and sign a new cookie (0.3-0.4 ms a request)."""
        if who is None:
            return None
        browsers[who].open(path)
        return browsers[who].cookie_header()

    for who in browsers:
        cookies[who] = as_a_browser_holds(who, next(page.path for page in pages(big_run) if page.who == who))
    rows = [Row(page) for page in pages(big_run)]
    sizes = {}
    hello_bytes = check_page(hello.url + "/", None, "Hello")
    warm = min(2.0, args.duration)
    for row in rows:
        url = server.url + row.page.path
        sizes[row.page.path] = check_page(url, cookies[row.page.who], row.page.marker)
        checked_load(url, cookies[row.page.who], warm, args.threads, args.connections, sizes[row.page.path])
    checked_load(hello.url + "/", None, warm, args.threads, args.connections, hello_bytes)
    for n in range(1, args.rounds + 1):
        for row in rows:
            url, cookie = server.url + row.page.path, as_a_browser_holds(row.page.who, row.page.path)
            row.hellos.append(checked_load(hello.url + "/", None, args.duration, args.threads, args.connections,
                                           hello_bytes))
            row.loads.append(checked_load(url, cookie, args.duration, args.threads, args.connections,
                                          sizes[row.page.path]))
            print(f"  round {n}: {row.page.name:<28}{row.loads[-1].requests_per_s:>9.0f} req/s  "
                  f"(hello-world {row.hellos[-1].requests_per_s:.0f}), p99 {row.loads[-1].p99_ms:.1f} ms", flush=True)
    for row in rows:  # still logged in, still the page
        check_page(server.url + row.page.path, cookies[row.page.who], row.page.marker)
    return rows


def statements_table(counted: list[tuple[str, Built]]) -> str:
    lines = ["", f"SQL statements per page (bounded: the same at {FEW_POSTS:,} posts as at {POSTS:,} in the run)",
             f"{'database':<12}{'page':<62}{FEW_POSTS:>8,}{POSTS:>8,}"]
    for database, built in counted:
        for path, (few, many) in built.statements.items():
            lines.append(f"{database:<12}{path:<62}{few:>8}{many:>8}{'ok' if few == many else 'MISS':>6}")
    return "\n".join(lines)


def table(results: list[tuple[str, list[Row]]], args: argparse.Namespace) -> str:
    lines = [f"Pages under load at {args.participants:,} participants (bench/generate.py): gunicorn -w 2 -k sync, "
             f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, median of {args.rounds} rounds "
             f"alternating with hello-world ({os.cpu_count()} CPUs; load average before "
             f"{args.load_before}, after {' '.join(f'{x:.1f}' for x in os.getloadavg())})",
             f"{'database':<12}{'page':<28}{'req/s':>8}{'hello req/s':>13}{'ratio':>7}{'goal':>7}"
             f"{'p99 ms':>8}{'goal':>6}{'':>6}"]
    for database, rows in results:
        for row in rows:
            lines.append(f"{database:<12}{row.page.name:<28}{row.rps:>8.0f}{row.hello_rps:>13.0f}{row.ratio:>7.2f}"
                         f"{'>=' + format(row.page.goal_ratio, '.2f'):>7}{row.p99_ms:>8.1f}"
                         f"{'<' + format(row.page.goal_p99_ms, 'g'):>6}"
                         f"{'ok' if row.met else 'MISS':>6}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds of each wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/pages.py needs wrk, the HTTP load generator: `make wrk` (as root) or `apt-get install wrk`.",
              file=sys.stderr)
        return 2
    # `kill` (as well as Ctrl-C) still stops the servers below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results: list[tuple[str, list[Row]]] = []
    counted: list[tuple[str, Built]] = []
    running: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="shooc-pages-") as tmp:
        folder = Path(tmp)
        targets = [("SQLite", f"sqlite:///{folder}/bench.sqlite3")]
        if os.environ.get("SHOOC_BENCH_DATABASE_URL"):
            targets.append(("PostgreSQL", os.environ["SHOOC_BENCH_DATABASE_URL"]))
        try:
            hello = hello_server(folder)
            running.append(hello)
            wait_until_answering(hello)
            for database, url in targets:
                instance = folder / f"instance-{database.lower()}"
                instance.mkdir()
                secret = secrets.token_hex(32)
                start = time.perf_counter()
                print(f"{database}: building {args.participants:,} participants ...", flush=True)
                built = build(url, args.participants, instance, secret)
                counted.append((database, built))
                print(f"{database}: built in {time.perf_counter() - start:.0f} s; loading the pages", flush=True)
                server = shooc_server(f"shooc-{database.lower()}", url, instance, secret, folder)
                running.append(server)
                wait_until_answering(server, "/courses/mentoring")
                try:
                    results.append((database, measure(server, hello, built.run_slug, args)))
                except BenchError as exc:
                    raise BenchError(f"{exc}\n{server.log_tail()}") from None
                stop_process_group(server.process)
                running.remove(server)
        except BenchError as exc:
            print(f"bench/pages.py: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in reversed(running):
                stop_process_group(server.process)
    report = table(results, args) + "\n" + statements_table(counted)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pages.txt").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
