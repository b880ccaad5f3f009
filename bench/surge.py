"""A surge: L learners (default 200) submit their fifth workbook at the same moment,
over real HTTP, to a gunicorn started as deploy/shooc.service starts it, against
PostgreSQL (SHOOC_BENCH_DATABASE_URL, a database this script empties; without it the
benchmark says it is skipped and exits 0).

    .venv/bin/python bench/surge.py [--learners L] [--workers W]

Prints a table and writes it to bench/results/surge.txt; exits 1 if anything was
wrong (a failed request, a certificate or badge too many or too few, counters that
differ from a recount, an error in the server's log).

How:

- The instance: the course published, a run opened today, L learner accounts, each
  enrolled, with workbooks 1 to 4 submitted and every required activity of workbook
  5 answered (its quiz marked), made through the same services the pages call.
- The server: ``gunicorn -c deploy/gunicorn.conf.py 'shooc:create_app()'`` with W
  sync workers (default 2 x CPUs + 1, the deploy rule, at most 17), a pool of 2 (+2)
  connections per worker as in deploy/env.example, no access log.
- Each learner logs in over HTTP (the login form and its CSRF token), then opens
  workbook 5 (its form's CSRF token). Then L threads, each with its own connection
  and its learner's cookie, wait at a ``threading.Barrier`` and all post the
  workbook's form at once, answers and the Submit button, as a browser does. Each
  latency runs from just before connecting to the last byte of the answer, which
  must be the redirect to the dashboard that a successful submission gives.
  The L requests queue in gunicorn's listen backlog and are served W at a time, so
  the distribution shows the wait of the last in the queue as well as the work.
- Then, from the database: no error, exactly L certificates and 5 x L badges in the
  run, every enrolment at 5 submitted workbooks, and ``counters.read`` equal to
  ``counters.recount`` for the run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import math
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from pages import (CSRF_RE, PASSWORD, USER_AGENT, BenchError, Browser, Server, answer_required,  # noqa: E402
                   app_config, free_port, start_server, stop_process_group, submit,
                   wait_until_answering)
from records_import import fresh_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from shooc.lead import records  # noqa: E402
from shooc import create_app  # noqa: E402
from shooc.auth.services import create_user  # noqa: E402
from shooc.badges.models import BadgeAssertion, Certificate  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402
from shooc.enrolment import runs
from shooc.enrolment import services
from shooc.enrolment.models import Enrolment, Submission  # noqa: E402
from shooc.evaluate import counters  # noqa: E402
from shooc.workbooks.activities import question_id  # noqa: E402

RUN_SLUG = "surge"
WORKBOOKS = 5


def email(n: int) -> str:
    return f"surge{n:04d}@example.org"


def build(url: str, learners: int, instance: Path, secret: str) -> tuple[str, dict[str, Any]]:
    """The run and its learners, ready to submit workbook 5; returns the workbook's
    path and the form its page posts."""
    fresh_database(url).engine.dispose()  # migrated, the course published
    app = create_app(app_config(url, instance, secret))
    today = dt.date.today()
    with app.app_context(), get_db(app).session() as session:
        course = runs.find_run(session, "2017-rolling").course
        run = runs.create_run(session, course, today - dt.timedelta(days=30), today + dt.timedelta(days=90),
                                  name="Surge run", slug=RUN_SLUG)
        session.commit()
        workbooks = records.course_workbooks(session, run)
        assert len(workbooks) == WORKBOOKS, [w.slug for w in workbooks]
        for n in range(learners):
            user = create_user(session, email(n), f"Surge Learner {n:04d}", "learner", PASSWORD)
            enrolment = services.enrol(session, run, user.id)
            session.commit()
            for workbook in workbooks[:-1]:
                submit(session, enrolment, workbook)
            answer_required(session, enrolment, workbooks[-1])
            session.commit()
            if (n + 1) % 50 == 0:
                print(f"  {n + 1} learners ready", flush=True)
        last = workbooks[-1]
        form = form_fields(last)
    get_db(app).engine.dispose()
    return f"/courses/{course.slug}/workbooks/{last.slug}", form


def form_fields(workbook: Any) -> dict[str, Any]:
    """The workbook form as the learner's browser posts it once every required activity
    is answered (the same answers as answer_required saved), with the Submit button."""
    fields: dict[str, Any] = {"action": "submit"}
    for activity in workbook.activities:
        if not activity.required:
            continue
        prefix, definition = f"a.{activity.activity_id}", activity.definition
        if activity.kind in ("reflection", "discussion"):
            fields[f"{prefix}.text"] = " ".join(["word"] * max(definition.get("min_words") or 0, 5))
        elif activity.kind == "quiz":
            for i, question in enumerate(definition["questions"]):
                fields[f"{prefix}.{question_id(question, i)}"] = [
                    str(j) for j, option in enumerate(question["options"]) if option.get("correct")]
        elif activity.kind == "self-assessment":
            for statement in definition["statements"]:
                fields[f"{prefix}.{statement['id']}"] = "4"
        elif activity.kind == "smart-goal":
            for key in ("specific", "measurable", "achievable", "relevant", "time_bound"):
                fields[f"{prefix}.{key}"] = "done"
            fields[f"{prefix}.target_date"] = "2030-01-01"
        elif activity.kind == "media":
            fields[f"{prefix}.watched"] = "yes"
        else:
            raise BenchError(f"no form answer for activity kind {activity.kind}")
    return fields


def surge_server(url: str, instance: Path, secret: str, folder: Path, workers: int) -> Server:
    port = free_port()
    env = {**app_config(url, instance, secret), "SHOOC_DATABASE_POOL_SIZE": "2", "SHOOC_DATABASE_MAX_OVERFLOW": "2",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESS_LOG": "",
           "GUNICORN_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}
    return start_server("shooc", ["-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "shooc:create_app()"],
                        env, folder, port)


def prepare(server: Server, path: str, n: int) -> tuple[str, str]:
    """Learner n logged in, workbook 5 open: (cookie header, the form's CSRF token)."""
    browser = Browser(server.url)
    browser.login(email(n), PASSWORD)
    page = browser.open(path)
    token = CSRF_RE.search(page.text)
    if page.status != 200 or not token or 'value="submit"' not in page.text:
        raise BenchError(f"learner {n}: workbook 5 answered {page.status} without its form")
    return browser.cookie_header(), token.group(1)


def post_at_once(server: Server, path: str, form: dict[str, Any],
                 learners: list[tuple[str, str]]) -> tuple[list[tuple[float, int, str]], float]:
    """Every learner posts the form at the same moment; (latency s, status, Location
    or error) each, and the seconds from the barrier to the last answer."""
    address = urlsplit(server.url)
    barrier = threading.Barrier(len(learners) + 1)
    results: list[Any] = [None] * len(learners)

    def one(i: int, cookie: str, token: str) -> None:
        body = urlencode({**form, "csrf_token": token}, doseq=True).encode()
        headers = {"Cookie": cookie, "User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
        barrier.wait()
        start = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            results[i] = (time.perf_counter() - start, response.status, response.getheader("Location") or "")
        except Exception as exc:  # noqa: BLE001  (reported as that learner's error)
            results[i] = (time.perf_counter() - start, 0, f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i, cookie, token)) for i, (cookie, token) in enumerate(learners)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def verify(url: str, instance: Path, secret: str, learners: int) -> list[tuple[str, Any, Any]]:
    """(what, found, expected) for each check of the database after the surge."""
    app = create_app(app_config(url, instance, secret))
    with app.app_context(), get_db(app).session() as session:
        run = runs.find_run(session, RUN_SLUG)
        in_run = select(Enrolment.id).where(Enrolment.run_id == run.id)
        certificates = session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.enrolment_id.in_(in_run), Certificate.revoked_at.is_(None)))
        badges = session.scalar(select(func.count()).select_from(BadgeAssertion).where(
            BadgeAssertion.enrolment_id.in_(in_run), BadgeAssertion.revoked_at.is_(None)))
        submissions = session.scalar(select(func.count()).select_from(Submission).where(
            Submission.enrolment_id.in_(in_run)))
        finished = session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.run_id == run.id, Enrolment.submitted_count == WORKBOOKS))
        read, recount = counters.read(session, run), counters.recount(session, run)
        checks = [("certificates", certificates, learners), ("badges", badges, WORKBOOKS * learners),
                  ("submissions", submissions, WORKBOOKS * learners),
                  ("enrolments with 5 submitted", finished, learners),
                  ("counters: certificates awarded", read["totals"].get("certificates_awarded"), learners),
                  ("counters.read == counters.recount", read == recount, True)]
        if read != recount:
            differ = {k: (read[k], recount[k]) for k in read if read[k] != recount.get(k)}
            print(f"counters differ from the recount: {differ}", file=sys.stderr)
    get_db(app).engine.dispose()
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--workers", type=int, default=min(2 * (os.cpu_count() or 1) + 1, 17),
                        help="gunicorn sync workers (default 2 x CPUs + 1, at most 17)")
    args = parser.parse_args()
    url = os.environ.get("SHOOC_BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        print("bench/surge.py: skipped (it runs against PostgreSQL: set SHOOC_BENCH_DATABASE_URL, e.g. "
              "postgresql+psycopg://postgres@127.0.0.1:5432/shooc_bench)")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill` still stops the server below
    server: Server | None = None
    with tempfile.TemporaryDirectory(prefix="shooc-surge-") as tmp:
        folder = Path(tmp)
        instance = folder / "instance"
        instance.mkdir()
        secret = secrets.token_hex(32)
        try:
            started = time.perf_counter()
            print(f"PostgreSQL: {args.learners} learners with four workbooks submitted and the fifth answered ...",
                  flush=True)
            path, form = build(url, args.learners, instance, secret)
            print(f"  ready in {time.perf_counter() - started:.0f} s; {args.workers} gunicorn workers; logging in",
                  flush=True)
            server = surge_server(url, instance, secret, folder, args.workers)
            wait_until_answering(server, "/courses/mentoring")
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                learners = list(pool.map(lambda n: prepare(server, path, n), range(args.learners)))
            print(f"  {len(learners)} learners on workbook 5; all submit at once", flush=True)
            results, wall = post_at_once(server, path, form, learners)
            log = server.log.read_text(errors="replace")
            stop_process_group(server.process)
            server = None
            checks = verify(url, instance, secret, args.learners)
        except BenchError as exc:
            print(f"bench/surge.py: {exc}", file=sys.stderr)
            if server is not None:
                print(server.log_tail(), file=sys.stderr)
            return 1
        finally:
            if server is not None:
                stop_process_group(server.process)
    failed = [r for r in results if not (r[1] == 302 and r[2].endswith("/dashboard"))]
    server_errors = [line for line in log.splitlines() if "Traceback" in line or "[ERROR]" in line]
    checks = [("failed requests", len(failed), 0), *checks, ("errors in the server's log", len(server_errors), 0)]
    ms = sorted(r[0] * 1000 for r in results)
    lines = [f"A surge: {args.learners} learners submit their fifth workbook at the same moment (PostgreSQL, HTTP to "
             f"gunicorn with {args.workers} sync workers, deploy/gunicorn.conf.py; {os.cpu_count()} CPUs)",
             f"{'latency ms':<12}" + "".join(f"{k:>9}" for k in ("min", "p10", "p25", "median", "p75", "p90", "p99",
                                                                   "max", "mean")),
             f"{'':<12}" + "".join(f"{v:>9.0f}" for v in (
                 ms[0], percentile(ms, 10), percentile(ms, 25), statistics.median(ms), percentile(ms, 75),
                 percentile(ms, 90), percentile(ms, 99), ms[-1], statistics.fmean(ms))),
             f"all {args.learners} answered in {wall:.2f} s: {args.learners / wall:.0f} submissions/s",
             "latency histogram:"]
    width = max(ms[-1] / 10, 1.0)
    for k in range(10):
        low, high = k * width, (k + 1) * width
        count = sum(1 for v in ms if low <= v < high or (k == 9 and v == high))
        lines.append(f"  {low:>7.0f} - {high:>7.0f} ms {count:>5}  {'#' * round(60 * count / len(ms))}")
    lines.append(f"{'check':<36}{'found':>8}{'expected':>10}")
    for what, found, expected in checks:
        lines.append(f"{what:<36}{str(found):>8}{str(expected):>10}{'ok' if found == expected else 'WRONG':>7}")
    for latency, status, detail in failed[:5]:
        lines.append(f"  failed: {status} {detail} after {latency * 1000:.0f} ms")
    lines.extend(f"  server: {line}" for line in server_errors[:5])
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "surge.txt").write_text(report + "\n")
    return 0 if all(found == expected for _, found, expected in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
