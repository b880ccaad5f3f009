"""Messages from the course team to one learner or to the participants a filter
selects, over a session (no Flask here; the caller commits).

Decisions (issue 17):

- **Who**: one learner (from their page), or the run's participants a filter selects:
  everyone still enrolled, a status of the participants table (not started, in
  progress, completed, closed without finishing), or *quiet*: started at least N days
  ago, not finished, still inside their window, and nothing submitted for N days
  (the leaders' "started, no submission for 30 days"). Withdrawn learners and deleted
  accounts are never written to by a filter.
- **How**: each recipient gets a notification holding the whole message (their
  notifications page; never e-mailed again as a notification), and an e-mail
  through the mail queue, in the same transaction. A message to a group e-mails
  only those who chose the course team's e-mail (``User.email_opt_in``) with a
  confirmed address, as announcements do; a message to one learner is
  correspondence addressed to them and is e-mailed to any confirmed address.
- **Kept**: every message (``TeamMessage``) with its audience described in words
  and how many it reached and e-mailed, and an audit entry; the same message to the
  same audience within the hour is refused as a double click.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from shooc import mail_layout
from shooc.audit import audit
from shooc.auth.models import User
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.enrolment.services import course_workbook_slugs
from shooc.lead.communications import course_title, one_line, opted_in, subject_line
from shooc.lead.models import TeamMessage
from shooc.lead.services import STATUSES, LeadError, status_filter
from shooc.mailqueue import Message, enqueue
from shooc.urls import SiteUrls

SUBJECT_MAX = 200
BODY_MAX = 10_000
DUPLICATE_WINDOW = dt.timedelta(hours=1)
QUIET_DAYS = 30
#: The filters of a group message: key → how the audience is described.
AUDIENCES = {"everyone": "Everyone enrolled",
             **{key: label for key, label in STATUSES.items() if key != "withdrawn"},
             "quiet": "Started, nothing submitted for a number of days"}


class MessageProblems(LeadError):
    """Input refused; ``problems`` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class Audience:
    """Whom a message goes to: one enrolment, or a filter of the run's participants."""

    kind: str  # "one", or a key of AUDIENCES
    enrolment_id: int | None = None
    days: int = QUIET_DAYS

    def described(self, session: Session) -> str:
        if self.kind == "one":
            enrolment = session.get(Enrolment, self.enrolment_id)
            return enrolment.user.name if enrolment is not None and enrolment.user is not None else "(deleted account)"
        if self.kind == "quiet":
            return f"Started, nothing submitted for {self.days} days"
        return AUDIENCES[self.kind]


@dataclass(frozen=True)
class Reach:
    learners: int
    emailed: int


def problems(subject: str, body: str, audience: Audience) -> dict[str, str]:
    found = {}
    if not subject.strip():
        found["subject"] = "Give the message a subject: it is the e-mail's subject."
    elif len(subject.strip()) > SUBJECT_MAX:
        found["subject"] = f"Keep the subject to {SUBJECT_MAX} characters."
    if not body.strip():
        found["body"] = "Write the message."
    elif len(body) > BODY_MAX:
        found["body"] = f"Keep the message to {BODY_MAX:,} characters (it has {len(body):,})."
    if audience.kind != "one" and audience.kind not in AUDIENCES:
        found["audience"] = "Choose whom to write to."
    if audience.kind == "quiet" and not 1 <= audience.days <= 3650:
        found["days"] = "Give a number of days from 1 to 3,650."
    return found


def _conditions(session: Session, run: Run, audience: Audience) -> list[Any]:
    if audience.kind == "one":
        return [Enrolment.id == audience.enrolment_id]
    active = [Enrolment.withdrawn_at.is_(None)]
    if audience.kind == "everyone":
        return active
    today = run.today()
    workbooks = len(course_workbook_slugs(session, run))
    if audience.kind == "quiet":
        cutoff = today - dt.timedelta(days=audience.days)
        since = dt.datetime.combine(cutoff, dt.time(), tzinfo=dt.timezone.utc)
        submitted_since = select(Submission.id).where(Submission.enrolment_id == Enrolment.id,
                                                      Submission.submitted_at >= since).exists()
        return [*status_filter(run, workbooks, today, "in-progress"), Enrolment.started_on <= cutoff,
                ~submitted_since]
    return status_filter(run, workbooks, today, audience.kind)


def _emailed(audience: Audience) -> list[Any]:
    """Who of the audience is e-mailed: one learner at a confirmed address, a group as announcements are."""
    return [User.email_verified_at.is_not(None)] if audience.kind == "one" else list(opted_in())


def reach(session: Session, run: Run, audience: Audience) -> Reach:
    """How many a message would reach, and how many of them by e-mail."""
    base = (select(func.count()).select_from(Enrolment).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.run_id == run.id, *_conditions(session, run, audience)))
    return Reach(session.scalar(base) or 0, session.scalar(base.where(*_emailed(audience))) or 0)


def send_message(session: Session, actor: User | None, run: Run, audience: Audience, subject: str, body: str,
                 links: SiteUrls, now: dt.datetime | None = None) -> TeamMessage:
    """Write to the audience: a notification each and the e-mails queued. Raises
    MessageProblems, or LeadError when nobody would receive it or it was just sent."""
    subject, body = one_line(subject), body.strip()
    found = problems(subject, body, audience)
    if found:
        raise MessageProblems(found)
    now = now or utcnow()
    # One sender at a time per run (PostgreSQL; SQLite's writers queue anyway), so
    # that a double click sends once.
    session.execute(select(Run.id).where(Run.id == run.id).with_for_update())
    described = audience.described(session)
    if session.scalar(select(TeamMessage.id).where(
            TeamMessage.run_id == run.id, TeamMessage.subject == subject, TeamMessage.body == body,
            TeamMessage.audience == described, TeamMessage.created_at > now - DUPLICATE_WINDOW).limit(1)):
        raise LeadError("this message was already sent to them within the hour")
    recipients = session.execute(
        select(User.id, User.email, User.name, and_(*_emailed(audience)))
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.run_id == run.id, *_conditions(session, run, audience)).order_by(User.id)).all()
    if not recipients:
        raise LeadError("nobody is selected: choose another filter")
    author = actor.name if actor else "The course team"
    course = course_title(session, run.course_id)
    mails = [_mail(email, subject_line(f"{course}: {subject}"), _text(name, author, course, run, subject, body, links),
                   user_id, links)
             for user_id, email, name, mailed in recipients if mailed]
    message = TeamMessage(run_id=run.id, author_id=actor.id if actor else None, author_name=author,
                          subject=subject, body=body, audience=described, recipients=len(recipients),
                          emailed_to=enqueue(session, mails), created_at=now)
    session.add(message)
    notify(session, [r[0] for r in recipients], Event("message", f"{author}: {subject}", "/notifications", body),
           actor_id=actor.id if actor else None)
    audit(session, actor, "message.send", f"Message “{subject}” to {described} of {run.slug}: "
          f"{len(recipients)} {'person' if len(recipients) == 1 else 'people'}, {message.emailed_to} e-mail(s) queued",
          run=run, enrolment=session.get(Enrolment, audience.enrolment_id) if audience.enrolment_id else None,
          **_filter_details(audience))
    session.flush()
    return message


def _filter_details(audience: Audience) -> dict[str, Any]:
    return {"audience": audience.kind, **({"days": audience.days} if audience.kind == "quiet" else {})}


def _mail(email: str, subject: str, text: str, user_id: int, links: SiteUrls) -> Message:
    """The message as plain text and in the branded HTML layout (made from the text)."""
    return Message(email, subject, text, "message", user_id, html=mail_layout.text_html(text, links, subject))


def _text(name: str, author: str, course: str, run: Run, subject: str, body: str, links: SiteUrls) -> str:
    return (f"Dear {name},\n\n"
            f"{author}, for the course team of {course} ({run.name}), writes:\n\n"
            f"{subject}\n{'=' * min(len(subject), 72)}\n\n"
            f"{body}\n\n"
            f"This message is also on your notifications page: {links.base}/notifications\n")


def sent_messages(session: Session, run: Run, limit: int = 50) -> list[TeamMessage]:
    """The run's latest messages, newest first."""
    return list(session.scalars(select(TeamMessage).where(TeamMessage.run_id == run.id)
                                .order_by(TeamMessage.created_at.desc(), TeamMessage.id.desc()).limit(limit)))
