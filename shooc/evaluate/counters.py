"""A run's figures, kept as counters in the transaction of each event, and the
recount from the rows themselves that they must always equal.

Events and what they count (definitions in shooc/evaluate/stats.py):
registering, withdrawing (an unfinished learner) and rejoining, starting (the first
answer saved), beginning a workbook, submitting a workbook (and finishing the
course) and having it handed back, issuing and revoking badges and certificates, evaluating; and in the run's
discussions (the ``community`` tally): a post shown or no longer shown (posted,
deleted, hidden, restored), and a participant's first post; and a learner's
self-assessment before and after the course making a pair (the ``self_assessment``
tally: ``pairs``, and per standard the pairs rated and the sums of their ratings).

Counters are bumped with one ``INSERT … ON CONFLICT DO UPDATE`` each (SQLite and
PostgreSQL alike), so a row appears on first use and two transactions bumping the
same counter both count. ``rebuild(session, run)`` writes them afresh from the rows
(after an import, after a migration, or if a check ever finds them wrong).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shooc.badges.models import BadgeAssertion, Certificate
from shooc.community.models import Post
from shooc.db import Base, utcnow
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.evaluate.models import (
    Evaluation,
    OverallEffect,
    RunCounter,
    RunTally,
    RunWeekCounter,
    RunWorkbookCounter,
    WorkbookStart,
)
from shooc.workbooks import current

COUNTER_TABLES = (RunCounter, RunWorkbookCounter, RunWeekCounter, RunTally)


def week_of(day: dt.date) -> dt.date:
    """The Monday of a date's week."""
    return day - dt.timedelta(days=day.weekday())


def local_day(run: Run, moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(run.timezone)).date()


def _bump(session: Session, model: type[Base], keys: dict[str, Any], **deltas: int) -> None:
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    assert isinstance(table, Table)  # a mapped class's FromClause, to SQLAlchemy's types
    statement = insert(table).values(**keys, **deltas)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + delta for name, delta in deltas.items()})
    session.execute(statement)


def _run_counter(session: Session, run_id: int, **deltas: int) -> None:
    _bump(session, RunCounter, {"run_id": run_id}, **deltas)


def _week(session: Session, run_id: int, day: dt.date, **deltas: int) -> None:
    _bump(session, RunWeekCounter, {"run_id": run_id, "week": week_of(day)}, **deltas)


def _tally(session: Session, run_id: int, tally: str, value: str, delta: int) -> None:
    _bump(session, RunTally, {"run_id": run_id, "tally": tally, "value": value}, count=delta)


# Events ----------------------------------------------------------------------------

def registered(session: Session, enrolment: Enrolment) -> None:
    _run_counter(session, enrolment.run_id, registered=1)
    _week(session, enrolment.run_id, enrolment.enrolled_on, registered=1)


def withdrawal_changed(session: Session, enrolment: Enrolment, workbooks: int, delta: int) -> None:
    """``delta`` 1 on withdrawing, -1 on rejoining; a learner who had finished is
    counted as finished, not as withdrawn."""
    if enrolment.submitted_count < workbooks:
        _run_counter(session, enrolment.run_id, withdrawn=delta)


def started(session: Session, enrolment: Enrolment, day: dt.date) -> None:
    _run_counter(session, enrolment.run_id, started=1)
    _week(session, enrolment.run_id, day, started=1)


def workbook_started(session: Session, enrolment: Enrolment, workbook_slug: str, day: dt.date) -> None:
    """The first time an enrolment touches a workbook (later calls change nothing)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: a row comes back only if this statement inserted it
    # (an ORM-enabled INSERT's rowcount is not that on every driver).
    inserted = session.execute(insert(WorkbookStart).values(
        enrolment_id=enrolment.id, workbook_slug=workbook_slug, started_on=day).on_conflict_do_nothing()
        .returning(WorkbookStart.enrolment_id)).first()
    if inserted is not None:
        _bump(session, RunWorkbookCounter, {"run_id": enrolment.run_id, "workbook_slug": workbook_slug},
              started=1)


def submitted(session: Session, enrolment: Enrolment, workbook_slug: str, day: dt.date,
              finished_course: bool) -> None:
    _run_counter(session, enrolment.run_id, workbooks_completed=1, completed_all=int(finished_course))
    if finished_course and enrolment.first_posted_at is not None:
        _tally(session, enrolment.run_id, COMMUNITY, "contributors_completed", 1)
    _bump(session, RunWorkbookCounter, {"run_id": enrolment.run_id, "workbook_slug": workbook_slug}, completed=1)
    _week(session, enrolment.run_id, day, workbooks_completed=1)


def submission_returned(session: Session, enrolment: Enrolment, workbook_slug: str, day: dt.date,
                        had_finished_course: bool) -> None:
    """A submitted workbook handed back (``day``: when it had been submitted): what
    ``submitted`` counted, taken away; a withdrawn learner who had finished counts as
    withdrawn again (``withdrawal_changed`` counted them as finished)."""
    _run_counter(session, enrolment.run_id, workbooks_completed=-1, completed_all=-int(had_finished_course),
                 withdrawn=int(had_finished_course and enrolment.withdrawn_at is not None))
    if had_finished_course and enrolment.first_posted_at is not None:
        _tally(session, enrolment.run_id, COMMUNITY, "contributors_completed", -1)
    _bump(session, RunWorkbookCounter, {"run_id": enrolment.run_id, "workbook_slug": workbook_slug}, completed=-1)
    _week(session, enrolment.run_id, day, workbooks_completed=-1)


def badge_changed(session: Session, run_id: int, delta: int) -> None:
    _run_counter(session, run_id, badges_awarded=delta)


def certificate_changed(session: Session, run: Run, enrolment: Enrolment, issued_on: dt.datetime,
                        delta: int) -> None:
    day = local_day(run, issued_on)
    _run_counter(session, run.id, certificates_awarded=delta)
    _week(session, run.id, day, certificates_awarded=delta)
    _tally(session, run.id, "days", str(_days_to_certificate(enrolment, day)), delta)


def _days_to_certificate(enrolment: Enrolment, day: dt.date) -> int:
    return max(0, (day - (enrolment.started_on or enrolment.enrolled_on)).days)


def evaluation_changed(session: Session, run_id: int, before: Evaluation | None, after: Evaluation) -> None:
    """Call after changing ``after``, with ``before`` a copy as it was (None: new)."""
    if before is None:
        _run_counter(session, run_id, evaluations=1)
    for evaluation, delta in ((before, -1), (after, 1)):
        if evaluation is None:
            continue
        if evaluation.overall_effect is not None:
            _tally(session, run_id, "effect", OverallEffect(evaluation.overall_effect).value, delta)
        for objective, rating in (evaluation.objective_ratings or {}).items():
            _tally(session, run_id, f"objective:{objective}", str(rating), delta)


COMMUNITY = "community"  # the tally of the run's discussions: posts, replies, ... (stats JSON ``community``)


def post_shown(session: Session, post: Post, delta: int) -> None:
    """A post starts (1) or stops (-1) being shown: posted, restored; deleted, hidden."""
    _tally(session, post.run_id, COMMUNITY, "posts", delta)
    if post.parent_id is not None:
        _tally(session, post.run_id, COMMUNITY, "replies", delta)
    if post.shared_response_id is not None:
        _tally(session, post.run_id, COMMUNITY, "shared_reflections", delta)


def posted(session: Session, enrolment: Enrolment) -> None:
    """A participant posted: the first time, they become a contributor (and one who
    completed, if they have). The UPDATE decides "first", so two posts at once count once."""
    first = session.execute(update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.first_posted_at.is_(None))
                            .values(first_posted_at=utcnow()).returning(Enrolment.id)).first()
    if first is None:
        return
    session.refresh(enrolment, ["first_posted_at"])
    slugs = current.workbook_slugs(session, enrolment.run.course)
    done = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.enrolment_id == enrolment.id, Submission.workbook_slug.in_(slugs)))
    _tally(session, enrolment.run_id, COMMUNITY, "contributors", 1)
    if slugs and done == len(slugs):
        _tally(session, enrolment.run_id, COMMUNITY, "contributors_completed", 1)


SELF_ASSESSMENT = "self_assessment"  # the tally of before-and-after pairs (stats JSON ``self_assessment``)


def self_assessment_paired(session: Session, run_id: int, before: dict[str, int], after: dict[str, int]) -> None:
    """An enrolment now has both a before and an after (each is given once:
    shooc/enrolment/self_assessment.py): its pair is counted, per standard rated in
    both, as sums that the figures divide into means."""
    for value, delta in _pair_tally(before, after).items():
        _tally(session, run_id, SELF_ASSESSMENT, value, delta)


def _pair_tally(before: dict[str, int], after: dict[str, int]) -> Counter[str]:
    tally: Counter[str] = Counter({"pairs": 1})
    for code in before.keys() & after.keys():
        tally[f"{code}:pairs"] += 1
        tally[f"{code}:before"] += before[code]
        tally[f"{code}:after"] += after[code]
    return tally


# Reading -----------------------------------------------------------------------------

def read(session: Session, run: Run) -> dict[str, Any]:
    """The counted figures of a run (a handful of primary-key reads)."""
    row = session.get(RunCounter, run.id)
    totals = {c.name: (getattr(row, c.name) if row else 0) for c in RunCounter.__table__.columns if c.name != "run_id"}
    workbooks = {r.workbook_slug: (r.started, r.completed) for r in session.scalars(
        select(RunWorkbookCounter).where(RunWorkbookCounter.run_id == run.id))}
    weeks = [(r.week, r.registered, r.started, r.workbooks_completed, r.certificates_awarded) for r in session.scalars(
        select(RunWeekCounter).where(RunWeekCounter.run_id == run.id).order_by(RunWeekCounter.week))]
    tallies: dict[str, dict[str, int]] = {}
    for tally, value, count in session.execute(
            select(RunTally.tally, RunTally.value, RunTally.count)
            .where(RunTally.run_id == run.id, RunTally.count != 0)):
        tallies.setdefault(tally, {})[value] = count
    return {"totals": totals, "workbooks": workbooks,
            "weeks": [w for w in weeks if any(w[1:])], "tallies": tallies}


class _Weeks:
    """Counts per week (Monday): registered, started, workbooks completed, certificates."""

    REGISTERED, STARTED, COMPLETED, CERTIFIED = range(4)

    def __init__(self) -> None:
        self.counts: dict[dt.date, list[int]] = {}

    def add(self, day: dt.date, column: int) -> None:
        self.counts.setdefault(week_of(day), [0, 0, 0, 0])[column] += 1

    def rows(self) -> list[tuple[Any, ...]]:
        return [(w, *counts) for w, counts in sorted(self.counts.items()) if any(counts)]


def recount(session: Session, run: Run) -> dict[str, Any]:
    """The same figures counted from the rows (slow at scale: for checks and rebuilds),
    table by table: enrolments, submissions, starts, certificates, evaluations."""
    in_run = Enrolment.run_id == run.id
    slugs = current.workbook_slugs(session, run.course)
    total = len(slugs)
    weeks = _Weeks()
    enrolments = session.execute(select(Enrolment.id, Enrolment.enrolled_on, Enrolment.started_on,
                                        Enrolment.withdrawn_at, Enrolment.submitted_count,
                                        Enrolment.first_posted_at).where(in_run)).all()
    for e in enrolments:
        weeks.add(e.enrolled_on, _Weeks.REGISTERED)
        if e.started_on:
            weeks.add(e.started_on, _Weeks.STARTED)
    submissions = session.execute(select(Submission.enrolment_id, Submission.workbook_slug, Submission.submitted_at)
                                  .join(Enrolment, Submission.enrolment_id == Enrolment.id).where(in_run)).all()
    for s in submissions:
        weeks.add(local_day(run, s.submitted_at), _Weeks.COMPLETED)
    completed = Counter(s.workbook_slug for s in submissions)
    per_enrolment = Counter(s.enrolment_id for s in submissions if s.workbook_slug in slugs)
    starts = Counter(session.scalars(select(WorkbookStart.workbook_slug).join(
        Enrolment, WorkbookStart.enrolment_id == Enrolment.id).where(in_run)))
    certificates, days = _certificates(session, run, {e.id: e for e in enrolments}, weeks)
    evaluations, rated = _evaluation_tallies(session, in_run)
    tallies = {"days": days, **rated} if days else rated
    community = _community_tally(session, run, [e for e in enrolments if e.first_posted_at is not None],
                                 lambda e: bool(total) and per_enrolment[e.id] >= total)
    if community:
        tallies[COMMUNITY] = community
    paired = _self_assessment_tally(session, in_run)
    if paired:
        tallies[SELF_ASSESSMENT] = paired
    totals = {
        "registered": len(enrolments),
        "withdrawn": sum(1 for e in enrolments if e.withdrawn_at is not None and e.submitted_count < total),
        "started": sum(1 for e in enrolments if e.started_on is not None),
        "workbooks_completed": len(submissions),
        "badges_awarded": session.scalar(select(func.count()).select_from(BadgeAssertion).join(
            Enrolment, BadgeAssertion.enrolment_id == Enrolment.id).where(in_run, BadgeAssertion.revoked_at.is_(None))),
        "completed_all": sum(1 for n in per_enrolment.values() if total and n >= total),
        "certificates_awarded": certificates,
        "evaluations": evaluations,
    }
    return {"totals": totals,
            "workbooks": {slug: (starts.get(slug, 0), completed.get(slug, 0))
                          for slug in set(starts) | set(completed)},
            "weeks": weeks.rows(),
            "tallies": {k: dict(v) for k, v in tallies.items()}}


def _community_tally(session: Session, run: Run, contributors: list[Any], finished: Any) -> Counter[str]:
    shown = session.execute(select(
        func.count(), func.count().filter(Post.parent_id.is_not(None)),
        func.count().filter(Post.shared_response_id.is_not(None))).where(
        Post.run_id == run.id, Post.deleted_at.is_(None), Post.hidden_at.is_(None))).one()
    tally = Counter({"posts": shown[0], "replies": shown[1], "shared_reflections": shown[2],
                     "contributors": len(contributors),
                     "contributors_completed": sum(1 for e in contributors if finished(e))})
    return +tally  # without the zeros, as read() leaves them out


def _self_assessment_tally(session: Session, in_run: Any) -> Counter[str]:
    """The before-and-after pairs of the run, counted from the ratings."""
    from shooc.enrolment.models import SelfRating

    given: dict[int, dict[str, dict[str, int]]] = {}
    for enrolment_id, phase, code, rating in session.execute(
            select(SelfRating.enrolment_id, SelfRating.phase, SelfRating.standard_code, SelfRating.rating)
            .join(Enrolment, SelfRating.enrolment_id == Enrolment.id).where(in_run)):
        given.setdefault(enrolment_id, {}).setdefault(phase, {})[code] = rating
    tally: Counter[str] = Counter()
    for phases in given.values():
        if "before" in phases and "after" in phases:
            tally.update(_pair_tally(phases["before"], phases["after"]))
    return +tally


def _certificates(session: Session, run: Run, enrolments: dict[int, Any], weeks: _Weeks) -> tuple[int, Counter[str]]:
    """Valid certificates: how many, counted into their weeks, and how many days each
    holder took from starting (or enrolling) to their certificate."""
    certificates = session.execute(select(Certificate.enrolment_id, Certificate.issued_on).join(
        Enrolment, Certificate.enrolment_id == Enrolment.id).where(
        Enrolment.run_id == run.id, Certificate.revoked_at.is_(None))).all()
    days: Counter[str] = Counter()
    for c in certificates:
        day = local_day(run, c.issued_on)
        weeks.add(day, _Weeks.CERTIFIED)
        e = enrolments[c.enrolment_id]
        days[str(max(0, (day - (e.started_on or e.enrolled_on)).days))] += 1
    return len(certificates), days


def _evaluation_tallies(session: Session, in_run: Any) -> tuple[int, dict[str, Counter[str]]]:
    """How many evaluations, and the tallies of their overall effect and objective ratings."""
    evaluations = session.execute(select(Evaluation.overall_effect, Evaluation.objective_ratings).join(
        Enrolment, Evaluation.enrolment_id == Enrolment.id).where(in_run)).all()
    tallies: dict[str, Counter[str]] = {}
    for effect, ratings in evaluations:
        if effect is not None:
            tallies.setdefault("effect", Counter())[OverallEffect(effect).value] += 1
        for objective, rating in (ratings or {}).items():
            tallies.setdefault(f"objective:{objective}", Counter())[str(rating)] += 1
    return len(evaluations), tallies


def rebuild(session: Session, run: Run) -> None:
    """Write a run's counters afresh from its rows (one transaction: the caller's)."""
    for model in COUNTER_TABLES:
        session.execute(delete(model).where(model.run_id == run.id))
    figures = recount(session, run)
    session.add(RunCounter(run_id=run.id, **figures["totals"]))
    session.add_all(RunWorkbookCounter(run_id=run.id, workbook_slug=slug, started=s, completed=c)
                    for slug, (s, c) in figures["workbooks"].items())
    session.add_all(RunWeekCounter(run_id=run.id, week=w, registered=r, started=s, workbooks_completed=c,
                                   certificates_awarded=k) for w, r, s, c, k in figures["weeks"])
    session.add_all(RunTally(run_id=run.id, tally=tally, value=value, count=count)
                    for tally, values in figures["tallies"].items() for value, count in values.items())
    session.flush()


def median_from_tally(tally: dict[str, int]) -> float | None:
    """The median of values given as value → how many (a histogram)."""
    values = sorted((int(v), n) for v, n in tally.items() if n > 0)
    total = sum(n for _, n in values)
    if not total:
        return None
    expanded_median = []
    for rank in sorted({(total - 1) // 2, total // 2}):
        seen = 0
        for value, n in values:
            seen += n
            if seen > rank:
                expanded_median.append(value)
                break
    return sum(expanded_median) / len(expanded_median)

