"""Records import at scale: check, import and re-import N rows (default 100,000) of a
run shaped like the reference course, on SQLite (a fresh file) and, when
SHOOC_BENCH_DATABASE_URL is set, on PostgreSQL (a database this script empties, and
creates if it is missing; e.g. postgresql+psycopg://postgres@127.0.0.1:5432/shooc_bench).

    .venv/bin/python bench/records_import.py [--rows N[,N...]] [--repeat K] [--databases postgresql]

Prints a table and writes it to bench/results/records_import.txt. Each figure is
the median of K runs on an empty database. The import is timed at each size of
``--rows`` (10,000, 50,000 and 100,000 by default: linear means the same rows/s at
each; goal >= 5,000 rows/s, issue 21); the other steps at the largest. Beside an
import's wall time, its CPU seconds in this Python process: on a busy machine the
difference is the database's work and the waiting for a CPU.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from records_data import expected_counts, records_rows, to_csv  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from shooc.db import Database  # noqa: E402
from shooc.enrolment.runs import create_run, find_run  # noqa: E402
from shooc.evaluate.stats import run_stats  # noqa: E402
from shooc.lead import records  # noqa: E402
from shooc.lead.services import participants  # noqa: E402
from shooc.migrate import upgrade  # noqa: E402
from shooc.workbooks.loader import load_course  # noqa: E402
from shooc.workbooks.publish import publish_course  # noqa: E402

OPENS, CLOSES = dt.date(2017, 1, 9), dt.date(2017, 12, 31)
# the leaders' participants table over the imported run (best of 5 each)
PARTICIPANT_PAGES = {
    "participants: page 1": {"sort": "enrolled", "descending": True},
    "participants: page 1000": {"sort": "enrolled", "descending": True, "page": 1000},
    "participants: completed": {"status": "completed", "sort": "enrolled", "descending": True},
    "participants: by progress": {"sort": "progress", "descending": True},
    "participants: by name": {"sort": "name"},
    "participants: an address": {"search": "learner000123@example.org"},
}


def create_database_if_missing(url: str) -> None:
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def fresh_database(url: str) -> Database:
    if url.startswith("postgresql"):
        create_database_if_missing(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)
    database = Database(url)
    upgrade(database)
    with database.session() as session:
        course = publish_course(session, load_course(ROOT / "content" / "mentoring").course).course
        create_run(session, course, OPENS, CLOSES, slug="2017-rolling")
        session.commit()
    return database


IMPORT_GOAL_ROWS_PER_S = 5_000


def import_only(url: str, data: bytes, rows: list[dict]) -> tuple[float, float]:
    """Seconds to import ``rows`` into an empty run (checked first, not timed): wall
    time and this process's CPU time (the rest is the database's, or waiting for a CPU)."""
    database = fresh_database(url)
    with database.session() as session:
        run = find_run(session, "2017-rolling")
        checked = records.check_file(session, run, data, "bench.csv")
        assert checked.ok, checked.problems[:3]
        start, cpu = time.perf_counter(), time.process_time()
        records.import_records(session, run, checked)
        session.commit()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    database.engine.dispose()
    return seconds, cpu


def one_run(url: str, data: bytes, rows: list[dict]) -> dict[str, float]:
    database = fresh_database(url)
    times = {}
    with database.session() as session:
        run = find_run(session, "2017-rolling")
        start = time.perf_counter()
        checked = records.check_file(session, run, data, "bench.csv")
        times["check"] = time.perf_counter() - start
        assert checked.ok, checked.problems[:3]
        start, cpu = time.perf_counter(), time.process_time()
        records.import_records(session, run, checked)
        session.commit()
        records.refresh_planner_statistics(session, len(rows))
        times["import"] = time.perf_counter() - start
        times["import CPU"] = time.process_time() - cpu
        figures = run_stats(session, run)
        expected = expected_counts(rows)
        assert {k: figures[k] for k in expected} == expected, "the run's figures differ from the file's"
        for step, kwargs in PARTICIPANT_PAGES.items():
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                participants(session, run, **kwargs)
                best = min(best, time.perf_counter() - start)
            times[step] = best
        start = time.perf_counter()
        checked = records.check_file(session, run, data, "bench.csv")
        summary = records.import_records(session, run, checked)
        session.commit()
        times["re-import (no change)"] = time.perf_counter() - start
        assert summary.workbooks_added == 0 and summary.enrolments_created == 0
    database.engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000,50000,100000", help="sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="sqlite, postgresql or both (PostgreSQL needs SHOOC_BENCH_DATABASE_URL)")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.rows.split(","))
    largest = sizes[-1]
    rows = records_rows(largest, OPENS, CLOSES)
    data = to_csv(rows)
    counts = expected_counts(rows)
    targets = []
    with tempfile.TemporaryDirectory() as folder:
        if "sqlite" in args.databases:
            targets.append(("SQLite", f"sqlite:///{folder}/bench.sqlite3"))
        if os.environ.get("SHOOC_BENCH_DATABASE_URL") and "postgresql" in args.databases:
            targets.append(("PostgreSQL", os.environ["SHOOC_BENCH_DATABASE_URL"]))
        lines = [f"Records import: {largest:,} rows ({len(data) / 1e6:.1f} MB; {counts['workbooks_completed']:,} "
                 f"completed workbooks, {counts['certificates_awarded']:,} certificates), median of {args.repeat}; "
                 f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)",
                 f"{'database':<12}{'step':<28}{'seconds':>10}{'rows/s':>12}{'goal':>9}{'':>6}"
                 f"{'Python CPU s':>14}"]
        for name, url in targets:
            for size in sizes[:-1]:  # the import alone at the smaller sizes: is it linear?
                some = rows[:size]
                timed = [import_only(url, to_csv(some), some) for _ in range(args.repeat)]
                seconds, cpu = (statistics.median(t[i] for t in timed) for i in (0, 1))
                rate = size / seconds
                lines.append(f"{name:<12}{f'import {size:,} rows':<28}{seconds:>10.2f}{rate:>12,.0f}"
                             f"{'>=' + format(IMPORT_GOAL_ROWS_PER_S, ','):>9}"
                             f"{'ok' if rate >= IMPORT_GOAL_ROWS_PER_S else 'MISS':>6}{cpu:>14.2f}")
                print(lines[-1], flush=True)
            runs = [one_run(url, data, rows) for _ in range(args.repeat)]
            for step in runs[0]:
                if step == "import CPU":
                    continue  # on the import's line
                seconds = statistics.median(r[step] for r in runs)
                if step.startswith("participants"):
                    lines.append(f"{name:<12}{step:<28}{seconds * 1000:>8.1f}ms{'':>12}")
                elif step == "import":
                    rate = largest / seconds
                    lines.append(f"{name:<12}{f'import {largest:,} rows':<28}{seconds:>10.2f}{rate:>12,.0f}"
                                 f"{'>=' + format(IMPORT_GOAL_ROWS_PER_S, ','):>9}"
                                 f"{'ok' if rate >= IMPORT_GOAL_ROWS_PER_S else 'MISS':>6}"
                                 f"{statistics.median(r['import CPU'] for r in runs):>14.2f}")
                else:
                    lines.append(f"{name:<12}{step:<28}{seconds:>10.2f}{largest / seconds:>12,.0f}")
                print(lines[-1], flush=True)
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "records_import.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
