"""A run's statistics at scale: N participants (5 workbook states each) imported as
a past run shaped like the reference course, then the figures read from the
counters (what pages, CSV, the CLI and the API use), the same figures recounted
from the rows, and the evaluators' page rendered through Flask, at several N, on
SQLite and (with SHOOC_BENCH_DATABASE_URL) PostgreSQL.

    .venv/bin/python bench/stats.py [--sizes 10000,100000] [--repeat 20]

Prints a table (median of --repeat; the recount once) and writes it to
bench/results/stats.txt.
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
sys.path.insert(0, str(ROOT / "bench"))

from records_data import records_rows, to_csv  # noqa: E402
from records_import import CLOSES, OPENS, fresh_database  # noqa: E402

from shooc import create_app  # noqa: E402
from shooc.auth.services import create_user  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402
from shooc.enrolment.runs import find_run  # noqa: E402
from shooc.evaluate.stats import run_stats  # noqa: E402
from shooc.lead import records  # noqa: E402

GOAL_MS = 50


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rate_themselves(session, run) -> None:  # type: ignore[no-untyped-def]
    """Before-and-after self-assessments (issue 19): every other participant rated
    themself before, and those of them who finished after too; counted into the run's
    tallies by a rebuild, as a migration of such rows would."""
    from sqlalchemy import insert, select

    from shooc.enrolment.models import Enrolment, SelfAssessment, SelfRating
    from shooc.evaluate import counters

    now = dt.datetime.now(dt.timezone.utc)
    people = session.execute(select(Enrolment.id, Enrolment.submitted_count).where(
        Enrolment.run_id == run.id, Enrolment.id % 2 == 0)).all()
    given = [(e.id, phase) for e in people for phase in ("before", "after") if phase == "before" or e.submitted_count >= 5]
    session.execute(insert(SelfAssessment), [{"enrolment_id": e, "phase": p, "answered_at": now} for e, p in given])
    session.execute(insert(SelfRating), [{"enrolment_id": e, "phase": p, "standard_code": f"S{n}",
                                          "rating": 2 + (n + e) % 3 + (p == "after")}
                                         for e, p in given for n in range(1, 5)])
    counters.rebuild(session, run)


def measure(url: str, size: int, repeat: int, instance: str) -> dict[str, float]:
    database = fresh_database(url)
    with database.session() as session:
        run = find_run(session, "2017-rolling")
        rows = records_rows(size, OPENS, CLOSES, seed=size)
        checked = records.check_file(session, run, to_csv(rows), "bench.csv")
        records.import_records(session, run, checked)
        session.commit()
        rate_themselves(session, run)
        session.commit()
        records.refresh_planner_statistics(session, size)
        create_user(session, "evaluator@example.org", "Eva Evaluator", "evaluator", "correct horse battery staple")
        session.commit()
    database.engine.dispose()
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": instance, "SHOOC_SECRET_KEY": "bench"})
    result = {}
    with app.app_context():
        with get_db().session() as session:
            run = find_run(session, "2017-rolling")
            figures = run_stats(session, run)
            assert figures["registered"] == size and figures["self_assessment"]["pairs"] > 0
            result["figures (counters)"] = median_ms(lambda: run_stats(session, run), repeat)
            start = time.perf_counter()
            run_stats(session, run, recount=True)
            result["figures (recount)"] = (time.perf_counter() - start) * 1000
    client = app.test_client()
    page = client.get("/auth/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": "evaluator@example.org", "password": "correct horse battery staple",
                                     "csrf_token": token})
    assert client.get("/evaluate/runs/2017-rolling").status_code == 200
    result["stats page (HTTP)"] = median_ms(lambda: client.get("/evaluate/runs/2017-rolling"), repeat)
    get_db(app).engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lines = [f"Run statistics (median of {args.repeat}; goal: figures under {GOAL_MS} ms at 100,000)",
             f"{'database':<12}{'participants':>13}  {'step':<22}{'ms':>10}"]
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{folder}/bench.sqlite3")]
        if os.environ.get("SHOOC_BENCH_DATABASE_URL"):
            targets.append(("PostgreSQL", os.environ["SHOOC_BENCH_DATABASE_URL"]))
        for name, url in targets:
            for size in sizes:
                for step, ms in measure(url, size, args.repeat, folder).items():
                    lines.append(f"{name:<12}{size:>13,}  {step:<22}{ms:>10.1f}")
                    print(lines[-1], flush=True)
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "stats.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
