"""The admins' view of people (/admin/users, ``shooc user role``): finding a person,
their enrolments, their role, and the account actions (no Flask here; the caller
commits).

Decisions (issue 17):

- **Who.** Only admins: people's roles and accounts are not a course team's business
  (leaders see the participants of their runs, in /lead).
- **Roles** are learner, leader, evaluator and admin. A change takes effect on the
  person's next request (the role is read with the user on every request) and is in
  the audit log with the old and the new role. An admin cannot change their own role
  or disable their own account (another admin must), and the last active admin
  cannot be demoted or disabled: there is always someone who can undo a mistake.
  A learner made staff keeps their enrolments and what they earned (the records stay
  true); staff are not offered enrolment from then on.
- **Search** matches part of the name or of the e-mail address, case-insensitively
  (``%`` and ``_`` are matched as themselves). Pages of ``PAGE_SIZE``, newest
  accounts first.
- The audit log names a person by their user id, never by name or address (as for
  learners, whom it names by enrolment), so deleting an account leaves no name in it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shooc.audit import audit
from shooc.auth.models import Role, User
from shooc.auth.services import AccountError, disable_account, enable_account
from shooc.enrolment.models import Enrolment, Run

PAGE_SIZE = 50


@dataclass
class PeoplePage:
    people: list[User]
    number: int
    pages: int
    total: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_people(session: Session, query: str = "", number: int = 1, role: str = "",
                size: int = PAGE_SIZE) -> PeoplePage:
    """People whose name or address holds ``query`` (all when empty), of one role if
    given, newest first, a page at a time."""
    where = []
    query = query.strip().lower()
    if query:
        where.append(or_(func.lower(User.name).like(_like(query), escape="\\"),
                         User.email.like(_like(query), escape="\\")))
    if role in {r.value for r in Role}:
        where.append(User.role == Role(role))
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    pages = max(1, math.ceil(total / size))
    number = min(max(1, number), pages)
    people = list(session.scalars(select(User).where(*where).order_by(User.created_at.desc(), User.id.desc())
                                  .limit(size).offset((number - 1) * size)))
    return PeoplePage(people, number, pages, total)


def enrolments_of(session: Session, user: User) -> list[Enrolment]:
    """A person's enrolments, newest first, with their runs (and courses) loaded."""
    return list(session.scalars(select(Enrolment).join(Run, Run.id == Enrolment.run_id)
                                .where(Enrolment.user_id == user.id)
                                .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())))


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.admin, User.disabled_at.is_(None))) or 0


def _not_oneself(user: User, by: User | None, what: str) -> None:
    if by is not None and by.id == user.id:
        raise AccountError(f"You cannot {what} yourself: another admin must")


def _not_the_last_admin(session: Session, user: User, what: str) -> None:
    if user.role is Role.admin and user.disabled_at is None and _active_admins(session) <= 1:
        raise AccountError(f"This is the only active admin: make someone else an admin before you {what} them")


def set_role(session: Session, user: User, role: Role | str, by: User | None) -> None:
    """Change a person's role (``by`` None: the command line), audited."""
    role = Role(role)
    if role is user.role:
        raise AccountError(f"{user.name} is a {role.value} already")
    _not_oneself(user, by, "change the role of")
    if role is not Role.admin:
        _not_the_last_admin(session, user, "change the role of")
    before = user.role
    user.role = role
    audit(session, by, "user.role", f"Changed the role of user {user.id} from {before.value} to {role.value}",
          user_id=user.id, before=before.value, after=role.value)
    session.flush()


def disable(session: Session, user: User, by: User | None) -> None:
    """Disable an account (services.disable_account), never one's own or the last admin's."""
    if user.disabled_at is not None:
        raise AccountError("This account is disabled already")
    _not_oneself(user, by, "disable")
    _not_the_last_admin(session, user, "disable")
    disable_account(session, user, by)


def enable(session: Session, user: User, by: User | None) -> None:
    if user.disabled_at is None:
        raise AccountError("This account is not disabled")
    enable_account(session, user, by)


def unlocked(session: Session, user: User, by: User | None) -> None:
    """Record that the login limits counted against the account were lifted (the
    counts themselves live in the rate limiter's storage: shooc.auth.limits.unlock)."""
    audit(session, by, "user.unlock", f"Lifted the login limits on user {user.id}", user_id=user.id)
    session.flush()


def confirmation_resent(session: Session, user: User, by: User | None) -> None:
    if user.email_verified_at is not None:
        raise AccountError("This address is confirmed already")
    audit(session, by, "user.confirmation", f"Sent user {user.id} a new confirmation link", user_id=user.id)
    session.flush()
