"""Announcements to a run, messages to one learner or a group, and webinar recordings
attached to workbooks (/lead).

E-mail delivery, decided: an announcement's (or a message's) e-mails are queued in the same
transaction as the announcement (``shooc.mailqueue``), with a job to deliver them
(``mail.deliver``, shooc/jobs.py); once that commits, the job runner delivers the
queue, so that announcements go out without a cron job and the leader does not wait
for the mail server. Whatever the job does not finish (the mail server is down) is
delivered by ``shooc mail send``, run from cron every few minutes; the queue's claims
make the two safe to run at once.
"""
from __future__ import annotations

from typing import Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.auth.forms import EmptyForm, filled, select_choices
from shooc.enrolment.models import Enrolment, Run
from shooc.lead import bp
from shooc.lead import communications as comms
from shooc.lead import live_sessions as live
from shooc.lead import messages as team
from shooc.lead.forms import AnnouncementForm, MessageForm, RecordingForm
from shooc.lead.models import Announcement, LiveSession, Recording
from shooc.lead.services import LeadError
from shooc.mailqueue import queue_figures
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import commit_and_deliver, int_arg, run_or_404, site_urls
from shooc.workbooks.models import Course


@bp.route("/runs/<slug>/announcements", methods=["GET", "POST"])
def announcements(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    db = get_session()
    form = AnnouncementForm()
    preview = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = comms.render_announcement(filled(form.body.data))
        else:
            try:
                announcement = comms.post_announcement(db, current_user, run, filled(form.title.data),
                                                       filled(form.body.data), site_urls())
            except comms.AlreadyPosted as exc:
                rollback()
                flash(f"“{exc.existing.title}” was already posted a moment ago; it was not posted or e-mailed "
                      "again.", "info")
                return redirect(url_for("lead.announcements", slug=run.slug))
            except comms.Invalid as exc:
                rollback()
                for name, problem in exc.problems.items():
                    getattr(form, name).errors = [problem]
            else:
                n, title, run_slug = announcement.emailed_to, announcement.title, run.slug
                commit_and_deliver(n)
                flash(f"Posted “{title}”: learners see it on their dashboards; "
                      f"{n} e-mail{'' if n == 1 else 's'} on the way.", "info")
                return redirect(url_for("lead.announcements", slug=run_slug))
    return render_template("lead/announcements.html", run=run, form=form, preview=preview,
                           audience=comms.audience(db, run), announcements=comms.announcements(db, run),
                           queue=queue_figures(db), delete_form=EmptyForm()), (422 if form.errors else 200)


@bp.route("/runs/<slug>/announcements/<int:announcement_id>/remove", methods=["POST"])
def remove_announcement(slug: str, announcement_id: int) -> ResponseReturnValue:
    run = run_or_404(slug)
    db = get_session()
    announcement = db.get(Announcement, announcement_id)
    if announcement is None or announcement.run_id != run.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    comms.remove_announcement(db, current_user, announcement)
    commit()
    flash(f"“{announcement.title}” is no longer on learners' dashboards. E-mails already sent cannot be recalled.",
          "info")
    return redirect(url_for("lead.announcements", slug=run.slug))


@bp.route("/runs/<slug>/messages", methods=["GET", "POST"])
def messages(slug: str) -> ResponseReturnValue:
    """Write to one learner (``to``: their enrolment) or to the participants a filter selects."""
    run = run_or_404(slug)
    db = get_session()
    form = MessageForm()
    to = (request.form if request.method == "POST" else request.args).get("to", type=int_arg)
    recipient = db.get(Enrolment, to) if to is not None else None
    if to is not None and (recipient is None or recipient.run_id != run.id or recipient.user is None):
        abort(404)
    if recipient is not None:
        audience = team.Audience("one", enrolment_id=recipient.id)
        del form.audience, form.days  # not on the page: to one learner
    else:
        audience = team.Audience(form.audience.data or "everyone", days=form.days.data or team.QUIET_DAYS)
    if form.validate_on_submit() and request.form.get("action") == "send":
        try:
            sent = team.send_message(db, current_user, run, audience, filled(form.subject.data),
                                     filled(form.body.data), site_urls())
        except team.MessageProblems as exc:
            rollback()
            for name, problem in exc.problems.items():
                getattr(form, name).errors = [problem]
        except LeadError as exc:
            rollback()
            flash(str(exc)[0].upper() + str(exc)[1:] + ": nothing was sent.", "error")
        else:
            n, reached, subject = sent.emailed_to, sent.recipients, sent.subject
            commit_and_deliver(n)
            flash(f"Sent “{subject}” to {reached} {'person' if reached == 1 else 'people'}; "
                  f"{n} e-mail{'' if n == 1 else 's'} on the way.", "info")
            return redirect(url_for("lead.messages", slug=run.slug))
    refused = bool(form.errors) or request.method == "POST" and request.form.get("action") == "send"
    return render_template("lead/messages.html", run=run, form=form, to=to,
                           learner=recipient.user if recipient is not None else None,
                           reach=team.reach(db, run, audience) if audience.kind in (*team.AUDIENCES, "one") else None,
                           sent=team.sent_messages(db, run)), (422 if refused else 200)


def _course(course_slug: str) -> Course:
    course = get_session().scalar(select(Course).where(Course.slug == course_slug))
    if course is None or course.current_version_id is None:
        abort(404)
    return course


@bp.route("/courses/<course_slug>/recordings", methods=["GET", "POST"])
def recordings(course_slug: str) -> ResponseReturnValue:
    course = _course(course_slug)
    db = get_session()
    workbooks = comms.course_workbooks(db, course)
    form = RecordingForm()
    form.workbook.choices = select_choices([(w.slug, f"{w.position}. {w.title}") for w in workbooks])
    media = comms.media_activities(db, course)
    form.activity.choices = select_choices([("", "After the workbook's text")] + [
        (activity_id, f"In {label}") for _, activity_id, label in media])
    runs = {r.id: r for r in db.scalars(select(Run).where(Run.course_id == course.id))}
    course_sessions = [s for s in db.scalars(select(LiveSession).where(LiveSession.run_id.in_(list(runs)))
                                             .order_by(LiveSession.starts_at))]
    form.session.choices = select_choices([("", "None")] + [
        (str(s.id), f"{runs[s.run_id].name}: {s.title}, {live.shown(s.starts_at, runs[s.run_id].timezone)}")
        for s in course_sessions])
    if request.method == "GET":
        _prefill(form, request.args, {s.id: s for s in course_sessions}, runs, media)
    if form.validate_on_submit():
        session_id = _id(form.session.data or "")
        try:
            recording = comms.add_recording(db, current_user, course, form.workbook.data,
                                            filled(form.title.data), filled(form.url.data),
                                            filled(form.transcript.data), form.recorded_on.data,
                                            activity_id=form.activity.data or None, session_id=session_id)
        except comms.Invalid as exc:
            rollback()
            for name, problem in exc.problems.items():
                getattr(form, name).errors = [problem]
        else:
            commit()
            where = "in its recording activity" if recording.activity_id else "after the workbook's text"
            flash(f"“{recording.title}” is on the workbook's page, with its transcript ({where}).", "info")
            return redirect(url_for("lead.recordings", course_slug=course.slug,
                                    _anchor=f"wb-{recording.workbook_slug}"))
    by_workbook: dict[str, list[Recording]] = {}
    for r in comms.course_recordings(db, course):
        by_workbook.setdefault(r.workbook_slug, []).append(r)
    labels = {(w, a): label for w, a, label in media}
    return render_template("lead/recordings.html", course=course, title=comms.course_title(db, course.id),
                           workbooks=workbooks, by_workbook=by_workbook, form=form, delete_form=EmptyForm(),
                           labels=labels, sessions={s.id: s for s in course_sessions}), \
        (422 if form.errors else 200)


def _id(value: str) -> int | None:
    """A row id from a form or query (None if it is none an INTEGER column can hold)."""
    try:
        return int_arg(value) if value.isascii() and value.isdigit() else None
    except ValueError:
        return None


def _prefill(form: RecordingForm, args: Mapping[str, str], sessions: dict[int, LiveSession], runs: dict[int, Run],
             media: list[tuple[str, str, str]]) -> None:
    """?workbook=, ?activity= and ?session= (the live session's page links here): the form filled in."""
    if args.get("workbook"):
        form.workbook.data = args["workbook"]
    if args.get("activity"):
        form.activity.data = args["activity"]
        form.workbook.data = next((w for w, a, _ in media if a == args["activity"]), form.workbook.data)
    chosen = sessions.get(_id(args.get("session", "")) or 0)
    if chosen is not None:
        form.session.data = str(chosen.id)
        form.title.data = form.title.data or chosen.title
        form.recorded_on.data = live.in_zone(chosen.starts_at, runs[chosen.run_id].timezone).date()


@bp.route("/courses/<course_slug>/recordings/<int:recording_id>/remove", methods=["POST"])
def remove_recording(course_slug: str, recording_id: int) -> ResponseReturnValue:
    course = _course(course_slug)
    db = get_session()
    recording = db.get(Recording, recording_id)
    if recording is None or recording.course_id != course.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    comms.remove_recording(db, current_user, course, recording)
    commit()
    flash(f"“{recording.title}” is removed from the workbook's page.", "info")
    return redirect(url_for("lead.recordings", course_slug=course.slug))
