from __future__ import annotations

from typing import TypeVar

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3's; its stubs are 3.2's
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from shooc.api import tokens as api_tokens
from shooc.auth.models import JOB_ROLES, MENTORING_EXPERIENCE, NAME_SHOWN, NOTIFICATION_EMAIL
from shooc.auth.services import AccountError, normalise_email, password_problem


def _email(form: FlaskForm, field: EmailField) -> None:
    try:
        field.data = normalise_email(field.data or "")
    except AccountError:
        raise ValidationError("Enter an e-mail address like name@school.org.uk.") from None

class NewPassword:
    """The house rules for a new password, with the form's e-mail and name."""

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        email = getattr(form, "email", None)
        name = getattr(form, "name", None)
        problem = password_problem(field.data or "", email.data if email else getattr(form.meta, "user_email", ""),
                                   name.data if name else getattr(form.meta, "user_name", ""))
        if problem:
            raise ValidationError(problem[0].upper() + problem[1:] + ".")

T = TypeVar("T")


def filled(data: T | None) -> T:
    """A field's data once its form has validated. WTForms types every field's data
    as Optional; where a validator requires a value (DataRequired, InputRequired,
    NumberRange, a rule that refuses "", a SelectField's choices) it is never None."""
    if data is None:
        raise ValueError("a required form field validated without data")
    return data


def select_choices(options: dict[str, str] | list[tuple[str, str]], prompt: str | None = None) -> list[SelectChoice]:
    """Choices for a SelectField (WTForms 3.3 asks for SelectChoice objects)."""
    pairs = list(options.items()) if isinstance(options, dict) else list(options)
    return ([SelectChoice("", prompt)] if prompt else []) + [SelectChoice(value, label) for value, label in pairs]


class ProfileFields:
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)])
    organisation = StringField("Place of work", validators=[DataRequired("Enter your school, college or employer."),
                                                            Length(max=200)])
    job_role = SelectField("Your role", choices=select_choices(JOB_ROLES, "Choose one"),
                           validators=[DataRequired("Choose the role closest to yours.")])
    mentoring_experience = SelectField("Mentoring experience",
                                       choices=select_choices(MENTORING_EXPERIENCE, "Choose one"),
                                       validators=[DataRequired("Choose how long you have mentored.")])
    email_opt_in = BooleanField("E-mail me the course team's announcements and reminders")

class RegisterForm(ProfileFields, FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), _email])
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), NewPassword()])
    confirm = PasswordField("Password again", validators=[EqualTo("password", "The two passwords are not the same.")])
    consent = BooleanField("I have read the privacy notice and agree to shooc keeping my details and answers as it "
                           "describes",
                           validators=[InputRequired("Please agree to the privacy notice to register.")])

class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1000)])
    remember = BooleanField("Keep me logged in on this device for 30 days")

class EmptyForm(FlaskForm):
    """A form of buttons only: its CSRF token is what it carries."""

class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), _email])

class LoginLinkForm(FlaskForm):
    """Ask for a link that logs in without the password (shooc/auth/limits.py)."""
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), _email])

class ResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a password."), NewPassword()])
    confirm = PasswordField("New password again",
                            validators=[EqualTo("password", "The two passwords are not the same.")])

class ProfileForm(ProfileFields, FlaskForm):
    name_shown = SelectField("Your name as others on the course see it", choices=select_choices(NAME_SHOWN),
                             validators=[DataRequired("Choose how your name is shown.")])
    notification_email = SelectField("E-mail me my notifications (replies, feedback, badges)",
                                     choices=select_choices(NOTIFICATION_EMAIL),
                                     validators=[DataRequired("Choose how you are e-mailed.")])

class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password = PasswordField("New password", validators=[DataRequired("Choose a password."), NewPassword()])
    confirm = PasswordField("New password again",
                            validators=[EqualTo("password", "The two passwords are not the same.")])

class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password to confirm.")])
    confirm = BooleanField("I understand that my account, my answers and my badges' personal details are erased "
                           "and cannot be restored",
                           validators=[InputRequired("Tick the box to confirm.")])


class ApiTokenForm(FlaskForm):
    token_name = StringField("Name", validators=[DataRequired("Give the token a name, such as the script that will "
                                                              "use it."),
                                                 Length(max=api_tokens.MAX_NAME_LENGTH)])


class RoleForm(FlaskForm):
    """An admin changes a person's role (shooc/auth/people.py)."""

    role = SelectField("Role", choices=select_choices({"learner": "Learner", "leader": "Course leader",
                                                       "evaluator": "Evaluator", "admin": "Admin"}),
                       validators=[InputRequired()])


class EmailChangeForm(FlaskForm):
    """A new address for the account (shooc/auth/email_change.py). The field is named
    ``email`` in the post, as on the other forms that send e-mail, so that the rate
    limits count per address asked for (shooc/auth/limits.py)."""

    email = EmailField("New e-mail address", validators=[DataRequired("Enter the new e-mail address."), _email])
    password = PasswordField("Your password", validators=[DataRequired("Enter your password to confirm.")])
