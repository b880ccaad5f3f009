"""A run's live sessions (/lead/runs/<run>/sessions): schedule, change, cancel; the
rules (time zones, the join link's window, e-mails, calendars) are
``shooc.lead.live_sessions``'s. A refused change shows the page again with every
field as the leader typed it and a message under each field that is wrong."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from shooc.auth.forms import EmptyForm
from shooc.db import utcnow
from shooc.enrolment.models import Run
from shooc.lead import bp
from shooc.lead import communications as comms
from shooc.lead import live_sessions as live
from shooc.lead.forms import LiveSessionForm
from shooc.lead.models import LiveSession
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import commit_and_deliver, run_or_404, site_urls


def _values(form: LiveSessionForm) -> dict[str, str]:
    return {name: getattr(form, name).data or "" for name in ("title", "starts", "minutes", "join_url",
                                                             "description")}


def _show_problems(form: LiveSessionForm, problems: dict[str, str]) -> None:
    for name, problem in problems.items():
        getattr(form, name).errors = [problem]


def _deliver(emailed: int) -> None:
    """Commit, then deliver the queued e-mails in the background, if any (as announcements do)."""
    if emailed:
        commit_and_deliver(emailed)
    else:
        commit()


@bp.route("/runs/<slug>/sessions", methods=["GET", "POST"])
def sessions(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    db = get_session()
    form = LiveSessionForm()
    if form.validate_on_submit():
        values = _values(form)
        try:
            scheduled, emailed = live.schedule(db, current_user, run, values["title"], values["starts"],
                                               values["minutes"], site_urls(), join_url=values["join_url"],
                                               description=values["description"])
        except comms.Invalid as exc:
            rollback()
            _show_problems(form, exc.problems)
        else:
            title, when, run_slug = scheduled.title, live.shown(scheduled.starts_at, run.timezone), run.slug
            _deliver(emailed)
            flash(f"“{title}” is scheduled for {when}: learners see it on their dashboards; "
                  f"{emailed} e-mail{'' if emailed == 1 else 's'} on the way.", "info")
            return redirect(url_for("lead.sessions", slug=run_slug))
    return _page(run, form)


def _page(run: Run, form: LiveSessionForm, editing: LiveSession | None = None) -> ResponseReturnValue:
    db = get_session()
    views = [live.SessionView(s, run, utcnow()) for s in live.run_sessions(db, run)]
    recordings = comms.session_recordings(db, [v.live.id for v in views])
    return render_template("lead/sessions.html", run=run, form=form, sessions=views, editing=editing,
                           recordings=recordings, audience=comms.audience(db, run), cancel_form=EmptyForm(),
                           join_early=live.JOIN_EARLY.seconds // 60, feed_url=site_urls().run_calendar(run.slug)), \
        (422 if form.errors else 200)


def _session_or_404(run: Run, session_id: int) -> LiveSession:
    found = get_session().get(LiveSession, session_id)
    if found is None or found.run_id != run.id:
        abort(404)
    return found


@bp.route("/runs/<slug>/sessions/<int:session_id>", methods=["GET", "POST"])
def edit_session(slug: str, session_id: int) -> ResponseReturnValue:
    run = run_or_404(slug)
    editing = _session_or_404(run, session_id)
    db = get_session()
    form = LiveSessionForm()
    if request.method == "GET":
        form.title.data, form.minutes.data = editing.title, str(editing.minutes)
        form.starts.data = live.local_input(editing.starts_at, run.timezone)
        form.join_url.data, form.description.data = editing.join_url or "", editing.description
    elif form.validate_on_submit():
        values = _values(form)
        try:
            changed, emailed = live.change(db, current_user, editing, values["title"], values["starts"],
                                           values["minutes"], site_urls(), join_url=values["join_url"],
                                           description=values["description"])
        except comms.Invalid as exc:
            rollback()
            _show_problems(form, exc.problems)
        except live.SessionError as exc:
            rollback()
            flash(str(exc), "error")
            return redirect(url_for("lead.sessions", slug=run.slug))
        else:
            title = editing.title
            _deliver(emailed)
            flash(f"“{title}” is changed ({', '.join(_FIELD_NAMES[c] for c in changed)}); calendars will "
                  "update." if changed else f"Nothing was changed in “{title}”.", "info")
            return redirect(url_for("lead.sessions", slug=run.slug))
    return _page(run, form, editing)


_FIELD_NAMES = {"title": "title", "starts_at": "time", "minutes": "length", "join_url": "join link",
                "description": "description"}


@bp.route("/runs/<slug>/sessions/<int:session_id>/cancel", methods=["POST"])
def cancel_session(slug: str, session_id: int) -> ResponseReturnValue:
    run = run_or_404(slug)
    cancelling = _session_or_404(run, session_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        emailed = live.cancel(get_session(), current_user, cancelling, site_urls())
    except live.SessionError as exc:
        rollback()
        flash(str(exc), "error")
        return redirect(url_for("lead.sessions", slug=run.slug))
    title = cancelling.title
    _deliver(emailed)
    flash(f"“{title}” is cancelled: learners were told, and calendars show it cancelled.", "info")
    return redirect(url_for("lead.sessions", slug=run.slug))
