"""Background work, in one place: a job's state is a row of the database, its running
is the job runner's (no Flask here).

Decisions (issue 15):

- **State in the database, not in a process.** A job is a row of ``jobs``: its kind,
  status (``queued``, ``running``, ``done``, ``failed``), progress (``done`` of
  ``total``), error, attempts and a heartbeat. Every app server reads the same row,
  so a page served by any of them shows the same progress bar.
- **Runners.** ``SHOOC_JOB_RUNNER`` says who runs a job once its row is committed:
  ``thread`` (the default: a thread of the app server that started it, for the
  embedded single-server install), ``rq`` (RQ on the Redis at ``SHOOC_REDIS_URL``,
  worked by ``shooc jobs work`` on any machine), or ``inline`` (in the caller, at
  once: the test suite, whose sessions share one connection).
- **A restart resumes the job or marks it failed, never stuck.** A running job
  beats (``heartbeat_at``) each time it reports progress. A job whose heartbeat is
  older than ``SHOOC_JOB_STALE_SECONDS``, or that was queued that long ago and never
  started (its thread died with the server, Redis lost its queue), is stale:
  ``recover`` queues it again, up to ``MAX_ATTEMPTS`` starts, then marks it failed
  and says why. The job's own page recovers it when someone looks, ``shooc jobs
  work`` when it starts, and ``shooc jobs recover`` from cron.
- **One runner at a time, fenced by the attempt number.** Starting a job increments
  ``attempts`` in the same UPDATE that claims it; every progress report is an UPDATE
  ``WHERE attempts = <mine>``, in the transaction of the work it reports. A run that
  was presumed dead but was only slow finds it no longer holds the job
  (``Superseded``) and its transaction rolls back, so two runs never both write.
- **A handler resumes from its own progress.** Each kind writes its work in steps
  and reports progress in the same transaction as each step, so ``done`` is exactly
  what is kept; a resumed run starts after it (a records import: the next batch of
  rows, and importing is idempotent anyway).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shooc.db import Base, Database, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RUNNERS = ("thread", "rq", "inline")
RQ_QUEUE = "shooc"


class Job(Base):
    """A piece of background work and where it stands."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # records.import, mail.deliver
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued, running, done, failed
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class Superseded(RuntimeError):
    """This run no longer holds its job: it was presumed dead and started again."""


@dataclass(frozen=True)
class Environment:
    """What a handler may use: the database and the settings (no app, no request)."""

    database: Database
    config: Mapping[str, Any]
    instance_path: str


@dataclass
class RunningJob:
    """The job as its current run holds it: attempt ``attempt`` of job ``id``."""

    id: int
    kind: str
    params: dict[str, Any]
    attempt: int
    done: int
    total: int
    created_by_id: int | None = None
    _beats: int = field(default=0, repr=False)

    def progress(self, session: Session, done: int, total: int | None = None) -> None:
        """Record progress (and a heartbeat) in ``session``'s transaction, the one that
        did the work; raises Superseded if another run has the job now."""
        values: dict[str, Any] = {"done": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["total"] = total
        result = session.execute(update(Job).where(Job.id == self.id, Job.attempts == self.attempt,
                                                   Job.status == "running").values(**values))
        if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult's
            raise Superseded(f"job {self.id} was started again elsewhere")
        self.done = done
        if total is not None:
            self.total = total


#: kind → handler(environment, job); registered by create_app (``register``)
Handler = Callable[[Environment, RunningJob], None]
HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    HANDLERS[kind] = handler


def create(session: Session, kind: str, params: dict[str, Any] | None = None, total: int = 0,
           created_by_id: int | None = None) -> Job:
    """A queued job, in the caller's transaction: once that commits, ``dispatch`` it."""
    if kind not in HANDLERS:
        raise LookupError(f"no handler for jobs of kind {kind!r}")
    job = Job(kind=kind, params=params or {}, total=total, created_by_id=created_by_id, status="queued",
              done=0, attempts=0)
    session.add(job)
    session.flush()
    return job


#: where a session keeps the jobs to start once it has committed (``start_after_commit``)
_TO_START = "shooc.jobs.to_start"


def start_after_commit(session: Session, job_id: int) -> None:
    """Have the unit of work (shooc/unit_of_work.py) dispatch this job once the caller's
    transaction has committed: for work queued deep inside a service (a signal's
    receiver) whose view knows nothing of it. Rolled back, the job does not exist and
    its dispatch does nothing."""
    session.info.setdefault(_TO_START, []).append(job_id)


def take_jobs_to_start(session: Session) -> list[int]:
    return list(session.info.pop(_TO_START, []))


# Running ----------------------------------------------------------------------------------

def _claim(database: Database, job_id: int) -> RunningJob | None:
    """Start a queued job: the one UPDATE that only one run can win."""
    now = utcnow()
    with database.session() as session, session.begin():
        result = session.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                                 .values(status="running", attempts=Job.attempts + 1, started_at=now,
                                         heartbeat_at=now))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None  # running elsewhere, finished, or no such job
        job = session.get_one(Job, job_id)
        return RunningJob(job.id, job.kind, dict(job.params), job.attempts, job.done, job.total,
                          job.created_by_id)


def _end(database: Database, running: RunningJob, status: str, error: str | None = None) -> None:
    with database.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == running.id, Job.attempts == running.attempt)
                        .values(status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow()))


def run(environment: Environment, job_id: int) -> str | None:
    """Run a queued job to its end here and now; returns its status (None: another run
    has it). A handler's exception fails the job with its message, never the caller."""
    running = _claim(environment.database, job_id)
    if running is None:
        return None
    try:
        HANDLERS[running.kind](environment, running)
    except Superseded:
        log.warning("job %s (%s): started again elsewhere; this run stops", running.id, running.kind)
        return None
    except Exception as exc:  # noqa: BLE001 (anything: the job's page must say it failed)
        log.exception("job %s (%s) failed", running.id, running.kind)
        _end(environment.database, running, "failed", describe(exc))
        return "failed"
    _end(environment.database, running, "done")
    return "done"


def describe(exc: BaseException) -> str:
    """What a failed job's page says: the exception's own account of itself if it
    gives one for people (``job_message``), else its type and message."""
    message = getattr(exc, "job_message", None)
    return str(message) if message else f"{type(exc).__name__}: {exc}"


# Dispatching ------------------------------------------------------------------------------

def dispatch(environment: Environment, job_id: int) -> None:
    """Hand a committed, queued job to the configured runner."""
    runner = environment.config.get("SHOOC_JOB_RUNNER") or "thread"
    if runner == "inline":
        run(environment, job_id)
    elif runner == "thread":
        threading.Thread(target=run, args=(environment, job_id), name=f"shooc-job-{job_id}", daemon=True).start()
    elif runner == "rq":
        rq_queue(environment.config).enqueue_call("shooc.jobs.run_from_rq", args=(job_id,),
                                                  job_id=f"shooc-{job_id}-{secrets.token_hex(4)}",
                                                  timeout=-1, result_ttl=3600, failure_ttl=86400)
    else:
        raise ValueError(f"SHOOC_JOB_RUNNER must be one of {', '.join(RUNNERS)}, not {runner!r}")


def rq_queue(config: Mapping[str, Any]) -> Any:
    """The RQ queue on ``SHOOC_REDIS_URL`` (rq is imported only by those who use it)."""
    import redis
    import rq

    url = config.get("SHOOC_REDIS_URL")
    if not url:
        raise ValueError("SHOOC_JOB_RUNNER=rq needs SHOOC_REDIS_URL")
    name = f"{config.get('SHOOC_REDIS_PREFIX') or 'shooc'}-jobs"
    return rq.Queue(name, connection=redis.Redis.from_url(url))


#: the environment of this RQ worker process, set by ``shooc jobs work``
worker_environment: Environment | None = None


def run_from_rq(job_id: int) -> str | None:
    """What RQ calls, in the worker (``shooc jobs work``)."""
    if worker_environment is None:
        raise RuntimeError("shooc jobs are worked by `shooc jobs work`, not by a bare rq worker")
    return run(worker_environment, job_id)


# Recovering -------------------------------------------------------------------------------

def stale_after(config: Mapping[str, Any]) -> dt.timedelta:
    return dt.timedelta(seconds=int(config.get("SHOOC_JOB_STALE_SECONDS") or 300))


def _stale(now: dt.datetime, after: dt.timedelta) -> Any:
    return or_((Job.status == "running") & (Job.heartbeat_at < now - after),
               (Job.status == "queued") & (Job.created_at < now - after)
               & or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now - after))


def recover(session: Session, after: dt.timedelta, job_id: int | None = None) -> list[int]:
    """Queue stale jobs again (the caller commits, then dispatches the ids returned), or
    mark failed those that have been started ``MAX_ATTEMPTS`` times."""
    now = utcnow()
    query = select(Job).where(_stale(now, after)).with_for_update(skip_locked=True)
    if job_id is not None:
        query = query.where(Job.id == job_id)
    again = []
    for job in session.scalars(query):
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = "failed", now
            job.error = (f"stopped {job.attempts} times before it finished (was its server or worker "
                         "restarted?); nothing after the last progress shown was kept")
            log.error("job %s (%s) failed: %s", job.id, job.kind, job.error)
        else:
            # The heartbeat marks when it was queued again, so that it is not stale at once.
            job.status, job.heartbeat_at = "queued", now
            again.append(job.id)
            log.warning("job %s (%s) was stale; queued again", job.id, job.kind)
    session.flush()
    return again
