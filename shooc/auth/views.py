"""Accounts: register, confirm, log in and out, reset a password, and the learner's
own account page (profile, password, data download, deletion)."""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from shooc.api import tokens as api_tokens
from shooc.auth import email_change, limits, services
from shooc.auth.emails import send as _send
from shooc.auth.emails import send_confirmation as _send_confirmation
from shooc.auth.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    DeleteAccountForm,
    EmailChangeForm,
    EmptyForm,
    LoginForm,
    LoginLinkForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
    filled,
)
from shooc.auth.models import Role, User
from shooc.db import utcnow
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import PENDING_DRAFT_KEY, external_url, mailer, roles_required, site_urls

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, url_prefix="/auth")
account_bp = Blueprint("account", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another origin."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(user: User) -> str:
    return url_for("learn.dashboard") if user.role.value == "learner" else url_for("workbooks.catalogue")


def start_session(user: User, remember: bool = False) -> None:
    """Log in on a fresh session: nothing from before carries over but a kept draft.
    The answer sets the device cookie: this browser is now one the account's owner
    uses (shooc/auth/limits.py)."""
    pending = session.get(PENDING_DRAFT_KEY)
    session.clear()
    if pending:
        session[PENDING_DRAFT_KEY] = pending
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    login_user(user, remember=remember, duration=dt.timedelta(days=30))
    user.last_login_at = utcnow()
    commit()
    limits.remember_device(user)


def _send_no_account(address: str, what: str) -> None:
    """The message to an address without an account (or without one ready to use)
    that asked for a link: one e-mail rendered and sent as the link's would be, so that
    neither the answer nor the time it takes tells whether the address has an account
    (with a mail server, sending is most of that time)."""
    _send(address, "You asked shooc for a link", "auth/email/no_account.txt", what=what,
          register=external_url("auth.register"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            result = services.register(
                db, filled(form.email.data), filled(form.name.data), filled(form.password.data),
                consent=form.consent.data, organisation=form.organisation.data, job_role=form.job_role.data,
                mentoring_experience=form.mentoring_experience.data, email_opt_in=form.email_opt_in.data)
        except services.AccountError as exc:
            form.consent.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
            return render_template("auth/register.html", form=form), 422
        commit()
        user = result.user
        if result.created:
            _send_confirmation(user)
        else:
            # Someone (perhaps the owner) tried to register an address that has an
            # account: tell the owner, and tell the visitor only what we tell everyone.
            _send(user.email, "You already have a shooc account", "auth/email/already_registered.txt", user=user,
                  login=external_url("auth.login"), reset=external_url("auth.reset_request"))
        return redirect(url_for("auth.check_email", next=_safe_next(request.args.get("next"))))
    return render_template("auth/register.html", form=form), (422 if form.errors else 200)


@bp.route("/check-email")
def check_email() -> ResponseReturnValue:
    return render_template("auth/check_email.html", outbox=mailer().uses_outbox)


def _link_user(purpose: str, token: str, hours: float) -> User | ResponseReturnValue:
    """The user a signed link is for, or the page saying why the link cannot be used."""
    try:
        return services.read_link_token(get_session(), current_app.config["SECRET_KEY"], purpose, token, hours)
    except services.LinkError as exc:
        return render_template("auth/link_problem.html", message=str(exc), expired=exc.expired,
                               what=purpose), 400


def _someone_else(user: User) -> User | None:
    """Who is logged in in this browser, if it is not ``user``: a link that logs in
    never replaces another person's session (login CSRF: an attacker's own link
    sent to a logged-in victim would otherwise swap the victim into the attacker's
    account, and whatever the victim then wrote would be the attacker's to read)."""
    if current_user.is_authenticated and current_user.id != user.id:
        return current_user._get_current_object()
    return None


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The link in the confirmation e-mail. Opening it (a GET) changes nothing: it
    shows the address it confirms and a button; only that form's POST (CSRF) confirms
    and logs in, and not over someone else's session (they log out first; the link
    keeps working until it expires). Mail scanners that fetch links do not use it up."""
    user = _link_user("confirm", token, services.CONFIRM_LINK_HOURS)
    if not isinstance(user, User):
        return user
    form, other = EmptyForm(), _someone_else(user)
    if other is None and form.validate_on_submit():
        db = get_session()
        services.confirm_email(db, user)
        commit()
        start_session(user)
        flash("Your e-mail address is confirmed and you are logged in. Welcome to shooc!", "info")
        return redirect(url_for("learn.dashboard"))
    return render_template("auth/confirm.html", form=form, user=user, other=other), \
        (409 if other is not None and request.method == "POST" else 200)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    next_url = _safe_next(request.args.get("next"))
    if form.validate_on_submit():
        db = get_session()
        user = services.authenticate(db, filled(form.email.data), filled(form.password.data))
        if user is not None and not user.is_active:
            flash(services.DISABLED_MESSAGE, "error")
        elif user is not None and user.email_verified_at is None:
            _send_confirmation(user)
            flash("Please confirm your e-mail address first: we have sent you a new link.", "error")
        elif user is not None:
            start_session(user, remember=form.remember.data)
            return redirect(next_url or home_for(user))
        else:
            flash("That e-mail address and password do not match an account.", "error")
    return render_template("auth/login.html", form=form), (422 if request.method == "POST" else 200)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if not current_user.is_authenticated:
        return redirect(url_for("workbooks.catalogue"))
    if form.validate_on_submit():
        db = get_session()
        services.end_sessions(db, current_user._get_current_object())
        commit()
        logout_user()
        session.clear()
        flash("You have logged out.", "info")
        return redirect(url_for("workbooks.catalogue"))
    return render_template("auth/logout.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        db = get_session()
        email = filled(form.email.data)
        user = services.find_user(db, email)
        if user is not None:
            token = services.make_link_token(current_app.config["SECRET_KEY"], "reset", user)
            _send(user.email, "Reset your shooc password", "auth/email/reset.txt", user=user,
                  link=external_url("auth.reset", token=token), hours=services.RESET_LINK_HOURS)
        else:
            _send_no_account(email, "send a link to choose a new password")
        # The same answer whether or not there is an account.
        flash(f"If there is an account for {email}, we have sent it a link to choose a new password. "
              f"The link works once, within {services.RESET_LINK_HOURS} hours.", "info")
        return redirect(url_for("auth.check_email"))
    return render_template("auth/reset_request.html", form=form), (422 if form.errors else 200)


@bp.route("/login-link", methods=["GET", "POST"])
def login_link() -> ResponseReturnValue:
    """Ask for a link that logs in without the password: the way in at once when the
    password is refused for a while because someone elsewhere has been guessing it
    (shooc/auth/limits.py). The same answer, and one e-mail, whether or not the
    address has an account ready to use."""
    form = LoginLinkForm()
    if form.validate_on_submit():
        email = filled(form.email.data)
        user = services.find_user(get_session(), email)
        if user is not None and user.email_verified_at is not None:
            token = services.make_link_token(current_app.config["SECRET_KEY"], "login", user)
            _send(user.email, "Your link to log in to shooc", "auth/email/login_link.txt", user=user,
                  link=external_url("auth.login_with_link", token=token), minutes=services.LOGIN_LINK_MINUTES)
        else:
            # no account, or one never confirmed (its password may be a stranger's)
            _send_no_account(email, "send a link to log in")
        flash(f"If there is an account for {email}, we have sent it a link to log in. "
              f"The link works once, within {services.LOGIN_LINK_MINUTES} minutes.", "info")
        return redirect(url_for("auth.check_email"))
    return render_template("auth/login_link.html", form=form, minutes=services.LOGIN_LINK_MINUTES), \
        (422 if form.errors else 200)


@bp.route("/login-link/<token>", methods=["GET", "POST"])
def login_with_link(token: str) -> ResponseReturnValue:
    """The link in that e-mail. Opening it (a GET: mail scanners fetch links) changes
    nothing; its page's button (a POST with its CSRF token) logs in, once, and not over
    someone else's session."""
    user = _link_user("login", token, services.LOGIN_LINK_MINUTES / 60)
    if not isinstance(user, User):
        return user
    form, other = EmptyForm(), _someone_else(user)
    if other is None and form.validate_on_submit():
        db = get_session()
        if not services.use_login_link(db, user):  # used by another request meanwhile
            rollback()
            return render_template("auth/link_problem.html", message="This link has already been used.",
                                   expired=False, what="login"), 400
        start_session(user)
        flash("You are logged in.", "info")
        return redirect(home_for(user))
    return render_template("auth/login_with_link.html", form=form, user=user, other=other), \
        (409 if other is not None and request.method == "POST" else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    user = _link_user("reset", token, services.RESET_LINK_HOURS)
    if not isinstance(user, User):
        return user
    db = get_session()
    form = ResetForm()
    form.meta.user_email, form.meta.user_name = user.email, user.name
    if form.validate_on_submit():
        revoked = services.reset_password(db, user, filled(form.password.data))
        commit()
        start_session(user)
        flash("Your new password is set and you are logged in." + _tokens_revoked(revoked), "info")
        return redirect(home_for(user))
    return render_template("auth/reset.html", form=form), (422 if form.errors else 200)


def _tokens_revoked(count: int) -> str:
    if not count:
        return ""
    return (f" Your {count} API token{'s were' if count > 1 else ' was'} revoked with the old password: "
            "make a new one for each script that needs it.")


# The account page ----------------------------------------------------------------

@account_bp.route("/", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    user = current_user._get_current_object()
    # Each form reads the post only if the post was its own: a refused password
    # change must not show the details form as if it had been emptied.
    profile = ProfileForm(formdata=request.form if "profile-name" in request.form else None, obj=user,
                          prefix="profile")
    password = ChangePasswordForm(formdata=request.form if "password-current" in request.form else None,
                                  prefix="password")
    password.meta.user_email, password.meta.user_name = user.email, user.name
    db = get_session()
    if profile.is_submitted() and "profile-name" in request.form and profile.validate():
        services.update_profile(user, name=profile.name.data, organisation=profile.organisation.data,
                                job_role=profile.job_role.data, mentoring_experience=profile.mentoring_experience.data,
                                email_opt_in=profile.email_opt_in.data, name_shown=profile.name_shown.data,
                                notification_email=profile.notification_email.data)
        commit()
        flash("Your details are saved.", "info")
        return redirect(url_for("account.account"))
    if password.is_submitted() and "password-current" in request.form and password.validate():
        if not services.check_password(user, filled(password.current.data)):
            password.current.errors = ["That is not your current password."]
        else:
            revoked = services.set_password(db, user, filled(password.password.data))
            commit()
            start_session(user)
            flash("Your password is changed; you have been logged out everywhere else." + _tokens_revoked(revoked),
                  "info")
            return redirect(url_for("account.account"))
    status = 422 if request.method == "POST" else 200
    return _account_page(user, status, profile=profile, password=password)


def _account_page(user: User, status: int, **forms: Any) -> ResponseReturnValue:
    forms.setdefault("profile", ProfileForm(formdata=None, obj=user, prefix="profile"))
    forms.setdefault("password", ChangePasswordForm(formdata=None, prefix="password"))
    forms.setdefault("email_form", EmailChangeForm(formdata=None))
    return render_template("auth/account.html", delete=DeleteAccountForm(), user=user, cancel_form=EmptyForm(),
                           email_hours=email_change.LINK_HOURS, **forms, **_token_section(user)), status


# Changing the e-mail address (shooc/auth/email_change.py) --------------------------

@account_bp.route("/email", methods=["POST"])
@login_required
def change_email() -> ResponseReturnValue:
    """Ask for a new address: a link to it, a notice to the old one. The answer is
    the same whether or not the new address has an account (limited like the other
    forms that send e-mail: shooc/auth/limits.py)."""
    user = current_user._get_current_object()
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return _account_page(user, 422, email_form=form)
    try:
        asked = email_change.ask(get_session(), user, filled(form.email.data), filled(form.password.data))
    except services.AccountError as exc:
        target = form.password if "password" in str(exc) else form.email
        target.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        return _account_page(user, 422, email_form=form)
    commit()
    if asked.taken:
        _send(asked.new_email, "Your address and shooc", "auth/email/email_change_taken.txt",
              new_email=asked.new_email, login=external_url("auth.login"))
    else:
        token = email_change.make_link_token(current_app.config["SECRET_KEY"], user)
        _send(asked.new_email, "Confirm your new e-mail address for shooc", "auth/email/email_change_confirm.txt",
              user=user, new_email=asked.new_email, hours=email_change.LINK_HOURS,
              link=external_url("account.confirm_email_change", token=token))
    _send(asked.old_email, "A change of your shooc account's e-mail address", "auth/email/email_change_asked.txt",
          user=user, old_email=asked.old_email, new_email=asked.new_email, account=external_url("account.account"))
    flash(f"We sent a link to {asked.new_email}: open it to confirm the new address. Until then your account keeps "
          f"{asked.old_email}.", "info")
    return redirect(url_for("account.account", _anchor="email-heading"))


@account_bp.route("/email/cancel", methods=["POST"])
@login_required
def cancel_email_change() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    email_change.cancel(get_session(), current_user._get_current_object())
    commit()
    flash("The change of address is cancelled: the link sent for it no longer works.", "info")
    return redirect(url_for("account.account", _anchor="email-heading"))


@account_bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> ResponseReturnValue:
    """The link sent to the new address. Opening it changes nothing; its button (a
    POST with CSRF) makes the change, and never for another person logged in here."""
    db = get_session()
    try:
        user, new_email = email_change.read_link_token(db, current_app.config["SECRET_KEY"], token)
    except services.LinkError as exc:
        return render_template("auth/link_problem.html", message=str(exc), expired=exc.expired,
                               what="email-change"), 400
    form, other = EmptyForm(), _someone_else(user)
    if other is None and form.validate_on_submit():
        try:
            old_email = email_change.confirm(db, user, new_email)
        except services.LinkError as exc:
            commit()  # the pending address is forgotten
            return render_template("auth/link_problem.html", message=str(exc), expired=False,
                                   what="email-change"), 409
        commit()
        _send(old_email, "Your shooc account's e-mail address has changed", "auth/email/email_changed.txt",
              user=user, old_email=old_email, new_email=new_email)
        if current_user.is_authenticated:
            flash(f"Your account's e-mail address is now {new_email}.", "info")
            return redirect(url_for("account.account"))
        flash(f"Your account's e-mail address is now {new_email}: log in with it.", "info")
        return redirect(url_for("workbooks.catalogue"))
    return render_template("auth/confirm_email_change.html", form=form, user=user, new_email=new_email,
                           other=other), (409 if other is not None and request.method == "POST" else 200)


# API tokens (evaluators, leaders and admins; the JSON API is shooc/api) -------------


def _token_section(user: User, form: ApiTokenForm | None = None, new_token: str | None = None) -> dict[str, object]:
    """What the account page's "API tokens" section needs (empty for learners)."""
    if not api_tokens.may_hold_tokens(user):
        return {"api_tokens": None}
    return {"api_tokens": api_tokens.tokens_of(get_session(), user),
            "token_form": form or ApiTokenForm(formdata=None), "new_token": new_token}


@account_bp.route("/tokens", methods=["POST"])
@roles_required(Role.evaluator, Role.leader, Role.admin)
def create_api_token() -> ResponseReturnValue:
    """Make a token and show it in this answer only: it is never stored in the
    clear, so no later page (nor a redirect through the session cookie) can show it."""
    user = current_user._get_current_object()
    form = ApiTokenForm()
    status, new_token = 422, None
    if form.validate_on_submit():
        db = get_session()
        try:
            _, new_token = api_tokens.create_token(db, user, filled(form.token_name.data))
        except api_tokens.TokenError as exc:
            form.token_name.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            commit()
            status = 201
    profile = ProfileForm(formdata=None, obj=user, prefix="profile")
    password = ChangePasswordForm(formdata=None, prefix="password")
    response = make_response(render_template(
        "auth/account.html", profile=profile, password=password, delete=DeleteAccountForm(formdata=None), user=user,
        email_form=EmailChangeForm(formdata=None), cancel_form=EmptyForm(formdata=None),
        email_hours=email_change.LINK_HOURS,
        **_token_section(user, ApiTokenForm(formdata=None) if new_token else form, new_token)), status)
    response.headers["Cache-Control"] = "no-store"  # the page with the token is kept by no cache
    return response


@account_bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of one's own tokens (any role: revoking never hurts); another
    person's token is not found."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    db = get_session()
    token = api_tokens.revoke_token(db, current_user._get_current_object(), token_id)
    if token is None:
        abort(404)
    commit()
    flash(f"The token “{token.name}” ({token.prefix}…) is revoked: requests that send it are now refused.", "info")
    return redirect(url_for("account.account", _anchor="api-tokens"))


@account_bp.route("/data.json")
@login_required
def download_data() -> ResponseReturnValue:
    data = services.export_data(get_session(), current_user._get_current_object(), site_urls())
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="shooc-my-data-{dt.date.today()}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@account_bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not services.check_password(user, filled(form.password.data)):
            form.password.errors = ["That is not your password."]
        else:
            db = get_session()
            services.delete_account(db, user)
            commit()
            logout_user()
            session.clear()
            flash("Your account and everything you wrote are erased. Thank you for studying with us.", "info")
            return redirect(url_for("workbooks.catalogue"))
    return render_template("auth/delete.html", form=form), (422 if request.method == "POST" else 200)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(account_bp)

