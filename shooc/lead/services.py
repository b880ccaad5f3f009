"""What course leaders do, over a session (no Flask here). Every change a leader
makes to a run or a learner is written to the audit log in the same transaction."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shooc.audit import audit
from shooc.auth.models import User
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run, RunMode
from shooc.enrolment.runs import check_run_fields
from shooc.enrolment.services import course_workbook_slugs
from shooc.evaluate import counters
from shooc.evaluate.models import RunCounter
from shooc.evaluate.stats import inside_window
from shooc.workbooks import current

PAGE_SIZE = 50
STATUSES = {
    "not-started": "Not started",
    "in-progress": "In progress",
    "completed": "Completed all workbooks",
    "withdrawn": "Withdrawn",
    "closed": "Closed without finishing",
}
WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SORTS = {"name", "email", "enrolled", "progress", "last-activity", "close-date"}


class LeadError(ValueError):
    """A leader's request that cannot be carried out; the message says why."""


# Runs --------------------------------------------------------------------------

@dataclass(frozen=True)
class RunFigures:
    run: Run
    enrolled: int
    active: int
    completed: int


def runs_overview(session: Session, course_ids: frozenset[int] | None = None) -> list[RunFigures]:
    """Every run (of ``course_ids``, when given) with its enrolled, active (still
    inside their window: neither finished nor withdrawn, close date not past) and
    completed learners, from the statistics' counters: a few rows per run whatever its
    size."""
    figures = []
    query = select(Run).order_by(Run.opens_on.desc(), Run.id.desc())
    if course_ids is not None:
        query = query.where(Run.course_id.in_(course_ids))
    for run in session.scalars(query):
        row = session.get(RunCounter, run.id)
        registered, completed, withdrawn = (row.registered, row.completed_all, row.withdrawn) if row else (0, 0, 0)
        active = inside_window(session, run, registered - completed - withdrawn,
                               len(current.workbook_slugs(session, run.course)), counters.local_day(run, utcnow()))
        figures.append(RunFigures(run, registered, active, completed))
    return figures


def affected_by_new_close_date(session: Session, run: Run, closes_on: dt.date) -> int:
    """Learners whose close date moves if the run's does (not those with a later extension)."""
    if closes_on == run.closes_on:
        return 0
    later = max(run.closes_on, closes_on)
    return session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.run_id == run.id, Enrolment.withdrawn_at.is_(None),
        or_(Enrolment.extended_until.is_(None), Enrolment.extended_until < later))) or 0


def update_run(session: Session, actor: User | None, run: Run, *, name: str, opens_on: dt.date,
               closes_on: dt.date, mode: str, pace_days: int, capacity: int | None, slug: str) -> list[str]:
    """Change a run; returns what changed, for people (also in the audit log)."""
    check_run_fields(session, opens_on, closes_on, pace_days, capacity, slug, current_slug=run.slug)
    new = {"name": name.strip(), "slug": slug, "opens_on": opens_on, "closes_on": closes_on,
           "mode": RunMode(mode), "pace_days": pace_days, "capacity": capacity}
    changes = []
    for key, value in new.items():
        old = getattr(run, key)
        if old != value:
            changes.append(f"{key.replace('_', ' ')}: {_show(old)} → {_show(value)}")
            setattr(run, key, value)
    if changes:
        audit(session, actor, "run.update", "; ".join(changes), run=run)
    session.flush()
    return changes


def close_run(session: Session, actor: User | None, run: Run, reason: str) -> int:
    """Close a run now: its last day was yesterday. Returns the learners it stopped.
    (Learners with an extension beyond today keep it.)"""
    today = run.today()
    if run.closes_on < today:
        raise LeadError("the run is already closed")
    yesterday = today - dt.timedelta(days=1)
    if yesterday < run.opens_on:
        raise LeadError("a run that has not opened yet can be given later dates instead")
    affected = affected_by_new_close_date(session, run, yesterday)
    audit(session, actor, "run.close", f"Closed the run (closing date {run.closes_on} → {yesterday})",
          run=run, reason=reason.strip() or None)
    run.closes_on = yesterday
    session.flush()
    return affected


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return value.value if isinstance(value, RunMode) else str(value)


# Participants ------------------------------------------------------------------

@dataclass(frozen=True)
class ParticipantRow:
    enrolment_id: int
    name: str | None
    email: str | None
    organisation: str | None
    enrolled_on: dt.date
    close_date: dt.date
    submitted: int
    started: bool
    withdrawn: bool
    last_activity: dt.datetime | None

    def status(self, workbooks: int, today: dt.date) -> str:
        if self.withdrawn:
            return "withdrawn"
        if self.submitted >= workbooks:
            return "completed"
        if today > self.close_date:
            return "closed"
        return "in-progress" if self.started else "not-started"


@dataclass
class ParticipantPage:
    rows: list[ParticipantRow]
    total: int
    page: int
    pages: int
    workbooks: int
    today: dt.date


def status_filter(run: Run, workbooks: int, today: dt.date, status: str) -> list[Any]:
    """The conditions of a status, on the enrolment row alone (no join, no count)."""
    submitted, started = Enrolment.submitted_count, Enrolment.started_on.is_not(None)
    close_date = func.coalesce(Enrolment.extended_until, run.closes_on)
    active = Enrolment.withdrawn_at.is_(None)
    conditions: dict[str, list[Any]] = {
        "withdrawn": [Enrolment.withdrawn_at.is_not(None)],
        "completed": [active, submitted >= workbooks],
        "closed": [active, submitted < workbooks, close_date < today],
        "in-progress": [active, submitted < workbooks, close_date >= today, started],
        "not-started": [active, close_date >= today, ~started],
    }
    return conditions.get(status, [])


def _search_filter(search: str) -> list[Any]:
    search = search.strip().lower()
    if not search:
        return []
    if WHOLE_EMAIL.match(search):
        # a whole e-mail address: the unique index finds it at once
        return [User.email == search]
    like = f"%{search.strip().lower()}%"
    return [or_(func.lower(User.name).like(like), func.lower(User.email).like(like),
                func.lower(User.organisation).like(like))]


def _participants_query(session: Session, run: Run, workbooks: int, today: dt.date, search: str = "",
                        status: str = "") -> tuple[Select, Any]:
    close_date = func.coalesce(Enrolment.extended_until, run.closes_on)
    query = (select(Enrolment.id, User.name, User.email, User.organisation, Enrolment.enrolled_on,
                    close_date.label("close_date"), Enrolment.submitted_count,
                    Enrolment.started_on.is_not(None).label("started"), Enrolment.withdrawn_at,
                    Enrolment.last_activity_at)
             .select_from(Enrolment).outerjoin(User, Enrolment.user_id == User.id)
             .where(Enrolment.run_id == run.id, *_search_filter(search),
                    *status_filter(run, workbooks, today, status)))
    return query, close_date


def participants(session: Session, run: Run, search: str = "", status: str = "", sort: str = "name",
                 descending: bool = False, page: int = 1, page_size: int = PAGE_SIZE) -> ParticipantPage:
    """One page of a run's participants, searched, filtered and sorted in the database.

    At 100,000 participants the page in enrolment order (the leaders' default) walks
    an index and costs about the same as at 100; status filters read columns kept on
    the enrolment row; sorting by name or a text search reads the whole run once."""
    today = run.today()
    workbooks = len(course_workbook_slugs(session, run))
    query, close_date = _participants_query(session, run, workbooks, today, search, status)
    counting = select(func.count()).select_from(Enrolment).where(
        Enrolment.run_id == run.id, *status_filter(run, workbooks, today, status))
    if search.strip():
        counting = counting.join(User, Enrolment.user_id == User.id).where(*_search_filter(search))
    total = session.scalar(counting) or 0
    order = {"name": func.lower(User.name), "email": User.email, "enrolled": Enrolment.enrolled_on,
             "progress": Enrolment.submitted_count, "last-activity": Enrolment.last_activity_at,
             "close-date": close_date}.get(sort, func.lower(User.name))
    order = order.desc() if descending else order.asc()
    tie = Enrolment.id.desc() if descending else Enrolment.id.asc()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    # The page's ids first (an index walk when the order is the enrolment's own, with
    # no join for the rows skipped), then those rows with their names.
    ids = select(Enrolment.id).where(Enrolment.run_id == run.id, *status_filter(run, workbooks, today, status))
    if search.strip() or sort in ("name", "email"):
        ids = ids.outerjoin(User, Enrolment.user_id == User.id).where(*_search_filter(search))
    page_ids = list(session.scalars(ids.order_by(order.nulls_last() if sort != "enrolled" else order, tie)
                                    .limit(page_size).offset((page - 1) * page_size)))
    found = {r[0]: r for r in session.execute(query.where(Enrolment.id.in_(page_ids)))} if page_ids else {}
    return ParticipantPage([_row(found[i]) for i in page_ids], total, page, pages, workbooks, today)


def all_participants(session: Session, run: Run, search: str = "",
                     status: str = "") -> tuple[list[ParticipantRow], int, dt.date]:
    """Every participant the filters select (for the CSV export)."""
    today = run.today()
    workbooks = len(course_workbook_slugs(session, run))
    query, _ = _participants_query(session, run, workbooks, today, search, status)
    rows = session.execute(query.order_by(Enrolment.enrolled_on, Enrolment.id)).all()
    return [_row(r) for r in rows], workbooks, today


def _row(r: Any) -> ParticipantRow:
    return ParticipantRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or 0, bool(r[7]), r[8] is not None, r[9])




# One learner ---------------------------------------------------------------------

def extend_close_date(session: Session, actor: User | None, enrolment: Enrolment, until: dt.date,
                      reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise LeadError("give a reason for the extension: it is kept in the audit log")
    if until <= enrolment.run.closes_on:
        raise LeadError(f"an extension must be later than the run's closing date ({enrolment.run.closes_on:%-d %B %Y})")
    before = enrolment.close_date
    enrolment.extended_until = until
    notify(session, [enrolment.user_id], Event(
        "extension", f"Your time on {enrolment.run.name} is extended: your close date is now {until:%-d %B %Y}",
        "/dashboard", reason))
    audit(session, actor, "enrolment.extend", f"Close date {before} → {until}", enrolment=enrolment,
          reason=reason, previous=str(before), until=str(until))
    session.flush()


def remove_extension(session: Session, actor: User | None, enrolment: Enrolment, reason: str) -> None:
    if enrolment.extended_until is None:
        return
    audit(session, actor, "enrolment.extension-removed",
          f"Close date {enrolment.extended_until} → {enrolment.run.closes_on} (the run's)",
          enrolment=enrolment, reason=reason.strip() or None)
    enrolment.extended_until = None
    session.flush()
