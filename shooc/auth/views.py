from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from shooc.auth.services import authenticate
from shooc.db import get_session

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])
    remember = BooleanField("Keep me logged in on this device")


class LogoutForm(FlaskForm):
    pass


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another origin."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(user) -> str:  # type: ignore[no-untyped-def]
    return url_for("workbooks.catalogue")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    next_url = _safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a new session on login: nothing carried over from before
            login_user(user, remember=form.remember.data)
            return redirect(next_url or home_for(user))
        flash("That e-mail address and password do not match an account.", "error")
    return render_template("auth/login.html", form=form), (422 if request.method == "POST" else 200)


@bp.route("/logout", methods=["GET", "POST"])
def logout():  # type: ignore[no-untyped-def]
    form = LogoutForm()
    if not current_user.is_authenticated:
        return redirect(url_for("workbooks.catalogue"))
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You have logged out.", "info")
        return redirect(url_for("workbooks.catalogue"))
    return render_template("auth/logout.html", form=form)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _logout_form():  # type: ignore[no-untyped-def]
        return {"logout_form": LogoutForm}
