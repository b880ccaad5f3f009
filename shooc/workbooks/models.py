"""Published course content. Every publish adds a CourseVersion; nothing is updated
in place, so any version can be shown again exactly as it was."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # The version learners see; use_alter breaks the courses <-> versions cycle.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", use_alter=True))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    current_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True)


class CourseVersion(Base):
    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    # course.md's front matter as written (issuer, objectives, standards, certificate)
    meta: Mapped[dict[str, Any]]
    body_html: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # of course.md, to tell what changed
    source_digest: Mapped[str] = mapped_column(String(64))  # of the whole folder
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship(foreign_keys=[course_id])
    workbooks: Mapped[list[WorkbookVersion]] = relationship(
        back_populates="course_version", order_by="WorkbookVersion.position",
        cascade="all, delete-orphan")


class WorkbookVersion(Base):
    __tablename__ = "workbook_versions"
    __table_args__ = (UniqueConstraint("course_version_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    position: Mapped[int]  # NN of the file name
    slug: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    estimated_hours: Mapped[float]
    word_count: Mapped[int] = mapped_column(Integer)
    standards: Mapped[list[Any]]
    badge: Mapped[dict[str, Any]]
    # The rendered, sanitised body: a list of {"html": ...} and {"activity": id} parts.
    # Deferred: tens of kilobytes of JSON per workbook that only the workbook page
    # shows (it undefers it); lists of workbooks (dashboard, course page) skip it.
    body_parts: Mapped[list[Any]] = mapped_column(deferred=True)
    digest: Mapped[str] = mapped_column(String(64))

    course_version: Mapped[CourseVersion] = relationship(back_populates="workbooks")
    activities: Mapped[list[ActivityVersion]] = relationship(
        back_populates="workbook_version", order_by="ActivityVersion.position",
        cascade="all, delete-orphan")


class ActivityVersion(Base):
    __tablename__ = "activity_versions"
    __table_args__ = (UniqueConstraint("workbook_version_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workbook_version_id: Mapped[int] = mapped_column(ForeignKey("workbook_versions.id"), index=True)
    activity_id: Mapped[str] = mapped_column(String(80))  # the author's stable id
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    required: Mapped[bool]
    title: Mapped[str | None] = mapped_column(String(300))
    definition: Mapped[dict[str, Any]]  # the YAML as written (quiz answers stay server-side)
    rendered: Mapped[dict[str, Any]]  # sanitised HTML of its Markdown fields
    digest: Mapped[str] = mapped_column(String(64))

    workbook_version: Mapped[WorkbookVersion] = relationship(back_populates="activities")


class Asset(Base):
    """An image of the content, stored in the database and addressed by its hash so
    that every app server can serve it and browsers can cache it for ever."""

    __tablename__ = "assets"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))  # a DOCX's is 71 characters (0027)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContentUpload(Base):
    """A course folder uploaded (as a zip) or read from the server, waiting for a
    leader to look at its validation and diff and publish or discard it. Kept in the
    database, not on disk, so any app server can show and publish it."""

    __tablename__ = "content_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))  # the zip's name, or the folder's path
    data: Mapped[bytes] = mapped_column(LargeBinary)  # the course folder as a zip
    course_slug: Mapped[str | None] = mapped_column(String(80))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The problems the loader found when it was staged (None: staged before that was
    # kept): the publish page lists an upload with problems apart from those waiting
    problem_count: Mapped[int | None]
