"""The learner's portfolio PDF over HTTP (Flask's test client, in-process, SQLite),
for a learner who answered every activity of all five workbooks, wrote long
reflections, got feedback on each, and holds five badges and the certificate.
Goal (issue 18): under 300 ms. The yardstick, measured in the same run and
alternating with it: the certificate's PDF over HTTP, made afresh each time (no
SHOOC_BASE_URL, so nothing is kept: shooc/urls.py).

    .venv/bin/python bench/portfolio.py [--rounds 30]

Prints a table and writes it to bench/results/portfolio.txt.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from conftest import complete_answer  # noqa: E402
from records_import import fresh_database  # noqa: E402
from sqlalchemy import select  # noqa: E402

from shooc import create_app  # noqa: E402
from shooc.auth.services import create_user  # noqa: E402
from shooc.badges.models import Certificate  # noqa: E402
from shooc.community import services as community  # noqa: E402
from shooc.enrolment import answers, runs, services  # noqa: E402
from shooc.lead import review  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402
from shooc.workbooks.models import WorkbookVersion  # noqa: E402

GOAL_MS = 300
PASSWORD = "correct horse battery staple"
PARAGRAPH = ("When my mentee taught the Year 9 lesson on fractions I noticed how much more the pupils said once "
             "she waited after each question; we agreed she would try it with her Year 7 group next week. ")


def seed(url: str, folder: str) -> tuple[object, int, str]:
    fresh_database(url).engine.dispose()
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": folder, "SHOOC_SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context(), get_db(app).session() as session:
        course = runs.find_run(session, "2017-rolling").course
        today = dt.date.today()
        run = runs.create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=60),
                              slug="bench-now")
        user = create_user(session, "portfolio@example.org", "Олена Коваленко", "learner", PASSWORD)
        leader = create_user(session, "leader@example.org", "Lee Leader", "leader", PASSWORD)
        enrolment = services.enrol(session, run, user.id)
        session.commit()
        member = community.member(session, user, run)
        workbooks = session.scalars(select(WorkbookVersion).where(
            WorkbookVersion.course_version_id == course.current_version_id).order_by(WorkbookVersion.position)).all()
        for workbook in workbooks:
            state = answers.workbook_state(session, enrolment, workbook)
            for activity in workbook.activities:
                answer = complete_answer(activity)
                if activity.kind == "peer-discussion":
                    community.write_post(session, member, workbook.slug, PARAGRAPH, activity_id=activity.activity_id)
                elif activity.kind == "quiz":
                    answers.check_quiz(session, enrolment, state, activity.activity_id, answer)
                else:
                    if "text" in answer:
                        answer = {"text": "\n\n".join([PARAGRAPH * 3] * 3)}  # some 300 words
                    answers.save_drafts(session, enrolment, state, {activity.activity_id: answer})
            session.commit()
            state = answers.workbook_state(session, enrolment, workbook)
            answers.submit_workbook(session, enrolment, state)
            review.give_feedback(session, leader, enrolment, workbook.slug, PARAGRAPH * 2)
            session.commit()
        code = session.scalar(select(Certificate.code))
        enrolment.show_name = True
        session.commit()
        return app, enrolment.id, code


def measure(rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        app, enrolment_id, code = seed(f"sqlite:///{folder}/bench.sqlite3", folder)
        client = app.test_client()  # type: ignore[attr-defined]
        client.post("/auth/login", data={"email": "portfolio@example.org", "password": PASSWORD})
        urls = {"portfolio PDF (five workbooks)": f"/dashboard/enrolments/{enrolment_id}/portfolio.pdf",
                "certificate PDF (yardstick)": f"/certificates/{code}.pdf"}
        times: dict[str, list[float]] = {name: [] for name in urls}
        sizes = {}
        for name, url in urls.items():  # warm: fonts registered, published versions read
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            sizes[name] = len(response.data)
        for _ in range(rounds):
            for name, url in urls.items():
                start = time.perf_counter()
                assert client.get(url).status_code == 200
                times[name].append((time.perf_counter() - start) * 1000)
        get_db(app).engine.dispose()  # type: ignore[arg-type]
    print("sizes:", {k: f"{v / 1024:.0f} KiB" for k, v in sizes.items()})
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    times = measure(args.rounds)
    portfolio = statistics.median(times["portfolio PDF (five workbooks)"])
    yardstick = statistics.median(times["certificate PDF (yardstick)"])
    lines = [f"The portfolio PDF over HTTP (SQLite, in-process; median of {args.rounds}, alternating)",
             f"{'request':<36}{'median ms':>10}{'p90 ms':>9}{'goal ms':>9}"]
    for name, samples in times.items():
        p90 = statistics.quantiles(samples, n=10)[-1]
        goal = f"{GOAL_MS}" if name.startswith("portfolio") else "-"
        lines.append(f"{name:<36}{statistics.median(samples):>10.1f}{p90:>9.1f}{goal:>9}")
    lines.append(f"portfolio / certificate: {portfolio / yardstick:.1f}x; "
                 f"goal {'met' if portfolio < GOAL_MS else 'MISSED'} ({portfolio:.0f} ms < {GOAL_MS} ms)")
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "portfolio.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
