"""A records import from the web, as a background job (shooc/jobs.py; no Flask here).

The request checks the file (every problem listed, nothing written) and, if it is
good, stores it with a queued job (``queue_import``). The job (``run_import_job``)
checks the file again (the run may have changed since) and writes it a batch of
``records.BATCH`` rows per transaction, each batch's progress and running summary
committed with its rows: every app server's page shows the same progress bar, and a
run that stops (a restart, a crash) is resumed by ``shooc.jobs.recover`` after the
last batch it kept; importing is idempotent, so nothing is counted twice. After the
last batch, the run's figures are counted afresh and the import is audited.

Decided: a big import is no longer all or nothing once it has started (it was one
transaction of many minutes, which on SQLite shut every other writer out and on
restart lost everything). A file is only queued once every row is checked; should
the job fail for good after some batches, its page says how many rows were kept,
and importing the same file again adds the rest.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc import jobs
from shooc.auth.models import User
from shooc.db import Database
from shooc.enrolment.models import Run
from shooc.evaluate import counters
from shooc.faults import fault_point
from shooc.lead import records
from shooc.lead.models import RecordImport

log = logging.getLogger(__name__)

KIND = "records.import"


def queue_import(session: Session, run: Run, checked: records.RecordsFile, data: bytes, actor: User) -> RecordImport:
    """A checked file, stored with its queued job (the caller commits, then dispatches)."""
    if not checked.ok:
        raise records.RecordsInvalid(checked)
    job = jobs.create(session, KIND, total=len(checked.rows), created_by_id=actor.id)
    record = RecordImport(run_id=run.id, job_id=job.id, filename=checked.filename, data=data,
                          rows=len(checked.rows), created_by_id=actor.id, summary={})
    session.add(record)
    session.flush()
    return record


def run_import_job(environment: jobs.Environment, job: jobs.RunningJob) -> None:
    database = environment.database
    with database.session() as session, session.begin():
        record = session.scalars(select(RecordImport).where(RecordImport.job_id == job.id)).one()
        run_id, filename = record.run_id, record.filename
        checked = records.check_file(session, session.get_one(Run, run_id), record.data, filename)
        if not checked.ok:
            raise records.RecordsInvalid(checked)
        summary = records.ImportSummary(**record.summary) if record.summary else records.ImportSummary()
        total = len(checked.rows)
        job.progress(session, job.done, total)
    written = False
    try:
        for start in range(job.done, total, records.BATCH):
            with database.session() as session, session.begin():
                writer = records.start_import(session, session.get_one(Run, run_id), filename, summary)
                writer.write(checked.rows[start:start + records.BATCH])
                if start:  # test-only (shooc/faults.py): a batch kept, the next one written but not committed
                    fault_point("records-import-batch")
                session.get_one(RecordImport, record.id).summary = summary.as_dict()
                job.progress(session, min(start + records.BATCH, total))
                written = True
        with database.session() as session, session.begin():
            summary.rows = total
            actor = session.get(User, job.created_by_id) if job.created_by_id else None
            records.finish_import(session, session.get_one(Run, run_id), filename, summary, actor)
            kept = session.get_one(RecordImport, record.id)
            kept.summary, kept.data = summary.as_dict(), b""  # the rows are in the run: no second copy
    except Exception as exc:
        if written and not isinstance(exc, jobs.Superseded):
            _count_afresh(database, run_id)
        raise
    with database.session() as session, session.begin():
        records.refresh_planner_statistics(session, total)


def _count_afresh(database: Database, run_id: int) -> None:
    """Some batches were kept before the import failed: the run's figures count them."""
    try:
        with database.session() as session, session.begin():
            counters.rebuild(session, session.get_one(Run, run_id))
    except Exception:  # noqa: BLE001 (the import's own failure is what the page must show)
        log.exception("counting run %s afresh after a failed import failed too", run_id)


def register() -> None:
    jobs.register(KIND, run_import_job)
