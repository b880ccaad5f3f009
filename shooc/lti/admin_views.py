"""Admins' pages for LTI 1.3 platforms (/admin/lti): the list, registering one,
editing or deactivating it; each shows the tool's URLs the platform's admin enters
(as `shooc lti register` prints them)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from shooc.auth.forms import select_choices
from shooc.auth.models import Role
from shooc.lead import published_courses
from shooc.lti import services
from shooc.lti.models import LtiPlatform
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import roles_required, site_urls

bp = Blueprint("lti_admin", __name__, url_prefix="/admin/lti")
admins_only = roles_required(Role.admin)


class PlatformForm(FlaskForm):
    issuer = StringField("Issuer (the platform's iss)", validators=[InputRequired(), Length(max=500)])
    client_id = StringField("Client id", validators=[InputRequired(), Length(max=200)])
    auth_url = StringField("Authentication request URL (OIDC auth)", validators=[InputRequired(), Length(max=500)])
    token_url = StringField("Access token URL", validators=[InputRequired(), Length(max=500)])
    jwks_url = StringField("Public keyset URL (JWKS)", validators=[InputRequired(), Length(max=500)])
    deployment_ids = StringField("Deployment ids (separated by spaces)", validators=[InputRequired(),
                                                                                     Length(max=2000)])
    course = SelectField("Course its links open when they name none", choices=[], default="")
    active = BooleanField("Active (its launches are let in)", default=True)

    def fields(self) -> services.PlatformFields:
        return services.PlatformFields(self.issuer.data or "", self.client_id.data or "", self.auth_url.data or "",
                                       self.token_url.data or "", self.jwks_url.data or "",
                                       self.deployment_ids.data or "", self.course.data or None)


def _form(platform: LtiPlatform | None = None) -> PlatformForm:
    form = PlatformForm(obj=platform)
    form.course.choices = select_choices(published_courses(), "None: each link names its course")
    if platform is not None and not form.is_submitted():
        form.course.data = platform.course.slug if platform.course else ""
    return form


@bp.route("")
@admins_only
def platforms() -> ResponseReturnValue:
    return render_template("lti/platforms.html", platforms=services.platforms(get_session()), urls=site_urls(),
                           scores=services.score_queues(get_session()))


@bp.route("/new", methods=["GET", "POST"])
@admins_only
def register() -> ResponseReturnValue:
    form = _form()
    if form.validate_on_submit():
        try:
            platform = services.register_platform(get_session(), form.fields())
        except services.RegistrationError as error:
            rollback()
            form.issuer.errors = [str(error)]
        else:
            commit()
            flash(f"Registered {platform.issuer}. Give its admin the tool's URLs below.", "success")
            return redirect(url_for("lti_admin.platforms"))
    return render_template("lti/platform.html", form=form, platform=None, urls=site_urls()), \
        400 if form.is_submitted() else 200


@bp.route("/<int:platform_id>", methods=["GET", "POST"])
@admins_only
def edit(platform_id: int) -> ResponseReturnValue:
    platform = get_session().get(LtiPlatform, platform_id) or abort(404)
    form = _form(platform)
    if form.validate_on_submit():
        try:
            services.update_platform(get_session(), platform, form.fields(), bool(form.active.data))
        except services.RegistrationError as error:
            rollback()
            form.issuer.errors = [str(error)]
        else:
            commit()
            flash(f"Saved {platform.issuer}.", "success")
            return redirect(url_for("lti_admin.platforms"))
    return render_template("lti/platform.html", form=form, platform=platform, urls=site_urls()), \
        400 if form.is_submitted() else 200


@bp.route("/<int:platform_id>/deactivate", methods=["POST"])
@admins_only
def deactivate(platform_id: int) -> ResponseReturnValue:
    platform = get_session().get(LtiPlatform, platform_id) or abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    platform.active = False
    commit()
    flash(f"{platform.issuer} is deactivated: its launches are refused until it is made active again.", "success")
    return redirect(url_for("lti_admin.platforms"))
