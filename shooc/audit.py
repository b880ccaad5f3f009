"""The audit log: who did what to whom, when and why (no Flask here).

Every change the course team makes to a run, a learner, a credential or the
content, and every change of an account's standing (a token made or revoked, an
account disabled), is written here in the same transaction as the change itself,
so that the log and the data never disagree. Learners are named by their enrolment,
never by name, so that deleting an account leaves no name behind.

The core of the house (beside ``db``, ``mail`` and ``urls``): any area may record
an entry; this module imports no area but the tables it points at.
"""
from __future__ import annotations

import datetime as dt
import getpass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shooc.db import Base, utcnow

if TYPE_CHECKING:
    from shooc.auth.models import User
    from shooc.enrolment.models import Enrolment, Run


class AuditEntry(Base):
    """Who did what to whom, when and why: every leader's action on a learner or run."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(300))  # name and e-mail as they were (or "command line")
    action: Mapped[str] = mapped_column(String(60))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


def audit(session: Session, actor: User | None, action: str, summary: str, *, run: Run | None = None,
          enrolment: Enrolment | None = None, reason: str | None = None, **details: Any) -> AuditEntry:
    """Record an action. Learners are referred to by their enrolment, never by name,
    so that deleting an account leaves no name behind in the log."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor=f"{actor.name} <{actor.email}>" if actor else command_line_actor(),
        action=action, summary=summary, reason=reason,
        run_id=(run.id if run else enrolment.run_id if enrolment else None),
        enrolment_id=enrolment.id if enrolment else None, details=details)
    session.add(entry)
    session.flush()
    return entry


def command_line_actor() -> str:
    """Who ran a command: the command line has no login (whoever can run it holds
    the database's credentials); the audit log names the operating-system user."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"


def audit_entries(session: Session, run: Run | None = None, enrolment: Enrolment | None = None,
                  limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if run is not None:
        query = query.where(AuditEntry.run_id == run.id)
    if enrolment is not None:
        query = query.where(AuditEntry.enrolment_id == enrolment.id)
    return list(session.scalars(query))
