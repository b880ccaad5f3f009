"""The forms of the course team's pages (Flask-WTF: each carries its CSRF token)."""
from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, Field, HiddenField, IntegerField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from shooc.auth.forms import select_choices
from shooc.lead import communications as comms
from shooc.lead import messages


class Checked:
    """A field checked by the service's own rule, so that the form and the service
    say the same thing in the same words."""

    def __init__(self, check: Callable[[str], str | None]) -> None:
        self.check = check

    def __call__(self, form: FlaskForm, field: Field) -> None:
        problem = self.check(field.data or "")
        if problem:
            raise ValidationError(problem)


class ImportForm(FlaskForm):
    file = FileField("Records file (CSV, UTF-8)", validators=[
        FileRequired("Choose the CSV file to import."), FileAllowed(["csv", "txt"], "The file must be a .csv file.")])


class AnnouncementForm(FlaskForm):
    title = StringField("Title", validators=[Checked(comms.title_problem)], render_kw={"maxlength": comms.TITLE_MAX})
    body = TextAreaField("Message", validators=[Checked(comms.body_problem)], render_kw={"rows": 10})


class RecordingForm(FlaskForm):
    workbook = SelectField("Workbook")
    activity = SelectField("Where it shows", validate_choice=False)  # the service checks it
    session = SelectField("The live session it recorded (optional)", validate_choice=False)
    title = StringField("Title", validators=[Checked(lambda title: comms.title_problem(title, "recording"))],
                        render_kw={"maxlength": comms.TITLE_MAX})
    url = URLField("Address of the recording", validators=[Checked(comms.url_problem)],
                   render_kw={"maxlength": comms.URL_MAX, "placeholder": "https://"})
    recorded_on = DateField("Recorded on (optional)", validators=[Optional()])
    transcript = TextAreaField("Transcript", validators=[Checked(comms.transcript_problem)], render_kw={"rows": 12})


class LiveSessionForm(FlaskForm):
    """A live session; every field is checked by shooc.lead.live_sessions, which names
    the field in its message (the form only carries the CSRF token and the values)."""

    title = StringField("Title", render_kw={"maxlength": comms.TITLE_MAX})
    starts = StringField("Starts", render_kw={"type": "datetime-local"})
    minutes = StringField("Length in minutes", render_kw={"inputmode": "numeric"}, default="60")
    join_url = StringField("Join link (optional)", render_kw={"type": "url", "maxlength": comms.URL_MAX,
                                                              "placeholder": "https://"})
    description = TextAreaField("Description (optional)", render_kw={"rows": 5})


class UploadForm(FlaskForm):
    archive = FileField("The course folder, compressed as a .zip file", validators=[
        FileRequired("Choose the .zip file of the course folder."),
        FileAllowed(["zip"], "Upload a .zip file: compress the course folder first.")])
    course = SelectField("Course", validate_choice=False, validators=[Optional()])


class FolderForm(FlaskForm):
    folder = SelectField("Course folder", validate_choice=False, validators=[DataRequired("Choose a course folder.")])


class PublishForm(FlaskForm):
    seen_version = HiddenField(validators=[DataRequired()])


class RunForm(FlaskForm):
    course = SelectField("Course", validators=[DataRequired("Choose the course.")])
    name = StringField("Name", validators=[DataRequired("Give the run a name."), Length(max=200)])
    slug = StringField("Address (slug)", validators=[Optional(), Length(max=80)])
    opens_on = DateField("Opens on", validators=[DataRequired("Give the opening date.")])
    closes_on = DateField("Closes on", validators=[DataRequired("Give the closing date.")])
    mode = SelectField("Mode", choices=select_choices([("rolling", "Rolling: every workbook available from the start"),
                                                       ("paced", "Paced: one workbook more every few days")]))
    pace_days = IntegerField("Days between workbooks (paced runs; also the suggested schedule)", default=7,
                             validators=[NumberRange(min=1, max=365)])
    capacity = IntegerField("Cap on registrations (empty: no cap)", validators=[Optional(), NumberRange(min=1)])


class MessageForm(FlaskForm):
    audience = SelectField("To", choices=select_choices(list(messages.AUDIENCES.items())))
    days = IntegerField("Days without a submission", default=messages.QUIET_DAYS,
                        validators=[Optional(), NumberRange(min=1, max=3650,
                                                            message="Give a number of days from 1 to 3,650.")])
    subject = StringField("Subject", render_kw={"maxlength": messages.SUBJECT_MAX})
    body = TextAreaField("Message", render_kw={"rows": 10, "maxlength": messages.BODY_MAX})


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Give a reason: it is kept in the audit log."),
                                                 Length(max=2000)])


class ExtendForm(ReasonForm):
    until = DateField("New close date", validators=[DataRequired("Give the new close date.")])


class FeedbackForm(FlaskForm):
    text = TextAreaField("Feedback", validators=[Length(max=20_000)])
