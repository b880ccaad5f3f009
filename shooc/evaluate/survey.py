"""The course evaluation survey (no Flask here; services flush, callers commit).

Who answers: a learner, about their own enrolment, once they hold a valid
certificate for it, or once they have withdrawn (the survey is offered on
withdrawal too). A learner who already has an evaluation (an imported one, or one
given before a certificate was revoked or before rejoining) can always open it.

What they answer: the overall effect of the course on their mentoring practice
(``OverallEffect``), a rating from 1 (not at all) to 5 (fully) against each of the
course's objectives (the published version's ``meta["objectives"]``, keyed "1".."N"
by position), and optional comments (at most ``COMMENTS_MAX`` characters). Every
question but the comments must be answered.

One response per enrolment (the unique key on ``evaluations.enrolment_id``; two
first answers at once become one row, the later one updating it), editable until
the learner's close date (today in the run's time zone), read-only afterwards. An
imported evaluation (``source == "import"``, overall effect only) is shown prefilled;
completing it makes it the learner's own (``source`` "survey", ``submitted_at`` now).
Every creation or change updates the run's counters in the same transaction
(``counters.evaluation_changed``), so statistics read the counters.

What evaluators see (``results``): the number of responses; the distribution of
the overall effect and of each objective's ratings, with percentages of those who
answered that question; and the comments, newest first, with only the month they
were given. Nothing that names a person is read at all. A question answered by
fewer than ``MIN_RESPONSES`` people has its breakdown withheld, and so are the
comments while the run has fewer than ``MIN_RESPONSES`` responses, so that nobody
can be picked out: the rule of shooc.evaluate.disclosure, the one every other
output of the survey's figures (statistics, CSV, API, CLI) follows too.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shooc.badges.models import Certificate
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run
from shooc.evaluate import counters, disclosure
from shooc.evaluate.models import OVERALL_EFFECT_LABELS, Evaluation, OverallEffect
from shooc.workbooks import current

COMMENTS_MAX = 5_000
COMMENTS_PER_PAGE = 20
RATING_LABELS = {1: "Not at all", 2: "A little", 3: "Partly", 4: "Mostly", 5: "Fully"}


class SurveyError(ValueError):
    """The survey cannot be answered now (not offered yet, or closed); the message says why."""


@dataclass
class InvalidAnswers(Exception):
    """Answers refused: a message per question ("overall_effect", "objective_1", "comments")."""

    problems: dict[str, str]


# The learner's side ---------------------------------------------------------------

def course_objectives(session: Session, run: Run) -> list[str]:
    """The objectives of the run's course as published now (may be empty)."""
    meta = current.meta(session, run.course)
    return [str(text) for text in (meta.get("objectives") or [])]


def own_enrolment(session: Session, run_slug: str, user_id: int) -> Enrolment | None:
    """A learner's enrolment in the run with that slug (None: no such run, or not theirs)."""
    return session.scalar(select(Enrolment).join(Run, Enrolment.run_id == Run.id)
                          .where(Run.slug == run_slug, Enrolment.user_id == user_id))


def find_evaluation(session: Session, enrolment: Enrolment, for_update: bool = False) -> Evaluation | None:
    statement = select(Evaluation).where(Evaluation.enrolment_id == enrolment.id)
    return session.scalar(statement.with_for_update() if for_update else statement)


def _certified(session: Session, enrolment_ids: Iterable[int]) -> set[int]:
    ids = list(enrolment_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Certificate.enrolment_id).where(
        Certificate.enrolment_id.in_(ids), Certificate.revoked_at.is_(None))))


@dataclass
class SurveyState:
    enrolment: Enrolment
    evaluation: Evaluation | None
    objectives: list[str]
    certified: bool
    today: dt.date
    close_date: dt.date = field(init=False)

    def __post_init__(self) -> None:
        self.close_date = self.enrolment.close_date

    @property
    def withdrawn(self) -> bool:
        return self.enrolment.withdrawn_at is not None

    @property
    def offered(self) -> bool:
        return self.certified or self.withdrawn or self.evaluation is not None

    @property
    def editable(self) -> bool:
        return self.offered and self.today <= self.close_date

    @property
    def imported(self) -> bool:
        return self.evaluation is not None and self.evaluation.source == "import"


def survey_state(session: Session, enrolment: Enrolment, today: dt.date | None = None) -> SurveyState:
    return SurveyState(enrolment, find_evaluation(session, enrolment), course_objectives(session, enrolment.run),
                       bool(_certified(session, [enrolment.id])), today or enrolment.run.today())


def not_offered_reason(state: SurveyState) -> str:
    return ("The course evaluation opens when you have your certificate, that is once all your workbooks are "
            f"submitted (by {state.close_date:%-d %B %Y}). If you decide to withdraw, it opens then instead.")


def closed_reason(state: SurveyState) -> str:
    return f"The evaluation closed on {state.close_date:%-d %B %Y}: answers can no longer be given or changed."


def check_answers(objectives: list[str], overall_effect: Any, ratings: Mapping[str, Any],
                  comments: str | None) -> dict[str, str]:
    """What is wrong with a set of answers, by question (empty: nothing)."""
    problems = {}
    if overall_effect not in {e.value for e in OverallEffect} and not isinstance(overall_effect, OverallEffect):
        problems["overall_effect"] = "Choose the effect the course has had on your mentoring practice."
    for n in range(1, len(objectives) + 1):
        rating = ratings.get(str(n))
        if not (isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5):
            problems[f"objective_{n}"] = f"Rate objective {n} from 1 (not at all) to 5 (fully)."
    if comments is not None and len(comments) > COMMENTS_MAX:
        problems["comments"] = (f"Comments can be at most {COMMENTS_MAX:,} characters long; yours are "
                                f"{len(comments):,}. Shorten them and send again.")
    return problems


def clean_comments(comments: str | None) -> str | None:
    """Comments as kept: one kind of line break, no surrounding blanks, None if empty."""
    return (comments or "").replace("\r\n", "\n").strip() or None


def save_evaluation(session: Session, enrolment: Enrolment, overall_effect: OverallEffect | str,
                    objective_ratings: Mapping[str, int], comments: str | None,
                    today: dt.date | None = None) -> Evaluation:
    """Create or change the enrolment's evaluation, keeping the run's counters.

    Raises SurveyError when the survey is not offered or has closed, InvalidAnswers
    when an answer is missing or out of range (nothing is written then)."""
    state = survey_state(session, enrolment, today)
    if not state.offered:
        raise SurveyError(not_offered_reason(state))
    if not state.editable:
        raise SurveyError(closed_reason(state))
    comments = clean_comments(comments)
    ratings = {str(n): objective_ratings.get(str(n)) for n in range(1, len(state.objectives) + 1)}
    problems = check_answers(state.objectives, overall_effect, ratings, comments)
    if problems:
        raise InvalidAnswers(problems)
    effect = OverallEffect(overall_effect)
    now = utcnow()

    evaluation = find_evaluation(session, enrolment, for_update=True)
    if evaluation is None:
        evaluation = Evaluation(enrolment_id=enrolment.id, overall_effect=effect, objective_ratings=ratings,
                                comments=comments, source="survey", submitted_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(evaluation)
        except IntegrityError:  # a first answer from another tab at the same moment: update that one
            evaluation = find_evaluation(session, enrolment, for_update=True)
            if evaluation is None:
                raise
        else:
            counters.evaluation_changed(session, enrolment.run_id, None, evaluation)
            session.flush()
            return evaluation

    before = Evaluation(overall_effect=evaluation.overall_effect,
                        objective_ratings=dict(evaluation.objective_ratings or {}))
    evaluation.overall_effect = effect
    evaluation.objective_ratings = ratings
    evaluation.comments = comments
    if evaluation.source != "survey":  # the learner completes an imported rating: now their own answer
        evaluation.source = "survey"
        evaluation.submitted_at = now
    evaluation.updated_at = now
    counters.evaluation_changed(session, enrolment.run_id, before, evaluation)
    session.flush()
    return evaluation


@dataclass(frozen=True)
class SurveyOffer:
    """What a dashboard says about an enrolment's survey.

    state: ``open`` (not answered yet), ``imported`` (only the imported overall
    rating: to complete), ``answered`` (can still be changed), ``closed`` (answered;
    read-only now)."""

    run_slug: str
    state: str
    close_date: dt.date


def dashboard_offers(session: Session, enrolments: Iterable[Enrolment]) -> dict[int, SurveyOffer]:
    """The survey box of each enrolment that has one (two queries for all of them;
    the dashboard itself reads what it needs with its other marks: survey_offer)."""
    enrolments = list(enrolments)
    ids = [e.id for e in enrolments]
    if not ids:
        return {}
    certified = _certified(session, ids)
    sources = {enrolment_id: source for enrolment_id, source in session.execute(
        select(Evaluation.enrolment_id, Evaluation.source).where(Evaluation.enrolment_id.in_(ids)))}
    return {e.id: offer for e in enrolments
            if (offer := survey_offer(e, e.id in certified, sources.get(e.id))) is not None}


def survey_offer(enrolment: Enrolment, certified: bool, source: str | None) -> SurveyOffer | None:
    """The survey box of an enrolment (certified: it holds a valid certificate;
    source: where its evaluation came from, if it has one), if it has one."""
    if not (certified or enrolment.withdrawn_at is not None or source is not None):
        return None
    close_date = enrolment.close_date
    editable = enrolment.run.today() <= close_date
    if source is None:
        if not editable:
            return None  # never answered, and closed: nothing to say
        state = "open"
    elif not editable:
        state = "closed"
    else:
        state = "answered" if source == "survey" else "imported"
    return SurveyOffer(enrolment.run.slug, state, close_date)


# The evaluators' side -------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    value: str
    label: str
    count: int
    percent: int  # of those who answered the question, rounded


@dataclass(frozen=True)
class Distribution:
    question: str
    answered: int
    rows: list[Row]  # empty when withheld
    mean: float | None = None  # ratings only

    @property
    def withheld(self) -> bool:
        return disclosure.withheld(self.answered)


@dataclass(frozen=True)
class Comment:
    month: dt.date  # the first of the month it was given: never the day
    text: str


@dataclass(frozen=True)
class CommentsPage:
    comments: list[Comment]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Results:
    responses: int
    overall: Distribution | None = None  # None while withheld
    objectives: list[Distribution] = field(default_factory=list)
    comments: CommentsPage | None = None

    @property
    def withheld(self) -> bool:
        return disclosure.withheld(self.responses)


def _distribution(question: str, tally: Mapping[str, int], values: list[tuple[str, str]],
                  ratings: bool = False) -> Distribution:
    answered = sum(tally.get(value, 0) for value, _ in values)
    if disclosure.withheld(answered):
        return Distribution(question, answered, [])
    rows = [Row(value, label, tally.get(value, 0), round(100 * tally.get(value, 0) / answered))
            for value, label in values]
    mean = round(sum(int(r.value) * r.count for r in rows) / answered, 1) if ratings else None
    return Distribution(question, answered, rows, mean)


def results(session: Session, run: Run, page: int = 1, per_page: int = COMMENTS_PER_PAGE) -> Results:
    """A run's survey results for evaluators: from the counters, plus one page of
    comments (no names, no e-mail addresses, the month only)."""
    figures = counters.read(session, run)
    responses = figures["totals"]["evaluations"]
    if disclosure.withheld(responses):
        return Results(responses)
    tallies = figures["tallies"]
    overall = _distribution("Overall effect on mentoring practice", tallies.get("effect", {}),
                            [(e.value, OVERALL_EFFECT_LABELS[e]) for e in OverallEffect])
    scale = [(str(n), f"{n} · {label}") for n, label in RATING_LABELS.items()]
    objectives = [_distribution(text, tallies.get(f"objective:{n}", {}), scale, ratings=True)
                  for n, text in enumerate(course_objectives(session, run), start=1)]
    return Results(responses, overall, objectives, comments_page(session, run, page, per_page))


def comments_page(session: Session, run: Run, page: int = 1, per_page: int = COMMENTS_PER_PAGE) -> CommentsPage:
    with_comments = (Enrolment.run_id == run.id, Evaluation.comments.is_not(None), Evaluation.comments != "")
    total = session.scalar(select(func.count()).select_from(Evaluation).join(
        Enrolment, Evaluation.enrolment_id == Enrolment.id).where(*with_comments)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(Evaluation.submitted_at, Evaluation.comments).join(Enrolment, Evaluation.enrolment_id == Enrolment.id)
        .where(*with_comments).order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    # text or "": never None, which the query leaves out
    return CommentsPage([Comment(counters.local_day(run, at).replace(day=1), text or "") for at, text in rows],
                        page, pages, total)
