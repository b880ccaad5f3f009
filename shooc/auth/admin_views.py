"""Admins' pages for people (/admin/users): find a person, see their enrolments,
change their role, disable or enable their account, lift its login limits, send a
new confirmation link. The decisions are in shooc/auth/people.py."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from shooc.auth import limits, people
from shooc.auth.emails import send_confirmation
from shooc.auth.forms import EmptyForm, RoleForm
from shooc.auth.models import Role, User
from shooc.auth.services import AccountError
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import int_arg, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_NAMES = {"learner": "a learner", "leader": "a course leader", "evaluator": "an evaluator", "admin": "an admin"}
admins_only = roles_required(Role.admin)


@bp.route("/users")
@admins_only
def users() -> ResponseReturnValue:
    query = (request.args.get("q") or "")[:200]
    role = request.args.get("role") or ""
    page = people.find_people(get_session(), query, request.args.get("page", 1, type=int_arg) or 1, role)
    return render_template("admin/users.html", page=page, query=query, role=role, roles=ROLE_NAMES)


def _person(user_id: int) -> User:
    return get_session().get(User, user_id) or abort(404)


@bp.route("/users/<int:user_id>")
@admins_only
def user(user_id: int) -> ResponseReturnValue:
    person = _person(user_id)
    return render_template("admin/user.html", person=person, enrolments=people.enrolments_of(get_session(), person),
                           role_form=RoleForm(formdata=None, role=person.role.value), form=EmptyForm())


def _act(user_id: int, action, done: str) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    """An account action; a refusal (oneself, the last admin) is said on the page."""
    person = _person(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action(person)
    except AccountError as exc:
        rollback()
        flash(f"{exc}.", "error")
    else:
        commit()
        flash(done.format(name=person.name), "info")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admins_only
def change_role(user_id: int) -> ResponseReturnValue:
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    role = form.role.data
    return _act(user_id, lambda person: people.set_role(get_session(), person, role, current_user),
                f"{{name}} is now {ROLE_NAMES[role]}.")


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@admins_only
def disable(user_id: int) -> ResponseReturnValue:
    return _act(user_id, lambda person: people.disable(get_session(), person, current_user),
                "{name}'s account is disabled: it cannot log in, its sessions ended and its API tokens are "
                "revoked.")


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@admins_only
def enable(user_id: int) -> ResponseReturnValue:
    return _act(user_id, lambda person: people.enable(get_session(), person, current_user),
                "{name}'s account can log in again (its revoked API tokens stay revoked).")


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@admins_only
def unlock(user_id: int) -> ResponseReturnValue:
    def lift(person: User) -> None:
        limits.unlock(current_app, person.email)
        people.unlocked(get_session(), person, current_user)
    return _act(user_id, lift, "The login limits on {name}'s account are lifted: they can log in with their "
                               "password from anywhere again.")


@bp.route("/users/<int:user_id>/confirmation", methods=["POST"])
@admins_only
def resend_confirmation(user_id: int) -> ResponseReturnValue:
    def resend(person: User) -> None:
        people.confirmation_resent(get_session(), person, current_user)
        send_confirmation(person)
    return _act(user_id, resend, "A new confirmation link is on its way to {name}.")
