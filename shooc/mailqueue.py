"""Mail to many people (announcements, reminders) goes through a queue in the
database: queued in the same transaction as what caused it, so that a rolled-back
announcement e-mails nobody, and delivered by ``shooc mail send`` (from cron, and
started in the background after an announcement is posted). Delivery is at least
once: a message is claimed, sent, then marked sent; a claim that was never marked
(a crash) or whose sending failed is tried again after ``CLAIM_MINUTES``, up to
``MAX_ATTEMPTS`` times. Any number of app servers and
cron jobs can deliver at once; each message is claimed by one of them.

Mail to one person that answers their own request (confirm your address, reset
your password) is sent at once by ``shooc.web.mailer()`` instead.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, and_, func, insert, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shooc import jobs
from shooc.db import Base, Database, utcnow
from shooc.mail import Mailer, MailError

log = logging.getLogger(__name__)

CLAIM_MINUTES = 10
MAX_ATTEMPTS = 5
BATCH = 100


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_unsent", "sent_at", "claimed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # an HTML alternative (notifications)
    headers: Mapped[dict[str, Any] | None]  # extra headers: List-Unsubscribe (RFC 8058)
    kind: Mapped[str] = mapped_column(String(40))  # announcement, reminder-closing, ...
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str
    kind: str
    user_id: int | None = None
    html: str | None = None
    headers: dict[str, str] | None = None


def enqueue(session: Session, messages: Iterable[Message]) -> int:
    """Queue messages (one INSERT for them all); returns how many."""
    now = utcnow()
    rows = [{"recipient": m.recipient, "subject": m.subject, "body": m.body, "kind": m.kind,
             "user_id": m.user_id, "created_at": now, "attempts": 0, "html": m.html, "headers": m.headers}
            for m in messages]
    if rows:
        session.execute(insert(OutgoingMail), rows)
    return len(rows)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0


def _deliverable(now: dt.datetime) -> ColumnElement[bool]:
    stale = now - dt.timedelta(minutes=CLAIM_MINUTES)
    return and_(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS,
                or_(OutgoingMail.claimed_at.is_(None), OutgoingMail.claimed_at < stale))


def _claim(database: Database, limit: int) -> list[OutgoingMail]:
    now = utcnow()
    with database.session() as session, session.begin():
        query = select(OutgoingMail).where(_deliverable(now)).order_by(OutgoingMail.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        messages = list(session.scalars(query))
        if messages:
            session.execute(update(OutgoingMail).where(OutgoingMail.id.in_([m.id for m in messages]))
                            .values(claimed_at=now, attempts=OutgoingMail.attempts + 1))
        return messages


def deliver(database: Database, mailer: Mailer, limit: int | None = None,
            after_batch: Callable[[Delivery], None] | None = None) -> Delivery:
    """Send queued mail until the queue is empty (or ``limit`` messages were tried).
    Each message is sent outside any transaction, so a slow mail server holds no lock."""
    result = Delivery()
    while limit is None or result.sent + result.failed < limit:
        if after_batch and result.sent + result.failed:
            after_batch(result)
        batch = _claim(database, BATCH if limit is None else min(BATCH, limit - result.sent - result.failed))
        if not batch:
            break
        for message in batch:
            try:
                mailer.send(message.recipient, message.subject, message.body, message.html, message.headers)
            except Exception as exc:  # noqa: BLE001 (a server refusal, or a message the mail library rejects)
                if not isinstance(exc, MailError):
                    log.exception("message %s could not be sent", message.id)
                result.failed += 1
                _mark(database, message.id, error=f"{type(exc).__name__}: {exc}")
            else:
                result.sent += 1
                _mark(database, message.id)
    return result


DELIVERY_JOB = "mail.deliver"


def deliver_job(environment: jobs.Environment, job: jobs.RunningJob) -> None:
    """The background job an announcement starts: deliver the queue now (what it
    leaves, cron's ``shooc mail send`` delivers). Its progress is the messages tried."""
    database = environment.database

    def beat(result: Delivery) -> None:
        with database.session() as session, session.begin():
            job.progress(session, result.sent + result.failed)

    result = deliver(database, Mailer.from_config(environment.config, environment.instance_path),
                     after_batch=beat)
    beat(result)
    log.info("mail queue: %s sent, %s failed", result.sent, result.failed)


def _mark(database: Database, message_id: int, error: str | None = None) -> None:
    with database.session() as session, session.begin():
        # A failure keeps its claim: tried again after CLAIM_MINUTES, not at once in this run.
        values = {"last_error": error} if error else {"sent_at": utcnow(), "last_error": None}
        session.execute(update(OutgoingMail).where(OutgoingMail.id == message_id).values(**values))


def queue_figures(session: Session) -> dict[str, int]:
    """Waiting, sent and given up (after MAX_ATTEMPTS failures), for the leaders' pages."""
    waiting = session.scalar(select(func.count()).where(OutgoingMail.sent_at.is_(None),
                                                        OutgoingMail.attempts < MAX_ATTEMPTS)) or 0
    failed = session.scalar(select(func.count()).where(OutgoingMail.sent_at.is_(None),
                                                       OutgoingMail.attempts >= MAX_ATTEMPTS)) or 0
    sent = session.scalar(select(func.count()).where(OutgoingMail.sent_at.is_not(None))) or 0
    return {"waiting": waiting, "sent": sent, "failed": failed}
