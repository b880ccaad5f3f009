"""What the course team says to learners, over a session (no Flask here):
announcements to a run, webinar recordings attached to a workbook, and reminders
to learners whose close date is near or who have gone quiet.

E-mail to many people goes through the mail queue (``shooc.mailqueue``) in the
caller's transaction: an announcement or a batch of reminders that is rolled back
e-mails nobody. Only learners who opted in (``User.email_opt_in``) and confirmed
their address are e-mailed; withdrawn enrolments and deleted accounts never are.

E-mails link to pages by absolute URLs; the caller (a view or the command line,
which know the site's origin) passes them in as ``shooc.urls.SiteUrls``.

Reminders (``send_reminders``), decided here and written down for leaders:

- *closing*: at most ``closing_days`` days are left to the learner, today and
  their close date included (7: the close date is within the coming week), and
  they have not submitted every workbook;
- *inactive*: nothing saved or submitted for ``inactive_days`` days (counted from
  the enrolment date for a learner who never started) while the run is open for
  them and they have not submitted every workbook;
- at most one reminder of each kind per enrolment in any 7 days (``ReminderSent``
  rows, written in the same transaction as the queued e-mails), and at most one
  e-mail per enrolment per run of the command: when both are due the closing one is
  sent, and an inactive reminder is not sent within 7 days of a closing one (it
  said the same and more);
- nothing to learners who submitted every workbook, withdrew, deleted their
  account, did not opt in, whose close date has passed, or who have no workbook
  open to them (a paced run's next workbook not released yet);
- the link is to "the workbook they left off": the dashboard's "What to do next"
  (the workbook in progress, else the first not started).

Running the command twice sends nothing twice: the second run sees the first's
``ReminderSent`` rows. Two runs at the same moment are serialised, on PostgreSQL
by a transaction-scoped advisory lock, on SQLite by the write lock every writing
transaction takes when it begins.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

import nh3
from markupsafe import Markup
from sqlalchemy import ColumnElement, UnaryExpression, bindparam, func, or_, select
from sqlalchemy.orm import Session, selectinload

from shooc import mail_layout
from shooc.audit import audit
from shooc.auth.models import User
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.dashboard import WorkbookSummary, enrolment_summaries
from shooc.enrolment.models import Enrolment, Run
from shooc.lead.models import Announcement, LiveSession, Recording, ReminderSent
from shooc.lead.services import LeadError
from shooc.mailqueue import Message, enqueue
from shooc.urls import SiteUrls
from shooc.webaddress import is_web_address
from shooc.workbooks import current
from shooc.workbooks.models import Course, CourseVersion, WorkbookVersion
from shooc.workbooks.render import ALLOWED_ATTRIBUTES, ALLOWED_CLASSES, ALLOWED_TAGS, render_markdown

TITLE_MAX = 200
SUBJECT_MAX = 300  # OutgoingMail.subject
ANNOUNCEMENT_MAX = 20_000
URL_MAX = 1000
TRANSCRIPT_MAX = 200_000
DASHBOARD_ANNOUNCEMENTS = 3
DUPLICATE_WINDOW = dt.timedelta(hours=1)
REMINDER_INTERVAL = dt.timedelta(days=7)
REMINDER_KINDS = ("closing", "inactive")
#: The PostgreSQL advisory lock that serialises concurrent ``send_reminders``.
REMINDER_LOCK = 0x5E0C_0001


class Invalid(LeadError):
    """Input refused; ``problems`` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class AlreadyPosted(LeadError):
    """The same announcement was posted to the run a moment ago (a double click)."""

    def __init__(self, existing: Announcement) -> None:
        super().__init__(f"this announcement was already posted at {existing.created_at:%H:%M}")
        self.existing = existing


def opted_in() -> tuple[ColumnElement[bool], ...]:
    """Who may be e-mailed: opted in, address confirmed, still enrolled (of a query
    joining users and enrolments; live sessions' e-mails use it too)."""
    return (User.email_opt_in.is_(True), User.email_verified_at.is_not(None), Enrolment.withdrawn_at.is_(None))


_opted_in = opted_in


def course_title(session: Session, course_id: int) -> str:
    return session.scalar(select(CourseVersion.title).join(Course, Course.current_version_id == CourseVersion.id)
                          .where(Course.id == course_id)) or ""


# Announcements -----------------------------------------------------------------

@dataclass(frozen=True)
class Audience:
    learners: int  # see it on their dashboard
    emailed: int  # opted in to e-mail


def audience(session: Session, run: Run) -> Audience:
    """Who an announcement to the run reaches: enrolled (not withdrawn, account not
    deleted) learners, and those of them who will be e-mailed."""
    base = (select(func.count()).select_from(Enrolment).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.run_id == run.id, Enrolment.withdrawn_at.is_(None)))
    return Audience(session.scalar(base) or 0, session.scalar(base.where(*_opted_in())) or 0)


def title_problem(title: str, what: str = "announcement") -> str | None:
    if not title.strip():
        return (f"Give the {what} a title" + (": it is the e-mail's subject." if what == "announcement" else "."))
    if len(title.strip()) > TITLE_MAX:
        return f"Keep the title to {TITLE_MAX} characters."
    return None


def body_problem(body: str) -> str | None:
    if not body.strip():
        return "Write the announcement."
    if len(body) > ANNOUNCEMENT_MAX:
        return f"Keep the announcement to {ANNOUNCEMENT_MAX:,} characters (it has {len(body):,})."
    return None


def announcement_problems(title: str, body: str) -> dict[str, str]:
    problems = {"title": title_problem(title), "body": body_problem(body)}
    return {field: problem for field, problem in problems.items() if problem}


def render_announcement(body: str) -> str:
    """Markdown to sanitised HTML, as workbooks are rendered but without images
    (an announcement has nowhere to keep them, and e-mail readers get the text)."""
    html = render_markdown(body, image_src=lambda src: None)
    # No ids either: a dashboard shows several announcements, whose headings' ids would clash.
    attributes = {tag: names - {"id"} for tag, names in ALLOWED_ATTRIBUTES.items()}
    return nh3.clean(html, tags=ALLOWED_TAGS - {"img"}, attributes=attributes,
                     allowed_classes=ALLOWED_CLASSES, url_schemes={"http", "https", "mailto"},
                     filter_style_properties={"text-align"})


def post_announcement(session: Session, actor: User | None, run: Run, title: str, body: str,
                      links: SiteUrls, now: dt.datetime | None = None) -> Announcement:
    """Post an announcement to a run and queue an e-mail to each opted-in learner.
    Raises Invalid, or AlreadyPosted if the same text was posted within the hour."""
    title, body = one_line(title), body.strip()
    problems = announcement_problems(title, body)
    if problems:
        raise Invalid(problems)
    now = now or utcnow()
    # One poster at a time per run (PostgreSQL; SQLite's writers queue anyway), so
    # that a double click posts, and e-mails, once.
    session.execute(select(Run.id).where(Run.id == run.id).with_for_update())
    existing = session.scalar(select(Announcement).where(
        Announcement.run_id == run.id, Announcement.title == title, Announcement.body == body,
        Announcement.created_at > now - DUPLICATE_WINDOW).limit(1))
    if existing is not None:
        raise AlreadyPosted(existing)
    announcement = Announcement(run_id=run.id, title=title, body=body, body_html=render_announcement(body),
                                author_id=actor.id if actor else None,
                                author_name=actor.name if actor else "The course team", created_at=now)
    session.add(announcement)
    session.flush()
    recipients = session.execute(
        select(User.id, User.email, User.name).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.run_id == run.id, *_opted_in()).order_by(User.id)).all()
    course = course_title(session, run.course_id)
    subject = subject_line(f"{course}: {title}")
    messages = [Message(email, subject, _announcement_text(name, course, run, announcement, links), "announcement",
                        user_id, html=_announcement_html(name, course, run, announcement, links, subject))
                for user_id, email, name in recipients]
    announcement.emailed_to = enqueue(session, messages)
    everyone = session.scalars(select(Enrolment.user_id).where(Enrolment.run_id == run.id,
                                                               Enrolment.withdrawn_at.is_(None)))
    notify(session, everyone, Event("announcement", f"{course}: {title}", "/dashboard"),
           actor_id=actor.id if actor else None)
    audit(session, actor, "announcement.post",
          f"Announcement “{title}” to {run.slug}: {announcement.emailed_to} e-mail(s) queued",
          run=run, announcement_id=announcement.id, emailed_to=announcement.emailed_to)
    session.flush()
    return announcement


def one_line(text: str) -> str:
    """A title on one line: it becomes an e-mail's subject, where a line break is not allowed."""
    return " ".join(text.split())


def subject_line(text: str) -> str:
    """An e-mail's subject, cut to what the queue keeps."""
    return text if len(text) <= SUBJECT_MAX else text[:SUBJECT_MAX - 1] + "…"



def _announcement_text(name: str, course: str, run: Run, announcement: Announcement, links: SiteUrls) -> str:
    return (f"Dear {name},\n\n"
            f"{announcement.author_name}, for the course team of {course} ({run.name}), writes:\n\n"
            f"{announcement.title}\n{'=' * min(len(announcement.title), 72)}\n\n"
            f"{announcement.body}\n\n"
            f"This announcement is also on your dashboard: {links.dashboard}\n\n"
            "-- \nYou get these e-mails because you asked for the course team's announcements and reminders.\n"
            f"To stop them, untick that box on your account page: {links.account}\n")


def _announcement_html(name: str, course: str, run: Run, announcement: Announcement, links: SiteUrls,
                       subject: str) -> str:
    """The same message in the branded layout, its body the rendered, sanitised Markdown."""
    text = _announcement_text(name, course, run, announcement, links)
    footer = text.partition(mail_layout.SIGNATURE)[2]
    content = (mail_layout.paragraphs(f"Dear {name},\n\n{announcement.author_name}, for the course team of {course} "
                                      f"({run.name}), writes:")
               + Markup('<h1 style="font-size:22px;line-height:1.25;margin:8px 0 16px">') + announcement.title
               + Markup("</h1>\n<div>") + mail_layout.styled_links(announcement.body_html) + Markup("</div>\n")
               + mail_layout.paragraphs(f"This announcement is also on your dashboard: {links.dashboard}"))
    return mail_layout.page(links, subject, content, mail_layout.paragraphs(footer))


def announcements(session: Session, run: Run) -> list[Announcement]:
    """Every announcement of a run, newest first (the leaders' page)."""
    return list(session.scalars(select(Announcement).where(Announcement.run_id == run.id)
                                .order_by(Announcement.created_at.desc(), Announcement.id.desc())))


@dataclass(frozen=True)
class AnnouncementShown:
    """An announcement as a learner's dashboard shows it."""

    id: int
    run_id: int
    title: str
    author_name: str
    created_at: dt.datetime
    body_html: str  # rendered and sanitised when it was posted


def latest_announcements(session: Session, run_ids: Iterable[int],
                         per_run: int = DASHBOARD_ANNOUNCEMENTS) -> dict[int, list[AnnouncementShown]]:
    """The latest few announcements of each run, newest first (a learner's dashboard),
    in one query whatever the number of runs (plain rows: ORM objects were a tenth of
    the dashboard's time, bench/README.md issue 21)."""
    run_ids = list(run_ids)
    if not run_ids:
        return {}
    found: dict[int, list[AnnouncementShown]] = defaultdict(list)
    for row in session.execute(_latest_announcements(), {"run_ids": run_ids, "per_run": per_run}):
        found[row.run_id].append(AnnouncementShown(*row))
    return dict(found)


@functools.cache
def _latest_announcements() -> Any:
    """latest_announcements' statement, built once (building it each time was a
    third of its cost): parameters run_ids and per_run."""
    rank = func.row_number().over(partition_by=Announcement.run_id,
                                  order_by=(Announcement.created_at.desc(), Announcement.id.desc())).label("rank")
    ranked = select(Announcement.id, Announcement.run_id, Announcement.title, Announcement.author_name,
                    Announcement.created_at, Announcement.body_html, rank).where(
        Announcement.run_id.in_(bindparam("run_ids", expanding=True))).subquery()
    return (select(ranked.c.id, ranked.c.run_id, ranked.c.title, ranked.c.author_name, ranked.c.created_at,
                   ranked.c.body_html)
            .where(ranked.c.rank <= bindparam("per_run"))
            .order_by(ranked.c.created_at.desc(), ranked.c.id.desc()))


def remove_announcement(session: Session, actor: User | None, announcement: Announcement) -> None:
    """Take an announcement off learners' dashboards (e-mails already sent stay sent)."""
    run = session.get(Run, announcement.run_id)
    audit(session, actor, "announcement.remove", f"Removed announcement “{announcement.title}”", run=run,
          announcement_id=announcement.id)
    session.delete(announcement)
    session.flush()


# Recordings --------------------------------------------------------------------

def url_problem(url: str) -> str | None:
    url = url.strip()
    if not url:
        return "Give the recording's address."
    if len(url) > URL_MAX:
        return f"Keep the address to {URL_MAX} characters."
    if not is_web_address(url):  # the one check of shooc/webaddress.py
        return "Give a web address starting with https:// (or http://), like https://video.example.ac.uk/webinar-1."
    return None


def transcript_problem(transcript: str) -> str | None:
    if not transcript.strip():
        return ("Add the transcript: learners who are deaf or hard of hearing, or who cannot play a video, "
                "read it instead, so a recording is only posted with one.")
    if len(transcript) > TRANSCRIPT_MAX:
        return f"Keep the transcript to {TRANSCRIPT_MAX:,} characters (it has {len(transcript):,})."
    return None


def recording_problems(title: str, url: str, transcript: str) -> dict[str, str]:
    problems = {"title": title_problem(title, "recording"), "url": url_problem(url),
                "transcript": transcript_problem(transcript)}
    return {field: problem for field, problem in problems.items() if problem}


def course_workbooks(session: Session, course: Course) -> list[WorkbookVersion]:
    """The workbooks of the course's current version, in order."""
    return current.workbooks(session, course)


def media_activities(session: Session, course: Course) -> list[tuple[str, str, str]]:
    """(workbook slug, activity id, label) of every media activity of the course's
    current version, in order: where a recording can be placed."""
    found = []
    for w in course_workbooks(session, course):
        for a in w.activities:
            if a.kind == "media":
                found.append((w.slug, a.activity_id, f"{w.position}. {w.title}: {a.title or 'Watch'}"))
    return found


def add_recording(session: Session, actor: User | None, course: Course, workbook_slug: str, title: str,
                  url: str, transcript: str, recorded_on: dt.date | None = None, activity_id: str | None = None,
                  session_id: int | None = None) -> Recording:
    """Post a recording to a workbook; placed in one of its media activities
    (``activity_id``) it shows there and nowhere else on the page, else after the
    workbook's text. ``session_id``: the live session (of a run of the course) it recorded."""
    problems = recording_problems(title, url, transcript)
    if workbook_slug not in {w.slug for w in course_workbooks(session, course)}:
        problems["workbook"] = "Choose one of the course's workbooks."
    if activity_id:
        media = {a for w, a, _ in media_activities(session, course) if w == workbook_slug}
        if activity_id not in media:
            problems["activity"] = ("Choose one of the chosen workbook's recording activities, or none."
                                    if media else "That workbook has no recording activity: choose none.")
        else:
            taken = session.scalar(select(Recording).where(
                Recording.course_id == course.id, Recording.workbook_slug == workbook_slug,
                Recording.activity_id == activity_id).limit(1))
            if taken is not None:
                problems["activity"] = (f"That activity already shows “{taken.title}”: remove it first, "
                                        "or choose another place.")
    if session_id is not None:
        live = session.get(LiveSession, session_id)
        run = session.get(Run, live.run_id) if live is not None else None
        if run is None or run.course_id != course.id:
            problems["session"] = "Choose one of the live sessions of this course's runs, or none."
    if problems:
        raise Invalid(problems)
    recording = Recording(course_id=course.id, workbook_slug=workbook_slug, title=one_line(title), url=url.strip(),
                          transcript=transcript.replace("\r\n", "\n").strip(), recorded_on=recorded_on,
                          activity_id=activity_id or None, session_id=session_id,
                          author_id=actor.id if actor else None)
    session.add(recording)
    session.flush()
    where = current.workbook_title(session, course, workbook_slug)
    audit(session, actor, "recording.add",
          f"Recording “{recording.title}” on {where}" + (f", in its activity {activity_id}" if activity_id else ""),
          course=course.slug, workbook=workbook_slug, recording_id=recording.id, url=recording.url,
          activity=activity_id, session_id=session_id)
    return recording


def remove_recording(session: Session, actor: User | None, course: Course, recording: Recording) -> None:
    audit(session, actor, "recording.remove", f"Removed recording “{recording.title}” from "
          f"{course.slug}/{recording.workbook_slug}", course=course.slug, workbook=recording.workbook_slug,
          recording_id=recording.id, url=recording.url)
    session.delete(recording)
    session.flush()


def _recording_order() -> tuple[UnaryExpression[Any], ...]:
    return (Recording.recorded_on.desc().nulls_last(), Recording.created_at.desc(), Recording.id.desc())


def recordings_for(session: Session, course_id: int, workbook_slug: str) -> list[Recording]:
    """A workbook's recordings, the latest first (the workbook page)."""
    return list(session.scalars(_recordings_of_workbook(), {"course_id": course_id, "workbook_slug": workbook_slug}))


@functools.cache
def _recordings_of_workbook() -> Any:
    # built once: the workbook page reads it on every request
    return (select(Recording).where(Recording.course_id == bindparam("course_id"),
                                    Recording.workbook_slug == bindparam("workbook_slug"))
            .order_by(*_recording_order()))


def recordings_on_page(session: Session, course_id: int, workbook_slug: str,
                       media_ids: Iterable[str]) -> tuple[dict[str, Recording], list[Recording]]:
    """A workbook page's recordings: those placed in one of its media activities
    (``media_ids``, of the version shown), by activity, and the others, shown after
    the text (posted unplaced, or placed in an activity a later version dropped)."""
    media = set(media_ids)
    placed: dict[str, Recording] = {}
    others = []
    for r in recordings_for(session, course_id, workbook_slug):
        if r.activity_id in media and r.activity_id not in placed:
            placed[r.activity_id] = r
        else:
            others.append(r)
    return placed, others


def session_recordings(session: Session, session_ids: Iterable[int]) -> dict[int, list[Recording]]:
    found: dict[int, list[Recording]] = defaultdict(list)
    ids = list(session_ids)
    if ids:
        for r in session.scalars(select(Recording).where(Recording.session_id.in_(ids)).order_by(Recording.id)):
            assert r.session_id is not None
            found[r.session_id].append(r)
    return dict(found)


def course_recordings(session: Session, course: Course) -> list[Recording]:
    return list(session.scalars(select(Recording).where(Recording.course_id == course.id)
                                .order_by(Recording.workbook_slug, *_recording_order())))


# Reminders ---------------------------------------------------------------------

@dataclass(frozen=True)
class Reminder:
    kind: str  # closing or inactive
    enrolment_id: int
    user_id: int
    email: str
    name: str
    course_slug: str
    course_title: str
    run_name: str
    close_date: dt.date
    days_left: int
    submitted: int
    workbooks: int
    workbook: WorkbookSummary  # where they left off
    last_active: dt.date | None  # None: never started

    def message(self, links: SiteUrls) -> Message:
        subject, text = subject_line(self.subject), self.text(links)
        return Message(self.email, subject, text, f"reminder-{self.kind}", self.user_id,
                       html=mail_layout.text_html(text, links, subject))

    @property
    def subject(self) -> str:
        if self.kind == "closing":
            return f"{self.course_title}: {self.days_left} day{'' if self.days_left == 1 else 's'} left"
        return f"{self.course_title}: pick up where you left off"

    def text(self, links: SiteUrls) -> str:
        days = f"{self.days_left} day{'' if self.days_left == 1 else 's'}"
        if self.kind == "closing":
            opening = (f"Your time on {self.course_title} ({self.run_name}) ends on {self.close_date:%-d %B %Y}: "
                       f"{days} left, today included. After that you can still read and download your work, "
                       "but not submit it.")
        elif self.last_active is None:
            opening = (f"You enrolled in {self.course_title} ({self.run_name}) but have not started yet. "
                       f"Your close date is {self.close_date:%-d %B %Y}: {days} left.")
        else:
            opening = (f"We have not seen you on {self.course_title} ({self.run_name}) since "
                       f"{self.last_active:%-d %B %Y}. Your close date is {self.close_date:%-d %B %Y}: {days} left.")
        verb = "Carry on with" if self.workbook.status == "in progress" else "Start"
        return (f"Dear {self.name},\n\n{opening}\n\n"
                f"You have submitted {self.submitted} of {self.workbooks} workbooks. {verb} workbook "
                f"{self.workbook.position}, {self.workbook.title}:\n"
                f"{links.workbook(self.course_slug, self.workbook.slug)}\n\n"
                f"Your dashboard: {links.dashboard}\n\n"
                "-- \nYou get these reminders because you asked for the course team's announcements and reminders.\n"
                f"To stop them, untick that box on your account page: {links.account}\n")


def due_reminders(session: Session, now: dt.datetime | None = None, closing_days: int = 7,
                  inactive_days: int = 14) -> list[Reminder]:
    """The reminders to send now (see the module's docstring for the rules). Reads only."""
    now = now or utcnow()
    # Candidates in the database: opted in, enrolled, in a run not closed for everyone.
    oldest_close = (now - dt.timedelta(days=2)).date()  # run time zones differ from UTC by < 1 day
    enrolments = session.scalars(
        select(Enrolment).join(User, User.id == Enrolment.user_id).join(Run, Run.id == Enrolment.run_id)
        .where(*_opted_in(), or_(Run.closes_on >= oldest_close, Enrolment.extended_until >= oldest_close))
        .options(selectinload(Enrolment.run).selectinload(Run.course), selectinload(Enrolment.user))
        .order_by(Enrolment.id)).all()
    if not enrolments:
        return []
    recent: dict[int, set[str]] = defaultdict(set)  # the past week's: at most two per enrolment
    for enrolment_id, sent_kind in session.execute(select(ReminderSent.enrolment_id, ReminderSent.kind).where(
            ReminderSent.sent_at > now - REMINDER_INTERVAL)):
        recent[enrolment_id].add(sent_kind)
    summaries = enrolment_summaries(session, enrolments, now)
    due = []
    for summary in summaries:
        enrolment, today = summary.enrolment, summary.today
        if summary.closed or today < summary.run.opens_on or summary.submitted >= len(summary.workbooks):
            continue
        workbook = summary.next_workbook
        if workbook is None:
            continue
        last_active = (rules.today_in(summary.run.timezone, enrolment.last_activity_at)
                       if enrolment.last_activity_at else None)
        quiet_since = last_active or enrolment.started_on or enrolment.enrolled_on
        sent = recent[enrolment.id]
        kind = None
        if summary.days_left <= closing_days and "closing" not in sent:
            kind = "closing"
        elif ((today - quiet_since).days >= inactive_days and not sent & {"closing", "inactive"}):
            kind = "inactive"
        if kind is None:
            continue
        user = enrolment.user
        assert user is not None
        due.append(Reminder(kind, enrolment.id, user.id, user.email, user.name, summary.course.slug,
                            summary.version.title, summary.run.name, summary.close_date, summary.days_left,
                            summary.submitted, len(summary.workbooks), workbook,
                            last_active or enrolment.started_on))
    return due


@dataclass
class ReminderRun:
    reminders: list[Reminder]

    def count(self, kind: str) -> int:
        return sum(1 for r in self.reminders if r.kind == kind)

    def summary(self, verb: str = "Queued") -> str:
        n = len(self.reminders)
        return (f"{verb} {n} reminder{'' if n == 1 else 's'} ({self.count('closing')} closing, "
                f"{self.count('inactive')} inactive)")


def send_reminders(session: Session, links: SiteUrls, now: dt.datetime | None = None, closing_days: int = 7,
                   inactive_days: int = 14) -> ReminderRun:
    """Queue the reminders due now and record them (the caller commits, then delivers)."""
    if closing_days < 0 or inactive_days < 1:
        raise LeadError("closing days must be 0 or more and inactive days 1 or more")
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # Another run of the command waits here until this one commits, then sees
        # its ReminderSent rows: nobody is reminded twice.
        session.execute(select(func.pg_advisory_xact_lock(REMINDER_LOCK)))
    due = due_reminders(session, now, closing_days, inactive_days)
    if due:
        session.add_all([ReminderSent(enrolment_id=r.enrolment_id, kind=r.kind, workbook_slug=r.workbook.slug,
                                      sent_at=now) for r in due])
        enqueue(session, [r.message(links) for r in due])
        result = ReminderRun(due)
        audit(session, None, "reminders.send", result.summary(), closing=result.count("closing"),
              inactive=result.count("inactive"), closing_days=closing_days, inactive_days=inactive_days)
    session.flush()
    return ReminderRun(due)
