"""The ``shooc`` command line (docs/cli.md). Commands call the same services as
the views, then commit."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc import jobs
from shooc.auth.models import Role
from shooc.auth.services import AccountError, create_user, find_user, generate_password, set_password
from shooc.csvfile import csv_text
from shooc.enrolment.models import Enrolment, Run, RunMode
from shooc.enrolment.runs import RunError, create_run, find_run, open_runs
from shooc.enrolment.services import enrol
from shooc.unit_of_work import command_session, get_db
from shooc.urls import site_urls
from shooc.web import the_app
from shooc.workbooks.loader import load_course
from shooc.workbooks.publish import diff_course, find_course, publish_course

db_cli = AppGroup("db", help="The database.")
content_cli = AppGroup("content", help="Course content: validate and publish course folders.")
run_cli = AppGroup("run", help="Runs of a course.")
user_cli = AppGroup("user", help="Accounts.")
badges_cli = AppGroup("badges", help="Open Badges issued to learners.")
certificates_cli = AppGroup("certificates", help="Certificates issued to learners.")
records_cli = AppGroup("records", help="A past run's records.")
jobs_cli = AppGroup("jobs", help="Background jobs (records imports, mail delivery).")
submissions_cli = AppGroup("submissions", help="Submitted workbooks.")
lti_cli = AppGroup("lti", help="LTI 1.3 platforms (a university's Moodle, Canvas ...).")
keys_cli = AppGroup("keys", help="The instance's signing keys (Open Badges 3.0, LTI 1.3).")
# shooc.signing_keys.ALGORITHMS' purposes, spelled out so the command line loads without it
ALGORITHM_PURPOSES = ("badges", "lti")

DEMO_ACCOUNTS = [
    ("learner@example.org", "Demo Learner", Role.learner),
    ("leader@example.org", "Demo Course Leader", Role.leader),
    ("evaluator@example.org", "Demo Evaluator", Role.evaluator),
    ("admin@example.org", "Demo Administrator", Role.admin),
]


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
def db_upgrade(revision: str) -> None:
    """Create the database or migrate it to the latest schema."""
    from shooc.migrate import upgrade

    upgrade(get_db(), revision)
    click.echo(f"Database at {get_db().engine.url.render_as_string(hide_password=True)} is up to date.")


@content_cli.command("validate")
@click.argument("path", type=click.Path(file_okay=False, path_type=str))
def content_validate(path: str) -> None:
    """Check a course folder; print every problem as file:line: message."""
    result = load_course(path)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem))
        click.echo(f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''} found; "
                   "nothing published.", err=True)
        sys.exit(1)
    course = result.course
    assert course is not None
    activities = sum(len(w.activities) for w in course.workbooks)
    click.echo(f"{path}: OK: '{course.title}', {len(course.workbooks)} workbooks, "
               f"{activities} activities, {course.word_count:,} words.")


@content_cli.command("publish")
@click.argument("path", type=click.Path(file_okay=False, path_type=str))
@click.option("--dry-run", is_flag=True, help="Show what would change; publish nothing.")
def content_publish(path: str, dry_run: bool) -> None:
    """Validate a course folder, then publish it as a new version (all or nothing)."""
    result = load_course(path)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem))
        fail(f"{len(result.problems)} problem(s) found; nothing published.")
    source = result.course
    assert source is not None
    with command_session() as session:
        if dry_run:
            diff = diff_course(session, source)
            click.echo("No changes." if diff.unchanged else "Would publish:")
            for line in diff.lines():
                click.echo(line)
            return
        published = publish_course(session, source)
    if not published.published:
        click.echo(f"No changes: '{source.slug}' version {published.version.number} is already published.")
        return
    previous = f" (replacing version {published.previous_number})" if published.previous_number else ""
    click.echo(f"Published '{source.slug}' version {published.version.number}{previous}:")
    for line in published.diff.lines():
        click.echo(line)


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-09-01") from None


@run_cli.command("create")
@click.argument("course_slug", metavar="COURSE")
@click.option("--opens", required=True, callback=_parse_date, help="Opening date, YYYY-MM-DD.")
@click.option("--closes", required=True, callback=_parse_date, help="Closing date, YYYY-MM-DD.")
@click.option("--mode", type=click.Choice([m.value for m in RunMode]), default="rolling", show_default=True)
@click.option("--pace", "pace_days", type=click.IntRange(min=1), default=7, show_default=True,
              help="Days between workbooks of a paced run.")
@click.option("--cap", "capacity", type=click.IntRange(min=1), default=None, help="Most registrations allowed.")
@click.option("--name", default=None, help="A name people see.")
@click.option("--slug", default=None, help="The run's address (default: YEAR-MODE).")
def run_create(course_slug: str, opens: dt.date, closes: dt.date, mode: str, pace_days: int,
               capacity: int | None, name: str | None, slug: str | None) -> None:
    """Open a run of a published course; prints its slug."""
    with command_session() as session:
        course = find_course(session, course_slug)
        if course is None:
            fail(f"no course '{course_slug}': publish it first (shooc content publish content/{course_slug})")
        try:
            run = create_run(session, course, opens, closes, mode=mode, name=name, slug=slug,
                             pace_days=pace_days, capacity=capacity)
        except RunError as exc:
            fail(str(exc))
    click.echo(run.slug)


@user_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--organisation", default=None, help="Place of work.")
def user_create(email: str, name: str, role: str, password_stdin: bool, organisation: str | None) -> None:
    """Create an account; the password is read from stdin or generated and printed."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generate_password()
    with command_session() as session:
        try:
            user = create_user(session, email, name, role, password, organisation=organisation)
        except AccountError as exc:
            fail(str(exc))
    click.echo(f"Created {user.role.value} {user.email}.")
    if not password_stdin:
        click.echo(f"Password: {password}")


@user_cli.command("role")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def user_role(email: str, role: str) -> None:
    """Change a person's role (audited; the admins' page /admin/users does the same)."""
    from shooc.auth import people

    with command_session() as session:
        user = find_user(session, email)
        if user is None:
            fail(f"no account with the address {email}")
        try:
            people.set_role(session, user, role, by=None)
        except AccountError as exc:
            fail(f"{exc}.")
    click.echo(f"{user.email} is now {role}.")


@click.command("demo")
@with_appcontext
@click.option("--content", "content_path", default=None, help="Folder of course folders (default: content/).")
def demo(content_path: str | None) -> None:
    """A ready demo: migrate, publish content/, open a run today, one account per role."""
    from shooc.migrate import upgrade

    database = get_db()
    upgrade(database)
    root = Path(content_path or current_app.config["SHOOC_CONTENT_PATH"])
    folders = sorted(p for p in root.iterdir() if (p / "course.md").is_file())
    if not folders:
        fail(f"no course folders (with a course.md) in {root}")
    today = dt.date.today()
    with command_session() as session:
        runs = []
        for folder in folders:
            result = load_course(folder)
            if not result.ok:
                for problem in result.problems:
                    click.echo(str(problem))
                fail(f"{folder} has problems; fix them or remove the folder")
            assert result.course is not None
            published = publish_course(session, result.course)
            state = (f"published version {published.version.number}" if published.published
                     else f"version {published.version.number} already published")
            click.echo(f"Course '{published.course.slug}': {state}.")
            run = next(iter(open_runs(session, published.course, today)), None)
            if run is None:
                run = create_run(session, published.course, today, today + dt.timedelta(days=365),
                                 name=f"Demo run from {today:%-d %B %Y}")
            click.echo(f"Run '{run.slug}': open {run.opens_on} to {run.closes_on} ({run.mode.value}).")
            runs.append(run)
        click.echo("\nAccounts (passwords are new each time `shooc demo` runs):")
        for email, name, role in DEMO_ACCOUNTS:
            password = generate_password()
            user = find_user(session, email)
            if user is None:
                user = create_user(session, email, name, role, password)
            else:
                set_password(session, user, password)
            if role is Role.learner:
                for run in runs:
                    enrol(session, run, user.id, today)
            click.echo(f"  {role.value:<10} {email:<24} {password}")


def _run_or_fail(session: Session, slug: str) -> Run:
    run = find_run(session, slug)
    if run is None:
        fail(f"no run '{slug}'")
    return run


def _write_rows(rows: list[dict], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo(csv_text([columns, *([row.get(c) for c in columns] for row in rows)], lineterminator="\n"), nl=False)


@badges_cli.command("list")
@click.argument("run_slug", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="csv", show_default=True)
def badges_list(run_slug: str, fmt: str) -> None:
    """Every badge of a run: assertion URL, e-mail, workbook, issue date, revoked."""
    from shooc.badges import services as badges

    urls = site_urls(current_app.config)
    with command_session() as session:
        run = _run_or_fail(session, run_slug)
        rows = [{"assertion": urls.assertion(a.id), "email": email or "", "workbook": a.workbook_slug,
                 "issued_on": a.issued_on.date().isoformat(), "revoked": a.revoked}
                for a, email in badges.assertions_of_run(session, run)]
    _write_rows(rows, fmt, ["assertion", "email", "workbook", "issued_on", "revoked"])


@badges_cli.command("revoke")
@click.argument("assertion")
@click.option("--reason", required=True, help="Why; shown publicly on the badge's page.")
def badges_revoke(assertion: str, reason: str) -> None:
    """Revoke one badge (by its id or URL), and the certificate that depends on it."""
    from shooc.badges import services as badges

    with command_session() as session:
        found = badges.find_assertion(session, assertion)
        if found is None:
            fail(f"no badge '{assertion}'")
        try:
            certificate = badges.revoke_badge(session, found, reason)
        except badges.BadgeError as exc:
            fail(str(exc))
    click.echo(f"Revoked badge {found.id}." + (f" Revoked certificate {certificate.code} too." if certificate else ""))


@submissions_cli.command("return")
@click.argument("run_slug", metavar="RUN")
@click.argument("email")
@click.argument("workbook_slug", metavar="WORKBOOK")
@click.option("--reason", required=True, help="Why: the learner reads it; kept in the audit log.")
def submissions_return(run_slug: str, email: str, workbook_slug: str, reason: str) -> None:
    """Hand a submitted workbook back: it opens for editing again with its answers,
    its badge (and the certificate) is revoked, the learner is told why."""
    from shooc.lead import review
    from shooc.lead.services import LeadError

    with command_session() as session:
        run = _run_or_fail(session, run_slug)
        user = find_user(session, email)
        enrolment = session.scalar(select(Enrolment).where(Enrolment.run_id == run.id,
                                                           Enrolment.user_id == user.id)) if user else None
        if enrolment is None:
            fail(f"{email} is not enrolled in {run.slug}")
        try:
            review.return_workbook(session, None, enrolment, workbook_slug, reason)
        except LeadError as exc:
            fail(f"{exc}.")
    click.echo(f"Handed back {workbook_slug} to {email}, who is told why; its badge (and any certificate) is revoked.")


@certificates_cli.command("list")
@click.argument("run_slug", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="csv", show_default=True)
def certificates_list(run_slug: str, fmt: str) -> None:
    """Every certificate of a run: code, URL, e-mail, issue date, revoked."""
    from shooc.badges import services as badges

    urls = site_urls(current_app.config)
    with command_session() as session:
        run = _run_or_fail(session, run_slug)
        rows = [{"code": c.code, "url": urls.certificate(c.code), "email": email or "",
                 "issued_on": c.issued_on.date().isoformat(), "revoked": c.revoked}
                for c, email in badges.certificates_of_run(session, run)]
    _write_rows(rows, fmt, ["code", "url", "email", "issued_on", "revoked"])


@records_cli.command("import")
@click.argument("run_slug", metavar="RUN")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def records_import(run_slug: str, file: Path) -> None:
    """Import a past run's records from a CSV (docs/formats.md): every row is checked
    first; any problem imports nothing and is printed as FILE:LINE: message."""
    from shooc.lead import records

    with command_session() as session:
        run = _run_or_fail(session, run_slug)
        checked = records.check_file(session, run, file.read_bytes(), str(file))
        if not checked.ok:
            for problem in checked.problems:
                click.echo(str(problem))
            if checked.more:
                click.echo(checked.more_line())
            count = checked.problem_count
            fail(f"{count:,} problem{'' if count == 1 else 's'} found; nothing imported.")
        with click.progressbar(length=len(checked.rows), label=f"Importing {len(checked.rows):,} rows",
                               file=sys.stderr) as bar:
            done = 0

            def progress(rows: int, total: int) -> None:
                nonlocal done
                bar.update(rows - done)
                done = rows

            summary = records.import_records(session, run, checked, progress=progress)
    with command_session() as session:  # the import is committed: now the planner's statistics
        records.refresh_planner_statistics(session, summary.rows)
    click.echo(f"Imported {file} into {run_slug}:" if summary.added else
               f"Nothing new in {file}: every row was in {run_slug} already.")
    for line in summary.lines():
        click.echo(f"  {line}")


@click.command("stats")
@click.argument("run_slug", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.option("--recount", is_flag=True, help="Count the rows instead of reading the counters (slow; a check).")
@with_appcontext
def stats(run_slug: str, fmt: str, recount: bool) -> None:
    """A run's completion figures (the stats JSON of docs/formats.md)."""
    from shooc.evaluate.stats import flatten, run_stats

    with command_session() as session:
        figures = run_stats(session, _run_or_fail(session, run_slug), recount=recount)
    if fmt == "json":
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    flat = flatten(figures)
    if fmt == "csv":
        _write_rows([flat], "csv", list(flat))
        return
    width = max(len(k) for k in flat)
    for key, value in flat.items():
        shown = f"{value:.1%}" if key.startswith("completion_rate") else "" if value is None else value
        click.echo(f"{key.replace('_', ' '):<{width}}  {shown}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(file: Path) -> None:
    """Write a consistent copy of the database to FILE while the app serves
    (SQLite: its online backup; PostgreSQL: pg_dump's custom format)."""
    from shooc import backup as backups

    database = get_db()
    try:
        info = backups.backup(database, file)
    except backups.BackupError as exc:
        fail(str(exc))
    click.echo(f"Backed up {backups.describe(database)} to {file} ({info.kind}, schema revision {info.revision}, "
               f"{file.stat().st_size:,} bytes).")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that has data.")
@with_appcontext
def restore(file: Path, force: bool) -> None:
    """Put a backup made by `shooc backup` into the database: an empty one, or any
    with --force (all or nothing). Restart the app servers afterwards."""
    from shooc import backup as backups

    database = get_db()
    try:
        info = backups.restore(database, file, force=force)
    except backups.BackupError as exc:
        fail(str(exc))
    click.echo(f"Restored {file} into {backups.describe(database)} (schema revision {info.revision}).")
    if not info.is_latest:
        click.echo("The backup's schema is older than this release's: run `shooc db upgrade` now.")
    click.echo("Restart every app server now (sudo systemctl restart shooc): each keeps the published course "
               "versions it has read in memory, and they are not the restored ones.")


def _command_environment() -> jobs.Environment:
    """Jobs run by a command: in the command itself when the app servers run theirs in
    threads (a thread would die with the command), else on the configured runner."""
    config = dict(current_app.config)
    if config["SHOOC_JOB_RUNNER"] == "thread":
        config["SHOOC_JOB_RUNNER"] = "inline"
    return jobs.Environment(get_db(), config, current_app.instance_path)


def _recover(environment: jobs.Environment) -> list[int]:
    with command_session() as session:
        again = jobs.recover(session, jobs.stale_after(environment.config))
    for job_id in again:
        jobs.dispatch(environment, job_id)
    return again


@jobs_cli.command("work")
@click.option("--burst", is_flag=True, help="Run what is queued, then stop.")
def jobs_work(burst: bool) -> None:
    """Run background jobs from the RQ queue (SHOOC_JOB_RUNNER=rq): one or more of
    these, on any machine that reaches the database and SHOOC_REDIS_URL."""
    import threading

    import rq

    if current_app.config["SHOOC_JOB_RUNNER"] != "rq":
        fail(f"SHOOC_JOB_RUNNER is {current_app.config['SHOOC_JOB_RUNNER']}: the app servers run the jobs "
             "themselves. Set SHOOC_JOB_RUNNER=rq (and SHOOC_REDIS_URL) on the app servers and here.")
    environment = _command_environment()
    jobs.worker_environment = environment
    recovered = _recover(environment)
    click.echo(f"Queued {len(recovered)} stale job{'' if len(recovered) == 1 else 's'} again." if recovered
               else "No stale jobs.")
    if not burst:
        # Stale jobs are found while the worker waits, too: no cron needed beside it.
        interval = max(1.0, jobs.stale_after(environment.config).total_seconds() / 2)
        app = the_app()

        def keep_recovering() -> None:
            stop = threading.Event()
            while not stop.wait(interval):
                with app.app_context():
                    try:
                        _recover(environment)
                    except Exception:  # noqa: BLE001 (the database away for a moment: try again later)
                        app.logger.exception("recovering stale jobs failed")

        threading.Thread(target=keep_recovering, name="shooc-jobs-recover", daemon=True).start()
    queue = jobs.rq_queue(environment.config)
    rq.SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)


@jobs_cli.command("recover")
def jobs_recover() -> None:
    """Start again the jobs that stopped (their server restarted), or mark failed those
    tried too often (for cron, every few minutes)."""
    again = _recover(_command_environment())
    click.echo(f"Started {len(again)} stale job{'' if len(again) == 1 else 's'} again"
               + (f": {', '.join(map(str, again))}." if again else "."))


@jobs_cli.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def jobs_list(limit: int) -> None:
    """The latest background jobs and where they stand."""
    with command_session() as session:
        for job in session.scalars(select(jobs.Job).order_by(jobs.Job.id.desc()).limit(limit)):
            click.echo(f"{job.id:>6}  {job.kind:<15} {job.status:<8} {job.done:>9,}/{job.total:<9,} "
                       f"attempt {job.attempts}  {job.created_at:%Y-%m-%d %H:%M}"
                       + (f"  {job.error}" if job.error else ""))


@keys_cli.command("list")
def keys_list() -> None:
    """The instance's signing keys: which signs now, which only verify what they signed."""
    from shooc import signing_keys

    with command_session() as session:
        for purpose in signing_keys.ALGORITHMS:
            for key in signing_keys.public_keys(session, purpose):  # type: ignore[arg-type]
                state = f"retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "signs now"
                click.echo(f"{purpose:<7} {key.algorithm:<6} {key.kid}  made {key.created_at:%Y-%m-%d %H:%M}  {state}")


@keys_cli.command("rotate")
@click.argument("purpose", type=click.Choice(sorted(ALGORITHM_PURPOSES)))
def keys_rotate(purpose: str) -> None:
    """Sign with a new key from now on; the old public key is still served, so what it
    signed keeps verifying (badges: Open Badges 3.0 credentials; lti: LTI 1.3 messages)."""
    from shooc import signing_keys

    with command_session() as session:
        key = signing_keys.rotate(session, purpose, current_app.config["SECRET_KEY"])  # type: ignore[arg-type]
    click.echo(f"The {purpose} key {key.kid} signs from now on; earlier keys stay published for verification.")


@lti_cli.command("register")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://moodle.example.ac.uk")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-url", required=True, help="The platform's OIDC authentication request URL.")
@click.option("--token-url", required=True, help="The platform's access token URL.")
@click.option("--jwks-url", required=True, help="The platform's public keyset URL.")
@click.option("--deployment-id", "deployment_ids", required=True, multiple=True,
              help="A deployment id of the tool on the platform (repeat for more than one).")
@click.option("--course", default=None, help="The course its links open when they name none (a slug).")
def lti_register(issuer: str, client_id: str, auth_url: str, token_url: str, jwks_url: str,
                 deployment_ids: tuple[str, ...], course: str | None) -> None:
    """Register an LTI 1.3 platform; prints the tool's URLs to give that platform's admin."""
    from shooc.lti import services as lti

    try:
        with command_session() as session:
            platform = lti.register_platform(session, lti.PlatformFields(
                issuer, client_id, auth_url, token_url, jwks_url, " ".join(deployment_ids), course))
            name = platform.issuer
    except lti.RegistrationError as error:
        fail(str(error))
    urls = site_urls(current_app.config)
    click.echo(f"Registered {name} (client id {client_id}). Give its admin these URLs (docs/lti.md):")
    click.echo(f"  Tool URL / target link URI / redirect URI: {urls.lti_launch}")
    click.echo(f"  Initiate login URL:                        {urls.lti_login}")
    click.echo(f"  Public keyset URL (JWKS):                  {urls.lti_jwks}")
    click.echo(f"  Deep linking (content selection) URL:      {urls.lti_launch}")


def register_cli(app: Flask) -> None:
    from shooc.lead.communication_cli import mail_cli, reminders_cli, sessions_cli

    for group in (db_cli, content_cli, run_cli, user_cli, badges_cli, certificates_cli, records_cli, mail_cli,
                  reminders_cli, sessions_cli, jobs_cli, submissions_cli, keys_cli, lti_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
    app.cli.add_command(stats)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
