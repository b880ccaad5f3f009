from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import Enum, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shooc.db import Base, utcnow


class Role(str, enum.Enum):
    learner = "learner"
    leader = "leader"
    evaluator = "evaluator"
    admin = "admin"


JOB_ROLES = {
    "class-teacher": "Class or subject teacher",
    "mentor": "School-based mentor",
    "induction-tutor": "Induction tutor or professional tutor",
    "middle-leader": "Middle leader (e.g. head of department)",
    "senior-leader": "Senior leader",
    "trainee-or-ect": "Trainee or early-career teacher",
    "teacher-educator": "Teacher educator (university or provider)",
    "other": "Other",
}
MENTORING_EXPERIENCE = {
    "none": "I have not mentored yet",
    "under-1": "Less than a year",
    "1-3": "One to three years",
    "over-3": "More than three years",
}


#: How a person's name is shown to others on the course (posts, replies, notifications)
NAME_SHOWN = {"full": "My name as I gave it", "short": "My first name and the initial of my last"}
#: How a person is e-mailed their notifications (shooc/community/notifications.py)
NOTIFICATION_EMAIL = {"instant": "At once, one e-mail each", "daily": "A daily digest", "never": "Never"}


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, validate_strings=True))
    organisation: Mapped[str | None] = mapped_column(String(200))
    job_role: Mapped[str | None] = mapped_column(String(40))
    mentoring_experience: Mapped[str | None] = mapped_column(String(20))
    email_opt_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    consented_at: Mapped[dt.datetime | None]  # to the privacy notice, at registration
    email_verified_at: Mapped[dt.datetime | None]
    # Part of the login cookie: changing it (log out, new password) ends every session.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token,
                                               server_default="")
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set by an admin: no password, link, session or API token of the account works.
    disabled_at: Mapped[dt.datetime | None]
    # How their name is shown to other participants (shooc.community.services.shown_name):
    # "full" (their name as given) or "short" (first name and initial)
    name_shown: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    # Notifications by e-mail: "instant", "daily" (a digest) or "never"
    notification_email: Mapped[str] = mapped_column(String(10), default="instant", server_default="instant")
    digest_sent_on: Mapped[dt.date | None]  # the last daily digest's day
    # A new address asked for on the account page, until the link sent to it is used
    # (shooc/auth/email_change.py); ``email`` stays the account's address until then
    pending_email: Mapped[str | None] = mapped_column(String(254))
    pending_email_at: Mapped[dt.datetime | None]

    @property
    def is_active(self) -> bool:  # Flask-Login's name: an inactive user is never logged in
        return self.disabled_at is None

    @property
    def is_leader(self) -> bool:
        """Leaders and admins run courses."""
        return self.role in (Role.leader, Role.admin)

    # What Flask-Login asks of a user (no Flask here: it only reads these).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"
