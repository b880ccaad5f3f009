"""The small-cell rule: the one place that decides which survey figures may be shown
(no Flask here).

A breakdown of answers (how many chose each value of a question) is shown only
when at least ``MIN_RESPONSES`` people answered that question; below that, one
person's answers could be told apart (one response: the breakdown *is* their
answer; four: a colleague who knows three of them knows the fourth). The number of
responses itself is always shown.

Every output of the survey's figures goes through here, so that they cannot
disagree: ``evaluation_figures`` builds the ``evaluation`` part of a run's figures
(``shooc.evaluate.stats.run_stats``), which the evaluators' pages and charts, the
CSV exports (stats.csv, compare.csv), the API (``/api/v1/runs/<run>/stats``) and
``shooc stats`` (json, csv, table) all take from there; the survey's results page
(``shooc.evaluate.survey.results``) asks ``withheld`` of each question.

The shape (docs/formats.md, "Stats JSON"): below the threshold ``{"responses": N, "withheld": true}``
and no breakdown at all (no zeros either: a zero is a breakdown too). From it,
``"withheld": false`` with ``overall_effect`` (a count per effect) and
``objectives``, each carrying ``rated`` (how many rated it) and its own
``withheld``: an objective rated by too few (imported records carry the overall
effect only) has no ``ratings``. Should fewer people have given the overall effect
than responded (no response lacks it today), the whole breakdown is withheld.

The learners' self-assessment before and after the course (``self_assessment``)
follows the same rule over its pairs: below five, ``{"pairs": N, "withheld": true}``
and no ``per_standard``; from five, each standard's means over the pairs that rated
it (a standard rated by fewer, as when course.md gained one between a learner's
before and after, carries its own ``withheld`` and no means).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: fewer answers to a question than this, and its breakdown is withheld
MIN_RESPONSES = 5

RATINGS = [str(r) for r in range(1, 6)]


def withheld(answered: int) -> bool:
    """Whether a breakdown of ``answered`` answers must be withheld."""
    return answered < MIN_RESPONSES


def answered(tally: Mapping[str, int], values: Sequence[str]) -> int:
    return sum(tally.get(value, 0) for value in values)


def evaluation_figures(responses: int, tallies: Mapping[str, Mapping[str, int]], effects: Sequence[str],
                       objectives: Sequence[str]) -> dict[str, Any]:
    """The ``evaluation`` of a run's figures, from the counters' tallies ("effect",
    "objective:N"), with every breakdown that is too small left out."""
    effect_tally = tallies.get("effect", {})
    if withheld(responses) or withheld(answered(effect_tally, effects)):
        return {"responses": responses, "withheld": True}
    rows = []
    for n, text in enumerate(objectives, start=1):
        tally = tallies.get(f"objective:{n}", {})
        rated = answered(tally, RATINGS)
        row: dict[str, Any] = {"order": n, "objective": text, "rated": rated, "withheld": withheld(rated)}
        if not row["withheld"]:
            row["ratings"] = {r: tally.get(r, 0) for r in RATINGS}
        rows.append(row)
    return {"responses": responses, "withheld": False,
            "overall_effect": {e: effect_tally.get(e, 0) for e in effects}, "objectives": rows}


def self_assessment_figures(tally: Mapping[str, int], standards: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The ``self_assessment`` of a run's figures from the counters' tally (``pairs``,
    ``<code>:pairs``, ``<code>:before``, ``<code>:after``: sums of ratings), for the
    course's ``standards`` as (code, name). ``standards`` lists them even when the
    breakdown is withheld (their names are no one's answer), so that CSV columns are
    the same whatever the size."""
    pairs = tally.get("pairs", 0)
    listed = [{"code": code, "name": name} for code, name in standards]
    if withheld(pairs):
        return {"pairs": pairs, "withheld": True, "standards": listed}
    rows = []
    for code, name in standards:
        rated = tally.get(f"{code}:pairs", 0)
        row: dict[str, Any] = {"code": code, "name": name, "pairs": rated, "withheld": withheld(rated)}
        if not row["withheld"]:
            before, after = tally.get(f"{code}:before", 0) / rated, tally.get(f"{code}:after", 0) / rated
            row.update(before_mean=round(before, 2), after_mean=round(after, 2),
                       mean_change=round(after - before, 2))
        rows.append(row)
    return {"pairs": pairs, "withheld": False, "standards": listed, "per_standard": rows}
