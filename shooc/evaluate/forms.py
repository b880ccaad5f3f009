"""The evaluation survey's form (Flask-WTF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import ValidationError

from shooc.auth.forms import select_choices
from shooc.evaluate import survey
from shooc.evaluate.models import OVERALL_EFFECT_LABELS, OverallEffect


def comments_length(form: FlaskForm, field: TextAreaField) -> None:
    """The survey's own rule for comments, so that the form and the service agree."""
    problem = survey.check_answers([], OverallEffect.good, {}, survey.clean_comments(field.data)).get("comments")
    if problem:
        raise ValidationError(problem)


class SurveyForm(FlaskForm):
    overall_effect = RadioField(  # type: ignore[call-arg]  # WTForms 3.3's argument; its stubs are 3.2's
        "Overall, what effect has the course had on your mentoring practice?",
        choices=select_choices([(e.value, OVERALL_EFFECT_LABELS[e]) for e in OverallEffect]),
        invalid_choice_message="Choose the effect the course has had on your mentoring practice.")
    comments = TextAreaField("Comments (optional)", validators=[comments_length])

    def objective_fields(self) -> list[RadioField]:
        return [self[name] for name in self._fields if name.startswith("objective_")]


def survey_form(objectives: list[str], data: dict | None = None) -> SurveyForm:
    """The form with one 1–5 rating per objective. ``data`` only for a GET: on a POST
    a missing answer must stay missing, not fall back to the saved one."""

    class Form(SurveyForm):
        pass

    for n, text in enumerate(objectives, start=1):
        setattr(Form, f"objective_{n}", RadioField(  # type: ignore[call-arg]  # as above (WTForms 3.3)
            text, choices=select_choices([(str(value), f"{value} · {label}")
                                          for value, label in survey.RATING_LABELS.items()]),
            invalid_choice_message=f"Rate objective {n} from 1 (not at all) to 5 (fully)."))
    return Form(data=data) if data is not None else Form()
