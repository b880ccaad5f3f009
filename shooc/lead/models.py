from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow
from shooc.jobs import Job


class WorkbookFeedback(Base):
    """A leader's written feedback on a learner's workbook; the learner sees it on the
    workbook's page."""

    __tablename__ = "workbook_feedback"
    __table_args__ = (UniqueConstraint("enrolment_id", "workbook_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    workbook_slug: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the learner last opened the workbook after this feedback was written
    # (NULL: not yet; the dashboard marks the workbook "new feedback")
    read_at: Mapped[dt.datetime | None]


class Announcement(Base):
    """A message from the course team to a run: on learners' dashboards, and e-mailed
    to those who opted in."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown, as written
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    emailed_to: Mapped[int] = mapped_column(default=0)  # how many e-mails were queued
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Recording(Base):
    """A webinar recording attached to a workbook of a course (every run's learners
    see it), with its transcript for those who cannot or would rather not watch.

    ``activity_id`` places it in one of the workbook's media activities: it then
    shows there, and nowhere else on the page (a recording not placed shows after
    the workbook's text). ``session_id`` is the live session it recorded."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    workbook_slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(1000))
    transcript: Mapped[str] = mapped_column(Text)
    recorded_on: Mapped[dt.date | None] = mapped_column(Date)
    activity_id: Mapped[str | None] = mapped_column(String(80))  # a media activity of the workbook
    session_id: Mapped[int | None] = mapped_column(ForeignKey("live_sessions.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReminderSent(Base):
    """A reminder e-mailed to a learner: at most one per kind per learner per week."""

    __tablename__ = "reminders_sent"
    __table_args__ = (Index("ix_reminders_sent_enrolment_kind_at", "enrolment_id", "kind", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # closing or inactive
    workbook_slug: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RecordImport(Base):
    """A records import (docs/formats.md) started from the web: its file and what it
    added; its running (status, progress, error) is its job's (shooc/jobs.py)."""

    __tablename__ = "record_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # emptied once imported: no second copy is kept
    rows: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the batches so far added
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(lazy="joined")

    @property
    def status(self) -> str:
        return self.job.status


class TeamMessage(Base):
    """A message from the course team to one learner or a filtered group of a run
    (shooc/lead/messages.py): kept with whom it went to, in words, and how many."""

    __tablename__ = "team_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # plain text, as written
    audience: Mapped[str] = mapped_column(String(300))  # e.g. "Started, nothing submitted for 30 days"
    recipients: Mapped[int] = mapped_column(default=0)
    emailed_to: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class LiveSession(Base):
    """A webinar or chat of a run (shooc/lead/live_sessions.py): its start in UTC,
    shown in the run's time zone. ``sequence`` counts the changes calendars must
    notice (iCalendar SEQUENCE); a cancelled session stays, marked."""

    __tablename__ = "live_sessions"
    __table_args__ = (Index("ix_live_sessions_run_starts", "run_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime]
    minutes: Mapped[int]
    join_url: Mapped[str | None] = mapped_column(String(1000))
    sequence: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.minutes)


class SessionReminderSent(Base):
    """The day-before reminder of a live session, e-mailed to one person: once ever
    (the unique key holds even when two servers send at the same moment)."""

    __tablename__ = "session_reminders_sent"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CalendarFeed(Base):
    """A person's calendar feed, /calendar/<token>.ics: the token is the only key,
    kept as it is so that its owner can see the address again; a new one replaces it."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
