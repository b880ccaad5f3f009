from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, Text
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
