"""The learner's dashboard: a summary of each enrolment and its workbooks (no Flask here)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import DateTime, Text, cast, literal, null, select, union_all
from sqlalchemy.orm import Session, joinedload

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment import self_assessment as self_assessments
from shooc.enrolment.models import Enrolment, Response, Run, Submission, SubmissionReturn
from shooc.workbooks import published
from shooc.workbooks.models import Course, CourseVersion

# The dashboard ------------------------------------------------------------------

@dataclass
class WorkbookSummary:
    position: int
    slug: str
    title: str
    estimated_hours: float
    status: str  # not started, in progress, submitted
    released_on: dt.date
    released: bool
    suggested_by: dt.date
    submitted_at: dt.datetime | None
    # The badge of a submitted workbook that the course team revoked: (when, why)
    revoked: tuple[dt.datetime, str] | None = None
    # The course team handed it back (not submitted again since)
    returned: SubmissionReturn | None = None
    # Feedback the learner has not read yet
    new_feedback: bool = False


@dataclass
class EnrolmentSummary:
    enrolment: Enrolment
    run: Run
    course: Course
    version: CourseVersion
    workbooks: list[WorkbookSummary]
    today: dt.date
    # before and after (shooc/enrolment/self_assessment.py)
    self_assessment: self_assessments.SelfAssessmentState = field(
        default_factory=self_assessments.SelfAssessmentState)
    close_date: dt.date = field(init=False)

    def __post_init__(self) -> None:
        self.close_date = self.enrolment.close_date

    @property
    def submitted(self) -> int:
        return sum(1 for w in self.workbooks if w.status == "submitted")

    @property
    def revoked(self) -> list[WorkbookSummary]:
        """Submitted workbooks whose badge the course team revoked."""
        return [w for w in self.workbooks if w.revoked is not None]

    @property
    def returned(self) -> list[WorkbookSummary]:
        """Workbooks the course team handed back, not submitted again yet."""
        return [w for w in self.workbooks if w.returned is not None]

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / len(self.workbooks)) if self.workbooks else 0

    @property
    def days_left(self) -> int:
        return rules.days_left(self.close_date, self.today)

    @property
    def closed(self) -> bool:
        return self.today > self.close_date

    @property
    def withdrawn(self) -> bool:
        return self.enrolment.withdrawn_at is not None

    @property
    def finished(self) -> bool:
        """Every workbook submitted and none of its badges revoked: what comes next is
        the certificate, the survey and sharing the badges, not a countdown."""
        return bool(self.workbooks) and self.submitted == len(self.workbooks) and not self.revoked

    @property
    def standards(self) -> list[self_assessments.Standard]:
        return self_assessments.standards(self.version.meta)

    @property
    def self_assessment_phase(self) -> str | None:
        """The self-assessment the learner may give now (before or after), if any."""
        if not self.standards:
            return None
        return self_assessments.open_phase(self.self_assessment, self.submitted, len(self.workbooks),
                                           active=not (self.closed or self.withdrawn))

    @property
    def self_assessment_prompted(self) -> bool:
        return self_assessments.prompted(self.self_assessment, self.self_assessment_phase)

    @property
    def next_workbook(self) -> WorkbookSummary | None:
        """What to do next: the workbook in progress, else the first not started."""
        open_ones = [w for w in self.workbooks if w.status != "submitted" and w.released]
        in_progress = [w for w in open_ones if w.status == "in progress"]
        return next(iter(in_progress or open_ones), None)


def dashboard(session: Session, user_id: int) -> list[EnrolmentSummary]:
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.user_id == user_id)
        .options(joinedload(Enrolment.run, innerjoin=True).joinedload(Run.course, innerjoin=True))
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())).all()
    return enrolment_summaries(session, enrolments)


def enrolment_summaries(session: Session, enrolments: Sequence[Enrolment],
                        now: dt.datetime | None = None) -> list[EnrolmentSummary]:
    """Dashboard summaries of enrolments (a few queries for any number of them): the
    learner's dashboard, and the reminders, whose link is the dashboard's own "What
    to do next"."""
    ids = [e.id for e in enrolments]
    started: set[tuple[int, str]] = set()
    submitted: dict[tuple[int, str], dt.datetime] = {}
    revoked: dict[tuple[int, str], tuple[dt.datetime, str]] = {}
    returned: dict[tuple[int, str], SubmissionReturn] = {}
    new_feedback: set[tuple[int, str]] = set()
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for mark, enrolment_id, slug, at, reason in session.execute(_workbook_marks(part)):
            key = (enrolment_id, slug)
            if mark == STARTED:
                started.add(key)
            elif mark == SUBMITTED:
                submitted[key] = at
            elif mark == REVOKED:
                revoked[key] = (at or utcnow(), reason or "")
            else:
                new_feedback.add(key)
        returned.update(handed_back(session, part))
    rated = self_assessments.states(session, ids)
    versions = {vid: published.version(session, vid) for vid in {e.run.course.current_version_id for e in enrolments}
                if vid is not None}
    summaries = []
    for enrolment in enrolments:
        run = enrolment.run
        vid = run.course.current_version_id
        version = versions.get(vid) if vid is not None else None
        if version is None:
            continue
        today = rules.today_in(run.timezone, now)
        workbooks = []
        for wb in version.workbooks:
            key = (enrolment.id, wb.slug)
            released_on = rules.release_date(run.mode.value, run.opens_on, run.pace_days, wb.position)
            status = "submitted" if key in submitted else "in progress" if key in started else "not started"
            workbooks.append(WorkbookSummary(
                wb.position, wb.slug, wb.title, wb.estimated_hours, status, released_on, today >= released_on,
                rules.suggested_date(enrolment.enrolled_on, enrolment.close_date, run.pace_days, wb.position),
                submitted.get(key), revoked.get(key), returned.get(key), key in new_feedback))
        summaries.append(EnrolmentSummary(enrolment, run, run.course, version, workbooks, today,
                                          rated.get(enrolment.id, self_assessments.SelfAssessmentState())))
    return summaries


STARTED, SUBMITTED, REVOKED, NEW_FEEDBACK = "started", "submitted", "revoked", "feedback"


def _workbook_marks(enrolment_ids: Sequence[int]) -> Any:
    """One statement (UNION ALL) for what the dashboard marks on each workbook of
    these enrolments: (mark, (enrolment, workbook), when, why) for each workbook
    answered, submitted, whose badge was revoked (as ``revoked_badges``), or with
    feedback not read yet (as ``unread_feedback``). Four queries were a quarter of
    the dashboard's time (bench/README.md); the rows are a handful per workbook."""
    from shooc.badges.models import BadgeAssertion
    from shooc.lead.models import WorkbookFeedback

    ids = list(enrolment_ids)
    no_time, no_text = cast(null(), DateTime(timezone=True)), cast(null(), Text)

    parts = [
        select(literal(STARTED), Response.enrolment_id, Response.workbook_slug, no_time, no_text)
        .where(Response.enrolment_id.in_(ids)).distinct(),
        select(literal(SUBMITTED), Submission.enrolment_id, Submission.workbook_slug, Submission.submitted_at,
               no_text).where(Submission.enrolment_id.in_(ids)),
        select(literal(REVOKED), BadgeAssertion.enrolment_id, BadgeAssertion.workbook_slug,
               BadgeAssertion.revoked_at, BadgeAssertion.revocation_reason)
        .where(BadgeAssertion.enrolment_id.in_(ids), BadgeAssertion.revoked_at.is_not(None),
               BadgeAssertion.submission_id.is_not(None)),
        select(literal(NEW_FEEDBACK), WorkbookFeedback.enrolment_id, WorkbookFeedback.workbook_slug, no_time,
               no_text).where(WorkbookFeedback.enrolment_id.in_(ids), WorkbookFeedback.read_at.is_(None)),
    ]
    return union_all(*parts)


def revoked_badges(session: Session, enrolment_ids: Sequence[int]) -> dict[tuple[int, str], tuple[dt.datetime, str]]:
    """(enrolment, workbook) → when and why its badge was revoked, for these enrolments.

    Decision (issue 17): a revoked badge is the course team's decision about work
    already submitted, so the workbook stays submitted and the learner cannot submit it
    again on their own; the learner sees what was revoked and why on their dashboard,
    the workbook's page and their badges, and is told (a notification)."""
    from shooc.badges.models import BadgeAssertion

    if not enrolment_ids:
        return {}
    # the badge of the submission that stands (a handed-back one's has none)
    return {(e, w): (at or utcnow(), reason or "") for e, w, at, reason in session.execute(
        select(BadgeAssertion.enrolment_id, BadgeAssertion.workbook_slug, BadgeAssertion.revoked_at,
               BadgeAssertion.revocation_reason)
        .where(BadgeAssertion.enrolment_id.in_(list(enrolment_ids)), BadgeAssertion.revoked_at.is_not(None),
               BadgeAssertion.submission_id.is_not(None)))}


def handed_back(session: Session, enrolment_ids: Sequence[int]) -> dict[tuple[int, str], SubmissionReturn]:
    """(enrolment, workbook) → its latest hand-back, for workbooks not submitted again
    since (shooc/lead/review.py hands them back)."""
    if not enrolment_ids:
        return {}
    resubmitted = select(Submission.id).where(Submission.enrolment_id == SubmissionReturn.enrolment_id,
                                              Submission.workbook_slug == SubmissionReturn.workbook_slug)
    latest: dict[tuple[int, str], SubmissionReturn] = {}
    for found in session.scalars(select(SubmissionReturn).where(
            SubmissionReturn.enrolment_id.in_(list(enrolment_ids)), ~resubmitted.exists())
            .order_by(SubmissionReturn.returned_at, SubmissionReturn.id)):
        latest[(found.enrolment_id, found.workbook_slug)] = found
    return latest


def unread_feedback(session: Session, enrolment_ids: Sequence[int]) -> set[tuple[int, str]]:
    """(enrolment, workbook) pairs whose feedback the learner has not read yet
    (it is read when they next open the workbook: shooc/lead/review.py)."""
    from shooc.lead.models import WorkbookFeedback

    if not enrolment_ids:
        return set()
    return {(e, w) for e, w in session.execute(select(WorkbookFeedback.enrolment_id, WorkbookFeedback.workbook_slug)
                                               .where(WorkbookFeedback.enrolment_id.in_(list(enrolment_ids)),
                                                      WorkbookFeedback.read_at.is_(None)))}
