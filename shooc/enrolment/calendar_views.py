"""Calendars (.ics): a run's live sessions, public and without join links
(/runs/<run>/sessions.ics), and one person's feed by a secret token
(/calendar/<token>.ics), with the page where they see, copy and replace its address
(/dashboard/calendar). What is in each, and why the run's feed is public, is
decided in ``shooc.lead.live_sessions``."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from shooc.auth.forms import EmptyForm
from shooc.auth.models import User
from shooc.lead import live_sessions as live
from shooc.lead.models import CalendarFeed
from shooc.unit_of_work import commit, get_session
from shooc.web import run_or_404, site_urls

bp = Blueprint("calendar", __name__)

#: Calendar applications ask again every few minutes to hours; a shared cache keeps nothing.
CACHE = "private, max-age=300"


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = CACHE
    return response


@bp.route("/runs/<run_slug>/sessions.ics")
def run_feed(run_slug: str) -> ResponseReturnValue:
    run = run_or_404(run_slug)
    return _ics(live.run_calendar(get_session(), run, site_urls()), f"{run.slug}-sessions.ics")


@bp.route("/calendar/<token>.ics")
def personal_feed(token: str) -> ResponseReturnValue:
    user: User | None = live.user_for_token(get_session(), token)
    if user is None:
        abort(404)
    return _ics(live.personal_calendar(get_session(), user, site_urls()), "shooc.ics")


@bp.route("/dashboard/calendar")
@login_required
def calendar_page() -> ResponseReturnValue:
    feed = get_session().get(CalendarFeed, current_user.id)
    return render_template("learn/calendar.html", feed_url=site_urls().calendar(feed.token) if feed else None,
                           form=EmptyForm())


@bp.route("/dashboard/calendar/new", methods=["POST"])
@login_required
def new_calendar_address() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    had_one = get_session().get(CalendarFeed, current_user.id) is not None
    live.new_feed_token(get_session(), current_user)
    commit()
    flash("Your new calendar address is below. The old one no longer works: calendars subscribed to it stop "
          "updating until you give them the new one." if had_one else
          "Your calendar address is below: add it to your calendar application as a subscription.", "info")
    return redirect(url_for("calendar.calendar_page"))
