"""Before and after (issue 19): a learner rates themself against the course's
standards (course.md's ``standards.items``, S1 to S4 in the mentoring course) when
they start, and again when they have finished; they see their own change, and
evaluators the paired change of a run (no Flask here).

Rules (docs/self-assessment.md says the same to people):

- **Before**: offered from enrolling until the learner submits their first workbook.
  Drafting answers does not close it (a learner may open a workbook to see what the
  course is like), but once a workbook is submitted the course has really begun and a
  rating would no longer be a baseline. Not offered once the run is closed for them
  or they have withdrawn.
- **After**: offered once every workbook of the course is submitted (the fifth of
  five), with no end date: a learner who finished may rate themself later.
- Each is **skippable**: "Not now" hides the dashboard's prompt for that phase; the
  form stays reachable (a quieter link) while the phase is still open.
- Each is given **once**: a baseline changed afterwards would no longer be a
  baseline, and the run's figures count each pair once, when it is made.
- A **pair** is an enrolment with both a before and an after; the evaluators'
  figures (``counters.self_assessment_paired``) are over pairs only, so a learner
  who skipped either is not in them. Every standard must be rated (1 to 5).
- Deleting one's account keeps the ratings in the run's figures, without a name (as
  the survey's ratings are kept).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, SelfAssessment, SelfRating
from shooc.evaluate import counters

BEFORE, AFTER = "before", "after"
PHASES = (BEFORE, AFTER)

#: the scale, 1 to 5, in words (shown beside every point, and in the change)
SCALE = ("Not yet confident", "A little confident", "Fairly confident", "Confident", "Very confident")


class SelfAssessmentError(ValueError):
    """This self-assessment cannot be recorded (closed, already given, not yet open)."""


class MissingRatings(SelfAssessmentError):
    """Some standards have no rating (or one off the scale): ``missing`` names them."""

    def __init__(self, missing: list[dict[str, str]], chosen: dict[str, int]) -> None:
        names = ", ".join(f"{s['code']} {s['name']}" for s in missing)
        super().__init__(f"Choose a rating for every standard: {names} {'has' if len(missing) == 1 else 'have'} none.")
        self.missing = missing
        self.chosen = chosen


@dataclass(frozen=True)
class Standard:
    code: str
    name: str
    description: str


def standards(meta: Mapping[str, Any]) -> list[Standard]:
    """The course's standards, in course.md's order (none: no self-assessment)."""
    declared = meta.get("standards")
    items = (declared.get("items") if isinstance(declared, dict) else None) or []
    return [Standard(str(i["code"]), str(i.get("name") or i["code"]), str(i.get("description") or "").strip())
            for i in items if isinstance(i, dict) and i.get("code")]


@dataclass
class SelfAssessmentState:
    """What one enrolment has given: each phase's ratings (code → 1..5), and skips."""

    ratings: dict[str, dict[str, int]] = field(default_factory=dict)  # phase → code → rating
    skipped: set[str] = field(default_factory=set)

    def done(self, phase: str) -> bool:
        return phase in self.ratings

    @property
    def paired(self) -> bool:
        return self.done(BEFORE) and self.done(AFTER)

    def change(self, codes: Sequence[Standard]) -> list[dict[str, Any]]:
        """Per standard: before, after (None where not given), and the change."""
        before, after = self.ratings.get(BEFORE, {}), self.ratings.get(AFTER, {})
        rows = []
        for s in codes:
            b, a = before.get(s.code), after.get(s.code)
            rows.append({"standard": s, "before": b, "after": a,
                         "before_words": SCALE[b - 1] if b else None, "after_words": SCALE[a - 1] if a else None,
                         "change": (a - b) if a is not None and b is not None else None})
        return rows


def states(session: Session, enrolment_ids: Sequence[int]) -> dict[int, SelfAssessmentState]:
    """Each enrolment's state (two queries for any number of enrolments)."""
    found: dict[int, SelfAssessmentState] = {}
    ids = list(enrolment_ids)
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for row in session.scalars(select(SelfAssessment).where(SelfAssessment.enrolment_id.in_(part))):
            state = found.setdefault(row.enrolment_id, SelfAssessmentState())
            if row.answered_at is not None:
                state.ratings.setdefault(row.phase, {})
            elif row.skipped_at is not None:
                state.skipped.add(row.phase)
        for enrolment_id, phase, code, rating in session.execute(
                select(SelfRating.enrolment_id, SelfRating.phase, SelfRating.standard_code, SelfRating.rating)
                .where(SelfRating.enrolment_id.in_(part))):
            found.setdefault(enrolment_id, SelfAssessmentState()).ratings.setdefault(phase, {})[code] = rating
    return found


def state_of(session: Session, enrolment_id: int) -> SelfAssessmentState:
    return states(session, [enrolment_id]).get(enrolment_id, SelfAssessmentState())


def open_phase(state: SelfAssessmentState, submitted: int, workbooks: int, active: bool) -> str | None:
    """The phase the learner may give now, if any (the rules above). ``active``: not
    withdrawn and their close date not past."""
    if not state.done(BEFORE) and submitted == 0 and active:
        return BEFORE
    if not state.done(AFTER) and workbooks and submitted >= workbooks:
        return AFTER
    return None


def prompted(state: SelfAssessmentState, phase: str | None) -> bool:
    """Whether the dashboard asks outright (an open phase not skipped)."""
    return phase is not None and phase not in state.skipped


def parse_ratings(form: Mapping[str, Any], course_standards: Sequence[Standard]) -> dict[str, int]:
    """``rating-<code>`` fields as ratings; anything missing or off the scale is left
    out (``record`` names what is missing)."""
    chosen = {}
    for s in course_standards:
        value = str(form.get(f"rating-{s.code}") or "").strip()
        if value.isdigit() and 1 <= int(value) <= len(SCALE):
            chosen[s.code] = int(value)
    return chosen


def _check_open(session: Session, enrolment: Enrolment, phase: str, submitted: int, workbooks: int,
                active: bool) -> SelfAssessmentState:
    if phase not in PHASES:
        raise SelfAssessmentError("There is no such self-assessment.")
    state = state_of(session, enrolment.id)
    if state.done(phase):
        raise SelfAssessmentError(f"You have already rated yourself {phase} the course: it is kept as you gave it.")
    if open_phase(state, submitted, workbooks, active) != phase:
        raise SelfAssessmentError(
            "The rating before the course can be given until you submit your first workbook."
            if phase == BEFORE else "The rating after the course opens once you have submitted every workbook.")
    return state


def record(session: Session, enrolment: Enrolment, phase: str, chosen: Mapping[str, int],
           course_standards: Sequence[Standard], submitted: int, workbooks: int, active: bool) -> None:
    """Keep the learner's ratings of ``phase``; a completed pair is counted into the
    run's figures in the same transaction. Nothing is kept if a standard is missing."""
    state = _check_open(session, enrolment, phase, submitted, workbooks, active)
    missing = [s for s in course_standards if chosen.get(s.code) not in range(1, len(SCALE) + 1)]
    if missing or not course_standards:
        raise MissingRatings([{"code": s.code, "name": s.name} for s in missing], dict(chosen))
    row = session.get(SelfAssessment, (enrolment.id, phase))
    now = utcnow()
    try:
        with session.begin_nested():
            if row is None:
                session.add(SelfAssessment(enrolment_id=enrolment.id, phase=phase, answered_at=now))
            else:
                row.answered_at, row.skipped_at = now, None
            session.add_all(SelfRating(enrolment_id=enrolment.id, phase=phase, standard_code=s.code,
                                       rating=chosen[s.code]) for s in course_standards)
    except IntegrityError:  # the same form sent twice at once: the first stands
        raise SelfAssessmentError(f"You have already rated yourself {phase} the course.") from None
    other = AFTER if phase == BEFORE else BEFORE
    if state.done(other):
        given = {s.code: chosen[s.code] for s in course_standards}
        before, after = (given, state.ratings[other]) if phase == BEFORE else (state.ratings[other], given)
        counters.self_assessment_paired(session, enrolment.run_id, before, after)
    session.flush()


def skip(session: Session, enrolment: Enrolment, phase: str) -> None:
    """"Not now": the dashboard stops asking for this phase (it can still be given)."""
    if phase not in PHASES:
        raise SelfAssessmentError("There is no such self-assessment.")
    row = session.get(SelfAssessment, (enrolment.id, phase))
    if row is None:
        session.add(SelfAssessment(enrolment_id=enrolment.id, phase=phase, skipped_at=utcnow()))
    elif row.answered_at is None:
        row.skipped_at = utcnow()
    session.flush()


def for_export(session: Session, enrolment_id: int) -> dict[str, Any]:
    """The learner's own ratings for their data download: each phase given or
    skipped, when, and the ratings (standard code → 1..5), with the scale's words."""
    state = state_of(session, enrolment_id)
    rows = {r.phase: r for r in session.scalars(select(SelfAssessment).where(
        SelfAssessment.enrolment_id == enrolment_id))}
    out: dict[str, Any] = {"scale": list(SCALE)}
    for phase, row in rows.items():
        out[phase] = {"given_at": row.answered_at.isoformat() if row.answered_at else None,
                      "skipped_at": row.skipped_at.isoformat() if row.skipped_at else None,
                      "ratings": state.ratings.get(phase, {})}
    return out
