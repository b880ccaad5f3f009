"""Work per event, in-process on SQLite (and PostgreSQL with SHOOC_BENCH_DATABASE_URL):
submitting a workbook with its badge, making a certificate's PDF the first time,
serving a baked badge PNG, and publishing the course. Goals from issue 7:
< 20 ms, < 30 ms, < 5 ms; publishing a changed version < 500 ms (issue 21), measured
twice: a new version of the same texts, and the course folder edited (one workbook's
title and a paragraph changed, so its badge image is drawn again), loading and
checking the folder included, as the publish page does (medians).

    .venv/bin/python bench/events.py [--learners 30]

Prints a table and writes it to bench/results/events.txt.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from records_import import fresh_database  # noqa: E402
from sqlalchemy import select  # noqa: E402

from conftest import answer_required  # noqa: E402
from shooc import create_app  # noqa: E402
from shooc.auth.services import create_user  # noqa: E402
from shooc.badges.models import BadgeAssertion, Certificate  # noqa: E402
from shooc.badges.services import certificate_pdf  # noqa: E402
from shooc.urls import SiteUrls  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402
from shooc.enrolment import answers
from shooc.enrolment import runs
from shooc.enrolment import services
from shooc.workbooks.loader import load_course  # noqa: E402
from shooc.workbooks.models import WorkbookVersion  # noqa: E402
from shooc.workbooks.publish import publish_course  # noqa: E402

GOALS = {"submit a workbook (with its badge)": 20, "certificate PDF, first time": 30,
         "baked badge PNG (HTTP)": 5, "publish the course (a changed version)": 500,
         "publish an edited course (load, badge drawn)": 500}


def _sha256(text: str) -> str:  # digests are 64 hex digits (PostgreSQL holds them to it)
    return hashlib.sha256(text.encode()).hexdigest()


def measure(url: str, learners: int, folder: str) -> dict[str, list[float]]:
    fresh_database(url).engine.dispose()  # migrated, course published, a past run
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": folder, "SHOOC_SECRET_KEY": "bench",
                      "SHOOC_BASE_URL": "https://learn.example.ac.uk"})
    database = get_db(app)
    times: dict[str, list[float]] = {k: [] for k in GOALS}
    with app.app_context(), database.session() as session:
        course = runs.find_run(session, "2017-rolling").course
        today = dt.date.today()
        run = runs.create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=60),
                                  slug="bench-now")
        workbooks = session.scalars(select(WorkbookVersion).where(
            WorkbookVersion.course_version_id == course.current_version_id).order_by(WorkbookVersion.position)).all()
        for n in range(learners):
            user = create_user(session, f"bench{n}@example.org", f"Bench {n}", "learner", "correct horse battery staple")
            enrolment = services.enrol(session, run, user.id)
            session.commit()
            for workbook in workbooks:
                answer_required(session, enrolment, workbook)
                session.commit()
                state = answers.workbook_state(session, enrolment, workbook)
                start = time.perf_counter()
                answers.submit_workbook(session, enrolment, state)
                session.commit()
                if workbook.position < len(workbooks):  # the last one also issues the certificate
                    times["submit a workbook (with its badge)"].append((time.perf_counter() - start) * 1000)
        urls = SiteUrls("https://learn.example.ac.uk")
        for certificate in session.scalars(select(Certificate)).all():
            start = time.perf_counter()
            certificate_pdf(session, certificate, urls)
            times["certificate PDF, first time"].append((time.perf_counter() - start) * 1000)
        session.commit()
        ids = session.scalars(select(BadgeAssertion.id).limit(50)).all()
    client = app.test_client()
    for assertion_id in ids:
        start = time.perf_counter()
        assert client.get(f"/badges/assertions/{assertion_id}.png").status_code == 200
        times["baked badge PNG (HTTP)"].append((time.perf_counter() - start) * 1000)
    source = load_course(ROOT / "content" / "mentoring").course
    for n in range(3):
        # a new version (its digests differ), with the same titles: the badges' drawings are kept
        changed = type(source)(**{**source.__dict__, "digest": _sha256(f"{source.digest}-{n}"),
                                  "source_digest": _sha256(f"{source.source_digest}-{n}")})
        with database.session() as session:
            start = time.perf_counter()
            publish_course(session, changed)
            session.commit()
            times["publish the course (a changed version)"].append((time.perf_counter() - start) * 1000)
    with tempfile.TemporaryDirectory() as folder:
        edited = Path(folder) / "mentoring"
        shutil.copytree(ROOT / "content" / "mentoring", edited)
        first = sorted(edited.glob("01-*.md"))[0]
        original = first.read_text()
        for n in range(3):
            first.write_text(original.replace("title: The mentor's role", f"title: The mentor's role ({n + 1})", 1)
                             + f"\nA paragraph added in edit {n + 1}.\n")
            with database.session() as session:
                start = time.perf_counter()
                loaded = load_course(edited)
                assert loaded.ok, loaded.problems[:3]
                publish_course(session, loaded.course)
                session.commit()
                times["publish an edited course (load, badge drawn)"].append((time.perf_counter() - start) * 1000)
    database.engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=30)
    args = parser.parse_args()
    lines = [f"Work per event (median; {args.learners} learners x 5 workbooks)",
             f"{'database':<12}{'event':<42}{'median ms':>10}{'goal ms':>9}{'':>4}"]
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{folder}/bench.sqlite3")]
        if os.environ.get("SHOOC_BENCH_DATABASE_URL"):
            targets.append(("PostgreSQL", os.environ["SHOOC_BENCH_DATABASE_URL"]))
        for name, url in targets:
            for event, samples in measure(url, args.learners, folder).items():
                median = statistics.median(samples)
                met = "ok" if median < GOALS[event] else "MISS"
                lines.append(f"{name:<12}{event:<42}{median:>10.1f}{GOALS[event]:>9}{met:>6}")
                print(lines[-1], flush=True)
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "events.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
