"""Importing a past run's records from the web (/lead): the same checks and the same
service as ``shooc records import``.

A file is checked in the request (every problem listed, nothing written). A good file
is stored with a job (shooc/lead/imports.py): one of up to SHOOC_IMPORT_INLINE_ROWS
rows is run in the request, a bigger one by the job runner (shooc/jobs.py) while its
page shows the progress kept in the database (refreshing itself, no script needed),
whichever app server serves it. Looking at a job that stopped (its server restarted)
resumes it, or says it failed after its last attempt.
"""
from __future__ import annotations

from flask import Response, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc import jobs
from shooc.db import utcnow
from shooc.enrolment.models import Run
from shooc.evaluate.stats import run_stats
from shooc.lead import bp, imports, records
from shooc.lead.forms import ImportForm
from shooc.lead.models import RecordImport
from shooc.unit_of_work import commit, get_session, write_now
from shooc.web import job_environment, run_or_404, start_job


@bp.route("/runs/<slug>/import", methods=["GET", "POST"])
def import_records(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    form = ImportForm()
    db = get_session()
    checked = None
    if form.validate_on_submit():
        upload = form.file.data
        filename = (upload.filename or "records.csv").rsplit("/", 1)[-1][:300]
        data = upload.read()
        checked = records.check_file(db, run, data, filename)
        if checked.ok:
            record = imports.queue_import(db, run, checked, data, current_user)
            # read before the commit: afterwards a read would begin a transaction that
            # holds SQLite's write lock (a POST writes) while the job wants it
            import_id, job_id, rows = record.id, record.job_id, record.rows
            commit()
            if rows <= int(current_app.config["SHOOC_IMPORT_INLINE_ROWS"]):
                jobs.run(job_environment(), job_id)  # here and now: the page shows the outcome
            else:
                start_job(job_id)
            return redirect(url_for("lead.record_import", import_id=import_id))
    past = db.scalars(select(RecordImport).where(RecordImport.run_id == run.id)
                      .order_by(RecordImport.created_at.desc()).limit(20)).all()
    status = 422 if form.errors or (checked and not checked.ok) else 200
    return render_template("lead/import.html", run=run, form=form, checked=checked, jobs=past,
                           columns=records.COLUMNS), status


@bp.route("/runs/<slug>/import/template.csv")
def import_template(slug: str) -> Response:
    response = Response(records.template_csv(run_or_404(slug)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="records-template.csv"'
    return response


@bp.route("/imports/<int:import_id>")
def record_import(import_id: int) -> ResponseReturnValue:
    db = get_session()
    record = db.get(RecordImport, import_id) or abort(404)
    job_id = record.job_id
    if not record.job.finished and _stale(record.job):
        with write_now() as session:
            again = jobs.recover(session, jobs.stale_after(current_app.config), job_id)
        for queued in again:
            start_job(queued)
        record = db.get_one(RecordImport, import_id)
        db.refresh(record.job)
    run = db.get_one(Run, record.run_id)
    figures = run_stats(db, run) if record.status == "done" else None
    return render_template("lead/import_job.html", record=record, job=record.job, run=run, figures=figures)


def _stale(job: jobs.Job) -> bool:
    beat = job.heartbeat_at or job.created_at
    return bool(beat < utcnow() - jobs.stale_after(current_app.config))
