"""Runs, enrolments, answers and submissions over a session (no Flask here).

Services flush; the view or command that called them commits.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from blinker import Namespace
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.datastructures import MultiDict

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.models import Enrolment, PendingDraft, Response, Run, RunMode, Submission
from shooc.evaluate import counters
from shooc.faults import fault_point
from shooc.workbooks import published
from shooc.workbooks.activities import FormData, Quiz, get_kind, published_kind
from shooc.workbooks.models import ActivityVersion, Course, CourseVersion, WorkbookVersion

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
PENDING_DRAFT_HOURS = 72

signals = Namespace()
#: Sent inside the submitting transaction, once per new submission, with
#: ``session`` and ``submission``: badges hook in here
#: (shooc.badges.services.connect_to_submissions, which create_app calls). A
#: submission with nobody listening is refused: it would earn no badge.
workbook_submitted = signals.signal("workbook-submitted")


class RunError(ValueError):
    """A run that cannot be created or changed as asked; the message says why."""


class EnrolmentError(ValueError):
    """The learner cannot do this now (run closed, not released, submitted...)."""


@dataclass
class Incomplete(Exception):
    """A submission refused: what is missing, by activity id."""

    missing: dict[str, list[str]]


@dataclass
class TooLong(Exception):
    problems: dict[str, list[str]]


# Runs --------------------------------------------------------------------------

def create_run(session: Session, course: Course, opens_on: dt.date, closes_on: dt.date,
               mode: RunMode | str = RunMode.rolling, name: str | None = None,
               slug: str | None = None, pace_days: int = 7, capacity: int | None = None,
               timezone: str = rules.DEFAULT_TIMEZONE) -> Run:
    try:
        mode = RunMode(mode)
    except ValueError:
        raise RunError(f"mode must be 'rolling' or 'paced', not '{mode}'") from None
    if course.current_version_id is None:
        raise RunError(f"course '{course.slug}' has not been published yet")
    if slug is None:
        slug = _free_slug(session, f"{opens_on.year}-{mode.value}")
    check_run_fields(session, opens_on, closes_on, pace_days, capacity, slug)
    if name is None:
        name = f"{'Rolling' if mode is RunMode.rolling else 'Paced'} run from {opens_on:%-d %B %Y}"
    run = Run(course_id=course.id, slug=slug, name=name.strip(), opens_on=opens_on,
              closes_on=closes_on, mode=mode, pace_days=pace_days, capacity=capacity, timezone=timezone)
    session.add(run)
    session.flush()
    return run


def check_run_fields(session: Session, opens_on: dt.date, closes_on: dt.date, pace_days: int,
                     capacity: int | None, slug: str, current_slug: str | None = None) -> None:
    """The rules every run keeps, whether new or changed."""
    if closes_on <= opens_on:
        raise RunError("the closing date must be after the opening date")
    if pace_days < 1:
        raise RunError("the pace must be at least one day")
    if capacity is not None and capacity < 1:
        raise RunError("the cap on registrations must be at least 1")
    if not SLUG_RE.match(slug):
        raise RunError(f"run slug '{slug}' must be lower-case letters, digits and hyphens")
    if slug != current_slug and session.scalar(select(Run.id).where(Run.slug == slug)) is not None:
        raise RunError(f"a run with the slug '{slug}' already exists")


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Run.slug).where(Run.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def find_run(session: Session, slug: str) -> Run | None:
    """The run of that address, its course loaded with it (every page of a run shows it)."""
    return session.scalar(select(Run).where(Run.slug == slug).options(selectinload(Run.course)))


def open_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on <= today, Run.closes_on >= today)
        .order_by(Run.opens_on)))


def upcoming_runs(session: Session, course: Course, today: dt.date) -> list[Run]:
    return list(session.scalars(
        select(Run).where(Run.course_id == course.id, Run.opens_on > today).order_by(Run.opens_on)))


# Enrolment ---------------------------------------------------------------------

def enrol(session: Session, run: Run, user_id: int, today: dt.date | None = None) -> Enrolment:
    """Enrol a learner in an open run; their start date is today (the run's today).
    Enrolling again is harmless; enrolling after withdrawing rejoins."""
    today = today or run.today()
    existing = session.scalar(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id))
    if existing is not None and existing.withdrawn_at is None:
        return existing
    enrolled = session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.run_id == run.id, Enrolment.withdrawn_at.is_(None)))
    decision = rules.enrolment_decision(run.opens_on, run.closes_on, today, run.capacity, enrolled or 0)
    if not decision.allowed:
        raise EnrolmentError(decision.reason)
    if existing is not None:
        existing.withdrawn_at = None
        counters.withdrawal_changed(session, existing, len(course_workbook_slugs(session, run)), -1)
        session.flush()
        return existing
    enrolment = Enrolment(run_id=run.id, user_id=user_id, enrolled_on=today)
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:  # the same learner enrolling from two tabs at once
        return session.scalars(select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.user_id == user_id)).one()
    counters.registered(session, enrolment)
    return enrolment


def withdraw(session: Session, enrolment: Enrolment) -> None:
    if enrolment.withdrawn_at is None:
        enrolment.withdrawn_at = utcnow()
        counters.withdrawal_changed(session, enrolment, len(course_workbook_slugs(session, enrolment.run)), 1)
        session.flush()


def course_workbook_slugs(session: Session, run: Run) -> list[str]:
    """The workbooks of the run's course as published now."""
    return list(session.scalars(select(WorkbookVersion.slug).where(
        WorkbookVersion.course_version_id == run.course.current_version_id)))


def enrolment_for(session: Session, user_id: int, course: Course) -> Enrolment | None:
    """The learner's enrolment in the course: the latest run they joined."""
    return session.scalar(
        select(Enrolment).join(Run).where(Enrolment.user_id == user_id, Run.course_id == course.id)
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc()).options(contains_eager(Enrolment.run)).limit(1))


# Answers -----------------------------------------------------------------------

@dataclass
class ActivityState:
    activity: ActivityVersion
    answer: dict[str, Any] | None
    missing: list[str]
    saved_at: dt.datetime | None = None

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def started(self) -> bool:
        return self.answer is not None


@dataclass
class WorkbookState:
    """A learner's work on one workbook, as the workbook page shows it."""

    workbook: WorkbookVersion
    activities: dict[str, ActivityState]
    submission: Submission | None
    released_on: dt.date
    editable: bool
    locked_reason: str = ""

    @property
    def required_missing(self) -> dict[str, list[str]]:
        return {aid: s.missing for aid, s in self.activities.items() if s.activity.required and s.missing}

    @property
    def status(self) -> str:
        if self.submission is not None:
            return "submitted"
        return "in progress" if any(s.started for s in self.activities.values()) else "not started"


def answers_for(session: Session, enrolment: Enrolment, workbook_slug: str) -> dict[str, Response]:
    return {r.activity_id: r for r in session.scalars(select(Response).where(
        Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug))}


def find_submission(session: Session, enrolment: Enrolment, workbook_slug: str) -> Submission | None:
    return session.scalar(select(Submission).where(
        Submission.enrolment_id == enrolment.id, Submission.workbook_slug == workbook_slug))


def workbook_state(session: Session, enrolment: Enrolment, workbook: WorkbookVersion,
                   today: dt.date | None = None) -> WorkbookState:
    run = enrolment.run
    today = today or run.today()
    responses = answers_for(session, enrolment, workbook.slug)
    activities = {}
    for activity in workbook.activities:
        kind = published_kind(activity.kind)
        response = responses.get(activity.activity_id)
        answer = response.answer if response else None
        activities[activity.activity_id] = ActivityState(
            activity, answer, kind.missing(answer, activity.definition), response.updated_at if response else None)
    submission = find_submission(session, enrolment, workbook.slug)
    released_on = rules.release_date(run.mode.value, run.opens_on, run.pace_days, workbook.position)
    reason = _locked_reason(enrolment, submission, released_on, today)
    return WorkbookState(workbook, activities, submission, released_on, editable=not reason, locked_reason=reason)


def _locked_reason(enrolment: Enrolment, submission: Submission | None, released_on: dt.date, today: dt.date) -> str:
    if enrolment.withdrawn_at is not None:
        return "You have withdrawn from this run: your work can be read but not changed."
    if submission is not None:
        return f"You submitted this workbook on {submission.submitted_at:%-d %B %Y}."
    if today > enrolment.close_date:
        return (f"Your time on this run ended on {enrolment.close_date:%-d %B %Y}: everything can still be "
                "read and downloaded, but nothing can be submitted.")
    if today < released_on:
        return f"This workbook opens on {released_on:%-d %B %Y}."
    return ""


def _require_editable(state: WorkbookState) -> None:
    if not state.editable:
        raise EnrolmentError(state.locked_reason)


def _lock(session: Session, enrolment: Enrolment, state: WorkbookState) -> None:
    """One write of a learner's at a time (a PostgreSQL row lock on the enrolment,
    taken before anything else so that two tabs never deadlock; SQLite's writers
    queue anyway). What another request did meanwhile is then seen: a workbook it
    submitted is no longer editable here."""
    session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())
    if state.submission is None:
        state.submission = find_submission(session, enrolment, state.workbook.slug)
        if state.submission is not None:
            state.editable = False
            state.locked_reason = _locked_reason(enrolment, state.submission, state.released_on, enrolment.run.today())


def drafts_from_form(workbook: WorkbookVersion, form: FormData, only: str | None,
                     previous: Mapping[str, dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Each activity's answer from a posted workbook form (or just activity ``only``)."""
    drafts = {}
    for activity in workbook.activities:
        if only is not None and activity.activity_id != only:
            continue
        prefix = f"a.{activity.activity_id}"
        if not any(key == prefix or key.startswith(prefix + ".") for key in form.keys()) and activity.kind != "media":
            continue  # not on the form that was posted (e.g. a read-only part)
        kind = published_kind(activity.kind)
        drafts[activity.activity_id] = kind.answer_from_form(form, prefix, activity.definition,
                                                             previous.get(activity.activity_id))
    return drafts


def save_drafts(session: Session, enrolment: Enrolment, state: WorkbookState,
                drafts: Mapping[str, dict[str, Any]]) -> None:
    """Store drafts (complete or not). Nothing is stored if any is too long."""
    _lock(session, enrolment, state)
    _require_editable(state)
    too_long = {aid: published_kind(state.activities[aid].activity.kind).too_long(answer)
                for aid, answer in drafts.items() if aid in state.activities}
    too_long = {aid: problems for aid, problems in too_long.items() if problems}
    if too_long:
        raise TooLong(too_long)
    for activity_id, answer in drafts.items():
        if activity_id in state.activities:
            _store(session, enrolment, state, activity_id, answer)
    enrolment.last_activity_at = utcnow()
    session.flush()


def check_quiz(session: Session, enrolment: Enrolment, state: WorkbookState, activity_id: str,
               draft: dict[str, Any]) -> dict[str, Any]:
    """Mark a quiz attempt on the server; returns the marked answer."""
    _lock(session, enrolment, state)
    _require_editable(state)
    activity = state.activities[activity_id].activity
    kind = get_kind(activity.kind)
    assert isinstance(kind, Quiz)
    marked = kind.mark(draft, activity.definition)
    _store(session, enrolment, state, activity_id, marked)
    enrolment.last_activity_at = utcnow()
    session.flush()
    return marked


def _store(session: Session, enrolment: Enrolment, state: WorkbookState, activity_id: str,
           answer: dict[str, Any]) -> None:
    save_answer(session, enrolment, state.workbook.slug, activity_id, answer, state.workbook.id)
    activity_state = state.activities[activity_id]
    activity_state.answer = answer
    activity = activity_state.activity
    activity_state.missing = published_kind(activity.kind).missing(answer, activity.definition)


def save_answer(session: Session, enrolment: Enrolment, workbook_slug: str, activity_id: str,
                answer: dict[str, Any], workbook_version_id: int | None = None) -> Response:
    """Store a learner's answer to one activity, keyed by workbook slug and activity id."""
    where = (Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug,
             Response.activity_id == activity_id)
    today = enrolment.run.today()
    if enrolment.started_on is None:
        # Conditional, so that of two requests that both saw no start, one counts it.
        if session.execute(update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.started_on.is_(None))
                           .values(started_on=today).returning(Enrolment.id)).first() is not None:
            counters.started(session, enrolment, today)
        set_committed_value(enrolment, "started_on", session.scalar(
            select(Enrolment.started_on).where(Enrolment.id == enrolment.id)))
    response = session.scalar(select(Response).where(*where))
    if response is None:
        counters.workbook_started(session, enrolment, workbook_slug, today)
        response = Response(enrolment_id=enrolment.id, workbook_slug=workbook_slug, activity_id=activity_id,
                            answer=answer, workbook_version_id=workbook_version_id)
        try:
            with session.begin_nested():
                session.add(response)
            return response
        except IntegrityError:  # the same draft saved from another tab at the same moment
            response = session.scalars(select(Response).where(*where)).one()
    response.answer = answer
    response.workbook_version_id = workbook_version_id
    session.flush()
    return response


# Submission --------------------------------------------------------------------

def submit_workbook(session: Session, enrolment: Enrolment, state: WorkbookState) -> Submission:
    """Submit a workbook whose required activities are complete.

    Idempotent: a second submit (a double click, another tab, a concurrent request)
    returns the first submission. Raises Incomplete listing what is missing.
    """
    if state.submission is not None:
        return state.submission
    # Under the lock, the last of the course's workbooks sees all the others, even
    # when two are submitted at the same moment, and issues the certificate.
    _lock(session, enrolment, state)
    if state.submission is not None:
        return state.submission
    _require_editable(state)
    missing = state.required_missing
    if missing:
        raise Incomplete(missing)
    workbook = state.workbook
    version_number = session.scalar(select(CourseVersion.number).where(CourseVersion.id == workbook.course_version_id))
    submission = Submission(
        enrolment_id=enrolment.id, workbook_slug=workbook.slug, workbook_version_id=workbook.id,
        course_version_number=version_number,
        answers={aid: s.answer for aid, s in state.activities.items() if s.answer is not None},
    )
    try:
        with session.begin_nested():
            session.add(submission)
    except IntegrityError:
        existing = find_submission(session, enrolment, workbook.slug)
        if existing is None:
            raise
        return existing
    fault_point("submission-inserted")  # test-only (shooc/faults.py): the row written, nothing else
    enrolment.last_activity_at = utcnow()
    enrolment.submitted_count = Enrolment.submitted_count + 1  # in SQL: right under concurrency too
    session.flush()
    slugs = course_workbook_slugs(session, enrolment.run)
    done = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.enrolment_id == enrolment.id, Submission.workbook_slug.in_(slugs)))
    today = enrolment.run.today()
    counters.workbook_started(session, enrolment, workbook.slug, today)
    counters.submitted(session, enrolment, workbook.slug, today, finished_course=(done == len(slugs)))
    if not workbook_submitted.receivers:
        raise RuntimeError("nothing issues badges: call shooc.badges.services.connect_to_submissions() "
                           "(shooc.create_app does) before submitting workbooks")
    workbook_submitted.send(session, submission=submission)
    session.flush()
    fault_point("submission-complete")  # test-only: all written (badge, certificate), not committed
    state.submission = submission
    return submission


# Pending drafts (a session that ended before a save) ------------------------------
#
# A learner whose session ended (idle timeout, a browser restart) and who then presses
# Save must lose nothing: the workbook view keeps what was posted and saves it after
# they log in again. Decisions (issue 14: a stranger used this to overwrite answers,
# and to fill the database):
#
# - Only a post that the browser says came from one of this site's own pages is kept
#   (``Sec-Fetch-Site: same-origin``, or an ``Origin`` of this site: the view checks),
#   so a hostile page's auto-submitted form keeps nothing and gets no cookie.
# - Only for a workbook that exists, only the fields of its activities, at most
#   PENDING_MAX_CHARS in one post; per sending address (a keyed hash of it, never the
#   address) at most PENDING_PER_ADDRESS_PER_HOUR posts an hour and PENDING_PER_ADDRESS
#   posts or PENDING_MAX_CHARS_PER_ADDRESS characters at a time; all kept drafts
#   together at most PENDING_MAX_CHARS_TOTAL. Each is forgotten after
#   PENDING_DRAFT_HOURS (expired ones are purged whenever one is kept or looked up).
# - The rescue is bound to the browser that typed it: its token is in that browser's
#   session cookie, and survives the login there.
# - A rescued draft never silently replaces newer saved text: the form carries the
#   time the page was drawn (``loaded_at``), and an answer saved after that (in
#   another tab, on another device) is a conflict: the learner sees both and chooses
#   (``plan_restore``). Filling an empty answer, or changing one the learner had in
#   front of them when they typed, is restored at once.

PENDING_MAX_CHARS = 250_000  # a whole workbook of long answers (each at most MAX_TEXT)
PENDING_PER_ADDRESS_PER_HOUR = 10
PENDING_PER_ADDRESS = 30
PENDING_MAX_CHARS_PER_ADDRESS = 1_000_000
PENDING_MAX_CHARS_TOTAL = 200_000_000


class PendingRefused(Exception):
    """A draft that is not kept; ``status`` is the HTTP answer (413 too large, 429
    too many), ``retry_after`` the seconds until this address may try again."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def address_key(secret_key: str, address: str) -> str:
    """The key that counts one address's drafts: a keyed hash, so that the table
    holds no client addresses (personal data) and cannot be reversed by hashing
    every IPv4 address."""
    return hmac.new(secret_key.encode(), f"pending-draft|{address}".encode(), hashlib.sha256).hexdigest()[:32]


def workbook_fields(workbook: WorkbookVersion, form: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The fields of a posted workbook form worth keeping: its activities' answers,
    the button pressed and when the page was drawn. Anything else is dropped."""
    prefixes = tuple(f"a.{activity.activity_id}." for activity in workbook.activities)
    return {key: list(values) for key, values in form.items()
            if key.startswith(prefixes) or key in ("action", "loaded_at")}


def _size(form: Mapping[str, list[str]]) -> int:
    return sum(len(key) + sum(len(value) for value in values) for key, values in form.items())


def purge_pending_drafts(session: Session) -> int:
    """Forget every draft older than PENDING_DRAFT_HOURS; how many were forgotten."""
    cutoff = utcnow() - dt.timedelta(hours=PENDING_DRAFT_HOURS)
    result = session.execute(delete(PendingDraft).where(PendingDraft.created_at < cutoff))
    assert isinstance(result, CursorResult)  # what a DELETE gives, typed as any Result
    return result.rowcount or 0


def keep_pending_draft(session: Session, path: str, form: dict[str, list[str]], address: str) -> str:
    """Keep a form posted without a live session (already reduced to
    ``workbook_fields``) from the address keyed ``address``; returns the token that
    restores it. Raises PendingRefused past the bounds above."""
    purge_pending_drafts(session)
    size = _size(form)
    if size > PENDING_MAX_CHARS:
        raise PendingRefused(f"What was sent is longer ({size:,} characters) than can be kept for you "
                             f"({PENDING_MAX_CHARS:,}).", 413)
    now = utcnow()
    count, chars, recent = session.execute(
        select(func.count(), func.coalesce(func.sum(PendingDraft.size), 0),
               func.count().filter(PendingDraft.created_at >= now - dt.timedelta(hours=1)))
        .where(PendingDraft.address_key == address)).one()
    if recent >= PENDING_PER_ADDRESS_PER_HOUR:
        raise PendingRefused("Too many forms have been sent from your address without a session in the last hour.",
                             429, retry_after=3600)
    if count >= PENDING_PER_ADDRESS or chars + size > PENDING_MAX_CHARS_PER_ADDRESS:
        raise PendingRefused("Too much is being kept for your address already.", 429,
                             retry_after=PENDING_DRAFT_HOURS * 3600)
    total = session.scalar(select(func.coalesce(func.sum(PendingDraft.size), 0)))
    if (total or 0) + size > PENDING_MAX_CHARS_TOTAL:
        raise PendingRefused("The site is keeping too many unsaved forms just now.", 429, retry_after=3600)
    token = secrets.token_urlsafe(24)
    session.add(PendingDraft(token=token, path=path, form=form, address_key=address, size=size))
    session.flush()
    return token


def find_pending_draft(session: Session, token: str, path: str) -> PendingDraft | None:
    """The draft kept under ``token`` for ``path``, unless it has expired."""
    pending = session.get(PendingDraft, token)
    if pending is None or pending.path != path:
        return None
    if pending.created_at < utcnow() - dt.timedelta(hours=PENDING_DRAFT_HOURS):
        return None
    return pending


@dataclass
class Conflict:
    """An answer saved after the page of a rescued draft was drawn."""

    activity: ActivityVersion
    saved: dict[str, Any] | None
    saved_at: dt.datetime | None
    typed: dict[str, Any]


@dataclass
class RestorePlan:
    apply: dict[str, dict[str, Any]]  # restored at once
    conflicts: dict[str, Conflict]  # the learner chooses


def _loaded_at(form: Mapping[str, list[str]]) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat((form.get("loaded_at") or [""])[0])
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def plan_restore(state: WorkbookState, form: Mapping[str, list[str]]) -> RestorePlan:
    """What restoring a kept draft does to each answer (see the decisions above)."""
    previous = {aid: s.answer for aid, s in state.activities.items()}
    posted = MultiDict([(key, value) for key, values in form.items() for value in values])
    drafts = drafts_from_form(state.workbook, posted, None, previous)
    loaded_at = _loaded_at(form)
    plan = RestorePlan({}, {})
    for activity_id, typed in drafts.items():
        saved = state.activities[activity_id]
        if saved.answer == typed:
            continue  # nothing to restore
        if saved.answer is None or (
                loaded_at is not None and saved.saved_at is not None and saved.saved_at <= loaded_at):
            plan.apply[activity_id] = typed
        else:
            plan.conflicts[activity_id] = Conflict(saved.activity, saved.answer, saved.saved_at, typed)
    return plan


def restore_pending_draft(session: Session, enrolment: Enrolment, state: WorkbookState, pending: PendingDraft,
                          typed_wins: frozenset[str] = frozenset(), plan: RestorePlan | None = None) -> RestorePlan:
    """Save a kept draft into the workbook: what ``plan_restore`` applies at once,
    and of the conflicts those in ``typed_wins`` (the learner chose what they typed);
    the draft is then forgotten. Raises as ``save_drafts`` does (nothing saved)."""
    plan = plan or plan_restore(state, pending.form)
    drafts = dict(plan.apply)
    drafts.update({aid: conflict.typed for aid, conflict in plan.conflicts.items() if aid in typed_wins})
    if drafts:
        save_drafts(session, enrolment, state, drafts)
    forget_pending_draft(session, pending)
    return plan


def forget_pending_draft(session: Session, pending: PendingDraft) -> None:
    session.delete(pending)
    session.flush()


# The dashboard ------------------------------------------------------------------

@dataclass
class WorkbookSummary:
    position: int
    slug: str
    title: str
    estimated_hours: float
    status: str  # not started, in progress, submitted
    released_on: dt.date
    released: bool
    suggested_by: dt.date
    submitted_at: dt.datetime | None


@dataclass
class EnrolmentSummary:
    enrolment: Enrolment
    run: Run
    course: Course
    version: CourseVersion
    workbooks: list[WorkbookSummary]
    today: dt.date
    close_date: dt.date = field(init=False)

    def __post_init__(self) -> None:
        self.close_date = self.enrolment.close_date

    @property
    def submitted(self) -> int:
        return sum(1 for w in self.workbooks if w.status == "submitted")

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / len(self.workbooks)) if self.workbooks else 0

    @property
    def days_left(self) -> int:
        return rules.days_left(self.close_date, self.today)

    @property
    def closed(self) -> bool:
        return self.today > self.close_date

    @property
    def withdrawn(self) -> bool:
        return self.enrolment.withdrawn_at is not None

    @property
    def next_workbook(self) -> WorkbookSummary | None:
        """What to do next: the workbook in progress, else the first not started."""
        open_ones = [w for w in self.workbooks if w.status != "submitted" and w.released]
        in_progress = [w for w in open_ones if w.status == "in progress"]
        return next(iter(in_progress or open_ones), None)


def dashboard(session: Session, user_id: int) -> list[EnrolmentSummary]:
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.user_id == user_id)
        .options(joinedload(Enrolment.run, innerjoin=True).joinedload(Run.course, innerjoin=True))
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())).all()
    return enrolment_summaries(session, enrolments)


def enrolment_summaries(session: Session, enrolments: Sequence[Enrolment],
                        now: dt.datetime | None = None) -> list[EnrolmentSummary]:
    """Dashboard summaries of enrolments (a few queries for any number of them): the
    learner's dashboard, and the reminders, whose link is the dashboard's own "What
    to do next"."""
    ids = [e.id for e in enrolments]
    started: set[tuple[int, str]] = set()
    submitted: dict[tuple[int, str], dt.datetime] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        started.update((e, w) for e, w in session.execute(
            select(Response.enrolment_id, Response.workbook_slug).where(Response.enrolment_id.in_(part)).distinct()))
        submitted.update(((e, w), at) for e, w, at in session.execute(
            select(Submission.enrolment_id, Submission.workbook_slug, Submission.submitted_at)
            .where(Submission.enrolment_id.in_(part))))
    versions = {vid: published.version(session, vid) for vid in {e.run.course.current_version_id for e in enrolments}
                if vid is not None}
    summaries = []
    for enrolment in enrolments:
        run = enrolment.run
        vid = run.course.current_version_id
        version = versions.get(vid) if vid is not None else None
        if version is None:
            continue
        today = rules.today_in(run.timezone, now)
        workbooks = []
        for wb in version.workbooks:
            key = (enrolment.id, wb.slug)
            released_on = rules.release_date(run.mode.value, run.opens_on, run.pace_days, wb.position)
            status = "submitted" if key in submitted else "in progress" if key in started else "not started"
            workbooks.append(WorkbookSummary(
                wb.position, wb.slug, wb.title, wb.estimated_hours, status, released_on, today >= released_on,
                rules.suggested_date(enrolment.enrolled_on, enrolment.close_date, run.pace_days, wb.position),
                submitted.get(key)))
        summaries.append(EnrolmentSummary(enrolment, run, run.course, version, workbooks, today))
    return summaries
