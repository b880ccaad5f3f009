"""The learner's dashboard: a summary of each enrolment and its workbooks (no Flask here)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import DateTime, Integer, Text, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import Session, joinedload

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment import self_assessment as self_assessments
from shooc.enrolment.models import Enrolment, Response, Run, SelfAssessment, SelfRating, Submission, SubmissionReturn
from shooc.workbooks import published
from shooc.workbooks.models import Course, CourseVersion

# The dashboard ------------------------------------------------------------------

@dataclass(frozen=True)
class HandBack:
    """A workbook the course team handed back (the latest time, if more than once)."""

    returned_at: dt.datetime
    reason: str


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
    returned: HandBack | None = None
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
    # The code of the enrolment's valid certificate, and where its evaluation came
    # from ("survey" or "import"), if any
    certificate_code: str | None = None
    evaluation_source: str | None = None
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
    enrolments = session.scalars(_enrolments_of_user(), {"user_id": user_id}).all()
    return enrolment_summaries(session, enrolments)


@functools.cache
def _enrolments_of_user() -> Any:
    """A learner's enrolments with their runs and courses, newest first (built once)."""
    return (select(Enrolment).where(Enrolment.user_id == bindparam("user_id"))
            .options(joinedload(Enrolment.run, innerjoin=True).joinedload(Run.course, innerjoin=True))
            .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc()))


def enrolment_summaries(session: Session, enrolments: Sequence[Enrolment],
                        now: dt.datetime | None = None) -> list[EnrolmentSummary]:
    """Dashboard summaries of enrolments (a few queries for any number of them): the
    learner's dashboard, and the reminders, whose link is the dashboard's own "What
    to do next"."""
    ids = [e.id for e in enrolments]
    marks = EnrolmentMarks()
    for chunk in range(0, len(ids), 500):
        marks.read(session.execute(_enrolment_marks(), {"ids": ids[chunk:chunk + 500]}))
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
            status = ("submitted" if key in marks.submitted else "in progress" if key in marks.started
                      else "not started")
            workbooks.append(WorkbookSummary(
                wb.position, wb.slug, wb.title, wb.estimated_hours, status, released_on, today >= released_on,
                rules.suggested_date(enrolment.enrolled_on, enrolment.close_date, run.pace_days, wb.position),
                marks.submitted.get(key), marks.revoked.get(key), marks.returned.get(key),
                key in marks.new_feedback))
        summaries.append(EnrolmentSummary(
            enrolment, run, run.course, version, workbooks, today,
            marks.rated.get(enrolment.id, self_assessments.SelfAssessmentState()),
            marks.certificates.get(enrolment.id), marks.evaluations.get(enrolment.id)))
    return summaries


# What one statement reads about each enrolment for its summary (_enrolment_marks)
STARTED, SUBMITTED, REVOKED, NEW_FEEDBACK = "started", "submitted", "revoked", "feedback"
RETURNED, CERTIFIED, EVALUATED = "returned", "certified", "evaluated"
SELF_ANSWERED, SELF_SKIPPED, SELF_RATED = "self-answered", "self-skipped", "self-rated"


@dataclass
class EnrolmentMarks:
    """What marks each workbook and each enrolment of a dashboard, gathered from the
    rows of ``_enrolment_marks``; keys are (enrolment, workbook)."""

    started: set[tuple[int, str]] = field(default_factory=set)
    submitted: dict[tuple[int, str], dt.datetime] = field(default_factory=dict)
    revoked: dict[tuple[int, str], tuple[dt.datetime, str]] = field(default_factory=dict)
    new_feedback: set[tuple[int, str]] = field(default_factory=set)
    returned: dict[tuple[int, str], HandBack] = field(default_factory=dict)
    certificates: dict[int, str] = field(default_factory=dict)  # enrolment → its valid certificate's code
    evaluations: dict[int, str] = field(default_factory=dict)  # enrolment → survey or import
    rated: dict[int, self_assessments.SelfAssessmentState] = field(default_factory=dict)

    def read(self, rows: Any) -> None:
        latest_return: dict[tuple[int, str], tuple[dt.datetime, int]] = {}
        for mark, enrolment_id, key, at, text, number in rows:
            pair = (enrolment_id, key)
            if mark == STARTED:
                self.started.add(pair)
            elif mark == SUBMITTED:
                self.submitted[pair] = at
            elif mark == REVOKED:
                self.revoked[pair] = (at or utcnow(), text or "")
            elif mark == NEW_FEEDBACK:
                self.new_feedback.add(pair)
            elif mark == RETURNED:  # the latest hand-back of a workbook, by time then id
                if pair not in latest_return or (at, number) > latest_return[pair]:
                    latest_return[pair] = (at, number)
                    self.returned[pair] = HandBack(at, text or "")
            elif mark == CERTIFIED:
                self.certificates[enrolment_id] = text
            elif mark == EVALUATED:
                self.evaluations[enrolment_id] = text
            else:  # the self-assessment, as self_assessment.states reads it
                state = self.rated.setdefault(enrolment_id, self_assessments.SelfAssessmentState())
                if mark == SELF_ANSWERED:
                    state.ratings.setdefault(key, {})
                elif mark == SELF_SKIPPED:
                    state.skipped.add(key)
                else:  # SELF_RATED: key is the standard, text the phase
                    state.ratings.setdefault(text, {})[key] = number


@functools.cache
def _enrolment_marks() -> Any:
    """One statement (UNION ALL) for everything a dashboard marks on the enrolments
    of its ``ids`` parameter and their workbooks: rows of (mark, enrolment, key,
    when, text, number), where key is the workbook (the phase or standard for a
    self-assessment). Eleven queries were most of the dashboard's time in the
    database layer (bench/README.md, issue 21); the rows are a handful per workbook.
    Built once: building it was a fifth of the dashboard's time.

    - started (an answer), submitted (when), revoked (the standing submission's
      badge: when, why), feedback not read yet;
    - handed back and not submitted again since (when, why, its id: the latest wins);
    - the valid certificate (its code), the evaluation (its source);
    - the self-assessment: each phase answered or skipped, each rating (key the
      standard, text the phase, number the rating)."""
    from shooc.badges.models import BadgeAssertion, Certificate
    from shooc.evaluate.models import Evaluation
    from shooc.lead.models import WorkbookFeedback

    ids: Any = bindparam("ids", expanding=True)
    no_key, no_time = cast(null(), Text), cast(null(), DateTime(timezone=True))
    no_text, no_number = cast(null(), Text), cast(null(), Integer)
    resubmitted = select(Submission.id).where(Submission.enrolment_id == SubmissionReturn.enrolment_id,
                                              Submission.workbook_slug == SubmissionReturn.workbook_slug)
    parts = [
        select(literal(STARTED), Response.enrolment_id, Response.workbook_slug, no_time, no_text, no_number)
        .where(Response.enrolment_id.in_(ids)).distinct(),
        select(literal(SUBMITTED), Submission.enrolment_id, Submission.workbook_slug, Submission.submitted_at,
               no_text, no_number).where(Submission.enrolment_id.in_(ids)),
        select(literal(REVOKED), BadgeAssertion.enrolment_id, BadgeAssertion.workbook_slug,
               BadgeAssertion.revoked_at, BadgeAssertion.revocation_reason, no_number)
        .where(BadgeAssertion.enrolment_id.in_(ids), BadgeAssertion.revoked_at.is_not(None),
               BadgeAssertion.submission_id.is_not(None)),
        select(literal(NEW_FEEDBACK), WorkbookFeedback.enrolment_id, WorkbookFeedback.workbook_slug, no_time,
               no_text, no_number).where(WorkbookFeedback.enrolment_id.in_(ids), WorkbookFeedback.read_at.is_(None)),
        select(literal(RETURNED), SubmissionReturn.enrolment_id, SubmissionReturn.workbook_slug,
               SubmissionReturn.returned_at, SubmissionReturn.reason, SubmissionReturn.id)
        .where(SubmissionReturn.enrolment_id.in_(ids), ~resubmitted.exists()),
        select(literal(CERTIFIED), Certificate.enrolment_id, no_key, no_time, Certificate.code, no_number)
        .where(Certificate.enrolment_id.in_(ids), Certificate.revoked_at.is_(None)),
        select(literal(EVALUATED), Evaluation.enrolment_id, no_key, no_time, Evaluation.source, no_number)
        .where(Evaluation.enrolment_id.in_(ids)),
        select(literal(SELF_ANSWERED), SelfAssessment.enrolment_id, SelfAssessment.phase, no_time, no_text,
               no_number).where(SelfAssessment.enrolment_id.in_(ids), SelfAssessment.answered_at.is_not(None)),
        select(literal(SELF_SKIPPED), SelfAssessment.enrolment_id, SelfAssessment.phase, no_time, no_text,
               no_number).where(SelfAssessment.enrolment_id.in_(ids), SelfAssessment.answered_at.is_(None),
                                SelfAssessment.skipped_at.is_not(None)),
        select(literal(SELF_RATED), SelfRating.enrolment_id, SelfRating.standard_code, no_time, SelfRating.phase,
               SelfRating.rating).where(SelfRating.enrolment_id.in_(ids)),
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
