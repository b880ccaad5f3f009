"""What concerns a person, told on their notifications page and by e-mail as they
chose (no Flask here; the caller commits).

Decisions (issue 16):

- **Events**: a reply to my post or in a thread I follow (``reply``), feedback from
  the course team (``feedback``), a deadline extension (``extension``), a badge earned
  (``badge``), a badge or certificate revoked (``revoked``), an announcement
  (``announcement``). Each is written in the transaction of what caused it, so a
  rolled-back action tells nobody. Nobody is told of what they did themselves.
- **E-mail**, per person (``User.notification_email``): ``instant`` (the default: one
  e-mail per notification), ``daily`` (one digest a day of what is new) or ``never``.
  ``shooc mail send`` (cron, every few minutes) queues them (``queue_mail``), then
  delivers the queue (``shooc.mailqueue``): so whatever made a notification (a reply,
  a badge issued inside a submission, a leader's feedback) needs to know nothing of
  e-mail, and a rolled-back action e-mails nobody. Each message has a plain-text and
  an HTML part and a one-click unsubscribe (RFC 8058: ``List-Unsubscribe`` with
  ``List-Unsubscribe-Post``), whose link sets ``never``. Announcements keep their own
  e-mail (the announcement itself, to those who opted in); their notification is
  never e-mailed again.
- **Unread count**: notifications not yet seen; opening the page marks them read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import ScalarSelect, func, insert, select, update
from sqlalchemy.orm import Session

from shooc import mail_layout
from shooc.auth.models import User
from shooc.community.models import Notification
from shooc.db import utcnow
from shooc.mailqueue import Message, enqueue
from shooc.urls import SiteUrls

KINDS = {"reply": "Replies", "feedback": "Feedback", "extension": "Extensions", "badge": "Badges",
         "revoked": "Revoked credentials", "returned": "Workbooks handed back", "announcement": "Announcements",
         "message": "Messages from the course team"}
# e-mailed as themselves already (shooc.lead.communications, shooc.lead.messages)
NOT_EMAILED = {"announcement", "message"}
PAGE_SIZE = 30


@dataclass(frozen=True)
class Mailing:
    """What notification e-mails need: the site's URLs and the key of unsubscribe links."""

    links: SiteUrls
    secret: str


@dataclass(frozen=True)
class Event:
    kind: str
    title: str  # one line, plain text
    path: str  # where it leads: a path of this site
    text: str = ""  # a line or two more, plain text


def notify(session: Session, user_ids: Iterable[int | None], event: Event, actor_id: int | None = None) -> int:
    """Tell these people of ``event`` (not ``actor_id``, who caused it), in the
    caller's transaction; returns how many were told."""
    if event.kind not in KINDS:
        raise ValueError(f"unknown notification kind {event.kind!r}")
    ids = sorted({i for i in user_ids if i is not None and i != actor_id})
    if not ids:
        return 0
    now = utcnow()
    session.execute(insert(Notification), [
        {"user_id": i, "kind": event.kind, "title": event.title[:300], "text": event.text, "path": event.path,
         "created_at": now, "emailed_at": now if event.kind in NOT_EMAILED else None} for i in ids])
    return len(ids)


def unread_of_user() -> ScalarSelect[int]:
    """A column of ``users`` rows: how many notifications of theirs are unread (the
    header's count, loaded in the same statement as the logged-in person)."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == User.id, Notification.read_at.is_(None))
            .correlate(User).scalar_subquery())


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def latest(session: Session, user_id: int, number: int = 1) -> tuple[list[Notification], int]:
    """A page of a person's notifications, newest first, and how many pages there are."""
    total = session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user_id)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), pages)
    items = list(session.scalars(select(Notification).where(Notification.user_id == user_id)
                                 .order_by(Notification.created_at.desc(), Notification.id.desc())
                                 .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))
    return items, pages


def mark_read(session: Session, user_id: int, notifications: Sequence[Notification]) -> None:
    ids = [n.id for n in notifications if n.read_at is None]
    if ids:
        session.execute(update(Notification).where(Notification.user_id == user_id, Notification.id.in_(ids))
                        .values(read_at=utcnow()))


# E-mail ---------------------------------------------------------------------------------

def unsubscribe_token(secret: str, user_id: int) -> str:
    digest = hmac.new(secret.encode(), f"shooc-unsubscribe:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"{user_id}-{digest[:40]}"


def user_for_unsubscribe(session: Session, secret: str, token: str) -> User | None:
    head, _, _ = token.partition("-")
    if not head.isascii() or not head.isdigit() or len(head) > 12:
        return None
    if not hmac.compare_digest(token, unsubscribe_token(secret, int(head))):
        return None
    return session.get(User, int(head))


def _message(mailing: Mailing, user: User, subject: str, events: Sequence[Event]) -> Message:
    links = mailing.links
    unsubscribe = links.unsubscribe(unsubscribe_token(mailing.secret, user.id))
    lines = [f"Hello {user.name},", ""]
    for event in events:
        lines += [event.title, *([event.text] if event.text else []), links.site_path(event.path), ""]
    lines += [f"All your notifications: {links.notifications}",
              f"Choose how you are e-mailed on your account page: {links.account}",
              f"Stop these e-mails: {unsubscribe}"]
    link = 'style="color:inherit;text-decoration:underline"'
    items = "".join(
        f'<li style="margin:0 0 12px"><a href="{escape(links.site_path(e.path))}" {link}>{escape(e.title)}</a>'
        + (f"<br>{escape(e.text)}" if e.text else "") + "</li>" for e in events)
    content = f'<p style="margin:0 0 16px">Hello {escape(user.name)},</p><ul style="padding-left:20px">{items}</ul>'
    footer = (f'<p style="margin:0"><a href="{escape(links.notifications)}" {link}>All your notifications</a> · '
              f'<a href="{escape(links.account)}" {link}>Choose how you are e-mailed</a> · '
              f'<a href="{escape(unsubscribe)}" {link}>Stop these e-mails</a></p>')
    html = mail_layout.page(links, subject, Markup(content), Markup(footer))
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Message(user.email, subject, "\n".join(lines) + "\n", "notification", user.id, html, headers)


@dataclass
class Queued:
    instant: int = 0
    digests: int = 0


def queue_mail(session: Session, mailing: Mailing, today: dt.date) -> Queued:
    """The notification e-mails due now: one per notification not yet e-mailed to
    those who chose "at once", a digest to those who chose "daily" (once a day).
    What is older than a week and was never e-mailed (the choice was "never" then) is
    not sent late."""
    since = utcnow() - dt.timedelta(days=7)
    due = session.execute(select(User, Notification).join(Notification, Notification.user_id == User.id).where(
        User.notification_email == "instant", User.disabled_at.is_(None), Notification.emailed_at.is_(None),
        Notification.created_at > since).order_by(Notification.id)).all()
    enqueue(session, [_message(mailing, user, n.title, [Event(n.kind, n.title, n.path, n.text)]) for user, n in due])
    if due:
        session.execute(update(Notification).where(Notification.id.in_([n.id for _, n in due]))
                        .values(emailed_at=utcnow()))
    return Queued(len(due), _queue_digests(session, mailing, today, since))


def _queue_digests(session: Session, mailing: Mailing, today: dt.date, since: dt.datetime) -> int:
    """One digest to each person who chose "daily", has had none today and has new
    notifications not yet e-mailed; returns how many were queued."""
    due = session.execute(select(User, Notification).join(Notification, Notification.user_id == User.id).where(
        User.notification_email == "daily", User.disabled_at.is_(None), Notification.emailed_at.is_(None),
        Notification.created_at > since, (User.digest_sent_on.is_(None)) | (User.digest_sent_on < today))
        .order_by(User.id, Notification.created_at)).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for user, notification in due:
        by_user.setdefault(user.id, (user, []))[1].append(notification)
    messages = []
    now = utcnow()
    for user, notifications in by_user.values():
        events = [Event(n.kind, n.title, n.path, n.text) for n in notifications]
        count = len(events)
        messages.append(_message(mailing, user, f"Your day on the course: {count} new notification"
                                 + ("" if count == 1 else "s"), events))
        user.digest_sent_on = today
        session.execute(update(Notification).where(Notification.id.in_([n.id for n in notifications]))
                        .values(emailed_at=now))
    enqueue(session, messages)
    session.flush()
    return len(messages)
