"""A run's completion figures, as DESIGN.md §3's stats JSON (no Flask here).

Definitions (shown to evaluators too):

- registered: every enrolment of the run, withdrawn or not, including learners who
  later deleted their account (the row stays, without a name);
- started: enrolments that saved at least one answer (or, for imported records,
  have a start date);
- workbooks completed: submitted workbooks; badges awarded: badges not revoked;
- completed all: enrolments that submitted every workbook of the course;
- certificates awarded: certificates not revoked;
- completion rates: completed all ÷ registered, and ÷ started.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import distinct, func, select, union
from sqlalchemy.orm import Session

from shooc.badges.models import BadgeAssertion, Certificate
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Response, Run, Submission
from shooc.evaluate.models import Evaluation, OverallEffect
from shooc.workbooks.models import WorkbookVersion


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def run_stats(session: Session, run: Run, as_of: dt.datetime | None = None) -> dict[str, Any]:
    as_of = as_of or utcnow()
    in_run = Enrolment.run_id == run.id
    registered, started = session.execute(
        select(func.count(), func.count(Enrolment.started_on)).where(in_run)).one()
    workbooks = list(session.execute(
        select(WorkbookVersion.position, WorkbookVersion.slug, WorkbookVersion.title)
        .where(WorkbookVersion.course_version_id == run.course.current_version_id)
        .order_by(WorkbookVersion.position)))
    run_submissions = select(Submission.enrolment_id, Submission.workbook_slug).join(
        Enrolment, Submission.enrolment_id == Enrolment.id).where(in_run)
    completed_by_slug = dict(session.execute(
        select(Submission.workbook_slug, func.count()).join(Enrolment, Submission.enrolment_id == Enrolment.id)
        .where(in_run).group_by(Submission.workbook_slug)).all())
    # A workbook is started by whoever saved an answer in it or submitted it.
    touched = union(run_submissions, select(Response.enrolment_id, Response.workbook_slug)
                    .join(Enrolment, Response.enrolment_id == Enrolment.id).where(in_run)).subquery()
    started_by_slug = dict(session.execute(
        select(touched.c.workbook_slug, func.count(distinct(touched.c.enrolment_id)))
        .group_by(touched.c.workbook_slug)).all())
    slugs = [slug for _, slug, _ in workbooks]
    per_enrolment = (select(Submission.enrolment_id, func.count().label("n"))
                     .join(Enrolment, Submission.enrolment_id == Enrolment.id)
                     .where(in_run, Submission.workbook_slug.in_(slugs))
                     .group_by(Submission.enrolment_id).subquery())
    completed_all = session.scalar(select(func.count()).select_from(per_enrolment)
                                   .where(per_enrolment.c.n >= len(slugs))) if slugs else 0
    badges = session.scalar(select(func.count()).select_from(BadgeAssertion)
                            .join(Enrolment, BadgeAssertion.enrolment_id == Enrolment.id)
                            .where(in_run, BadgeAssertion.revoked_at.is_(None))) or 0
    certificates = session.scalar(select(func.count()).select_from(Certificate)
                                  .join(Enrolment, Certificate.enrolment_id == Enrolment.id)
                                  .where(in_run, Certificate.revoked_at.is_(None))) or 0
    effects = dict(session.execute(
        select(Evaluation.overall_effect, func.count()).join(Enrolment, Evaluation.enrolment_id == Enrolment.id)
        .where(in_run, Evaluation.overall_effect.is_not(None)).group_by(Evaluation.overall_effect)).all())
    responses = session.scalar(select(func.count()).select_from(Evaluation)
                               .join(Enrolment, Evaluation.enrolment_id == Enrolment.id).where(in_run)) or 0
    return {
        "course": run.course.slug, "run": run.slug,
        "as_of": as_of.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "registered": registered, "started": started,
        "workbooks_completed": sum(completed_by_slug.values()),
        "badges_awarded": badges, "completed_all": completed_all or 0, "certificates_awarded": certificates,
        "completion_rate_registered": _rate(completed_all or 0, registered),
        "completion_rate_started": _rate(completed_all or 0, started),
        "per_workbook": [{"order": position, "slug": slug, "title": title,
                          "started": started_by_slug.get(slug, 0), "completed": completed_by_slug.get(slug, 0)}
                         for position, slug, title in workbooks],
        "evaluation": {"responses": responses,
                       "overall_effect": {e.value: effects.get(e, 0) for e in OverallEffect}},
    }
