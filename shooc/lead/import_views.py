"""Importing a past run's records from the web (/lead): the same checks and the same
service as ``shooc records import``.

A file is checked in the request (every problem listed, nothing written). A good
file of up to SHOOC_IMPORT_INLINE_ROWS rows is imported at once; a bigger one in a
background thread of this server, in one transaction, while its page shows progress
(refreshing itself, no script needed). Progress is known to the server doing the
work; a page served by another app server shows "running" until it is done. If the
server stops mid-import, the transaction is rolled back: nothing was imported, and
the page says so after an hour.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

from flask import Flask, Response, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.auth.models import User
from shooc.db import utcnow
from shooc.enrolment.models import Run
from shooc.evaluate.stats import run_stats
from shooc.lead import bp, records
from shooc.lead.forms import ImportForm
from shooc.lead.models import RecordImport
from shooc.unit_of_work import command_session, commit, get_session
from shooc.web import run_or_404, the_app

log = logging.getLogger(__name__)

#: import id → (rows done, rows in all), for the imports running in this process
PROGRESS: dict[int, tuple[int, int]] = {}
STALE_AFTER = dt.timedelta(hours=1)


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
            job = RecordImport(run_id=run.id, filename=filename, data=data, rows=len(checked.rows),
                               created_by_id=current_user.id)
            db.add(job)
            if len(checked.rows) <= int(current_app.config["SHOOC_IMPORT_INLINE_ROWS"]):
                summary = records.import_records(db, run, checked, actor=current_user)
                _finish(job, summary)
                commit()
            else:
                commit()
                PROGRESS[job.id] = (0, job.rows)
                thread = threading.Thread(target=_import_in_background, name=f"import-{job.id}", daemon=True,
                                          args=(the_app(), job.id, current_user.id))
                thread.start()
            return redirect(url_for("lead.record_import", import_id=job.id))
    jobs = db.scalars(select(RecordImport).where(RecordImport.run_id == run.id)
                      .order_by(RecordImport.created_at.desc()).limit(20)).all()
    status = 422 if form.errors or (checked and not checked.ok) else 200
    return render_template("lead/import.html", run=run, form=form, checked=checked, jobs=jobs,
                           columns=records.COLUMNS), status


@bp.route("/runs/<slug>/import/template.csv")
def import_template(slug: str) -> Response:
    run_or_404(slug)
    response = Response(records.template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="records-template.csv"'
    return response


@bp.route("/imports/<int:import_id>")
def record_import(import_id: int) -> ResponseReturnValue:
    db = get_session()
    job = db.get(RecordImport, import_id) or abort(404)
    run = db.get_one(Run, job.run_id)
    progress = PROGRESS.get(job.id)
    stale = job.status == "running" and progress is None and utcnow() - job.created_at > STALE_AFTER
    figures = run_stats(db, run) if job.status == "done" else None
    return render_template("lead/import_job.html", job=job, run=run, progress=progress, stale=stale,
                           figures=figures)


def _finish(job: RecordImport, summary: records.ImportSummary) -> None:
    job.status = "done"
    job.summary = summary.as_dict()
    job.finished_at = utcnow()
    job.data = b""  # the records are in the run now; no second copy of personal data is kept


def _import_in_background(app: Flask, import_id: int, actor_id: int) -> None:
    with app.app_context():
        try:
            with command_session(app) as session:
                job = session.get_one(RecordImport, import_id)
                run = session.get_one(Run, job.run_id)
                checked = records.check_file(session, run, job.data, job.filename)  # the run may have changed

                def progress(done: int, total: int) -> None:
                    PROGRESS[import_id] = (done, total)

                summary = records.import_records(session, run, checked, actor=session.get(User, actor_id),
                                                 progress=progress)
                _finish(job, summary)
            with command_session(app) as session:
                records.refresh_planner_statistics(session, summary.rows)
        except Exception as exc:  # noqa: BLE001 (anything: the page must say it failed)
            log.exception("records import %s failed", import_id)
            if isinstance(exc, records.RecordsInvalid):
                count = exc.records.problem_count
                message = "; ".join(str(p) for p in exc.records.problems[:20]) + (
                    f"; ... and {count - 20:,} more" if count > 20 else "")
            else:
                message = f"{type(exc).__name__}: {exc}"
            with command_session(app) as session:
                job = session.get_one(RecordImport, import_id)
                job.status, job.error, job.finished_at = "failed", message, utcnow()
        finally:
            PROGRESS.pop(import_id, None)
