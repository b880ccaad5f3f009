"""The evaluators' area, /evaluate: evaluators, leaders and admins (every view checks).

Only figures: no page or export here names a learner or shows what one wrote (the
survey's comments, without names, are on the evaluation page of shooc/evaluate/
survey_views.py). The survey's breakdowns are drawn only when the figures carry
them: run_stats has already left out what the small-cell rule withholds
(shooc.evaluate.disclosure), and the page, its charts and the CSV exports show
what they were given."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Iterator, cast

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shooc.auth.models import Role
from shooc.csvfile import csv_text
from shooc.enrolment.models import Run
from shooc.evaluate import charts
from shooc.evaluate.disclosure import MIN_RESPONSES
from shooc.evaluate.models import OVERALL_EFFECT_LABELS, OverallEffect, RunCounter
from shooc.evaluate.stats import PROGRESS_COLUMNS, anonymised_progress, flatten, run_stats
from shooc.kept import KeptForSeconds
from shooc.unit_of_work import get_session
from shooc.web import roles_required, run_or_404

bp = Blueprint("evaluate", __name__, url_prefix="/evaluate")

COMPARE_MAX = 4


@bp.before_request
@roles_required(Role.evaluator, Role.leader, Role.admin)
def _evaluators_only() -> None:
    """Every view of this blueprint: anonymous people log in, learners get 403."""


def _runs() -> list[tuple[Run, RunCounter | None]]:
    return list(get_session().execute(
        select(Run, RunCounter).outerjoin(RunCounter, RunCounter.run_id == Run.id)
        .options(selectinload(Run.course)).order_by(Run.opens_on.desc(), Run.id.desc())).all())


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("evaluate/home.html", runs=_runs(), compare_max=COMPARE_MAX)


def _pct(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def run_charts(figures: dict[str, Any]) -> dict[str, Any]:
    """The page's charts, drawn from the figures."""
    registered = figures["registered"]
    funnel = [charts.Bar("Registered", registered),
              charts.Bar("Started", figures["started"], _pct(figures["started"], registered))]
    funnel += [charts.Bar(f"{w['order']}. {w['title']}", w["completed"], _pct(w["completed"], registered), "chart-step")
               for w in figures["per_workbook"]]
    funnel.append(charts.Bar("Certificate", figures["certificates_awarded"],
                             _pct(figures["certificates_awarded"], registered), "chart-done"))
    states = [charts.Bar("Completed", figures["completed_all"], _pct(figures["completed_all"], registered),
                         "chart-done"),
              charts.Bar("Still inside their window", figures["still_inside_window"],
                         _pct(figures["still_inside_window"], registered), "chart-step"),
              charts.Bar("Closed without finishing", figures["closed_without_finishing"],
                         _pct(figures["closed_without_finishing"], registered), "chart-closed"),
              charts.Bar("Withdrew", figures["withdrawn"], _pct(figures["withdrawn"], registered), "chart-withdrawn")]
    weeks = figures["weekly"]
    result = {
        "funnel": charts.horizontal_bars(
            funnel, "Funnel: registered, started, each workbook completed, certificate",
            f"Of {registered:,} registered, {figures['started']:,} started and "
            f"{figures['certificates_awarded']:,} hold a certificate."),
        "states": charts.stacked_bar(states, "Where the registered learners are now",
                                     ", ".join(f"{s.label}: {s.value:,}" for s in states)),
        "weekly": charts.weekly([dt.date.fromisoformat(w["week"]) for w in weeks], [w["registered"] for w in weeks],
                                [w["certificates_awarded"] for w in weeks], "Registrations", "Certificates",
                                "Registrations and certificates per week",
                                f"{len(weeks)} weeks; the most registrations in one week: "
                                f"{max((w['registered'] for w in weeks), default=0):,}.") if weeks else None,
    }
    paired = figures["self_assessment"]
    shown = [row for row in paired.get("per_standard", []) if not row["withheld"]]
    result["self_assessment"] = charts.horizontal_bars(
        [charts.Bar(f"{row['code']} {row['name']}", row["after_mean"],
                    f"from {row['before_mean']:.2f} ({row['mean_change']:+.2f})", "chart-done") for row in shown],
        "Mean confidence after the course, per standard (1 to 5)",
        f"Over {paired['pairs']:,} learners who rated themselves before and after: "
        + "; ".join(f"{row['code']} from {row['before_mean']:.2f} to {row['after_mean']:.2f}" for row in shown)
        + ".") if shown else None
    evaluation = figures["evaluation"]
    if not evaluation["withheld"]:  # the small-cell rule, decided in the figures (shooc.evaluate.disclosure)
        result["effect"] = charts.horizontal_bars(
            [charts.Bar(OVERALL_EFFECT_LABELS[e], evaluation["overall_effect"][e.value],
                        _pct(evaluation["overall_effect"][e.value], sum(evaluation["overall_effect"].values())),
                        "chart-done" if e in (OverallEffect.excellent, OverallEffect.very_good) else "")
             for e in OverallEffect],
            "The course's effect on participants' mentoring practice",
            f"{evaluation['responses']:,} responses.", label_width=140)
    return result


def _kept_figures() -> KeptForSeconds[int, tuple[dict[str, Any], Markup]]:
    """This app's run figures and charts, kept SHOOC_FIGURES_SECONDS in this process:
    counting them and drawing the charts was half of the page's time (bench/README.md)."""
    kept = current_app.extensions.get("shooc.run_figures")
    if kept is None:
        kept = current_app.extensions["shooc.run_figures"] = KeptForSeconds(
            float(current_app.config["SHOOC_FIGURES_SECONDS"]))
    return cast(KeptForSeconds[int, tuple[dict[str, Any], Markup]], kept)


@bp.route("/runs/<slug>")
def run_page(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    kept = _kept_figures()
    found = kept.get(run.id) if kept.seconds > 0 else None
    if found is None:
        figures = run_stats(get_session(), run)
        # The figures' part of the page is the same for every evaluator: drawn once
        # for as long as the figures are kept.
        found = (figures, Markup(render_template(
            "evaluate/_run_figures.html", run=run, figures=figures, charts=run_charts(figures),
            min_responses=MIN_RESPONSES, effect_labels=OVERALL_EFFECT_LABELS, OverallEffect=OverallEffect)))
        kept.put(run.id, found)
    return render_template("evaluate/run.html", run=run, figures_html=found[1])


def _csv(rows: Iterable[Iterable[Any]], filename: str) -> Response:
    # Written whole before it is sent: a slow or vanished client must not keep a
    # database transaction open while it reads (100,000 learners are about 8 MB).
    response = Response(csv_text(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stats_rows(figure_sets: list[dict[str, Any]]) -> Iterator[list[Any]]:
    flats = [flatten(f) for f in figure_sets]
    columns = list(dict.fromkeys(k for flat in flats for k in flat))
    yield columns
    for flat in flats:
        yield [flat.get(column) for column in columns]


@bp.route("/runs/<slug>/stats.csv")
def stats_csv(slug: str) -> Response:
    run = run_or_404(slug)
    return _csv(_stats_rows([run_stats(get_session(), run)]), f"stats-{run.slug}.csv")


@bp.route("/runs/<slug>/progress.csv")
def progress_csv(slug: str) -> Response:
    run = run_or_404(slug)
    rows = anonymised_progress(get_session(), run, current_app.config["SECRET_KEY"])
    return _csv(_prepend(PROGRESS_COLUMNS, rows), f"progress-{run.slug}.csv")


def _prepend(first: list[Any], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield first
    yield from rest


def _compared() -> list[Run]:
    slugs = list(dict.fromkeys(s for s in request.args.getlist("run") if s))[:COMPARE_MAX]
    return [run_or_404(slug) for slug in slugs]


@bp.route("/compare")
def compare() -> ResponseReturnValue:
    runs = _compared()
    db = get_session()
    figure_sets = [run_stats(db, run) for run in runs]
    rates = charts.horizontal_bars(
        [charts.Bar(f"{run.name}", round(f["completion_rate_registered"] * 100, 1), unit="%")
         for run, f in zip(runs, figure_sets)],
        "Completion rate of each run", "Completed all workbooks, as a share of registered learners.",
        label_width=230) if len(runs) >= 2 else None
    return render_template("evaluate/compare.html", runs=runs, figure_sets=figure_sets, rates=rates,
                           all_runs=_runs(), compare_max=COMPARE_MAX, min_responses=MIN_RESPONSES,
                           effect_labels=OVERALL_EFFECT_LABELS, OverallEffect=OverallEffect)


@bp.route("/compare.csv")
def compare_csv() -> Response:
    runs = _compared()
    db = get_session()
    return _csv(_stats_rows([run_stats(db, run) for run in runs]), "stats-compared.csv")
