from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.auth.models import User
from shooc.db import Base, utcnow
from shooc.enrolment.rules import close_date, run_state, today_in
from shooc.workbooks.models import Course


class RunMode(str, enum.Enum):
    rolling = "rolling"  # all workbooks available from the start
    paced = "paced"  # workbook n opens on opens_on + (n-1) * pace_days


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    mode: Mapped[RunMode] = mapped_column(Enum(RunMode, native_enum=False, length=20, validate_strings=True))
    pace_days: Mapped[int] = mapped_column(default=7)
    capacity: Mapped[int | None]
    timezone: Mapped[str] = mapped_column(String(50), default="Europe/London", server_default="Europe/London")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()

    def state(self, today: dt.date) -> str:
        return run_state(self.opens_on, self.closes_on, today)

    def today(self) -> dt.date:
        """Today in the run's time zone."""
        return today_in(self.timezone)


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("run_id", "user_id"),
                      # a run's participants in enrolment order, a page at a time, at any size
                      Index("ix_enrolments_run_id_enrolled_on_id", "run_id", "enrolled_on", "id"),
                      # who is still inside an extended window after the run closed
                      Index("ix_enrolments_run_id_extended_until", "run_id", "extended_until"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    # NULL once the learner deleted their account: the run's counts keep the row.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    # The day the learner first saved an answer ("started" in the statistics); for
    # imported records, the file's started_on.
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    # Submitted workbooks, kept in the transaction that adds a submission (so that
    # filtering and sorting 100,000 participants by progress needs no count).
    submitted_count: Mapped[int] = mapped_column(default=0, server_default="0")
    extended_until: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_at: Mapped[dt.datetime | None]
    # When the learner first posted in the run's discussions: a "contributor" in the
    # statistics from then on, whatever becomes of the post (shooc/evaluate/counters.py)
    first_posted_at: Mapped[dt.datetime | None]
    last_activity_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The learner's one choice for every public page of this enrolment's credentials
    # (its badges and its certificate): their name is shown, or not (shooc/badges/views.py)
    show_name: Mapped[bool] = mapped_column(default=False, server_default=false())

    run: Mapped[Run] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def close_date(self) -> dt.date:
        """The last day this learner can submit: the run's closing date unless extended."""
        return close_date(self.run.closes_on, self.extended_until)


class Response(Base):
    """A learner's answer to one activity, keyed by workbook slug and activity id
    (never by content version) so that it outlives any new version of the course."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("enrolment_id", "workbook_slug", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    workbook_slug: Mapped[str] = mapped_column(String(80))
    activity_id: Mapped[str] = mapped_column(String(80))
    answer: Mapped[dict[str, Any]]
    # the workbook version the learner was looking at when they last saved
    workbook_version_id: Mapped[int | None] = mapped_column(ForeignKey("workbook_versions.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # 1 on the first save, one more on each: an autosave names the revision it was
    # typed over, and one made over an older revision is refused (answers.autosave)
    revision: Mapped[int] = mapped_column(default=1, server_default="1")


class Submission(Base):
    """A submitted workbook: one per enrolment and workbook (the unique key makes a
    double click or two tabs one submission). Badges are issued from it."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("enrolment_id", "workbook_slug"),
                      # a run's review queue, newest first, whole or one workbook's, a page at a
                      # time at any size (shooc/lead/review.py): why the run is kept here too
                      Index("ix_submissions_run_id_submitted_at", "run_id", "submitted_at", "id"),
                      Index("ix_submissions_run_id_workbook_slug_submitted_at", "run_id", "workbook_slug",
                            "submitted_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))  # the enrolment's
    workbook_slug: Mapped[str] = mapped_column(String(80))
    workbook_version_id: Mapped[int | None] = mapped_column(ForeignKey("workbook_versions.id"))
    course_version_number: Mapped[int | None]
    # the answers as submitted (erased, with the account, when a learner deletes it)
    answers: Mapped[dict[str, Any] | None]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()


class SubmissionReturn(Base):
    """A submitted workbook the course team handed back, with their reason.

    Handing back deletes the submission (so that every count, list and check of
    submitted work stays a plain look at ``submissions``), keeps the learner's
    answers (they are ``responses``, not the submission's copy) and keeps the
    revoked badge (its ``submission_id`` becomes NULL); this row is what remains of
    the submission: when it was made and why it came back."""

    __tablename__ = "submission_returns"
    __table_args__ = (Index("ix_submission_returns_enrolment_id_workbook_slug", "enrolment_id", "workbook_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    workbook_slug: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[dt.datetime]
    returned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    returned_by_name: Mapped[str] = mapped_column(String(200))  # "the course team" from the command line


class PendingDraft(Base):
    """Answers posted after a learner's session had ended, kept until they log in
    again (then restored into the form), so that an expired session loses nothing."""

    __tablename__ = "pending_drafts"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(300))
    form: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # who sent it, as a keyed hash of the client address (never the address itself),
    # and how many characters it holds: the drafts one address may keep are bounded
    address_key: Mapped[str] = mapped_column(String(64), index=True, default="")
    size: Mapped[int] = mapped_column(default=0)


class SelfAssessment(Base):
    """A learner's rating of themself against the course's standards (course.md's
    ``standards``), once before the course and once after it (``phase``): done, with
    ``ratings`` beside it, or skipped (``skipped_at``: the prompt stays hidden). The
    rules of when each may be made are shooc/enrolment/self_assessment.py's."""

    __tablename__ = "self_assessments"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(10), primary_key=True)  # "before" or "after"
    answered_at: Mapped[dt.datetime | None]
    skipped_at: Mapped[dt.datetime | None]


class SelfRating(Base):
    """One standard's rating (1 to 5) of a learner's self-assessment."""

    __tablename__ = "self_ratings"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(10), primary_key=True)
    standard_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    rating: Mapped[int]
