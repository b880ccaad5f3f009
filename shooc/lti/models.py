"""LTI 1.3 tables (migration 0026)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow
from shooc.workbooks.models import Course


class LtiPlatform(Base):
    """A platform (a university's Moodle, Canvas ...) registered by an admin: what it
    told us (issuer, client id, its endpoints, deployment ids) and the course its
    resource links open when a link names none."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    auth_url: Mapped[str] = mapped_column(String(500))
    token_url: Mapped[str] = mapped_column(String(500))
    jwks_url: Mapped[str] = mapped_column(String(500))
    # space-separated: a platform may deploy the tool more than once
    deployment_ids: Mapped[str] = mapped_column(Text)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    # The platform's keys as last fetched from jwks_url (fetched again for an unknown kid)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_fetched_at: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[Course | None] = relationship()

    @property
    def deployments(self) -> list[str]:
        return self.deployment_ids.split()


class LtiIdentity(Base):
    """The account a platform's user (``sub`` of ``iss``) launches into."""

    __tablename__ = "lti_identities"
    __table_args__ = (UniqueConstraint("platform_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LtiCourseLeader(Base):
    """A platform's Instructor or Administrator leads this one course through LTI:
    never a site-wide role (their account stays a learner's)."""

    __tablename__ = "lti_course_leaders"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LtiNonce(Base):
    """A login's nonce, until its launch uses it (once) or it expires."""

    __tablename__ = "lti_nonces"

    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    # the login's state, also in the browser's cookie: the launch must bring both
    state: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class LtiHandoff(Base):
    """A one-time link from a launch whose cookies the browser blocked (a VLE's
    iframe without third-party cookies) to the same place in a new window, logged in."""

    __tablename__ = "lti_handoffs"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(500))  # a path of this site
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class LtiLink(Base):
    """What a launch told us about one user's place on the platform: its context,
    resource link and the endpoints of its grade and roster services, kept for the
    scores sent later and for the roster page."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("platform_id", "user_id", "course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str | None] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    workbook_slug: Mapped[str | None] = mapped_column(String(80))  # a link to one workbook
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[str] = mapped_column(Text, default="")
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    launched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LtiScore(Base):
    """A score waiting to reach its platform, or sent: the queue that loses nothing
    while a platform is down (kept, tried again by the next ``lti.scores`` job)."""

    __tablename__ = "lti_scores"
    __table_args__ = (Index("ix_lti_scores_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_links.id", ondelete="CASCADE"))
    workbook_slug: Mapped[str | None] = mapped_column(String(80))  # None: the course's completion
    label: Mapped[str] = mapped_column(String(300))
    score_given: Mapped[float]
    score_maximum: Mapped[float]
    timestamp: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LtiAccessToken(Base):
    """A platform's access token for a set of scopes, until shortly before it expires."""

    __tablename__ = "lti_access_tokens"
    __table_args__ = (UniqueConstraint("platform_id", "scopes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(1000))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime]
