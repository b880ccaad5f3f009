from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow
from shooc.enrolment.models import Enrolment


class OverallEffect(str, enum.Enum):
    """The survey's headline question: the course's effect on the learner's mentoring."""

    excellent = "excellent"
    very_good = "very_good"
    good = "good"
    fair = "fair"
    poor = "poor"


OVERALL_EFFECT_LABELS = {
    OverallEffect.excellent: "Excellent",
    OverallEffect.very_good: "Very good",
    OverallEffect.good: "Good",
    OverallEffect.fair: "Fair",
    OverallEffect.poor: "Poor",
}


class Evaluation(Base):
    """One learner's evaluation of a run (one per enrolment): from the survey, or
    from a past run's imported records."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    overall_effect: Mapped[OverallEffect | None] = mapped_column(
        Enum(OverallEffect, native_enum=False, length=20, validate_strings=True))
    objective_ratings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comments: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="survey")  # survey or import
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship()


# Counters of a run's figures, kept in the transaction of each event (enrolling,
# starting, submitting, issuing, revoking, evaluating) so that statistics read a few
# rows whatever the run's size. shooc.evaluate.counters keeps them; a recount from
# the rows themselves (``shooc stats RUN --recount``) must always agree.

class RunCounter(Base):
    __tablename__ = "run_counters"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    registered: Mapped[int] = mapped_column(default=0, server_default="0")
    withdrawn: Mapped[int] = mapped_column(default=0, server_default="0")
    started: Mapped[int] = mapped_column(default=0, server_default="0")
    workbooks_completed: Mapped[int] = mapped_column(default=0, server_default="0")
    badges_awarded: Mapped[int] = mapped_column(default=0, server_default="0")
    completed_all: Mapped[int] = mapped_column(default=0, server_default="0")
    certificates_awarded: Mapped[int] = mapped_column(default=0, server_default="0")
    evaluations: Mapped[int] = mapped_column(default=0, server_default="0")


class RunWorkbookCounter(Base):
    __tablename__ = "run_workbook_counters"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    workbook_slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    started: Mapped[int] = mapped_column(default=0, server_default="0")
    completed: Mapped[int] = mapped_column(default=0, server_default="0")


class RunWeekCounter(Base):
    """Per week (Monday, in the run's time zone): the picture of a rolling run."""

    __tablename__ = "run_week_counters"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    registered: Mapped[int] = mapped_column(default=0, server_default="0")
    started: Mapped[int] = mapped_column(default=0, server_default="0")
    workbooks_completed: Mapped[int] = mapped_column(default=0, server_default="0")
    certificates_awarded: Mapped[int] = mapped_column(default=0, server_default="0")


class RunTally(Base):
    """Counts of a run by a named key: ``effect`` (overall effect → responses),
    ``objective:N`` (rating 1–5 → responses), ``days`` (days from start to
    certificate → certificates, for the median)."""

    __tablename__ = "run_tallies"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tally: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(default=0, server_default="0")


class WorkbookStart(Base):
    """That a learner began a workbook (an answer saved in it, or a submission): kept
    when an account is erased, like the enrolment, so a run's figures do not change."""

    __tablename__ = "workbook_starts"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True)
    workbook_slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    started_on: Mapped[dt.date] = mapped_column(Date)
