"""The leaders' area, /lead: runs, participants, one learner, extensions, feedback, workbooks handed
back, the review queue, the audit log."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.audit import audit, audit_entries
from shooc.auth.forms import EmptyForm, filled, select_choices
from shooc.badges.models import BadgeAssertion
from shooc.badges.services import latest_certificate
from shooc.csvfile import csv_text
from shooc.enrolment import answers as enrolment_answers
from shooc.enrolment import runs as enrolment_runs
from shooc.enrolment.models import Enrolment, Run, SubmissionReturn
from shooc.lead import bp, led_course_ids, published_courses, review, services
from shooc.lead.forms import ExtendForm, FeedbackForm, ReasonForm, RunForm
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import int_arg, run_or_404
from shooc.workbooks import current
from shooc.workbooks.models import Course


@bp.route("/")
def home() -> ResponseReturnValue:
    led = led_course_ids()
    return render_template("lead/home.html", runs=services.runs_overview(get_session(), led),
                           courses=published_courses(), site_wide=led is None)


@bp.route("/runs/new", methods=["GET", "POST"])
def new_run() -> ResponseReturnValue:
    form = RunForm()
    form.course.choices = select_choices(published_courses())
    if form.validate_on_submit():
        db = get_session()
        course = db.scalar(select(Course).where(Course.slug == form.course.data)) or abort(400)
        try:
            run = enrolment_runs.create_run(
                db, course, filled(form.opens_on.data), filled(form.closes_on.data), mode=form.mode.data,
                name=form.name.data, slug=form.slug.data or None, pace_days=filled(form.pace_days.data),
                capacity=form.capacity.data)
        except enrolment_runs.RunError as exc:
            form.slug.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            audit(db, current_user, "run.create", f"Created run {run.slug} ({run.opens_on} to {run.closes_on})",
                  run=run)
            commit()
            flash(f"Run {run.name} is created: {run.slug}.", "info")
            return redirect(url_for("lead.home"))
    return render_template("lead/run_form.html", form=form, run=None), (422 if form.errors else 200)


@bp.route("/runs/<slug>/edit", methods=["GET", "POST"])
def edit_run(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    form = RunForm(obj=run)
    form.course.choices = select_choices([(run.course.slug, run.course.slug)])
    form.course.data = run.course.slug
    affected = None
    if form.validate_on_submit():
        db = get_session()
        closes_on = filled(form.closes_on.data)
        affected = services.affected_by_new_close_date(db, run, closes_on)
        if affected and request.form.get("confirmed") != closes_on.isoformat():
            # Show how many learners a new closing date moves before saving it.
            return render_template("lead/run_form.html", form=form, run=run, affected=affected), 200
        try:
            changes = services.update_run(db, current_user, run, name=filled(form.name.data),
                                          opens_on=filled(form.opens_on.data), closes_on=closes_on,
                                          mode=form.mode.data, pace_days=filled(form.pace_days.data),
                                          capacity=form.capacity.data,
                                          slug=form.slug.data or run.slug)
        except enrolment_runs.RunError as exc:
            rollback()
            form.slug.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            commit()
            flash("Saved: " + "; ".join(changes) if changes else "Nothing changed.", "info")
            return redirect(url_for("lead.home"))
    return render_template("lead/run_form.html", form=form, run=run, affected=affected), (422 if form.errors else 200)


@bp.route("/runs/<slug>/close", methods=["GET", "POST"])
def close_run(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    form = ReasonForm()
    db = get_session()
    if form.validate_on_submit():
        try:
            affected = services.close_run(db, current_user, run, filled(form.reason.data))
        except services.LeadError as exc:
            flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
            return redirect(url_for("lead.home"))
        commit()
        flash(f"{run.name} is closed. {affected:,} learner{'' if affected == 1 else 's'} can now read but not "
              "submit.", "info")
        return redirect(url_for("lead.home"))
    last_day = run.today() - dt.timedelta(days=1)
    affected = services.affected_by_new_close_date(db, run, last_day)
    return render_template("lead/close_run.html", form=form, run=run, affected=affected, last_day=last_day), \
        (422 if form.errors else 200)


def _filters() -> dict:
    # Newest first unless asked otherwise: what a rolling run's leaders look at, and
    # the order an index gives at once however many people enrolled.
    sorted_by = "sort" in request.args
    return {"q": request.args.get("q", "")[:200], "status": request.args.get("status", ""),
            "sort": request.args.get("sort", "enrolled"),
            "desc": request.args.get("desc") == "1" if sorted_by else True}


@bp.route("/runs/<slug>/participants")
def participants(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    f = _filters()
    if f["status"] not in services.STATUSES:
        f["status"] = ""
    if f["sort"] not in services.SORTS:
        f["sort"] = "enrolled"
    db = get_session()
    if request.args.get("format") == "csv":
        return _participants_csv(run, f)
    page = services.participants(db, run, f["q"], f["status"], f["sort"], f["desc"],
                                 request.args.get("page", 1, type=int_arg))
    return render_template("lead/participants.html", run=run, page=page, filters=f, statuses=services.STATUSES)


def _participants_csv(run: Run, f: dict) -> Response:
    rows, workbooks, today = services.all_participants(get_session(), run, f["q"], f["status"])
    header = ["name", "email", "organisation", "enrolled_on", "close_date", "workbooks_submitted",
              "status", "last_activity"]
    response = Response(csv_text([header, *([r.name, r.email, r.organisation, r.enrolled_on, r.close_date,
                                             r.submitted, r.status(workbooks, today),
                                             r.last_activity.date().isoformat() if r.last_activity else ""]
                                            for r in rows)]), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="participants-{run.slug}.csv"'
    return response


def _enrolment(run: Run, enrolment_id: int) -> Enrolment:
    enrolment = get_session().get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.run_id != run.id:
        abort(404)
    return enrolment


@bp.route("/runs/<slug>/participants/<int:enrolment_id>")
def participant(slug: str, enrolment_id: int) -> ResponseReturnValue:
    run = run_or_404(slug)
    enrolment = _enrolment(run, enrolment_id)
    return _participant_page(run, enrolment, ExtendForm(), None)


def _participant_page(run: Run, enrolment: Enrolment, extend_form: ExtendForm, status_code: int | None,
                      typed: dict[str, str] | None = None, returning: tuple[str, ReasonForm] | None = None
                      ) -> ResponseReturnValue:
    """One learner's page; ``typed`` feedback that could not be saved and a hand-back
    form with its errors (``returning``: workbook and form) are shown as they were."""
    db = get_session()
    workbooks = current.workbooks(db, run.course, with_activities=True)
    states = [enrolment_answers.workbook_state(db, enrolment, wb) for wb in workbooks]
    badges = {b.workbook_slug: b for b in db.scalars(select(BadgeAssertion).where(
        BadgeAssertion.enrolment_id == enrolment.id, BadgeAssertion.submission_id.is_not(None)))}
    returns: dict[str, list[SubmissionReturn]] = {}
    for returned in db.scalars(select(SubmissionReturn).where(SubmissionReturn.enrolment_id == enrolment.id)
                               .order_by(SubmissionReturn.returned_at)):
        returns.setdefault(returned.workbook_slug, []).append(returned)
    return render_template("lead/participant.html", run=run, enrolment=enrolment, learner=enrolment.user, states=states,
                           badges=badges, certificate=latest_certificate(db, enrolment.id), returns=returns,
                           feedback=review.feedback_for(db, enrolment), extend_form=extend_form,
                           typed=typed or {}, form=EmptyForm(),
                           returning=(returning[0], returning[1].reason.errors, returning[1].reason.data or "")
                           if returning else ("", [], ""),
                           audit=audit_entries(db, enrolment=enrolment)), (status_code or 200)


@bp.route("/runs/<slug>/participants/<int:enrolment_id>/extend", methods=["POST"])
def extend(slug: str, enrolment_id: int) -> ResponseReturnValue:
    run = run_or_404(slug)
    enrolment = _enrolment(run, enrolment_id)
    form = ExtendForm()
    db = get_session()
    if form.validate_on_submit():
        try:
            services.extend_close_date(db, current_user, enrolment, filled(form.until.data),
                                       filled(form.reason.data))
        except services.LeadError as exc:
            form.until.errors = [_sentence(exc)]
        else:
            commit()
            flash(f"The close date is now {form.until.data:%-d %B %Y}.", "info")
            return redirect(url_for("lead.participant", slug=run.slug, enrolment_id=enrolment.id))
    return _participant_page(run, enrolment, form, 422)


def _workbook_or_404(run: Run, workbook_slug: str) -> None:
    if workbook_slug not in current.workbook_slugs(get_session(), run.course):
        abort(404)


def _sentence(exc: Exception) -> str:
    return str(exc)[0].upper() + str(exc)[1:] + "."


def _back(run: Run, enrolment: Enrolment, workbook_slug: str) -> str:
    """Where a feedback or hand-back form goes back to: the review queue it was sent
    from (its filters, from the form's fields, built here: never a posted address),
    or the learner's page."""
    if request.form.get("back") == "review":
        return url_for("lead.review_queue", slug=run.slug, workbook=request.form.get("workbook") or None,
                       unreviewed=("1" if request.form.get("unreviewed") == "1" else None),
                       page=request.form.get("page", type=int_arg), _anchor=f"review-{enrolment.id}-{workbook_slug}")
    return url_for("lead.participant", slug=run.slug, enrolment_id=enrolment.id, _anchor=f"wb-{workbook_slug}")


@bp.route("/runs/<slug>/participants/<int:enrolment_id>/feedback/<workbook_slug>", methods=["POST"])
def feedback(slug: str, enrolment_id: int, workbook_slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    enrolment = _enrolment(run, enrolment_id)
    _workbook_or_404(run, workbook_slug)
    form = FeedbackForm()
    db = get_session()
    typed = {workbook_slug: request.form.get("text", "")}
    if not form.validate_on_submit():
        flash("The feedback could not be saved: " + " ".join(form.errors.get("text", ["the form had expired."]))
              + " Your text is below: save it again.", "error")
        return _participant_page(run, enrolment, ExtendForm(), 422, typed=typed)
    try:
        review.give_feedback(db, current_user, enrolment, workbook_slug, form.text.data or "")
    except services.LeadError as exc:
        flash(_sentence(exc), "error")
        return _participant_page(run, enrolment, ExtendForm(), 422, typed=typed)
    commit()
    flash("Feedback saved: the learner sees it on the workbook's page.", "info")
    return redirect(_back(run, enrolment, workbook_slug))


@bp.route("/runs/<slug>/participants/<int:enrolment_id>/return/<workbook_slug>", methods=["POST"])
def return_workbook(slug: str, enrolment_id: int, workbook_slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    enrolment = _enrolment(run, enrolment_id)
    _workbook_or_404(run, workbook_slug)
    form = ReasonForm()
    db = get_session()
    if form.validate_on_submit():
        try:
            review.return_workbook(db, current_user, enrolment, workbook_slug, filled(form.reason.data))
        except services.LeadError as exc:
            rollback()
            flash(_sentence(exc), "error")  # about the learner or the workbook, not the reason typed
        else:
            commit()
            flash(f"{current.workbook_title(db, run.course, workbook_slug)} is handed back: the learner is told why "
                  "and can change their answers and submit it again.", "info")
            return redirect(_back(run, enrolment, workbook_slug))
    return _participant_page(run, enrolment, ExtendForm(), 422, returning=(workbook_slug, form))


@bp.route("/runs/<slug>/review")
def review_queue(slug: str) -> ResponseReturnValue:
    """The run's submissions, newest first: read, give feedback, hand back."""
    run = run_or_404(slug)
    db = get_session()
    titles = {wb.slug: wb.title for wb in current.workbooks(db, run.course)}
    chosen = request.args.get("workbook", "")
    chosen = chosen if chosen in titles else ""
    unreviewed = request.args.get("unreviewed") == "1"
    page = review.review_queue(db, run, chosen, unreviewed, request.args.get("page", 1, type=int_arg) or 1)
    return render_template("lead/review.html", run=run, page=page, titles=titles, chosen=chosen,
                           unreviewed=unreviewed)


@bp.route("/audit")
def audit_log() -> ResponseReturnValue:
    db = get_session()
    run = run_or_404(request.args["run"]) if request.args.get("run") else None
    entries = audit_entries(db, run=run, limit=500)
    runs = {r.id: r.slug for r in db.scalars(select(Run))}
    return render_template("lead/audit.html", entries=entries, runs=runs, run=run)

