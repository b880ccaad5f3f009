"""The evaluation survey: learners answer it; evaluators read it without names.

- ``/runs/<run>/evaluation`` (learners, their own enrolment in that run only; 404
  for a run they are not enrolled in): the form, once they hold a certificate or
  have withdrawn (before that a 403 page says when it opens); read-only after their
  close date.
- ``/evaluate/runs/<run>/evaluation`` (evaluators, leaders, admins; learners 403):
  the distributions and the comments, anonymous, withheld below five responses.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from shooc.auth.models import Role
from shooc.enrolment.models import Run
from shooc.evaluate import survey
from shooc.evaluate.disclosure import MIN_RESPONSES
from shooc.evaluate.forms import survey_form
from shooc.evaluate.models import Evaluation, OverallEffect
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import int_arg, roles_required, run_or_404
from shooc.workbooks import current

bp = Blueprint("survey", __name__)


def _saved_answers(evaluation: Evaluation | None) -> dict[str, Any]:
    if evaluation is None:
        return {}
    data = {"overall_effect": OverallEffect(evaluation.overall_effect).value if evaluation.overall_effect else None,
            "comments": evaluation.comments or ""}
    data.update({f"objective_{n}": str(rating) for n, rating in (evaluation.objective_ratings or {}).items()})
    return data


def _course_title(run: Run) -> str:
    return current.title(get_session(), run.course) or run.course.slug


@bp.route("/runs/<run_slug>/evaluation", methods=["GET", "POST"])
@roles_required(Role.learner)
def learner_survey(run_slug: str) -> ResponseReturnValue:
    db = get_session()
    enrolment = survey.own_enrolment(db, run_slug, current_user.id)
    if enrolment is None:
        abort(404)  # another run, or someone else's enrolment: nothing here for you
    state = survey.survey_state(db, enrolment)
    page = {"run": enrolment.run, "state": state, "course_title": _course_title(enrolment.run),
            "rating_labels": survey.RATING_LABELS, "comments_max": survey.COMMENTS_MAX}
    if not state.offered:
        return render_template("evaluate/survey.html", form=None, problem=survey.not_offered_reason(state),
                               **page), 403
    if not state.editable:  # read-only: the answers as given; a late answer is shown, not saved
        late = request.method == "POST"
        form = (survey_form(state.objectives) if late
                else survey_form(state.objectives, _saved_answers(state.evaluation)))
        problem = survey.closed_reason(state) + (
            " What you sent was not saved: it is shown below so that you can copy it." if late else "")
        return render_template("evaluate/survey.html", form=form if late or state.evaluation else None,
                               problem=problem, **page), (409 if late else 200)

    form = survey_form(state.objectives) if request.method == "POST" else survey_form(
        state.objectives, _saved_answers(state.evaluation))
    if form.validate_on_submit():
        ratings = {field.name.removeprefix("objective_"): int(field.data) for field in form.objective_fields()}
        try:
            survey.save_evaluation(db, enrolment, form.overall_effect.data, ratings, form.comments.data)
        except survey.InvalidAnswers as exc:
            for name, message in exc.problems.items():
                form[name].errors = [*form[name].errors, message]
        except survey.SurveyError as exc:  # closed between the page and the answer
            rollback()
            return render_template("evaluate/survey.html", form=form, problem=str(exc), **page), 409
        else:
            commit()
            flash(f"Thank you: your evaluation is saved. You can change it until {state.close_date:%-d %B %Y}.",
                  "info")
            return redirect(url_for("learn.dashboard"))
    return render_template("evaluate/survey.html", form=form, problem=None, **page), (
        422 if form.errors else 200)


@bp.route("/evaluate/runs/<run_slug>/evaluation")
@roles_required(Role.evaluator, Role.leader, Role.admin)
def results(run_slug: str) -> ResponseReturnValue:
    db = get_session()
    run = run_or_404(run_slug)
    found = survey.results(db, run, page=request.args.get("page", 1, type=int_arg))
    return render_template("evaluate/evaluation_results.html", run=run, results=found,
                           course_title=_course_title(run), min_responses=MIN_RESPONSES)
