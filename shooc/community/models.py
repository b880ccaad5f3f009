"""The community's tables: posts of a run's discussions, helpful marks, follows,
reports, mutes and notifications (the decisions: shooc/community/services.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shooc.db import Base, utcnow


class Post(Base):
    """A post in a run's discussion of a workbook (``workbook_slug``) or in its
    introductions (``workbook_slug`` None): a thread's first post (``parent_id`` None)
    or a reply to one. Deleting keeps the row (its replies stay), hiding keeps the
    text for the course team."""

    __tablename__ = "posts"
    __table_args__ = (
        # a discussion's threads, shown (hidden_at NULL) and not pinned, newest or most
        # helpful first: read in that order a page at a time, and counted, from the index
        # alone (pinned ones are few, and read apart: services.threads)
        Index("ix_posts_threads", "run_id", "workbook_slug", "parent_id", "hidden_at", "pinned_at", "created_at", "id"),
        Index("ix_posts_threads_helpful", "run_id", "workbook_slug", "parent_id", "hidden_at", "pinned_at",
              "helpful_count", "created_at", "id"),
        Index("ix_posts_replies", "parent_id", "created_at"),
        Index("ix_posts_author_created", "author_id", "created_at"),  # the rate limit, the data download
        # the moderation queue: reported posts most reported first, then hidden ones
        Index("ix_posts_run_reports", "run_id", "open_reports", "id"),
        Index("ix_posts_run_hidden", "run_id", "hidden_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    workbook_slug: Mapped[str | None] = mapped_column(String(80))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    activity_id: Mapped[str | None] = mapped_column(String(80))  # the peer-discussion prompt it answers
    # a reflection the author shared from their submitted workbook
    shared_response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="SET NULL"),
                                                           index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_course_team: Mapped[bool] = mapped_column(default=False)  # written by a leader or admin
    body: Mapped[str] = mapped_column(Text)  # Markdown, as written; emptied when deleted
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    pinned_at: Mapped[dt.datetime | None]
    locked_at: Mapped[dt.datetime | None]  # a thread's first post: no more replies
    helpful_count: Mapped[int] = mapped_column(default=0)
    reply_count: Mapped[int] = mapped_column(default=0)  # replies not deleted or hidden
    open_reports: Mapped[int] = mapped_column(default=0)

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None


class Helpful(Base):
    """A person marked a post helpful (once)."""

    __tablename__ = "post_helpful"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Follow(Base):
    """A person follows a thread (its first post): told of every reply."""

    __tablename__ = "thread_follows"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A participant reported a post to the course team, with a reason."""

    __tablename__ = "post_reports"
    __table_args__ = (Index("ix_post_reports_post_open", "post_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]  # the post hidden, or kept, by the course team
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Mute(Base):
    """A participant muted in a run: they read its discussions but cannot post."""

    __tablename__ = "run_mutes"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    muted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Something that concerns a person: on their notifications page and, as they
    chose, e-mailed at once or in a daily digest."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),
                      Index("ix_notifications_user_unread", "user_id", "read_at"),
                      Index("ix_notifications_digest", "emailed_at", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # reply, feedback, extension, badge, revoked, announcement
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")  # plain text, a line or two
    path: Mapped[str] = mapped_column(String(500))  # where it leads, on this site
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    # queued to be e-mailed (at once, or in a digest); None: not yet, or never
    emailed_at: Mapped[dt.datetime | None]
