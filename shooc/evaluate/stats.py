"""A run's completion figures: the stats JSON of docs/formats.md (no Flask here).

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
  day of their certificate, as a median;
- evaluation: the number of responses, and their breakdown only from five answers
  (the small-cell rule of shooc.evaluate.disclosure, which every output of these
  figures, page, CSV, API and CLI, takes from here);
- self-assessment: pairs are enrolments that rated themselves against the course's
  standards both before and after the course (shooc/enrolment/self_assessment.py);
  each standard's before and after means, and the mean change, are over pairs only,
  shown from five pairs (the same rule).

The figures come from counters kept with each event (shooc.evaluate.counters): a
few rows to read at any size of run. ``recount=True`` counts the rows instead.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shooc.community.services import figures as community_figures
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run
from shooc.evaluate import counters, disclosure
from shooc.evaluate.models import OverallEffect
from shooc.workbooks import current


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def inside_window(session: Session, run: Run, unfinished: int, workbook_count: int, today: dt.date) -> int:
    """Learners still inside their window: neither finished nor withdrawn, their close
    date (the run's, or their extension) not past."""
    if today <= run.closes_on:
        return unfinished
    # only extensions keep anyone inside now: few, and indexed
    return session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.run_id == run.id, Enrolment.extended_until >= today, Enrolment.withdrawn_at.is_(None),
        Enrolment.submitted_count < workbook_count)) or 0


def run_stats(session: Session, run: Run, as_of: dt.datetime | None = None, recount: bool = False) -> dict[str, Any]:
    as_of = as_of or utcnow()
    data = counters.recount(session, run) if recount else counters.read(session, run)
    totals = data["totals"]
    workbooks = current.workbooks(session, run.course)
    registered, started, completed_all = totals["registered"], totals["started"], totals["completed_all"]
    unfinished = registered - completed_all - totals["withdrawn"]
    today = counters.local_day(run, as_of)
    inside = inside_window(session, run, unfinished, len(workbooks), today)
    tallies = data["tallies"]
    objectives = current.meta(session, run.course)
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
        "per_workbook": [{"order": w.position, "slug": w.slug, "title": w.title,
                          "started": data["workbooks"].get(w.slug, (0, 0))[0],
                          "completed": data["workbooks"].get(w.slug, (0, 0))[1]}
                         for w in workbooks],
        "evaluation": disclosure.evaluation_figures(
            totals["evaluations"], tallies, [e.value for e in OverallEffect],
            [str(text) for text in objectives.get("objectives") or []]),
        "withdrawn": totals["withdrawn"],
        "still_inside_window": inside,
        "closed_without_finishing": unfinished - inside,
        "median_days_to_certificate": median_days,
        "weekly": [{"week": week.isoformat(), "registered": r, "started": s, "workbooks_completed": c,
                    "certificates_awarded": k} for week, r, s, c, k in data["weeks"]],
        "run_dates": {"opens_on": run.opens_on.isoformat(), "closes_on": run.closes_on.isoformat(),
                      "mode": run.mode.value},
        "community": community_figures(tallies.get(counters.COMMUNITY, {}), registered, completed_all),
        "self_assessment": disclosure.self_assessment_figures(
            tallies.get(counters.SELF_ASSESSMENT, {}), _standards(objectives)),
    }


def _standards(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """course.md's standards as (code, name)."""
    standards = meta.get("standards")
    items = standards.get("items") if isinstance(standards, dict) else None
    return [(str(i["code"]), str(i.get("name") or i["code"])) for i in items or []
            if isinstance(i, dict) and i.get("code")]


def flatten(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures as one row of named values (CSV, tables): scalars first, then each
    workbook's and each answer's count. The columns are the same for every run: a
    withheld breakdown (shooc.evaluate.disclosure) leaves its cells empty."""
    flat = {k: v for k, v in figures.items() if not isinstance(v, (list, dict))}
    for w in figures["per_workbook"]:
        flat[f"workbook_{w['order']}_started"] = w["started"]
        flat[f"workbook_{w['order']}_completed"] = w["completed"]
    evaluation = figures["evaluation"]
    flat["evaluation_responses"] = evaluation["responses"]
    flat["evaluation_withheld"] = evaluation["withheld"]
    shown = evaluation.get("overall_effect", {})
    for effect in OverallEffect:
        flat[f"overall_effect_{effect.value}"] = shown.get(effect.value)
    for key in COMMUNITY_COLUMNS:  # the same columns for every run: a withheld rate is an empty cell
        flat[f"community_{key}"] = figures["community"].get(key)
    paired = figures["self_assessment"]
    flat["self_assessment_pairs"] = paired["pairs"]
    flat["self_assessment_withheld"] = paired["withheld"]
    shown = {row["code"]: row for row in paired.get("per_standard", [])}
    for standard in paired["standards"]:  # every standard of the course, withheld or not
        row = shown.get(standard["code"], {})
        for key in SELF_ASSESSMENT_COLUMNS:
            flat[f"self_assessment_{standard['code']}_{key}"] = row.get(key)
    return flat


SELF_ASSESSMENT_COLUMNS = ["before_mean", "after_mean", "mean_change"]


COMMUNITY_COLUMNS = ["posts", "replies", "contributors", "shared_reflections", "withheld",
                     "completion_rate_contributors", "completion_rate_others"]


PROGRESS_COLUMNS = ["learner", "enrolled_on", "started_on", "withdrawn", "close_date", "workbooks_submitted",
                    *[f"workbook_{n}" for n in range(1, 6)], "certificate_on"]


def anonymised_progress(session: Session, run: Run, secret: str, batch: int = 2000) -> Iterator[list[Any]]:
    """Each learner's progress without who they are: a pseudonym (the same in every
    export of this site, so that exports can be joined, but not an id a database
    or a person can be looked up by), dates, and workbook completion dates. No
    name, e-mail, organisation, answer or evaluation."""
    from shooc.badges.models import Certificate
    from shooc.enrolment.models import Submission

    zone = ZoneInfo(run.timezone)
    positions = current.positions(session, run.course)
    key = hashlib.sha256(f"shooc-progress:{secret}".encode()).digest()
    last_id = 0
    while True:
        enrolments = session.execute(
            select(Enrolment.id, Enrolment.enrolled_on, Enrolment.started_on, Enrolment.withdrawn_at,
                   Enrolment.extended_until, Enrolment.submitted_count)
            .where(Enrolment.run_id == run.id, Enrolment.id > last_id).order_by(Enrolment.id).limit(batch)).all()
        if not enrolments:
            return
        ids = [e.id for e in enrolments]
        done: dict[int, dict[int, dt.date]] = {}
        for enrolment_id, slug, at in session.execute(select(
                Submission.enrolment_id, Submission.workbook_slug, Submission.submitted_at)
                .where(Submission.enrolment_id.in_(ids))):
            if slug in positions:
                done.setdefault(enrolment_id, {})[positions[slug]] = at.astimezone(zone).date()
        certified = {enrolment_id: at.astimezone(zone).date() for enrolment_id, at in session.execute(
            select(Certificate.enrolment_id, Certificate.issued_on).where(
                Certificate.enrolment_id.in_(ids), Certificate.revoked_at.is_(None)))}
        for e in enrolments:
            pseudonym = hmac.new(key, str(e.id).encode(), hashlib.sha256).hexdigest()[:12]
            dates = done.get(e.id, {})
            yield [pseudonym, e.enrolled_on, e.started_on or "", "yes" if e.withdrawn_at else "no",
                   e.extended_until or run.closes_on, e.submitted_count,
                   *[dates.get(n, "") for n in range(1, 6)], certified.get(e.id, "")]
        last_id = ids[-1]
