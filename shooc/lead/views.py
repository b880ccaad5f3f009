"""The leaders' area, /lead: runs, participants, one learner, extensions, feedback, the audit log."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.audit import audit, audit_entries
from shooc.auth.forms import EmptyForm, filled, select_choices
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.csvfile import csv_text
from shooc.enrolment import answers as enrolment_answers
from shooc.enrolment import runs as enrolment_runs
from shooc.enrolment.models import Enrolment, Run
from shooc.lead import bp, published_courses, services
from shooc.lead.forms import ExtendForm, FeedbackForm, ReasonForm, RunForm
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import int_arg, run_or_404
from shooc.workbooks import current
from shooc.workbooks.models import Course


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("lead/home.html", runs=services.runs_overview(get_session()),
                           courses=published_courses())


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


def _participant_page(run: Run, enrolment: Enrolment, extend_form: ExtendForm,
                      status_code: int | None) -> ResponseReturnValue:
    db = get_session()
    workbooks = current.workbooks(db, run.course, with_activities=True)
    states = [enrolment_answers.workbook_state(db, enrolment, wb) for wb in workbooks]
    badges = {b.workbook_slug: b
              for b in db.scalars(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id))}
    certificate = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    return render_template("lead/participant.html", run=run, enrolment=enrolment, learner=enrolment.user, states=states,
                           badges=badges, certificate=certificate,
                           feedback=services.feedback_for(db, enrolment), extend_form=extend_form,
                           feedback_form=FeedbackForm, form=EmptyForm(),
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
            form.until.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            commit()
            flash(f"The close date is now {form.until.data:%-d %B %Y}.", "info")
            return redirect(url_for("lead.participant", slug=run.slug, enrolment_id=enrolment.id))
    return _participant_page(run, enrolment, form, 422)


@bp.route("/runs/<slug>/participants/<int:enrolment_id>/feedback/<workbook_slug>", methods=["POST"])
def feedback(slug: str, enrolment_id: int, workbook_slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    enrolment = _enrolment(run, enrolment_id)
    form = FeedbackForm()
    db = get_session()
    if not form.validate_on_submit():
        flash("The feedback could not be saved: " + " ".join(form.errors.get("text", ["the form had expired."])),
              "error")
        return _participant_page(run, enrolment, ExtendForm(), 422)
    try:
        services.give_feedback(db, current_user, enrolment, workbook_slug, form.text.data or "")
    except services.LeadError as exc:
        flash(str(exc), "error")
        return _participant_page(run, enrolment, ExtendForm(), 422)
    commit()
    flash("Feedback saved: the learner sees it on the workbook's page.", "info")
    return redirect(url_for("lead.participant", slug=run.slug, enrolment_id=enrolment.id,
                            _anchor=f"wb-{workbook_slug}"))


@bp.route("/audit")
def audit_log() -> ResponseReturnValue:
    db = get_session()
    run = run_or_404(request.args["run"]) if request.args.get("run") else None
    entries = audit_entries(db, run=run, limit=500)
    runs = {r.id: r.slug for r in db.scalars(select(Run))}
    return render_template("lead/audit.html", entries=entries, runs=runs, run=run)

