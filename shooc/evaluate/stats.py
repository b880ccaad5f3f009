"""A run's completion figures: DESIGN.md §3's stats JSON and more (no Flask here).

Definitions (the statistics page states them too):

- registered: every enrolment of the run, whoever withdrew or later deleted their
  account (the row stays, without a name);
- started: registered learners who saved at least one answer (or, for imported
  records, have a start date);
- workbooks completed: submitted workbooks; badges awarded: badges not revoked;
- completed all: registered learners who submitted every workbook of the course;
- certificates awarded: certificates not revoked;
- completion rates: completed all ÷ registered, and ÷ started;
- withdrawn: learners who withdrew before finishing (and have not rejoined);
- still inside their window: neither finished nor withdrawn, close date not past;
  closed without finishing: the same, with the close date past;
- days to certificate: from the day a learner started (their first answer) to the
  day of their certificate, as a median.

The figures come from counters kept with each event (shooc.evaluate.counters): a
few rows to read at any size of run. ``recount=True`` counts the rows instead.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run
from shooc.evaluate import counters
from shooc.evaluate.models import OverallEffect
from shooc.workbooks.models import CourseVersion, WorkbookVersion


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def run_stats(session: Session, run: Run, as_of: dt.datetime | None = None, recount: bool = False) -> dict[str, Any]:
    as_of = as_of or utcnow()
    data = counters.recount(session, run) if recount else counters.read(session, run)
    totals = data["totals"]
    workbooks = session.execute(
        select(WorkbookVersion.position, WorkbookVersion.slug, WorkbookVersion.title)
        .where(WorkbookVersion.course_version_id == run.course.current_version_id)
        .order_by(WorkbookVersion.position)).all()
    registered, started, completed_all = totals["registered"], totals["started"], totals["completed_all"]
    unfinished = registered - completed_all - totals["withdrawn"]
    today = counters.local_day(run, as_of)
    if today <= run.closes_on:
        inside = unfinished
    else:  # only extensions keep anyone inside now: few, and indexed
        inside = session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.run_id == run.id, Enrolment.extended_until >= today, Enrolment.withdrawn_at.is_(None),
            Enrolment.submitted_count < len(workbooks))) or 0
    tallies = data["tallies"]
    effects = tallies.get("effect", {})
    objectives = session.scalar(select(CourseVersion.meta).where(
        CourseVersion.id == run.course.current_version_id)) or {}
    median_days = counters.median_from_tally(tallies.get("days", {}))
    return {
        "course": run.course.slug, "run": run.slug,
        "as_of": as_of.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "registered": registered, "started": started,
        "workbooks_completed": totals["workbooks_completed"],
        "badges_awarded": totals["badges_awarded"], "completed_all": completed_all,
        "certificates_awarded": totals["certificates_awarded"],
        "completion_rate_registered": _rate(completed_all, registered),
        "completion_rate_started": _rate(completed_all, started),
        "per_workbook": [{"order": position, "slug": slug, "title": title,
                          "started": data["workbooks"].get(slug, (0, 0))[0],
                          "completed": data["workbooks"].get(slug, (0, 0))[1]}
                         for position, slug, title in workbooks],
        "evaluation": {
            "responses": totals["evaluations"],
            "overall_effect": {e.value: effects.get(e.value, 0) for e in OverallEffect},
            "objectives": [{"order": n, "objective": text,
                            "ratings": {str(r): tallies.get(f"objective:{n}", {}).get(str(r), 0) for r in range(1, 6)}}
                           for n, text in enumerate(objectives.get("objectives") or [], start=1)],
        },
        "withdrawn": totals["withdrawn"],
        "still_inside_window": inside,
        "closed_without_finishing": unfinished - inside,
        "median_days_to_certificate": median_days,
        "weekly": [{"week": week.isoformat(), "registered": r, "started": s, "workbooks_completed": c,
                    "certificates_awarded": k} for week, r, s, c, k in data["weeks"]],
        "run_dates": {"opens_on": run.opens_on.isoformat(), "closes_on": run.closes_on.isoformat(),
                      "mode": run.mode.value},
    }
