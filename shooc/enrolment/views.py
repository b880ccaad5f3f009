"""The learner's pages: enrol, dashboard, workbooks (answer, save, check, submit),
withdraw. Leaders open the same workbook URL as a preview."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from shooc import course_team
from shooc.auth.forms import EmptyForm
from shooc.auth.models import Role
from shooc.community.services import shared_reflections
from shooc.db import utcnow
from shooc.enrolment import answers, recall, rules, services
from shooc.enrolment import dashboard as dashboards
from shooc.enrolment import pending as pending_drafts
from shooc.enrolment import self_assessment as self_assessments
from shooc.enrolment.models import Enrolment, PendingDraft, Run, SubmissionReturn
from shooc.enrolment.runs import open_runs, upcoming_runs
from shooc.evaluate.survey import survey_offer
from shooc.lead import live_sessions, review
from shooc.lead.communications import latest_announcements, recordings_on_page
from shooc.lead.models import WorkbookFeedback
from shooc.unit_of_work import commit, get_session, rollback, will_write
from shooc.web import (
    PENDING_DRAFT_KEY,
    csrf,
    from_this_site,
    int_arg,
    login_manager,
    published_course_or_404,
    roles_required,
)
from shooc.workbooks import published, quizorder
from shooc.workbooks.activities import Quiz, get_kind
from shooc.workbooks.contents import contents
from shooc.workbooks.models import Course, CourseVersion, WorkbookVersion

bp = Blueprint("learn", __name__)
PRESSED_KEY = "shooc.pressed"  # what the button just pressed did, for the page after the redirect


@bp.route("/courses/<course_slug>/enrol", methods=["POST"])
@roles_required(Role.learner)  # staff enrolled would count as registrations in the run's figures
def enrol(course_slug: str) -> ResponseReturnValue:
    db = get_session()
    course = published_course_or_404(course_slug)
    run = db.scalar(select(Run).where(Run.course_id == course.id, Run.slug == request.form.get("run", "")))
    if run is None:
        abort(404)
    try:
        services.enrol(db, run, current_user.id)
    except services.EnrolmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("workbooks.course_page", course_slug=course.slug))
    commit()
    flash(f"You are enrolled in {run.name}. Start with any workbook: your answers are saved as you go."
          + (" New to the course? “Start here” below says how it works." if _has_start_page(course) else ""), "info")
    return redirect(url_for("learn.dashboard"))


@bp.route("/courses/<course_slug>/start")
def start_page(course_slug: str) -> ResponseReturnValue:
    """The course's "Start here" page (start.md), public: how the course works, and
    for an enrolled learner who has not rated themself yet, the self-assessment
    before the course (shooc/enrolment/self_assessment.py); for others the enrol box."""
    db = get_session()
    course = published_course_or_404(course_slug)
    version = published.version(db, course.current_version_id) or abort(404)
    start = version.meta.get("start_page") or abort(404)
    enrolment = summary = None
    if current_user.is_authenticated and current_user.role is Role.learner:
        enrolment = services.enrolment_for(db, current_user.id, course)
        if enrolment is not None:
            summary = next(iter(dashboards.enrolment_summaries(db, [enrolment])), None)
    today = rules.today_in()
    return render_template("learn/start.html", course=course, version=version, start=start, enrolment=enrolment,
                           summary=summary, form=EmptyForm() if current_user.is_authenticated else None,
                           scale=self_assessments.SCALE, chosen={}, missing=set(), phase=self_assessments.BEFORE,
                           open_runs=open_runs(db, course, today), upcoming_runs=upcoming_runs(db, course, today),
                           today=today, glossary_url=_glossary_url(course, version))


def _has_start_page(course: Course) -> bool:
    version = published.version(get_session(), course.current_version_id) if course.current_version_id else None
    return bool(version and version.meta.get("start_page"))


def _glossary_url(course: Course, version: CourseVersion) -> str | None:
    """The course's glossary page, when the published version has a glossary."""
    return url_for("workbooks.glossary", course_slug=course.slug) if version.meta.get("glossary") else None


@bp.route("/dashboard")
@login_required
def dashboard() -> ResponseReturnValue:
    db = get_session()
    summaries = dashboards.dashboard(db, current_user.id)
    now = utcnow()
    runs = {s.run.id: s.run for s in summaries if not s.withdrawn}
    coming = {run_id: [live_sessions.SessionView(live, runs[run_id], now) for live in found]
              for run_id, found in live_sessions.coming_sessions(db, runs, now).items()}
    certificates = {s.enrolment.id: s.certificate_code for s in summaries if s.finished and s.certificate_code}
    to_join = {s.enrolment.id: run for s in summaries if (s.closed or s.withdrawn)
               and (run := services.run_to_join(db, s.enrolment, s.today)) is not None}
    surveys = {s.enrolment.id: offer for s in summaries if (offer := survey_offer(
        s.enrolment, s.certificate_code is not None, s.evaluation_source)) is not None}
    return render_template("learn/dashboard.html", summaries=summaries, form=EmptyForm(), sessions=coming,
                           certificates=certificates, to_join=to_join,
                           join_early=live_sessions.JOIN_EARLY.seconds // 60,
                           announcements=latest_announcements(db, {s.run.id for s in summaries}),
                           surveys=surveys)


def _own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = get_session().get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != current_user.id:
        abort(404)  # not 403: another learner's enrolment does not exist for you
    return enrolment


@bp.route("/dashboard/enrolments/<int:enrolment_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(enrolment_id: int) -> ResponseReturnValue:
    enrolment = _own_enrolment(enrolment_id)
    form = EmptyForm()
    if form.validate_on_submit():
        db = get_session()
        services.withdraw(db, enrolment)
        commit()
        flash(f"You have withdrawn from {enrolment.run.name}. Your work is kept and can still be read and "
              "downloaded; you can rejoin while the run is open.", "info")
        return redirect(url_for("learn.dashboard"))
    return render_template("learn/withdraw.html", enrolment=enrolment, form=form)


@bp.route("/dashboard/enrolments/<int:enrolment_id>/rejoin", methods=["POST"])
@login_required
def rejoin(enrolment_id: int) -> ResponseReturnValue:
    enrolment = _own_enrolment(enrolment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        services.enrol(db, enrolment.run, current_user.id)
    except services.EnrolmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("learn.dashboard"))
    commit()
    flash(f"Welcome back to {enrolment.run.name}.", "info")
    return redirect(url_for("learn.dashboard"))


@bp.route("/dashboard/enrolments/<int:enrolment_id>/self-assessment/<phase>", methods=["GET", "POST"])
@login_required
def self_assessment(enrolment_id: int, phase: str) -> ResponseReturnValue:
    """Rating oneself against the course's standards, before or after the course
    (the rules: shooc/enrolment/self_assessment.py). ``action=skip`` is "Not now"."""
    if phase not in self_assessments.PHASES:
        abort(404)
    enrolment = _own_enrolment(enrolment_id)
    db = get_session()
    summary = next(iter(dashboards.enrolment_summaries(db, [enrolment])), None) or abort(404)
    form = EmptyForm()
    chosen: dict[str, int] = {}
    problem = missing = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            if request.form.get("action") == "skip":
                self_assessments.skip(db, enrolment, phase)
                commit()
                flash("Not now, then. " + (
                    "You can still rate yourself from your dashboard until you submit your first workbook."
                    if phase == self_assessments.BEFORE else "You can still rate yourself from your dashboard."),
                    "info")
                return redirect(url_for("learn.dashboard"))
            chosen = self_assessments.parse_ratings(request.form, summary.standards)
            self_assessments.record(db, enrolment, phase, chosen, summary.standards, summary.submitted,
                                    len(summary.workbooks), active=not (summary.closed or summary.withdrawn))
        except self_assessments.MissingRatings as exc:
            rollback()
            problem, missing = str(exc), {s["code"] for s in exc.missing}
        except self_assessments.SelfAssessmentError as exc:
            rollback()
            flash(str(exc), "error")
            return redirect(url_for("learn.dashboard"))
        else:
            commit()
            flash("Thank you: your ratings are kept. " + (
                "You will be asked again when you have submitted every workbook, to see what changed."
                if phase == self_assessments.BEFORE else "Your dashboard shows how your confidence changed."), "info")
            return redirect(url_for("learn.dashboard", _anchor=f"confidence-{enrolment.id}"))
    elif summary.self_assessment_phase != phase:
        flash("You have already rated yourself, or this self-assessment is not open now." if
              summary.self_assessment.done(phase) else
              "The rating before the course can be given until you submit your first workbook; the one after, "
              "once you have submitted every workbook.", "info")
        return redirect(url_for("learn.dashboard"))
    return render_template("learn/self_assessment.html", summary=summary, phase=phase, form=form,
                           chosen=chosen, problem=problem, missing=missing or set(),
                           scale=self_assessments.SCALE), 422 if problem else 200


def _form_dict(form: MultiDict) -> dict[str, list[str]]:
    return {key: form.getlist(key) for key in form if key != "csrf_token"}


@bp.route("/courses/<course_slug>/workbooks/<workbook_slug>", methods=["GET", "POST"])
@csrf.exempt  # checked below, so that a post from an ended session can be kept, not refused
def workbook(course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    if request.method == "GET" and session.get(PENDING_DRAFT_KEY):
        will_write()  # restoring a kept draft
    db = get_session()
    if not current_user.is_authenticated:
        if request.method == "POST" and request.form:
            return _keep_until_login(db, course_slug, workbook_slug)
        return login_manager.unauthorized()
    course = published_course_or_404(course_slug)
    if current_user.is_leader:
        return _preview(course, workbook_slug)
    if current_user.role is not Role.learner:
        abort(403)  # evaluators see figures, never workbooks

    enrolment = services.enrolment_for(db, current_user.id, course)
    if enrolment is None:
        if course_team.leads_course(db, current_user, course.id):  # an LTI instructor: as leaders see it
            return _preview(course, workbook_slug)
        flash("Enrol in the course to open its workbooks.", "error")
        return redirect(url_for("workbooks.course_page", course_slug=course.slug))
    workbook = published.workbook(db, course.current_version_id, workbook_slug) or abort(404)
    records = answers.workbook_records(db, enrolment, workbook.slug)
    state = answers.workbook_state(db, enrolment, workbook, records=records)

    if request.method == "GET":
        notes = _notes(enrolment, state, records)
        page = _restore_pending(db, course, enrolment, state) or _render(course, enrolment, state, notes=notes)
        if notes.feedback is not None and notes.feedback.read_at is None:  # the feedback is read now
            commit()  # the page's reads end here, so that the write below waits its turn on SQLite
            review.feedback_seen(db, enrolment, workbook.slug)
            commit()
        return page

    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return _render(course, enrolment, state, posted=request.form, status=400, problem=(
            "This page had been open too long for its form to be accepted. Your text is shown again below: "
            "press Save again."))
    if request.form.get("action") in ("restore", "restore-discard"):
        return _resolve_restore(db, course, enrolment, state, request.form)
    return _act(db, course, enrolment, state, request.form)


def _json_error(status: int, message: str, **more: Any) -> ResponseReturnValue:
    return jsonify(error=message, **more), status


def _autosave_body(body: Any) -> tuple[str, int, MultiDict[str, str]] | str:
    """The activity, base revision and fields of an autosave, or what is wrong with it."""
    if not isinstance(body, dict):
        return "Send a JSON object with 'activity', 'revision' and 'fields'."
    activity, revision, fields = body.get("activity"), body.get("revision"), body.get("fields")
    if not isinstance(activity, str) or not activity:
        return "'activity' must name one of the workbook's activities."
    if not isinstance(revision, int) or isinstance(revision, bool) or not 0 <= revision < 2**31:
        return "'revision' must be the whole number of the answer's revision the page had (0 for none)."
    if not isinstance(fields, dict) or not all(
            isinstance(key, str) and (isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)))
            for key, value in fields.items()):
        return "'fields' must map each field's name to its text or a list of texts."
    pairs = [(key, v) for key, value in fields.items() for v in ([value] if isinstance(value, str) else value)]
    if "\x00" in activity or any("\x00" in key or "\x00" in value for key, value in pairs):
        return ("The text contains a NUL character, which cannot be stored (it is often pasted from another "
                "program): remove it.")
    return activity, revision, MultiDict(pairs)


@bp.route("/courses/<course_slug>/workbooks/<workbook_slug>/autosave", methods=["POST"])
@csrf.exempt  # checked below, so that the page's script gets its refusal in JSON
def autosave(course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    """One activity's answer, saved as the learner types (answers.autosave says how a
    save over newer text is refused). JSON in and out; the page's script sends the CSRF
    token in the X-CSRFToken header."""
    if not current_user.is_authenticated:
        return _json_error(401, "Your session has ended, so this was not saved. What you typed is kept in this "
                                "browser: log in again in another tab, then come back.")
    if current_user.role is not Role.learner:
        return _json_error(403, "Only learners enrolled in the course save answers.")
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return _json_error(400, "This page had been open too long for its saves to be accepted: reload it. "
                                "What you typed is kept in this browser.")
    db = get_session()
    course = published_course_or_404(course_slug)
    enrolment = services.enrolment_for(db, current_user.id, course)
    workbook = published.workbook(db, course.current_version_id, workbook_slug)
    if enrolment is None or workbook is None:
        return _json_error(404, "There is no workbook of yours at this address.")
    parsed = _autosave_body(request.get_json(silent=True))
    if isinstance(parsed, str):
        return _json_error(400, parsed)
    activity_id, base, fields = parsed
    state = answers.workbook_state(db, enrolment, workbook)
    try:
        saved = answers.autosave(db, enrolment, state, activity_id, fields, base, _option_key())
    except answers.UnknownAction:
        return _json_error(400, f"The workbook has no activity '{activity_id}' that can be saved this way.")
    except answers.Stale as exc:
        rollback()
        activity = state.activities[activity_id].activity
        return _json_error(409, "This answer was changed in another tab or on another device after this page was "
                                "opened. Choose which text to keep.",
                           revision=exc.revision, saved_at=exc.saved_at.isoformat() if exc.saved_at else None,
                           fields=answers.answer_fields(activity, exc.answer, _option_key()))
    except answers.TooLong as exc:
        rollback()
        return _json_error(422, "Too long to save: " + " ".join(exc.problems.get(activity_id, [])) + ". Shorten it; "
                           "your text is kept in this browser.", problems=exc.problems)
    except services.EnrolmentError as exc:
        rollback()
        return _json_error(403, f"Not saved: {exc}", locked=True)
    commit()
    return jsonify(activity=saved.activity_id, revision=saved.revision, changed=saved.changed,
                   saved_at=saved.saved_at.isoformat() if saved.saved_at else None, complete=saved.complete,
                   required_done=saved.required_done, required=saved.required)


def _act(db: Session, course: Course, enrolment: Enrolment, state: answers.WorkbookState,
         form: MultiDict[str, str]) -> ResponseReturnValue:
    try:
        pressed = answers.press(db, enrolment, state, form.get("action", "save"), form, _option_key())
    except answers.UnknownAction:
        abort(400)
    except answers.Incomplete as exc:
        commit()  # the drafts are kept even though the submission is refused
        return _render(course, enrolment, state, status=422, missing=exc.missing, problem=(
            "The workbook cannot be submitted yet: finish the activities marked below. Your answers are saved."))
    except answers.TooLong as exc:
        return _render(course, enrolment, state, posted=form, status=422, missing=exc.problems,
                       problem="Some answers are too long to save. Shorten them and save again: your text is below.")
    except answers.Overtaken as exc:
        return _render(course, enrolment, state, posted=form, status=409, problem=(
            "Nothing was saved: an answer marked below was changed in another tab or on another device after this "
            "page was opened. Choose which text to keep, then press a button again."),
            missing={aid: [_changed_elsewhere(state, aid, enrolment.run.timezone)] for aid in exc.activities})
    except services.EnrolmentError as exc:
        return _render(course, enrolment, state, posted=form, status=409, problem=(
            f"{exc} What you typed is shown below so that you can copy it."))
    commit()
    if pressed.outcome == "confirm":
        left = len(answers.workbook_state(db, enrolment, state.workbook).required_missing)
        return render_template("learn/confirm_submit.html", course=course, workbook=state.workbook, left=left)
    if pressed.outcome in ("submitted", "already-submitted"):
        flash(f"Workbook {state.workbook.position} is submitted. Well done!" if pressed.outcome == "submitted"
              else f"Workbook {state.workbook.position} is already submitted.", "info")
        return redirect(url_for("learn.dashboard"))
    # What the press did is said beside the button pressed, not at the top of a long page.
    if pressed.attempt is not None:
        result = pressed.attempt
        said = (f"You scored {result['score']} out of {result['total']}: "
                + ("a pass." if result["passed"] else "not yet a pass; look at the feedback and try again."))
    else:
        said = "Draft saved." if pressed.activity_id else "All your answers are saved."
    session[PRESSED_KEY] = {"activity": pressed.activity_id or "", "message": said}
    anchor = f"activity-{pressed.activity_id}" if pressed.activity_id else None
    return redirect(url_for("learn.workbook", course_slug=course.slug, workbook_slug=state.workbook.slug,
                            _anchor=anchor))


#: The kinds whose newer answer the page can quote as text.
TEXT_KINDS = frozenset({"reflection", "discussion", "smart-goal"})


def _changed_elsewhere(state: answers.WorkbookState, activity_id: str, timezone: str) -> str:
    """What the page says of an answer saved elsewhere over the one on this page: the
    newer text (the box holds the learner's own), and how to keep either."""
    saved = state.activities[activity_id]
    when = saved.saved_at.astimezone(ZoneInfo(timezone)).strftime("%H:%M") if saved.saved_at else "a moment ago"
    texts = [text for values in answers.answer_fields(saved.activity, saved.answer, _option_key()).values()
             for text in values if text.strip()] if saved.activity.kind in TEXT_KINDS else []
    newer = f" The newer text: “{' / '.join(texts)}”." if texts else ""
    return (f"This answer was saved elsewhere at {when}, after this page was opened.{newer} The form shows what "
            "you typed here: press Save draft to keep yours, or replace it with the newer one first.")


def _keep_until_login(db: Session, course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    """A workbook form posted without a live session: kept for after the login, within
    the bounds of ``pending_drafts.keep_pending_draft`` (its comment says why), and only if
    the browser says one of this site's pages sent it: a hostile page's form keeps
    nothing and sets no cookie."""
    if not from_this_site():
        abort(403, description="This form was sent from another site, so nothing was kept. If you were working in "
                               "your workbook, open it again on this site and log in.")
    course = published_course_or_404(course_slug)
    workbook = published.workbook(db, course.current_version_id, workbook_slug) or abort(404)
    form = pending_drafts.workbook_fields(workbook, _form_dict(request.form))
    if not form:
        return login_manager.unauthorized()
    address = pending_drafts.address_key(current_app.config["SECRET_KEY"], request.remote_addr or "")
    try:
        token = pending_drafts.keep_pending_draft(db, request.path, form, address)
    except pending_drafts.PendingRefused as exc:
        rollback()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return render_template("error.html", code=exc.status, title="Your session had ended", message=(
            f"{exc} Nothing was kept: go back, copy what you typed, log in and paste it into the workbook.")), \
            exc.status, headers
    commit()
    session[PENDING_DRAFT_KEY] = token
    flash("Your session had ended, so nothing could be saved yet. Log in again and what you typed will be "
          "saved into your workbook.", "error")
    return login_manager.unauthorized()


def _restore_pending(db: Session, course: Course, enrolment: Enrolment,
                     state: answers.WorkbookState) -> ResponseReturnValue | None:
    """After a login, the draft kept for this workbook: saved at once where that
    replaces no newer text; otherwise a page showing both, for the learner to choose."""
    token = session.get(PENDING_DRAFT_KEY)
    pending = pending_drafts.find_pending_draft(db, token, request.path) if token else None
    if pending is None:
        return None
    plan = pending_drafts.plan_restore(state, pending.form, _option_key())
    if plan.conflicts:
        return render_template("learn/restore.html", course=course, workbook=state.workbook, plan=plan,
                               form=EmptyForm(), kept_at=pending.created_at)
    try:
        pending_drafts.restore_pending_draft(db, enrolment, state, pending, _option_key(), plan=plan)
    except (services.EnrolmentError, answers.TooLong) as exc:
        rollback()
        pending_drafts.forget_pending_draft(db, pending)  # it is on the page now, in the form
        commit()
        session.pop(PENDING_DRAFT_KEY, None)
        return _show_unsaved(course, enrolment, state, pending, exc)
    commit()
    session.pop(PENDING_DRAFT_KEY, None)
    flash("Welcome back. What you typed before your session ended is saved in your workbook.", "info")
    return redirect(request.path)


def _resolve_restore(db: Session, course: Course, enrolment: Enrolment, state: answers.WorkbookState,
                     form: MultiDict[str, str]) -> ResponseReturnValue:
    """The learner's choice on the restore page: for each conflicting answer, the
    saved text or what they typed (``keep.<activity>``: ``saved`` or ``typed``)."""
    token = session.pop(PENDING_DRAFT_KEY, None)
    pending = pending_drafts.find_pending_draft(db, token, request.path) if token else None
    if pending is None:
        flash("There was nothing left to restore: your workbook is as it was saved.", "info")
        return redirect(request.path)
    if form.get("action") == "restore-discard":
        pending_drafts.forget_pending_draft(db, pending)
        commit()
        flash("What you typed before your session ended is discarded; your saved answers are unchanged.", "info")
        return redirect(request.path)
    typed = frozenset(key.removeprefix("keep.") for key, value in form.items()
                      if key.startswith("keep.") and value == "typed")
    try:
        pending_drafts.restore_pending_draft(db, enrolment, state, pending, _option_key(), typed_wins=typed)
    except (services.EnrolmentError, answers.TooLong) as exc:
        rollback()
        return _show_unsaved(course, enrolment, state, pending, exc)
    commit()
    flash("Welcome back. Your workbook now has the answers you chose.", "info")
    return redirect(request.path)


def _show_unsaved(course: Course, enrolment: Enrolment, state: answers.WorkbookState, pending: PendingDraft,
                  exc: Exception) -> ResponseReturnValue:
    """The workbook with a kept draft that could not be saved in its fields, to copy."""
    reason = exc if isinstance(exc, services.EnrolmentError) else "some answers are too long."
    posted = MultiDict([(key, value) for key, values in pending.form.items() for value in values])
    return _render(course, enrolment, state, posted=posted, status=422, problem=(
        f"What you typed before your session ended could not be saved: {reason} "
        "It is shown below so that you can copy it."))


@dataclass(frozen=True, slots=True)
class WorkbookNotes:
    """What the workbook page says of the learner's workbook beside their answers."""

    feedback: WorkbookFeedback | None  # the course team's, read or not yet
    returned: SubmissionReturn | None  # handed back, and not submitted again since
    shared: dict[str, int] | None  # of a submitted workbook: activity id → the post sharing it
    revoked: tuple[dt.datetime, str] | None  # of a submitted workbook: when and why its badge was


def _notes(enrolment: Enrolment, state: answers.WorkbookState,
           records: answers.WorkbookRecords | None = None) -> WorkbookNotes:
    """From the workbook's records (the feedback also tells the GET whether it is read
    now), read again unless just read; and two queries more of a submitted workbook."""
    db, slug = get_session(), state.workbook.slug
    records = records or answers.workbook_records(db, enrolment, slug)
    submitted = state.submission is not None
    return WorkbookNotes(
        feedback=records.feedback,
        returned=None if submitted else records.returned,
        shared=shared_reflections(db, enrolment, slug) if submitted else None,
        revoked=dashboards.revoked_badges(db, [enrolment.id]).get((enrolment.id, slug)) if submitted else None)


def _render(course: Course, enrolment: Enrolment, state: answers.WorkbookState,
            posted: MultiDict[str, str] | None = None, status: int = 200,
            missing: dict[str, list[str]] | None = None, problem: str | None = None,
            notes: WorkbookNotes | None = None) -> ResponseReturnValue:
    """The workbook with the learner's answers, or what they just posted if it could
    not be saved (so that nothing they typed disappears)."""
    notes = notes or _notes(enrolment, state)
    shown = {aid: s.answer for aid, s in state.activities.items()}
    if posted is not None:
        shown.update(answers.drafts_from_form(state.workbook, posted, None, shown, _option_key()))
    version = published.version(get_session(), course.current_version_id) or abort(404)
    siblings = _siblings(version)
    pressed = session.pop(PRESSED_KEY, None) if status == 200 else None
    return render_template("learn/workbook.html", course=course, version=version, workbook=state.workbook,
                           activities={a.activity_id: a for a in state.workbook.activities}, siblings=siblings,
                           contents=contents(state.workbook.body_parts, state.workbook.title),
                           preview=False, state=state, answers=shown,
                           option_orders=_option_orders(state.workbook), missing=missing or {}, problem=problem,
                           enrolment=enrolment, form=EmptyForm(), loaded_at=utcnow().isoformat(), pressed=pressed,
                           recalled=recall.recalled(get_session(), enrolment, state.workbook),
                           feedback=notes.feedback, returned=notes.returned, **_recordings(course, state.workbook),
                           shared=notes.shared, revoked=notes.revoked), status


def _option_key() -> bytes:
    """The signed-in learner's key of quiz option codes (shooc.workbooks.quizorder says why)."""
    return quizorder.learner_key(current_app.config["SECRET_KEY"], current_user.id)


def _option_orders(workbook: WorkbookVersion) -> dict[str, dict[str, list[tuple[int, str]]]]:
    """Each quiz's questions' options in the learner's own order, under their codes."""
    key = _option_key()
    orders = {}
    for activity in workbook.activities:
        kind = get_kind(activity.kind)
        if isinstance(kind, Quiz):
            orders[activity.activity_id] = kind.option_orders(activity.activity_id, activity.definition, key)
    return orders


def _recordings(course: Course, workbook: WorkbookVersion) -> dict[str, Any]:
    """The page's recordings: ``placed`` in its media activities (shown there only), the
    other ``recordings`` after the text."""
    placed, others = recordings_on_page(get_session(), course.id, workbook.slug,
                                        [a.activity_id for a in workbook.activities if a.kind == "media"])
    return {"placed": placed, "recordings": others}


def _siblings(version: CourseVersion) -> list[tuple[int, str, str]]:
    return [(w.position, w.slug, w.title) for w in version.workbooks]  # in order


def _preview(course: Course, workbook_slug: str) -> ResponseReturnValue:
    """Leaders see any version (``?version=N``) exactly as learners do, read-only."""
    db = get_session()
    version_id = course.current_version_id
    requested = request.args.get("version", type=int_arg)
    if requested is not None:
        version_id = db.scalar(select(CourseVersion.id).where(
            CourseVersion.course_id == course.id, CourseVersion.number == requested)) or abort(404)
    version = published.version(db, version_id) or abort(404)
    workbook = published.workbook(db, version_id, workbook_slug) or abort(404)
    return render_template("learn/workbook.html", course=course, version=version, workbook=workbook,
                           activities={a.activity_id: a for a in workbook.activities},
                           siblings=_siblings(version), preview=True, state=None, answers={}, missing={},
                           contents=contents(workbook.body_parts, workbook.title),
                           problem=None, enrolment=None, form=None,
                           recalled=recall.recalled(db, None, workbook),
                           **_recordings(course, workbook))
