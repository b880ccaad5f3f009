"""Pending drafts: what a learner typed in a session that had ended, kept until they log in again (no Flask here)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from shooc.db import utcnow
from shooc.enrolment.answers import WorkbookState, drafts_from_form, save_drafts
from shooc.enrolment.models import Enrolment, PendingDraft
from shooc.workbooks.models import ActivityVersion, WorkbookVersion

PENDING_DRAFT_HOURS = 72


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


def plan_restore(state: WorkbookState, form: Mapping[str, list[str]], option_key: bytes) -> RestorePlan:
    """What restoring a kept draft does to each answer (see the decisions above)."""
    previous = {aid: s.answer for aid, s in state.activities.items()}
    posted = MultiDict([(key, value) for key, values in form.items() for value in values])
    drafts = drafts_from_form(state.workbook, posted, None, previous, option_key)
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


def restore_pending_draft(session: Session, enrolment: Enrolment, state: WorkbookState,
                          pending: PendingDraft, option_key: bytes, typed_wins: frozenset[str] = frozenset(),
                          plan: RestorePlan | None = None) -> RestorePlan:
    """Save a kept draft into the workbook: what ``plan_restore`` applies at once,
    and of the conflicts those in ``typed_wins`` (the learner chose what they typed);
    the draft is then forgotten. Raises as ``save_drafts`` does (nothing saved)."""
    plan = plan or plan_restore(state, pending.form, option_key)
    drafts = dict(plan.apply)
    drafts.update({aid: conflict.typed for aid, conflict in plan.conflicts.items() if aid in typed_wins})
    if drafts:
        save_drafts(session, enrolment, state, drafts)
    forget_pending_draft(session, pending)
    return plan


def forget_pending_draft(session: Session, pending: PendingDraft) -> None:
    session.delete(pending)
    session.flush()
