"""A realistic instance at scale, for the benchmarks: N participants (default 100,000)
spread over three runs of the mentoring course with the funnel of the reference
course (about four in five start, fewer finish each workbook, about one in eight
finishes all five), with their answers, badges, certificates and evaluations.

    .venv/bin/python bench/generate.py [--participants N] [--database URL]

Without ``--database`` it fills a fresh SQLite file in a temporary folder and, when
SHOOC_BENCH_DATABASE_URL is set, that PostgreSQL database (emptied first), and says
how long each step took (bench/results/generate.txt). ``generate()`` is what
bench/pages.py builds its instance with.

The instance:

- ``2017-rolling`` (2017) and ``2025-rolling`` (a year ago) have closed; ``national``
  opened 180 days ago and closes in 180: the course while it runs. The participants
  are shared 20 / 30 / 50 among them, each run's dates up to today at the latest.
- Each run's people, enrolments, submissions, badges, certificates and evaluations
  are written by the records import (``shooc.lead.records``, the same code as
  ``shooc records import``): the fast path, one multi-row INSERT per table a batch.
- Answers, which a records file does not hold, are then added in bulk: every
  activity of a submitted workbook answered (reflections of 20 to 150 words,
  quizzes marked, ratings, goals) and the submission's answers set to them; a
  learner who started but did not finish has half of the next workbook's
  activities answered, and that workbook counts as begun (``workbook_starts``).
- Each run's statistics counters are rebuilt from the rows, as after an import.

Every e-mail address is distinct across runs (``learner000123@run1.example.org``):
nobody in the generated course took two runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from records_data import records_rows, to_csv  # noqa: E402
from records_import import CLOSES, OPENS, fresh_database  # noqa: E402
from sqlalchemy import bindparam, insert, select, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from conftest import complete_answer  # noqa: E402
from shooc.enrolment.models import Enrolment, Response, Submission  # noqa: E402
from shooc.enrolment.runs import create_run, find_run  # noqa: E402
from shooc.evaluate import counters  # noqa: E402
from shooc.evaluate.models import WorkbookStart  # noqa: E402
from shooc.lead import records  # noqa: E402
from shooc.workbooks.activities import get_kind  # noqa: E402
from shooc.workbooks.models import WorkbookVersion  # noqa: E402

PAST_SLUG, RECENT_SLUG, LIVE_SLUG = "2017-rolling", "2025-rolling", "national"
SHARES = ((PAST_SLUG, 0.2), (RECENT_SLUG, 0.3), (LIVE_SLUG, 0.5))
BATCH = 5000  # rows per INSERT statement
WORDS = ("trainee mentor lesson feedback observe reflect plan goal pupils school week conversation "
         "progress standard support challenge question listen model practice evidence target "
         "subject department behaviour confidence workload wellbeing strategy review meeting").split()


@dataclasses.dataclass
class Instance:
    database: Any  # shooc.db.Database
    runs: dict[str, int]  # slug -> participants
    answers: int = 0
    submissions_answered: int = 0
    in_progress: int = 0
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


def run_dates(slug: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if slug == PAST_SLUG:
        return OPENS, CLOSES
    if slug == RECENT_SLUG:
        return today - dt.timedelta(days=540), today - dt.timedelta(days=200)
    return today - dt.timedelta(days=180), today + dt.timedelta(days=180)


def text_of(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words)).capitalize() + "."


def answer_to(activity: Any, rng: random.Random) -> dict[str, Any]:
    """A complete answer as the learner's form stores it (quizzes marked)."""
    if activity.kind in ("reflection", "discussion"):
        least = int(activity.definition.get("min_words") or 0)
        return {"text": text_of(rng, rng.randint(max(20, least), max(150, least + 20)))}
    answer = complete_answer(activity)
    if activity.kind == "quiz":
        answer = get_kind("quiz").mark(answer, activity.definition)  # type: ignore[union-attr]
    return answer


def add_answers(session: Session, run_id: int, workbooks: list[WorkbookVersion], rng: random.Random,
                instance: Instance) -> None:
    """Answers for the run's started enrolments (see the module's docstring)."""
    position = {w.slug: i for i, w in enumerate(workbooks)}
    submitted: dict[int, dict[str, int]] = {}
    for enrolment_id, slug, submission_id in session.execute(
            select(Submission.enrolment_id, Submission.workbook_slug, Submission.id)
            .join(Enrolment, Submission.enrolment_id == Enrolment.id).where(Enrolment.run_id == run_id)):
        submitted.setdefault(enrolment_id, {})[slug] = submission_id
    responses: list[dict[str, Any]] = []
    submission_answers: list[dict[str, Any]] = []
    starts: list[dict[str, Any]] = []

    def flush(final: bool = False) -> None:
        if responses and (final or len(responses) >= BATCH):
            session.execute(insert(Response).execution_options(render_nulls=True), responses)
            instance.answers += len(responses)
            responses.clear()
        if submission_answers and (final or len(submission_answers) >= BATCH):
            table = Submission.__table__
            session.execute(update(table).where(table.c.id == bindparam("submission"))
                            .values(answers=bindparam("answers")), submission_answers)
            instance.submissions_answered += len(submission_answers)
            submission_answers.clear()
        if starts and (final or len(starts) >= BATCH):
            session.execute(insert(WorkbookStart), starts)
            instance.in_progress += len(starts)
            starts.clear()

    for enrolment_id, started_on, last_activity in session.execute(
            select(Enrolment.id, Enrolment.started_on, Enrolment.created_at)
            .where(Enrolment.run_id == run_id, Enrolment.started_on.is_not(None))):
        done = submitted.get(enrolment_id, {})
        for slug, submission_id in done.items():
            workbook = workbooks[position[slug]]
            answers = {a.activity_id: answer_to(a, rng) for a in workbook.activities}
            submission_answers.append({"submission": submission_id, "answers": answers})
            responses.extend({"enrolment_id": enrolment_id, "workbook_slug": slug, "activity_id": aid,
                              "answer": answer, "workbook_version_id": workbook.id, "updated_at": last_activity}
                             for aid, answer in answers.items())
        if len(done) < len(workbooks):  # began the next workbook and stopped half-way
            workbook = workbooks[len(done)]
            for activity in workbook.activities[:max(1, len(workbook.activities) // 2)]:
                responses.append({"enrolment_id": enrolment_id, "workbook_slug": workbook.slug,
                                  "activity_id": activity.activity_id, "answer": answer_to(activity, rng),
                                  "workbook_version_id": workbook.id, "updated_at": last_activity})
            starts.append({"enrolment_id": enrolment_id, "workbook_slug": workbook.slug, "started_on": started_on})
        flush()
    flush(final=True)


def generate(url: str, participants: int, seed: int = 1, today: dt.date | None = None) -> Instance:
    """Empty the database at ``url`` and fill it (committed); see the module's docstring."""
    today = today or dt.date.today()
    start = time.perf_counter()
    database = fresh_database(url)  # migrated, the course published, 2017-rolling made
    instance = Instance(database, {})
    instance.seconds["migrate and publish"] = time.perf_counter() - start
    rng = random.Random(seed)
    left = participants
    for number, (slug, share) in enumerate(SHARES, start=1):
        count = left if slug == LIVE_SLUG else round(participants * share)
        left -= count
        instance.runs[slug] = count
        with database.session() as session:
            if slug == PAST_SLUG:
                run = find_run(session, slug)
            else:
                opens, closes = run_dates(slug, today)
                course = find_run(session, PAST_SLUG).course
                run = create_run(session, course, opens, closes, slug=slug,
                                 name="National run" if slug == LIVE_SLUG else f"{opens.year}-{closes.year} run")
            session.commit()
            opens, closes = run.opens_on, min(run.closes_on, today)
            step = time.perf_counter()
            rows = records_rows(count, opens, closes, seed=seed * 10 + number, domain=f"run{number}.example.org")
            checked = records.check_file(session, run, to_csv(rows), f"{slug}.csv", today=today)
            if not checked.ok:
                raise RuntimeError(f"the generated records do not import: {checked.problems[:3]}")
            records.import_records(session, run, checked)
            session.commit()
            # as `shooc records import` does after each file: the next run's import
            # plans its lookups knowing how big the tables have grown
            records.refresh_planner_statistics(session, count)
            instance.seconds[f"{slug}: records"] = time.perf_counter() - step
            step = time.perf_counter()
            add_answers(session, run.id, records.course_workbooks(session, run), rng, instance)
            counters.rebuild(session, run)  # the begun workbooks count as started
            session.commit()
            instance.seconds[f"{slug}: answers"] = time.perf_counter() - step
    with database.session() as session:
        if session.get_bind().dialect.name == "postgresql" and participants >= 10_000:
            session.execute(text("ANALYZE responses, workbook_starts, run_workbook_counters"))
            session.commit()
    instance.seconds["total"] = time.perf_counter() - start
    return instance


def report(name: str, url: str, participants: int) -> list[str]:
    instance = generate(url, participants)
    with instance.database.session() as session:
        figures = {slug: counters.read(session, find_run(session, slug))["totals"] for slug in instance.runs}
    instance.database.engine.dispose()
    lines = [f"{name}: {participants:,} participants in {instance.seconds['total']:.0f} s (goal: minutes): "
             f"{instance.answers:,} answers, {instance.submissions_answered:,} submissions with their answers, "
             f"{instance.in_progress:,} workbooks in progress",
             f"  {'run':<16}{'registered':>11}{'started':>9}{'workbooks':>10}{'badges':>8}{'all five':>9}"
             f"{'certificates':>13}"]
    for slug, totals in figures.items():
        lines.append(f"  {slug:<16}{totals['registered']:>11,}{totals['started']:>9,}"
                     f"{totals['workbooks_completed']:>10,}{totals['badges_awarded']:>8,}"
                     f"{totals['completed_all']:>9,}{totals['certificates_awarded']:>13,}")
    lines.append("  seconds: " + ", ".join(f"{step} {s:.1f}" for step, s in instance.seconds.items()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--database", help="a SQLAlchemy URL (emptied); default: a temporary SQLite file, and "
                                           "SHOOC_BENCH_DATABASE_URL when it is set")
    args = parser.parse_args()
    lines = [f"The generator (bench/generate.py): {args.participants:,} participants over three runs"]
    with tempfile.TemporaryDirectory(prefix="shooc-generate-") as folder:
        if args.database:
            targets = [(args.database.split(":")[0], args.database)]
        else:
            targets = [("SQLite", f"sqlite:///{folder}/generated.sqlite3")]
            if os.environ.get("SHOOC_BENCH_DATABASE_URL"):
                targets.append(("PostgreSQL", os.environ["SHOOC_BENCH_DATABASE_URL"]))
        for name, url in targets:
            block = report(name, url, args.participants)
            print("\n".join(block), flush=True)
            lines += block
    text_report = "\n".join(lines)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "generate.txt").write_text(text_report + "\n")


if __name__ == "__main__":
    main()
