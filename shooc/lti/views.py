"""The tool's endpoints (/lti/...): OIDC login initiation, the launch, the JWKS, the
one-time handoff to a new window, deep linking and the roster. What they do is in
shooc/lti/services.py; this is the web's part: cookies, the session, headers.

CSRF: ``/lti/login`` and ``/lti/launch`` are exempt from Flask-WTF's CSRF check
(shooc/__init__.py exempts exactly these two views), because a platform posts them
cross-site by design (OIDC third-party login and form_post). They are protected
instead by the state (a random value in a cookie of this browser that the launch
must bring back, and kept with the nonce) and the nonce (signed into the id_token,
usable once). Every other form here carries a CSRF token.
"""
from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectMultipleField, widgets

from shooc import course_team, signing_keys
from shooc.auth.forms import select_choices
from shooc.lti import protocol, services
from shooc.lti.models import LtiPlatform
from shooc.lti.protocol import LaunchRefused
from shooc.unit_of_work import commit, get_db, get_session, rollback
from shooc.web import SessionSignedEachMinute, site_urls
from shooc.workbooks import current
from shooc.workbooks.models import Course

log = logging.getLogger(__name__)
bp = Blueprint("lti", __name__, url_prefix="/lti")
STATE_COOKIE = "shooc_lti_state"
#: the session's note of an LTI launch: its platform's origins (may frame us) and, for
#: deep linking, where to send the answer
LTI_SESSION = "lti"


class LtiSessionInterface(SessionSignedEachMinute):
    """The session cookie is SameSite=None (Secure) for a session that began with an
    LTI launch over https, when SHOOC_LTI_IFRAME_COOKIES allows: the VLE's iframe is a
    third-party context, where a Lax cookie is never sent. Every other session keeps Lax.
    Otherwise shooc's own session (signed again at most once a minute: shooc.web)."""

    def get_cookie_samesite(self, app: Flask) -> str | None:
        if (app.config.get("SHOOC_LTI_IFRAME_COOKIES") and request and request.is_secure
                and session.get(LTI_SESSION)):
            return "None"
        return super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or self.get_cookie_samesite(app) == "None"


def init_app(app: Flask) -> None:
    app.session_interface = LtiSessionInterface()

    @app.after_request
    def _framed_by_the_platform(response: Any) -> Any:
        """Pages of an LTI session may be framed by its platform's origins (CSP
        frame-ancestors; X-Frame-Options cannot name an origin, so it is left off).
        Decision: the launching platform's own origins, not a setting and not every
        registered platform: a page is framed only where its launch came from. Runs
        before shooc.web's security headers, which then leave this policy alone."""
        note = session.get(LTI_SESSION) if current_app.config.get("SHOOC_LTI_IFRAME_COOKIES") else None
        if note and note.get("origins") and "Content-Security-Policy" not in response.headers:
            from shooc.web import content_security_policy, site_brand

            origins = " ".join(note["origins"])
            response.headers["Content-Security-Policy"] = content_security_policy(site_brand()).replace(
                "frame-ancestors 'none'", f"frame-ancestors 'self' {origins}")
        return response


def _refused(error: LaunchRefused, status: int = 400, link: tuple[str, str] | None = None) -> ResponseReturnValue:
    log.warning("LTI refused (%s %s): %s", request.method, request.path, error)
    return render_template("lti/refused.html", message=str(error), link=link), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """OIDC third-party login initiation (IMS Security Framework §5.1.1)."""
    try:
        begun = services.begin_login(get_session(), request.values, site_urls().lti_launch)
    except LaunchRefused as error:
        rollback()
        return _refused(error)
    commit()
    response = redirect(begun.redirect_url)
    # SameSite=None so that the platform's cross-site form_post brings it back; a
    # browser drops SameSite=None without Secure, so plain http (a developer's
    # machine) gets Lax, and the launch then hands off to a new window.
    response.set_cookie(STATE_COOKIE, begun.state, max_age=services.LOGIN_MINUTES * 60, httponly=True,
                        secure=request.is_secure, samesite="None" if request.is_secure else "Lax", path="/lti/")
    return response


@bp.route("/launch", methods=["POST"])
def launch() -> ResponseReturnValue:
    """The launch (form_post of the id_token): verified, then the account logged in."""
    state = request.form.get("state", "")
    cookie = request.cookies.get(STATE_COOKIE)
    if cookie is not None and not hmac.compare_digest(cookie, state):
        return _refused(LaunchRefused("the launch's state is not the one this browser was given at login"))
    try:
        platform, claims = services.verify_launch(get_session(), request.form.get("id_token", ""), state)
        done = services.launch(get_session(), platform, claims, site_urls())
    except LaunchRefused as error:
        rollback()
        return _refused(error)
    note: dict[str, Any] = {"platform": platform.id, "origins": services.platform_origins(platform)}
    if claims.get(protocol.CLAIM + "message_type") == "LtiDeepLinkingRequest":
        settings = claims.get(protocol.DL_CLAIM + "deep_linking_settings") or {}
        note["deep_linking"] = {"return_url": settings.get("deep_link_return_url"), "data": settings.get("data"),
                                "deployment_id": claims[protocol.CLAIM + "deployment_id"], "iss": claims["iss"],
                                "course": done.course.id}
        if not note["deep_linking"]["return_url"]:
            rollback()
            return _refused(LaunchRefused("the deep linking request has no deep_link_return_url"))
    if cookie is None:
        # The state cookie did not come back: this browser blocks cookies in the VLE's
        # iframe, so a session could not be kept here either. One click opens the
        # same place, logged in, in a window of its own.
        token = services.make_handoff(get_session(), done.user, done.target)
        commit()
        return render_template("lti/new_window.html", url=url_for("lti.handoff", token=token))
    _log_in(done.user, note)
    commit()
    response = redirect(done.target)
    response.delete_cookie(STATE_COOKIE, path="/lti/")
    return response


def _log_in(user: Any, note: dict[str, Any]) -> None:
    # Whether to show "Leading" in the header, without a query on every page: the
    # grant itself is checked by every course team page (shooc.course_team).
    note["leads"] = bool(course_team.led_course_ids(get_session(), user))
    session.clear()
    session.permanent = True
    session[LTI_SESSION] = note
    login_user(user)


@bp.route("/continue/<token>")
def handoff(token: str) -> ResponseReturnValue:
    """The one-time link of a launch whose cookies were blocked, opened in a new window:
    logs in (once, within minutes) and goes where the launch was going."""
    used = services.use_handoff(get_session(), token)
    if used is None:
        rollback()
        return _refused(LaunchRefused("this link was used already or has expired: launch the course again "
                                      "from your VLE"), 404)
    user, target = used
    _log_in(user, {"handoff": True})
    commit()
    return redirect(target)


@bp.route("/jwks")
def jwks() -> ResponseReturnValue:
    """The tool's public keys, current and retired (a platform verifies our signatures)."""
    keys = signing_keys.public_keys(get_session(), "lti")
    if not keys:
        signing_keys.signing_key(get_session(), "lti", current_app.config["SECRET_KEY"])
        commit()
        keys = signing_keys.public_keys(get_session(), "lti")
    response = current_app.json.response({"keys": [key.public_jwk for key in keys]})
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# Deep linking ---------------------------------------------------------------------

class DeepLinkForm(FlaskForm):
    what = RadioField("What to add", choices=select_choices([("course", "The whole course, as one link"),
                                                             ("workbooks", "Chosen workbooks, one link each")]),
                      default="course")
    workbooks = SelectMultipleField("Workbooks", choices=[], option_widget=widgets.CheckboxInput(),
                                    widget=widgets.ListWidget(prefix_label=False))


def _deep_linking() -> tuple[dict[str, Any], Course]:
    if not current_user.is_authenticated:
        abort(403)
    request_note = (session.get(LTI_SESSION) or {}).get("deep_linking")
    if not request_note:
        abort(403)
    course = get_session().get(Course, request_note["course"]) or abort(404)
    if not course_team.leads_course(get_session(), current_user, course.id):
        abort(403)
    return request_note, course


@bp.route("/deep-linking", methods=["GET", "POST"])
def deep_linking() -> ResponseReturnValue:
    """The instructor picks the course or workbooks; the answer goes to the platform."""
    note, course = _deep_linking()
    form = DeepLinkForm()
    form.workbooks.choices = select_choices([(w.slug, w.title) for w in current.workbooks(get_session(), course)])
    if not form.validate_on_submit():
        return render_template("lti/deep_linking.html", form=form, course=course)
    chosen = list(form.workbooks.data or []) if form.what.data == "workbooks" else []
    if form.what.data == "workbooks" and not chosen:
        form.workbooks.errors = ["Choose at least one workbook."]
        return render_template("lti/deep_linking.html", form=form, course=course), 400
    platform = get_session().get_one(LtiPlatform, (session.get(LTI_SESSION) or {})["platform"])
    items = services.deep_link_items(get_session(), course, chosen, site_urls().lti_launch)
    key = signing_keys.signing_key(get_session(), "lti", current_app.config["SECRET_KEY"])
    claims = {"iss": note["iss"], protocol.CLAIM + "deployment_id": note["deployment_id"],
              protocol.DL_CLAIM + "deep_linking_settings": {"data": note.get("data")}}
    jwt = protocol.deep_linking_response(claims, platform.client_id, items, key)
    session[LTI_SESSION] = {k: v for k, v in session[LTI_SESSION].items() if k != "deep_linking"}  # used once
    commit()
    return_url = note["return_url"]
    response = current_app.make_response(render_template("lti/deep_linking_return.html", return_url=return_url,
                                                         jwt=jwt, count=len(items)))
    # The answer is a form posted to the platform: the policy's form-action names it.
    from shooc.web import content_security_policy, site_brand

    parts = urlsplit(return_url)
    policy = content_security_policy(site_brand()).replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
    response.headers["Content-Security-Policy"] = policy
    return response


# The roster -----------------------------------------------------------------------

@bp.route("/courses/<course_slug>/roster")
def roster(course_slug: str) -> ResponseReturnValue:
    """The platform's roster of the context this leader launched the course from (NRPS)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    course = get_session().scalar(select(Course).where(Course.slug == course_slug)) or abort(404)
    if not course_team.leads_course(get_session(), current_user, course.id):
        abort(403)
    link = services.roster_link(get_session(), current_user.id, course.id)
    if link is None:
        return render_template("lti/roster.html", course=course, members=None, error=None)
    try:
        members = services.roster(get_db(), link.id, current_app.config["SECRET_KEY"])
        error = None
    except protocol.PlatformUnreachable as problem:
        log.warning("roster of %s: %s", course_slug, problem)
        members, error = None, "The platform did not give its roster just now; try again in a moment."
    return render_template("lti/roster.html", course=course, members=members, error=error)
