from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow
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
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()

    def state(self, today: dt.date) -> str:
        if today < self.opens_on:
            return "upcoming"
        if today > self.closes_on:
            return "closed"
        return "open"


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("run_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    # NULL once the learner deleted their account: the run's counts keep the row.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    extended_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    run: Mapped[Run] = relationship()


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
