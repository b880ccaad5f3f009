"""A learner's work in a workbook: its state, drafts, quiz checks and submitting it
(no Flask here).

Services flush; the view or command that called them commits."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from blinker import Namespace
from sqlalchemy import Integer, Select, String, and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shooc.db import utcnow
from shooc.enrolment import rules
from shooc.enrolment.models import Enrolment, Response, Submission, SubmissionReturn
from shooc.enrolment.responses import save_answer
from shooc.enrolment.services import EnrolmentError, course_workbook_slugs
from shooc.evaluate import counters
from shooc.faults import fault_point
from shooc.workbooks.activities import FormData, Quiz, get_kind, published_kind
from shooc.workbooks.models import ActivityVersion, CourseVersion, WorkbookVersion

if TYPE_CHECKING:
    from shooc.lead.models import WorkbookFeedback

signals = Namespace()
#: Sent inside the submitting transaction, once per new submission, with
#: ``session`` and ``submission``: badges hook in here
#: (shooc.badges.services.connect_to_submissions, which create_app calls). A
#: submission with nobody listening is refused: it would earn no badge.
workbook_submitted = signals.signal("workbook-submitted")


@dataclass
class Incomplete(Exception):
    """A submission refused: what is missing, by activity id."""

    missing: dict[str, list[str]]


class UnknownAction(ValueError):
    """A button the workbook page does not have (a forged or stale form)."""


@dataclass
class TooLong(Exception):
    problems: dict[str, list[str]]


# Answers -----------------------------------------------------------------------

@dataclass
class ActivityState:
    activity: ActivityVersion
    answer: dict[str, Any] | None
    missing: list[str]
    saved_at: dt.datetime | None = None
    revision: int = 0  # of the saved answer; 0 when there is none

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


@dataclass(frozen=True, slots=True)
class WorkbookRecords:
    """What is kept of one learner's workbook besides its answers, as its page shows it."""

    submission: Submission | None
    feedback: WorkbookFeedback | None  # the course team's, read or not yet
    returned: SubmissionReturn | None  # the latest hand-back, unless submitted again since


def workbook_records(session: Session, enrolment: Enrolment, workbook_slug: str) -> WorkbookRecords:
    """One query, from the enrolment's row outward (each of the three is one row or
    none), where the workbook page used to send three: its submission, its feedback
    and its latest hand-back (none for a workbook submitted again since, as the
    dashboard's marks have it)."""
    submission, feedback, returned = session.execute(
        _records_query(), {"enrolment_id": enrolment.id, "workbook_slug": workbook_slug}).one()
    return WorkbookRecords(submission, feedback, returned if submission is None else None)


@functools.cache
def _records_query() -> Select[Submission, WorkbookFeedback, SubmissionReturn]:
    """Built once: making the statement cost as much as running it (its parameters are bound)."""
    from shooc.lead.models import WorkbookFeedback

    enrolment_id, workbook_slug = bindparam("enrolment_id", type_=Integer), bindparam("workbook_slug", type_=String)
    latest_return = (select(SubmissionReturn.id)
                     .where(SubmissionReturn.enrolment_id == enrolment_id,
                            SubmissionReturn.workbook_slug == workbook_slug)
                     .order_by(SubmissionReturn.returned_at.desc(), SubmissionReturn.id.desc()).limit(1)
                     .scalar_subquery())
    return (select(Submission, WorkbookFeedback, SubmissionReturn).select_from(Enrolment)
            .outerjoin(Submission, and_(Submission.enrolment_id == Enrolment.id,
                                        Submission.workbook_slug == workbook_slug))
            .outerjoin(WorkbookFeedback, and_(WorkbookFeedback.enrolment_id == Enrolment.id,
                                              WorkbookFeedback.workbook_slug == workbook_slug))
            .outerjoin(SubmissionReturn, SubmissionReturn.id == latest_return)
            .where(Enrolment.id == enrolment_id))


@functools.cache
def _answers_query() -> Select[str, Any, dt.datetime, int]:
    # the columns, not Response rows: the page needs no objects of them (a third of the query's time)
    return select(Response.activity_id, Response.answer, Response.updated_at, Response.revision).where(
        Response.enrolment_id == bindparam("enrolment_id"), Response.workbook_slug == bindparam("workbook_slug"))


def workbook_state(session: Session, enrolment: Enrolment, workbook: WorkbookVersion,
                   today: dt.date | None = None, records: WorkbookRecords | None = None) -> WorkbookState:
    """``records``: the workbook's, if just read (``workbook_records``), for its submission."""
    run = enrolment.run
    today = today or run.today()
    activities = {}
    found = {activity_id: (answer, saved_at, revision) for activity_id, answer, saved_at, revision in session.execute(
        _answers_query(), {"enrolment_id": enrolment.id, "workbook_slug": workbook.slug})}
    for activity in workbook.activities:
        kind = published_kind(activity.kind)
        answer, saved_at, revision = found.get(activity.activity_id, (None, None, 0))
        activities[activity.activity_id] = ActivityState(
            activity, answer, kind.missing(answer, activity.definition), saved_at, revision)
    submission = records.submission if records is not None else find_submission(session, enrolment, workbook.slug)
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
                     previous: Mapping[str, dict[str, Any] | None], option_key: bytes) -> dict[str, dict[str, Any]]:
    """Each activity's answer from a posted workbook form (or just activity ``only``).
    ``option_key``: the learner's key of quiz option codes (shooc.workbooks.quizorder),
    whose codes the form's quiz choices are."""
    drafts = {}
    for activity in workbook.activities:
        if only is not None and activity.activity_id != only:
            continue
        prefix = f"a.{activity.activity_id}"
        if not any(key == prefix or key.startswith(prefix + ".") for key in form.keys()) and activity.kind != "media":
            continue  # not on the form that was posted (e.g. a read-only part)
        drafts[activity.activity_id] = _answer_from_form(activity, form, previous.get(activity.activity_id),
                                                         option_key)
    return drafts


def _answer_from_form(activity: ActivityVersion, form: FormData, previous: dict[str, Any] | None,
                      option_key: bytes) -> dict[str, Any]:
    kind = published_kind(activity.kind)
    prefix = f"a.{activity.activity_id}"
    if isinstance(kind, Quiz):
        return kind.answer_from_codes(form, prefix, activity.activity_id, activity.definition, previous, option_key)
    return kind.answer_from_form(form, prefix, activity.definition, previous)


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
    response = save_answer(session, enrolment, state.workbook.slug, activity_id, answer, state.workbook.id)
    activity_state = state.activities[activity_id]
    activity_state.answer = answer
    activity_state.revision = response.revision
    activity_state.saved_at = response.updated_at
    activity = activity_state.activity
    activity_state.missing = published_kind(activity.kind).missing(answer, activity.definition)


# Autosave ------------------------------------------------------------------------
#
# The workbook page saves each activity as the learner types (shooc/static/workbook.js:
# a few seconds after the last key, on leaving the field or the page). Decisions:
#
# - One activity per save, named with the revision of its answer that the page had
#   (0: none saved). A save over an older revision is refused (Stale) with the newer
#   answer, so that text typed in another tab or on another device is never
#   overwritten unseen: the page shows both and the learner chooses. Choosing their
#   own sends it again over the newer revision.
# - The same limits as the form's Save (TooLong), the same locks (a submitted
#   workbook, a closed run: EnrolmentError), the same row lock on the enrolment.
# - An answer sent unchanged is not saved again (no new revision): leaving a field
#   without typing costs nothing.
# - The form's own buttons, with or without JavaScript, send each activity's revision
#   too (REVISION_FIELD) and are refused alike (Overtaken), the page then showing the
#   newer text beside the learner's.

AUTOSAVE_KINDS = frozenset({"reflection", "discussion", "smart-goal", "self-assessment", "quiz", "media"})


@dataclass
class Stale(Exception):
    """An autosave typed over an older revision than the saved one."""

    activity_id: str
    revision: int
    answer: dict[str, Any] | None
    saved_at: dt.datetime | None


@dataclass(frozen=True)
class Autosaved:
    activity_id: str
    revision: int
    saved_at: dt.datetime | None
    changed: bool
    complete: bool  # the activity, as it now is
    required_done: int  # of the workbook's required activities
    required: int


def autosave(session: Session, enrolment: Enrolment, state: WorkbookState, activity_id: str,
             fields: FormData, base_revision: int, option_key: bytes) -> Autosaved:
    """Save one activity's fields (named as on the form: ``a.<activity>.<part>``) if
    its saved answer is still at ``base_revision``. Raises UnknownAction (no such
    activity, or one the form does not edit), Stale, TooLong or EnrolmentError."""
    activity_state = state.activities.get(activity_id)
    if activity_state is None or activity_state.activity.kind not in AUTOSAVE_KINDS:
        raise UnknownAction(activity_id)
    _lock(session, enrolment, state)
    _require_editable(state)
    current = session.scalars(select(Response).where(
        Response.enrolment_id == enrolment.id, Response.workbook_slug == state.workbook.slug,
        Response.activity_id == activity_id).execution_options(populate_existing=True)).one_or_none()
    revision = current.revision if current is not None else 0
    if revision != base_revision:
        raise Stale(activity_id, revision, current.answer if current else None,
                    current.updated_at if current else None)
    activity = activity_state.activity
    answer = _answer_from_form(activity, fields, current.answer if current else None, option_key)
    changed = current is None or current.answer != answer
    if changed:
        save_drafts(session, enrolment, state, {activity_id: answer})
    saved = state.activities[activity_id]
    required = [s for s in state.activities.values() if s.activity.required]
    return Autosaved(activity_id, saved.revision, saved.saved_at, changed, complete=saved.started and saved.complete,
                     required_done=sum(1 for s in required if s.complete), required=len(required))


def answer_fields(activity: ActivityVersion, answer: dict[str, Any] | None,
                  option_key: bytes) -> dict[str, list[str]]:
    """The form's fields that show ``answer`` (what ``answer_from_form`` reads back; a
    quiz's choices as this learner's option codes): for the page to put a newer saved
    answer in place of the learner's."""
    answer = answer or {}
    prefix = f"a.{activity.activity_id}"
    definition = activity.definition
    if activity.kind in ("reflection", "discussion"):
        return {f"{prefix}.text": [answer.get("text") or ""]}
    if activity.kind == "smart-goal":
        return {f"{prefix}.{key}": [answer.get(key) or ""]
                for key in ("specific", "measurable", "achievable", "relevant", "time_bound", "target_date")}
    if activity.kind == "media":
        return {f"{prefix}.watched": ["yes"] if answer.get("watched") else []}
    if activity.kind == "self-assessment":
        ratings = answer.get("ratings") or {}
        return {f"{prefix}.{item['id']}": [str(ratings[item["id"]])] if item["id"] in ratings else []
                for item in definition["statements"]}
    kind = published_kind(activity.kind)
    if isinstance(kind, Quiz):
        return {f"{prefix}.{qid}": codes
                for qid, codes in kind.choice_codes(activity.activity_id, definition, answer, option_key).items()}
    return {}


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
        enrolment_id=enrolment.id, run_id=enrolment.run_id, workbook_slug=workbook.slug,
        workbook_version_id=workbook.id, course_version_number=version_number,
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


# A press of one of the workbook page's buttons ------------------------------------

@dataclass(frozen=True)
class Pressed:
    """What a press did: ``saved`` (``activity_id`` when it was one activity's Save),
    ``checked`` (a quiz marked: ``attempt``), ``submitted``, ``already-submitted``
    (a second click, another tab: the first submission stands), or ``confirm`` (saved;
    a browser without script is asked before submitting: see SUBMIT_CONFIRM)."""

    outcome: str
    activity_id: str | None = None
    attempt: dict[str, Any] | None = None


# Submitting cannot be undone, so it is confirmed first. With script, the page's
# <dialog> asks. Without, the form carries ``confirm=ask`` (an input inside
# <noscript>, which only a browser without script submits): the answers are saved and
# a page asks; its button posts ``confirm=saved``, which submits what was saved then
# (that form holds no answers: saving its empty fields would clear ticked boxes).
# A client that names no ``confirm`` (scripts, the tests) submits at once, as before.
SUBMIT_CONFIRM = "confirm"


#: The workbook form's field, beside each activity's, that holds the revision of its
#: answer the page was drawn with (the page's script keeps it up to date with its
#: autosaves): a button's save over an answer changed since, in another tab or on
#: another device, is refused as autosave's is. A form without it (a page drawn
#: before this field existed) saves as before.
REVISION_FIELD = "rev."


class Overtaken(Exception):
    """The form's answers of ``activities`` were changed elsewhere after the page was
    drawn: nothing was saved, for the learner to choose which text to keep."""

    def __init__(self, activities: list[str]) -> None:
        super().__init__("answers changed elsewhere since the page was opened: " + ", ".join(activities))
        self.activities = activities


def overtaken(state: WorkbookState, form: FormData, drafts: Mapping[str, dict[str, Any]]) -> list[str]:
    """The activities whose answer on the form differs from a newer saved one."""
    found = []
    for activity_id, draft in drafts.items():
        sent, current = form.get(REVISION_FIELD + activity_id), state.activities.get(activity_id)
        if current is not None and sent is not None and sent.isdigit() and int(sent) < current.revision \
                and draft != current.answer:
            found.append(activity_id)
    return found


def press(session: Session, enrolment: Enrolment, state: WorkbookState, action: str,
          form: FormData, option_key: bytes) -> Pressed:
    """Do what a button of the workbook page asks (``action``: ``save``,
    ``save:<activity>``, ``check:<quiz>``, ``submit``). Whichever button was pressed,
    everything typed on the page is saved first: a learner who checks a quiz after
    writing a goal must not lose the goal.

    Raises UnknownAction (a button the page has not), TooLong, Overtaken or
    EnrolmentError (nothing saved: the text is too long, an answer was changed
    elsewhere since the page was drawn, or the workbook cannot be changed now), and
    Incomplete when a submission is refused, *after* saving the drafts: the caller
    commits them, so that what was typed is kept even though the workbook is not
    submitted."""
    verb, _, activity_id = action.partition(":")
    if verb not in ("save", "check", "submit") or (activity_id and activity_id not in state.activities) \
            or (verb == "check" and not activity_id) or (verb == "submit" and activity_id):
        raise UnknownAction(action)
    previous = {aid: s.answer for aid, s in state.activities.items()}
    drafts = drafts_from_form(state.workbook, form, None, previous, option_key)
    if not (verb == "submit" and form.get(SUBMIT_CONFIRM) == "saved"):  # that one saves nothing
        changed_elsewhere = overtaken(state, form, drafts)
        if changed_elsewhere:
            raise Overtaken(changed_elsewhere)
    if verb == "check":
        quiz_draft = drafts.pop(activity_id, None)
        if quiz_draft is None:
            raise UnknownAction(action)  # the quiz's answers were not on the form
        save_drafts(session, enrolment, state, drafts)
        marked = check_quiz(session, enrolment, state, activity_id, quiz_draft)
        return Pressed("checked", activity_id, marked["last_attempt"])
    if verb == "submit" and form.get(SUBMIT_CONFIRM) == "saved":
        if state.submission is not None:
            return Pressed("already-submitted")
        submit_workbook(session, enrolment, state)
        return Pressed("submitted")
    if verb == "submit" and form.get(SUBMIT_CONFIRM) == "ask":
        save_drafts(session, enrolment, state, drafts)
        return Pressed("confirm")
    if verb == "submit":
        try:
            with session.begin_nested():
                save_drafts(session, enrolment, state, drafts)
        except EnrolmentError:
            if state.submission is None:
                raise
            return Pressed("already-submitted")
        submit_workbook(session, enrolment, state)
        return Pressed("submitted")
    save_drafts(session, enrolment, state, drafts)
    return Pressed("saved", activity_id or None)

