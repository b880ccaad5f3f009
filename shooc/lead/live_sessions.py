"""Live sessions (webinars, chats) of a run, over a session (no Flask here):
scheduling, changing and cancelling them, the join link's window, the day-before
reminder, and the calendars (.ics) that carry them.

Decided, and written down for leaders (content/README.md) and operators (docs/):

- *Times.* A session's start is stored in UTC and shown in the run's time zone
  (``Run.timezone``), with the zone's abbreviation (BST, GMT, EDT...). A start
  written without an offset (the page's date and time, or ``shooc sessions create
  --starts 2027-03-04T18:00``) is read in the run's time zone, since that is where
  the leader and the learners live; one with an offset (``...T18:00+01:00``, ``Z``)
  is taken as written. A local time the clocks skip (01:30 on the night British
  Summer Time begins) is refused, naming the field; a time that happens twice (the
  night it ends) is the first of the two.
- *The join link* is shown from ``JOIN_EARLY`` (15 minutes) before the start until
  the end (start + minutes); never for a cancelled session. It is not in e-mails,
  nor in the run's public calendar: only on the enrolled learner's pages and in
  their personal feed.
- *Announcing.* Scheduling a session, moving it to another time and cancelling it
  e-mail every learner of the run who opted in (as announcements do: the mail
  queue, ``shooc.lead.communications``) and notify every learner of the run.
  Changing only the title, description, length or link e-mails nobody; calendars
  see it (SEQUENCE goes up with every change).
- *The day-before reminder* (``send_session_reminders``, run by ``shooc reminders
  send`` from the daily cron) goes to each opted-in learner of the run whose close
  date has not passed, once per session per person, for every session that is not
  cancelled and starts after now and on or before tomorrow in the run's time zone
  (so a session scheduled for tomorrow, or a day cron missed, still gets its one
  reminder). A ``SessionReminderSent`` row per person, unique on (session, person),
  is written with the queued e-mail: running the command twice sends nothing twice,
  and two servers at once are serialised by a PostgreSQL advisory lock (on SQLite
  by its write lock), the unique key catching anything else. A session moved to
  another day is reminded of again.
- *Calendars.* ``/runs/<run>/sessions.ics`` is public: when a run meets is no secret
  (the course page says the run exists), and a calendar application subscribes
  without logging in. It carries no join links. ``/calendar/<token>.ics`` is one
  person's feed, by a secret token (``CalendarFeed``): their runs' sessions with
  the join links, each workbook's suggested date, in a paced run each workbook's
  opening date, and their close date, for every run they are enrolled in and have
  not withdrawn from. A new token replaces the old, which then answers 404. UIDs
  are stable (``session-<id>@<host>``, ``enrolment-<id>-...@<host>``), times are
  UTC, a cancelled session stays in both feeds with ``STATUS:CANCELLED``.
"""
from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from shooc import mail_layout
from shooc.audit import audit
from shooc.auth.models import User
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.dashboard import enrolment_summaries
from shooc.enrolment.models import Enrolment, Run
from shooc.lead.communications import Invalid, course_title, one_line, opted_in, subject_line, title_problem
from shooc.lead.models import CalendarFeed, LiveSession, SessionReminderSent
from shooc.mailqueue import Message, enqueue
from shooc.urls import SiteUrls
from shooc.webaddress import web_address_problem

JOIN_EARLY = dt.timedelta(minutes=15)
MINUTES_MAX = 8 * 60
DESCRIPTION_MAX = 5_000
URL_MAX = 1000
YEARS_AHEAD = 5
#: The PostgreSQL advisory lock that serialises concurrent ``send_session_reminders``.
SESSION_REMINDER_LOCK = 0x5E0C_0002
PRODID = "-//shooc//live sessions//EN"


class SessionError(Exception):
    """A session that cannot be changed (already cancelled)."""


# Times -------------------------------------------------------------------------

def parse_start(text: str, timezone: str) -> dt.datetime:
    """An ISO date and time to UTC: without an offset, in ``timezone``. Raises
    ValueError saying what is wanted."""
    text = text.strip()
    example = "2027-03-04T18:00"
    if not text:
        raise ValueError(f"Give the date and time it starts, like {example}.")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Give the date and time it starts, like {example} (not '{text[:40]}').") from None
    if not dt.date(2000, 1, 1) <= value.date() <= dt.date(9000, 1, 1):
        raise ValueError(f"Give a date within the next {YEARS_AHEAD} years, like {example}.")
    if value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc)
    zone = ZoneInfo(timezone)
    local = value.replace(tzinfo=zone)
    utc = local.astimezone(dt.timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != value:
        raise ValueError(f"{value:%H:%M} on {value:%-d %B %Y} does not exist in {timezone}: the clocks go "
                         "forward that night. Choose another time.")
    return utc


def in_zone(moment: dt.datetime, timezone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(timezone))


def shown(moment: dt.datetime, timezone: str) -> str:
    """'Thursday 4 March 2027, 18:00 GMT': a time as people of the run read it."""
    local = in_zone(moment, timezone)
    return f"{local:%A %-d %B %Y, %H:%M} {local.tzname()}"


def local_input(moment: dt.datetime, timezone: str) -> str:
    """The value of the page's date-and-time field (the run's time zone, no offset)."""
    return f"{in_zone(moment, timezone):%Y-%m-%dT%H:%M}"


def join_open(live: LiveSession, now: dt.datetime | None = None) -> bool:
    """Whether the join link shows: from ``JOIN_EARLY`` before the start to the end."""
    now = now or utcnow()
    return live.cancelled_at is None and live.starts_at - JOIN_EARLY <= now < live.ends_at


@dataclass(frozen=True)
class SessionView:
    """A session as a page shows it, in its run's time zone."""

    live: LiveSession
    run: Run
    now: dt.datetime

    @property
    def starts(self) -> str:
        return shown(self.live.starts_at, self.run.timezone)

    @property
    def ends(self) -> str:
        return f"{in_zone(self.live.ends_at, self.run.timezone):%H:%M}"

    @property
    def joinable(self) -> bool:
        return join_open(self.live, self.now)

    @property
    def status(self) -> str:
        if self.live.cancelled_at is not None:
            return "cancelled"
        if self.now >= self.live.ends_at:
            return "ended"
        if self.now >= self.live.starts_at:
            return "on now"
        return "upcoming"

    @property
    def join_opens(self) -> str:
        return f"{in_zone(self.live.starts_at - JOIN_EARLY, self.run.timezone):%H:%M}"


# Input -------------------------------------------------------------------------

def minutes_from(text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise ValueError("Give the length in minutes, a whole number such as 60.")
    minutes = int(text)
    if minutes <= 0:
        raise ValueError("The length must be a positive number of minutes, such as 60.")
    if minutes > MINUTES_MAX:
        raise ValueError(f"Keep a session to {MINUTES_MAX} minutes ({MINUTES_MAX // 60} hours) at most.")
    return minutes


def join_url_problem(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    if len(url) > URL_MAX:
        return f"Keep the join link to {URL_MAX} characters."
    problem = web_address_problem(url)
    if problem:
        return f"The join link {problem}."
    return None


@dataclass(frozen=True)
class SessionInput:
    title: str
    starts_at: dt.datetime
    minutes: int
    join_url: str | None
    description: str


def checked_input(run: Run, title: str, starts: str, minutes: str, join_url: str, description: str,
                  now: dt.datetime, unchanged_start: dt.datetime | None = None) -> SessionInput:
    """What a leader typed, checked field by field (Invalid names every field that is
    wrong). A start in the past is refused, unless it is the session's own start unchanged."""
    problems: dict[str, str] = {}
    title = one_line(title)
    if (problem := title_problem(title, "session")) is not None:
        problems["title"] = problem
    starts_at = None
    try:
        starts_at = parse_start(starts, run.timezone)
    except ValueError as exc:
        problems["starts"] = str(exc)
    if starts_at is not None and starts_at <= now and starts_at != unchanged_start:
        problems["starts"] = (f"{shown(starts_at, run.timezone)} is in the past: give a time still to come "
                              f"(in {run.timezone} time).")
    elif starts_at is not None and starts_at > now + dt.timedelta(days=365 * YEARS_AHEAD):
        problems["starts"] = f"Give a date within the next {YEARS_AHEAD} years."
    length = 0
    try:
        length = minutes_from(minutes)
    except ValueError as exc:
        problems["minutes"] = str(exc)
    if (problem := join_url_problem(join_url)) is not None:
        problems["join_url"] = problem
    description = description.replace("\r\n", "\n").strip()
    if len(description) > DESCRIPTION_MAX:
        problems["description"] = f"Keep the description to {DESCRIPTION_MAX:,} characters (it has " \
                                  f"{len(description):,})."
    if problems or starts_at is None:
        raise Invalid(problems)
    return SessionInput(title, starts_at, length, join_url.strip() or None, description)


# Scheduling --------------------------------------------------------------------

def schedule(session: Session, actor: User | None, run: Run, title: str, starts: str, minutes: str,
             links: SiteUrls, join_url: str = "", description: str = "",
             now: dt.datetime | None = None) -> tuple[LiveSession, int]:
    """Schedule a live session of the run; e-mail and notify its learners. Returns it
    and how many e-mails were queued. Raises Invalid."""
    now = now or utcnow()
    given = checked_input(run, title, starts, minutes, join_url, description, now)
    live = LiveSession(run_id=run.id, title=given.title, description=given.description, starts_at=given.starts_at,
                       minutes=given.minutes, join_url=given.join_url, created_by_id=actor.id if actor else None,
                       created_at=now, updated_at=now)
    session.add(live)
    session.flush()
    emailed = _tell(session, actor, run, live, "scheduled", links)
    audit(session, actor, "session.schedule", f"Live session “{live.title}” of {run.slug} on "
          f"{shown(live.starts_at, run.timezone)}: {emailed} e-mail(s) queued", run=run, session_id=live.id,
          starts_at=live.starts_at.isoformat(), minutes=live.minutes, join_url=live.join_url)
    session.flush()
    return live, emailed


def change(session: Session, actor: User | None, live: LiveSession, title: str, starts: str, minutes: str,
           links: SiteUrls, join_url: str = "", description: str = "",
           now: dt.datetime | None = None) -> tuple[list[str], int]:
    """Change a session; returns what changed (field names) and the e-mails queued. A
    new time is e-mailed and notified, and a new day's reminder goes out again.
    Raises Invalid or SessionError."""
    now = now or utcnow()
    if live.cancelled_at is not None:
        raise SessionError("This session was cancelled: schedule a new one instead.")
    run = session.get(Run, live.run_id)
    assert run is not None
    given = checked_input(run, title, starts, minutes, join_url, description, now, unchanged_start=live.starts_at)
    before = {"title": live.title, "starts_at": live.starts_at, "minutes": live.minutes, "join_url": live.join_url,
              "description": live.description}
    after = {"title": given.title, "starts_at": given.starts_at, "minutes": given.minutes,
             "join_url": given.join_url, "description": given.description}
    changed = [name for name in before if before[name] != after[name]]
    if not changed:
        return [], 0
    old_start = live.starts_at
    live.title, live.starts_at, live.minutes = given.title, given.starts_at, given.minutes
    live.join_url, live.description = given.join_url, given.description
    live.sequence += 1
    live.updated_at = now
    emailed = 0
    if "starts_at" in changed:
        emailed = _tell(session, actor, run, live, "moved", links, old_start)
        if in_zone(old_start, run.timezone).date() != in_zone(live.starts_at, run.timezone).date():
            session.query(SessionReminderSent).filter(SessionReminderSent.session_id == live.id).delete()
    audit(session, actor, "session.change", f"Changed live session “{live.title}” of {run.slug}: "
          f"{', '.join(changed)}" + (f"; {emailed} e-mail(s) queued" if "starts_at" in changed else ""),
          run=run, session_id=live.id, changed=changed,
          starts_at=live.starts_at.isoformat(), minutes=live.minutes, join_url=live.join_url)
    session.flush()
    return changed, emailed


def cancel(session: Session, actor: User | None, live: LiveSession, links: SiteUrls,
           now: dt.datetime | None = None) -> int:
    """Cancel a session: it stays, marked, in calendars (STATUS:CANCELLED); its learners
    are e-mailed and notified. Returns how many e-mails were queued."""
    if live.cancelled_at is not None:
        raise SessionError("This session is already cancelled.")
    now = now or utcnow()
    run = session.get(Run, live.run_id)
    assert run is not None
    live.cancelled_at = now
    live.sequence += 1
    live.updated_at = now
    emailed = _tell(session, actor, run, live, "cancelled", links) if live.starts_at > now else 0
    audit(session, actor, "session.cancel", f"Cancelled live session “{live.title}” of {run.slug} "
          f"({shown(live.starts_at, run.timezone)}): {emailed} e-mail(s) queued", run=run, session_id=live.id)
    session.flush()
    return emailed


def run_sessions(session: Session, run: Run) -> list[LiveSession]:
    """Every session of a run, soonest first."""
    return list(session.scalars(select(LiveSession).where(LiveSession.run_id == run.id)
                                .order_by(LiveSession.starts_at, LiveSession.id)))


def coming_sessions(session: Session, run_ids: Iterable[int], now: dt.datetime | None = None,
                    per_run: int = 5) -> dict[int, list[LiveSession]]:
    """The sessions of each run that have not ended yet (cancelled ones too, marked), soonest first."""
    now = now or utcnow()
    run_ids = list(run_ids)
    found: dict[int, list[LiveSession]] = {}
    if not run_ids:
        return found
    for live in session.scalars(_coming_sessions(), {"run_ids": run_ids,
                                                     "since": now - dt.timedelta(minutes=MINUTES_MAX)}):
        if live.ends_at > now and len(found.setdefault(live.run_id, [])) < per_run:
            found[live.run_id].append(live)
    return found


@functools.cache
def _coming_sessions() -> Any:
    """coming_sessions' statement, built once (a dashboard's every request): the runs'
    sessions starting after ``since`` (none ends later than MINUTES_MAX after its start)."""
    return (select(LiveSession).where(LiveSession.run_id.in_(bindparam("run_ids", expanding=True)),
                                      LiveSession.starts_at > bindparam("since", type_=LiveSession.starts_at.type))
            .order_by(LiveSession.starts_at, LiveSession.id))


def _learners(session: Session, run: Run, emailed_only: bool) -> list[tuple[int, str, str]]:
    query = (select(User.id, User.email, User.name).join(Enrolment, Enrolment.user_id == User.id)
             .where(Enrolment.run_id == run.id, Enrolment.withdrawn_at.is_(None)).order_by(User.id))
    if emailed_only:
        query = query.where(*opted_in())
    return [(i, e, n) for i, e, n in session.execute(query)]


def _tell(session: Session, actor: User | None, run: Run, live: LiveSession, what: str, links: SiteUrls,
          old_start: dt.datetime | None = None) -> int:
    """E-mail the opted-in learners of the run and notify them all; returns the e-mails queued."""
    course = course_title(session, run.course_id)
    when = shown(live.starts_at, run.timezone)
    headline = {"scheduled": f"Live session: {live.title}, {when}",
                "moved": f"Live session moved: {live.title}, now {when}",
                "cancelled": f"Live session cancelled: {live.title}, {when}"}[what]
    subject = subject_line(f"{course}: {headline}")
    messages = [_mail(email, subject, _session_text(name, course, run, live, what, links, old_start),
                      f"session-{what}", user_id, links)
                for user_id, email, name in _learners(session, run, emailed_only=True)]
    emailed = enqueue(session, messages)
    notify(session, [i for i, _, _ in _learners(session, run, emailed_only=False)],
           Event("announcement", f"{course}: {headline}", "/dashboard"), actor_id=actor.id if actor else None)
    return emailed


def _mail(email: str, subject: str, text: str, kind: str, user_id: int, links: SiteUrls) -> Message:
    """A session's e-mail as plain text and in the branded HTML layout (made from the text)."""
    return Message(email, subject, text, kind, user_id, html=mail_layout.text_html(text, links, subject))


def _session_text(name: str, course: str, run: Run, live: LiveSession, what: str, links: SiteUrls,
                  old_start: dt.datetime | None = None) -> str:
    when = f"{shown(live.starts_at, run.timezone)} to {in_zone(live.ends_at, run.timezone):%H:%M}"
    opening = {
        "scheduled": f"The course team of {course} ({run.name}) has scheduled a live session:",
        "moved": f"A live session of {course} ({run.name}) has moved"
                 + (f" from {shown(old_start, run.timezone)}" if old_start else "") + ":",
        "cancelled": f"A live session of {course} ({run.name}) is cancelled:",
        "reminder": f"A reminder: a live session of {course} ({run.name}) is tomorrow:",
    }[what]
    details = f"{live.title}\n{when} ({live.minutes} minutes)\n"
    if live.description and what != "cancelled":
        details += f"\n{live.description}\n"
    joining = ("" if what == "cancelled" else
               f"\nThe link to join is on your dashboard from {JOIN_EARLY.seconds // 60} minutes before the start: "
               f"{links.dashboard}\nAdd the run's sessions to your calendar: {links.run_calendar(run.slug)}\n")
    return (f"Dear {name},\n\n{opening}\n\n{details}{joining}\n"
            "-- \nYou get these e-mails because you asked for the course team's announcements and reminders.\n"
            f"To stop them, untick that box on your account page: {links.account}\n")


# The day-before reminder ---------------------------------------------------------

@dataclass(frozen=True)
class SessionReminder:
    session_id: int
    user_id: int
    message: Message


def due_session_reminders(session: Session, links: SiteUrls, now: dt.datetime | None = None) -> list[SessionReminder]:
    """The day-before reminders to send now (see the module's docstring). Reads only."""
    now = now or utcnow()
    candidates = session.scalars(select(LiveSession).where(
        LiveSession.cancelled_at.is_(None), LiveSession.starts_at > now,
        LiveSession.starts_at < now + dt.timedelta(days=3))  # tomorrow in any time zone
        .order_by(LiveSession.starts_at, LiveSession.id)).all()
    due = []
    for live in candidates:
        run = session.get(Run, live.run_id)
        assert run is not None
        tomorrow = rules.today_in(run.timezone, now) + dt.timedelta(days=1)
        if in_zone(live.starts_at, run.timezone).date() > tomorrow:
            continue
        sent = set(session.scalars(select(SessionReminderSent.user_id).where(
            SessionReminderSent.session_id == live.id)))
        course = course_title(session, run.course_id)
        today = rules.today_in(run.timezone, now)
        enrolments = session.scalars(
            select(Enrolment).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.run_id == run.id, *opted_in()).options(selectinload(Enrolment.user))
            .order_by(Enrolment.user_id)).all()
        for enrolment in enrolments:
            user = enrolment.user
            if user is None or user.id in sent or enrolment.close_date < today:
                continue
            subject = subject_line(f"{course}: tomorrow, {live.title}, {shown(live.starts_at, run.timezone)}")
            due.append(SessionReminder(live.id, user.id, _mail(
                user.email, subject, _session_text(user.name, course, run, live, "reminder", links),
                "session-reminder", user.id, links)))
    return due


def send_session_reminders(session: Session, links: SiteUrls, now: dt.datetime | None = None) -> int:
    """Queue the day-before reminders due now and record them (the caller commits)."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SESSION_REMINDER_LOCK)))
    due = due_session_reminders(session, links, now)
    if due:
        session.add_all([SessionReminderSent(session_id=r.session_id, user_id=r.user_id, sent_at=now) for r in due])
        session.flush()  # the unique key first: a reminder recorded twice stops here, before any e-mail
        enqueue(session, [r.message for r in due])
        audit(session, None, "sessions.remind", f"Queued {len(due)} day-before session reminder"
              f"{'' if len(due) == 1 else 's'}", reminders=len(due))
    session.flush()
    return len(due)


# Calendars ---------------------------------------------------------------------

def _host(links: SiteUrls) -> str:
    return urlsplit(links.base).hostname or "shooc"


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _session_event(live: LiveSession, run: Run, course: str, links: SiteUrls, with_join_url: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"session-{live.id}@{_host(links)}")
    event.add("dtstamp", live.updated_at.astimezone(dt.timezone.utc))
    event.add("last-modified", live.updated_at.astimezone(dt.timezone.utc))
    event.add("created", live.created_at.astimezone(dt.timezone.utc))
    event.add("sequence", live.sequence)
    event.add("dtstart", live.starts_at.astimezone(dt.timezone.utc))
    event.add("dtend", live.ends_at.astimezone(dt.timezone.utc))
    event.add("summary", f"{live.title} ({course})")
    description = live.description
    if with_join_url and live.join_url:
        event.add("url", live.join_url)
        event.add("location", live.join_url)
        description = (description + "\n\n" if description else "") + f"Join: {live.join_url}"
    elif live.join_url:
        description = (description + "\n\n" if description else "") + \
            f"The link to join is on your dashboard: {links.dashboard}"
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if live.cancelled_at is not None else "CONFIRMED")
    return event


def run_calendar(session: Session, run: Run, links: SiteUrls) -> bytes:
    """The run's public calendar: its sessions, without join links."""
    course = course_title(session, run.course_id)
    calendar = _calendar(f"{course}: {run.name}")
    for live in run_sessions(session, run):
        calendar.add_component(_session_event(live, run, course, links, with_join_url=False))
    return calendar.to_ical()


def _day_event(uid: str, day: dt.date, summary: str, description: str, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + dt.timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    return event


def personal_calendar(session: Session, user: User, links: SiteUrls, now: dt.datetime | None = None) -> bytes:
    """One person's feed: for each run they are enrolled in (not withdrawn), its
    sessions with their join links, each workbook's suggested date (and opening date
    in a paced run), and their close date."""
    now = now or utcnow()
    stamp = now.astimezone(dt.timezone.utc).replace(microsecond=0)
    host = _host(links)
    enrolments = session.scalars(select(Enrolment).where(Enrolment.user_id == user.id,
                                                         Enrolment.withdrawn_at.is_(None))
                                 .options(selectinload(Enrolment.run).selectinload(Run.course))
                                 .order_by(Enrolment.id)).all()
    calendar = _calendar("Your courses")  # no name: a feed address may be shared by mistake
    for summary in enrolment_summaries(session, enrolments, now):
        run, enrolment, course = summary.run, summary.enrolment, summary.version.title
        for live in run_sessions(session, run):
            calendar.add_component(_session_event(live, run, course, links, with_join_url=True))
        for w in summary.workbooks:
            page = links.workbook(summary.course.slug, w.slug)
            if run.mode.value == "paced":
                calendar.add_component(_day_event(
                    f"enrolment-{enrolment.id}-opens-{w.slug}@{host}", w.released_on,
                    f"Workbook {w.position} opens: {w.title} ({course})", page, stamp))
            calendar.add_component(_day_event(
                f"enrolment-{enrolment.id}-suggested-{w.slug}@{host}", w.suggested_by,
                f"Suggested: finish workbook {w.position}, {w.title} ({course})",
                f"Your suggested schedule. {page}", stamp))
        calendar.add_component(_day_event(
            f"enrolment-{enrolment.id}-close@{host}", summary.close_date, f"Your last day on {course} ({run.name})",
            f"After this day your work can still be read and downloaded, but not submitted. {links.dashboard}", stamp))
    return calendar.to_ical()


# Personal feed tokens ------------------------------------------------------------

def feed_token(session: Session, user: User) -> str:
    """The person's feed token, made on first asking."""
    feed = session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token=secrets.token_urlsafe(24))
        session.add(feed)
        session.flush()
    return feed.token


def new_feed_token(session: Session, user: User) -> str:
    """A new token: the old feed address answers 404 from now on."""
    feed = session.get(CalendarFeed, user.id)
    token = secrets.token_urlsafe(24)
    if feed is None:
        session.add(CalendarFeed(user_id=user.id, token=token))
    else:
        feed.token, feed.created_at = token, utcnow()
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    user = session.scalar(select(User).join(CalendarFeed, CalendarFeed.user_id == User.id)
                          .where(CalendarFeed.token == token))
    if user is None or user.disabled_at is not None:
        return None
    return user
