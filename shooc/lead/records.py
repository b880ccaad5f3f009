"""Importing a past run's records (the format: docs/formats.md), over a session (no Flask here).

``read_records`` checks every row of the CSV before anything is written and returns
every problem as ``FILE:LINE: message`` (the header is line 1). ``import_records``
then writes the rows in one transaction (the caller commits): all or nothing.

Decisions, for course teams:

- A learner is matched by e-mail address. A new address makes an account that
  cannot be logged into (no password, address not confirmed, no e-mail opt-in, no
  consent recorded): if the person later registers with that address, they confirm
  it and the account, with its badges and certificate, becomes theirs.
- An address that is a staff account's (leader, evaluator, admin) is a problem on
  its row ("... is a staff account (admin), not a participant"), and nothing is
  imported: an import brings in participants only, and a badge or certificate on a
  staff account would be a credential nobody earned. ``check_file`` reports it
  (``staff_problems``); the writer refuses such an account too, whoever calls it.
- Importing is additive and idempotent: what the run already holds is kept (an
  enrolment's date, a submitted workbook, an evaluation the learner gave), what the
  file adds is added. Importing the same file twice changes nothing.
- ``workbook_N`` is the workbook at position N of the course as published now. A
  completion becomes a submission (with no answers: the file holds none) and its
  badge, issued on that date at midday in the run's time zone; five completions
  issue the certificate, dated on the last of them. Nobody is e-mailed.
- ``registered_on`` must fall within the run's dates; ``started_on`` and completions
  on or after it, and none in the future. A completion after the run's closing date
  is kept, and that learner's close date extended to it, as it must have been.
- ``overall_effect`` takes the five values of the format, in any case, with a space
  or an underscore ("Very good" = "very_good").
- Bounds, so that no file holds a worker for long (a 100,000-column header once took
  409 s: the duplicate check was quadratic). Reading is linear in the file's size;
  a header of more than ``MAX_COLUMNS`` columns (the format has 11) is refused at
  once as one problem on line 1. Every row is still checked, so the count of
  problems is exact, but only the first ``MAX_PROBLEMS`` (by line) are listed, then
  one line says how many more there are: a file wrong throughout costs no more to
  check than a good file of its size, and its report stays readable.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ColumnElement, Insert, Table, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shooc.audit import audit
from shooc.auth.models import Role, User
from shooc.auth.services import AccountError, normalise_email
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.badges.services import new_assertion_id, new_certificate_code, recipient_identity
from shooc.db import Base, utcnow
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.evaluate import counters
from shooc.evaluate.models import Evaluation, OverallEffect, WorkbookStart
from shooc.workbooks import current
from shooc.workbooks.models import WorkbookVersion

WORKBOOK_COLUMNS = [f"workbook_{n}" for n in range(1, 6)]
COLUMNS = ["email", "name", "organisation", "registered_on", "started_on", *WORKBOOK_COLUMNS, "overall_effect"]
REQUIRED_COLUMNS = ["email", "name", "registered_on"]
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNUSABLE_PASSWORD = "!"  # no hash matches it: the account is claimed by registering
BATCH = 1000
MAX_COLUMNS = 50  # in the header: well above the 11 of the format
MAX_PROBLEMS = 100  # listed; any more are counted ("... and N more problems")


@dataclass(frozen=True)
class RecordRow:
    line: int
    email: str
    name: str
    organisation: str | None
    registered_on: dt.date
    started_on: dt.date | None
    completed: tuple[dt.date | None, ...]  # by workbook position, 1 to 5
    overall_effect: OverallEffect | None

    @property
    def last_date(self) -> dt.date:
        return max([self.registered_on, self.started_on or self.registered_on,
                    *(d for d in self.completed if d)])


@dataclass(frozen=True)
class Problem:
    filename: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}: {self.message}"


@dataclass
class RecordsFile:
    filename: str
    rows: list[RecordRow]
    problems: list[Problem]  # the first MAX_PROBLEMS, by line
    more: int = 0  # problems found but not listed

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.more

    def more_line(self) -> str | None:
        """The line that follows the listed problems when there are more."""
        if not self.more:
            return None
        return (f"... and {self.more:,} more problem{'' if self.more == 1 else 's'} in {self.filename} "
                f"(the first {len(self.problems)} are listed)")

    def with_problems(self, found: Sequence[Problem]) -> RecordsFile:
        """This file with the problems ``found`` by a later check: the first
        MAX_PROBLEMS of them all by line listed, the rest counted."""
        if not found:
            return self
        listed = sorted([*self.problems, *found], key=lambda p: p.line)[:MAX_PROBLEMS]
        return RecordsFile(self.filename, self.rows, listed, self.problem_count + len(found) - len(listed))


class _Problems:
    """The problems of one file as they are found: the first MAX_PROBLEMS by line are
    kept to be listed, the others only counted."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.listed: list[Problem] = []
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(Problem(self.filename, line, message))

    def result(self, rows: list[RecordRow]) -> RecordsFile:
        return RecordsFile(self.filename, rows, self.listed, self.count - len(self.listed))


@dataclass
class ImportSummary:
    rows: int = 0
    accounts_created: int = 0
    enrolments_created: int = 0
    enrolments_kept: int = 0
    starts_added: int = 0
    workbooks_added: int = 0
    badges_issued: int = 0
    certificates_issued: int = 0
    evaluations_added: int = 0
    close_dates_extended: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @property
    def added(self) -> int:
        """What the import changed: 0 when every row was already there (a file imported again)."""
        return (self.enrolments_created + self.starts_added + self.workbooks_added + self.evaluations_added
                + self.close_dates_extended)

    def lines(self) -> list[str]:
        return [_count(self.rows, "row") + " read",
                f"{_count(self.enrolments_created, 'learner')} enrolled "
                f"({_count(self.accounts_created, 'new account')}), {self.enrolments_kept:,} already enrolled",
                f"{_count(self.starts_added, 'start')}, {_count(self.workbooks_added, 'completed workbook')}, "
                f"{_count(self.badges_issued, 'badge')}, {_count(self.certificates_issued, 'certificate')}, "
                f"{_count(self.evaluations_added, 'evaluation')} added"]


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


class RecordsInvalid(ValueError):
    def __init__(self, records: RecordsFile) -> None:
        super().__init__(f"{records.problem_count} problem(s) in {records.filename}")
        self.records = records

    @property
    def job_message(self) -> str:
        """What a failed background import's page says (shooc.jobs.describe)."""
        count, listed = self.records.problem_count, self.records.problems[:20]
        return "; ".join(str(p) for p in listed) + (f"; ... and {count - 20:,} more" if count > 20 else "")


# Reading and checking ------------------------------------------------------------

def template_csv(run: Run, today: dt.date | None = None) -> str:
    """A header and one example row for people preparing a file: its dates lie within
    the run it was downloaded from (and not after today), so that it imports as it is."""
    today = today or run.today()
    last = max(run.opens_on, min(today, run.closes_on))
    registered, started, first, second = (min(run.opens_on + dt.timedelta(days=n), last) for n in (0, 1, 11, 25))
    return (",".join(COLUMNS) + "\r\n"
            + f"jo.bloggs@example.org,Jo Bloggs,Hilltop Primary School,{registered},{started},"
              f"{first},{second},,,,very_good\r\n")


def read_records(data: bytes, filename: str, run: Run, workbook_count: int,
                 today: dt.date | None = None) -> RecordsFile:
    """Every row of a records CSV, checked; nothing is written. In steps: the text,
    its header, then each row; a step that finds the file unreadable ends it there."""
    today = today or run.today()
    problems = _Problems(filename)
    text = _decoded(data, problems)
    if text is None:
        return problems.result([])
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _header(reader, problems)
    if columns is None:
        return problems.result([])
    index, width = columns
    rows = _rows(reader, index, width, run, workbook_count, today, problems)
    if not rows and not problems:
        problems.add(1, "the file has a header but no rows")
    return problems.result(rows)


def _decoded(data: bytes, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.add(line, "the file is not UTF-8 text (save it from your spreadsheet as 'CSV UTF-8')")
        return None


def _header(reader: Any, problems: _Problems) -> tuple[dict[str, int], int] | None:
    """Where each column of the format is (in the format's order, whatever the
    file's), and how many fields a row has; None, with the problems on line 1, if
    the header is not the format's. Linear in the number of columns, and capped."""
    problem = problems.add
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problem(1, f"the header is not valid CSV: {exc}")
        return None
    if not header or not any(h.strip() for h in header):
        problem(1, "the file is empty: the first line must be the header " + ",".join(COLUMNS))
        return None
    if len(header) > MAX_COLUMNS:
        problem(1, f"the header has {len(header):,} columns, more than the {MAX_COLUMNS} a records file may have "
                   f"(its columns are {', '.join(COLUMNS)})")
        return None
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}  # column -> its first position
    duplicated: dict[str, int] = {}  # column -> how many times it appears
    for position, name in enumerate(names):
        if name not in COLUMNS:
            problem(1, f"unknown column '{name}' (the columns are {', '.join(COLUMNS)})")
        elif name in index:
            duplicated[name] = duplicated.get(name, 1) + 1
        else:
            index[name] = position
    for name in COLUMNS:
        if name not in index:
            problem(1, f"missing column '{name}'")
    for name, times in duplicated.items():
        problem(1, f"column '{name}' appears {'twice' if times == 2 else f'{times} times'}")
    if problems:
        return None
    return {name: index[name] for name in COLUMNS}, len(names)


def _rows(reader: Any, index: dict[str, int], width: int, run: Run, workbook_count: int, today: dt.date,
          problems: _Problems) -> list[RecordRow]:
    """Each row checked, blank lines skipped, each address once."""
    problem = problems.add
    rows: list[RecordRow] = []
    first_line: dict[str, int] = {}
    line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problem(reader.line_num, f"not valid CSV: {exc}")
            break
        line_start, line = line + 1, reader.line_num  # a quoted field may span lines
        if not any(f.strip() for f in fields):
            continue  # blank lines (spreadsheets add them at the end)
        if len(fields) != width:
            problem(line_start, f"{len(fields)} fields, but the header has {width}")
            continue
        row = _check_row(line_start, {name: fields[i].strip() for name, i in index.items()}, run,
                         workbook_count, today, functools.partial(problem, line_start))
        if row is None:
            continue
        if row.email in first_line:
            problem(line_start, f"{row.email} appears again (first on line {first_line[row.email]})")
            continue
        first_line[row.email] = line_start
        rows.append(row)
    return rows


def _check_row(line: int, values: dict[str, str], run: Run, workbook_count: int, today: dt.date,
               problem: Callable[[str], None]) -> RecordRow | None:
    """One row, in steps: its characters, the person, the dates, the evaluation. Every
    step reports all it finds, so that one read of the file lists every problem."""
    found = _Counter(problem)
    for column, value in values.items():
        if "\x00" in value:  # no text column of PostgreSQL can hold it; never in a real spreadsheet
            found(f"{column} contains a NUL character (is this a CSV file?)")
    if found.count:
        return None
    email, name, organisation = _person(values, found)
    registered_on, started_on, completed = _dates(values, run, workbook_count, today, found)
    effect = _overall_effect(values["overall_effect"], found)
    if found.count or registered_on is None:
        return None
    return RecordRow(line, email, name, organisation, registered_on, started_on, completed, effect)


def _person(values: dict[str, str], problem: Callable[[str], None]) -> tuple[str, str, str | None]:
    email = ""
    try:
        email = normalise_email(values["email"]) if values["email"] else ""
        if not email:
            problem("email is empty")
    except AccountError:
        problem(f"email '{values['email']}' is not an e-mail address")
    name = values["name"]
    if not name:
        problem("name is empty")
    elif len(name) > 200:
        problem("name is longer than 200 characters")
    organisation = values["organisation"] or None
    if organisation and len(organisation) > 200:
        problem("organisation is longer than 200 characters")
    return email, name, organisation


def _date(values: dict[str, str], column: str, today: dt.date, problem: Callable[[str], None],
          required: bool = False) -> dt.date | None:
    text = values[column]
    if not text:
        if required:
            problem(f"{column} is empty")
        return None
    try:
        if not DATE_RE.match(text):
            raise ValueError
        value = dt.date.fromisoformat(text)
    except ValueError:
        problem(f"{column} '{text}' is not a date like 2017-01-31")
        return None
    if value > today:
        problem(f"{column} {value} is in the future")
    return value


def _dates(values: dict[str, str], run: Run, workbook_count: int, today: dt.date, problem: Callable[[str], None],
           ) -> tuple[dt.date | None, dt.date | None, tuple[dt.date | None, ...]]:
    """Registered, started and each completion: each a date, in the run, in order."""
    registered_on = _date(values, "registered_on", today, problem, required=True)
    started_on = _date(values, "started_on", today, problem)
    completed = tuple(_date(values, column, today, problem) for column in WORKBOOK_COLUMNS)
    if registered_on and not run.opens_on <= registered_on <= run.closes_on:
        problem(f"registered_on {registered_on} is outside the run's dates ({run.opens_on} to {run.closes_on})")
    if registered_on and started_on and started_on < registered_on:
        problem(f"started_on {started_on} is before registered_on {registered_on}")
    for position, done in enumerate(completed, start=1):
        if done is None:
            continue
        if position > workbook_count:
            problem(f"workbook_{position} has a date, but the course has {workbook_count} workbooks")
        elif started_on is None and values["started_on"] == "":
            problem(f"workbook_{position} is completed, so started_on must be given")
        elif started_on and done < started_on:
            problem(f"workbook_{position} {done} is before started_on {started_on}")
    return registered_on, started_on, completed


def _overall_effect(text: str, problem: Callable[[str], None]) -> OverallEffect | None:
    """Any case, a space, hyphen or underscore between words ("Very good" = "very_good")."""
    if not text:
        return None
    try:
        return OverallEffect(text.lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        problem(f"overall_effect '{text}' is not one of " + ", ".join(e.value for e in OverallEffect) + " (or empty)")
        return None


class _Counter:
    def __init__(self, problem: Callable[[str], None]) -> None:
        self.problem = problem
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        self.problem(message)


# Writing -----------------------------------------------------------------------------

def course_workbooks(session: Session, run: Run) -> list[WorkbookVersion]:
    """The run's course's workbooks as published now, in order (workbook_N = position N)."""
    return current.workbooks(session, run.course)


def staff_message(email: str, role: Role) -> str:
    return f"{email} is a staff account ({role.value}), not a participant: a records file imports learners only"


def staff_problems(session: Session, records: RecordsFile) -> list[Problem]:
    """A problem on the line of every row whose address is an account that is not a
    learner's (leaders, evaluators, admins run the course; they do not take it)."""
    lines = {row.email: row.line for row in records.rows}
    emails = list(lines)
    found = []
    for start in range(0, len(emails), BATCH):
        for email, role in session.execute(select(User.email, User.role).where(
                _among(session, User.email, emails[start:start + BATCH]), User.role != Role.learner)):
            found.append(Problem(records.filename, lines[email], staff_message(email, role)))
    return found


def check_file(session: Session, run: Run, data: bytes, filename: str,
               today: dt.date | None = None) -> RecordsFile:
    """``read_records``, then what only the database knows: staff accounts' addresses."""
    checked = read_records(data, filename, run, len(course_workbooks(session, run)), today)
    return checked.with_problems(staff_problems(session, checked))


def import_records(session: Session, run: Run, records: RecordsFile, actor: User | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Write checked records into ``run`` in one transaction; flushes, the caller
    commits (all or nothing). A background import runs the same steps, a transaction
    per batch (shooc/lead/imports.py)."""
    if not records.ok:
        raise RecordsInvalid(records)
    writer = start_import(session, run, records.filename)
    total = len(records.rows)
    for start in range(0, total, BATCH):
        writer.write(records.rows[start:start + BATCH])
        if progress:
            progress(min(start + BATCH, total), total)
    writer.summary.rows = total
    finish_import(session, run, records.filename, writer.summary, actor)
    return writer.summary


def start_import(session: Session, run: Run, filename: str, summary: ImportSummary | None = None) -> _Writer:
    """The writer of an import into ``run``, holding the run for this transaction: one
    import per run at a time (PostgreSQL row lock; SQLite serialises writes)."""
    session.execute(select(Run.id).where(Run.id == run.id).with_for_update())
    writer = _Writer(session, run, course_workbooks(session, run), current.version_number(session, run.course),
                     filename)
    if summary is not None:
        writer.summary = summary
    return writer


def finish_import(session: Session, run: Run, filename: str, summary: ImportSummary, actor: User | None) -> None:
    """After the last batch: the run's figures counted afresh (bulk rows bypass the
    per-event counters) and the import audited."""
    counters.rebuild(session, run)
    audit(session, actor, "records.import", f"Imported {filename}: " + "; ".join(summary.lines()),
          run=run, **summary.as_dict())  # type: ignore[arg-type]  # counts, none named enrolment or reason
    session.flush()


def refresh_planner_statistics(session: Session, rows: int) -> None:
    """After a big import (committed), PostgreSQL's planner learns the tables' new
    sizes now rather than when autovacuum gets round to it: the participants table
    and the statistics stay on their indexes straight away. (The caller commits.)"""
    if rows >= 10_000 and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE users, enrolments, submissions, badge_assertions, certificates, "
                             "evaluations, workbook_starts"))


def _insert(model: type[Base]) -> Insert:
    # render_nulls: rows whose None values differ stay in one multi-row INSERT
    # (without it the ORM splits them into a statement per run of alike rows).
    return insert(model).execution_options(render_nulls=True)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)  # a mapped class's FromClause, to SQLAlchemy's types
    return table


def _among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter for a
    batch's 1,000 values rather than 1,000 to bind and plan (a 1,000-row multi-VALUES
    INSERT of accounts bound and planned 10,000 parameters in about 120 ms)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]],
                 returning: Sequence[str] = (), skip_existing: bool = False) -> list[Any]:
    """Insert ``rows`` (dicts of column values) and return the ``returning`` columns
    of each inserted row (in no particular order).

    On PostgreSQL the rows go by COPY, straight into the table, as one stream that
    psycopg formats in C. (They went as one array per column, INSERT ... SELECT FROM
    unnest(...), which psycopg turned into array text value by value in Python:
    about 40 % of a 10,000-row import's Python time, issue 21.) COPY returns
    nothing, so the ids asked for are drawn from the table's sequence first (one
    statement), as its default would have drawn them. ``skip_existing`` (ON CONFLICT DO
    NOTHING: a row already there is kept) COPYs into a temporary table and inserts
    from it. The Python-side column defaults (a new account's session token,
    created_at) are filled in here, as the ORM's INSERT would."""
    if not rows:
        return []
    table = _table(model)
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        statement: Any = (sqlite.insert(model).on_conflict_do_nothing() if skip_existing else _insert(model))
        if returning:
            return list(session.execute(statement.returning(*(table.c[name] for name in returning)), rows))
        session.execute(statement, rows)
        return []
    if "id" in returning and "id" not in rows[0] and not skip_existing:
        ids = session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                              {"table": table.name, "n": len(rows)}).all()
        rows = [{**row, "id": row_id} for row, row_id in zip(rows, ids)]
    columns = [c for c in table.columns if c.name in rows[0] or (c.default is not None and not c.primary_key)]
    values = list(zip(*(_column_values(column, rows, dialect) for column in columns)))
    names = ", ".join(c.name for c in columns)
    if not skip_existing:
        _copy(session, table.name, names, values)
        return [tuple(map(row.__getitem__, returning)) for row in rows]
    staged = f"import_{table.name}"
    session.execute(text(f"CREATE TEMPORARY TABLE {staged} AS SELECT {names} FROM {table.name} WITH NO DATA"))
    _copy(session, staged, names, values)
    sql = f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staged} ON CONFLICT DO NOTHING"
    result = session.execute(text(sql + (" RETURNING " + ", ".join(returning) if returning else "")))
    inserted = list(result) if returning else []
    session.execute(text(f"DROP TABLE {staged}"))
    return inserted


def _column_values(column: Any, rows: list[dict[str, Any]], dialect: Any) -> list[Any]:
    """One column's value in each row, as the database takes it: its default where
    the row has none, through the column type's bind processing."""
    process = column.type.bind_processor(dialect)
    if isinstance(column.type, JSON):  # JSON text; None stays NULL as render_nulls has it
        process = _json_text
    if column.name in rows[0]:
        values = [row[column.name] for row in rows]
    else:
        default = column.default
        assert default is not None
        values = [default.arg(None) if default.is_callable else default.arg for _ in rows]
    return [process(value) for value in values] if process else values


def _copy(session: Session, table: str, names: str, values: list[tuple[Any, ...]]) -> None:
    """COPY ``values`` (tuples in the order of ``names``) into ``table``, in the
    session's transaction, on psycopg's own connection (SQLAlchemy has no COPY). Its
    errors are raised as SQLAlchemy's, as a statement's would be: a unique violation
    is an IntegrityError, a lost connection an OperationalError that
    shooc.db.database_unreachable recognises."""
    import psycopg  # only on PostgreSQL (the postgres extra)

    connection = session.connection()
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    statement = f"COPY {table} ({names}) FROM STDIN"
    with driver_connection.cursor() as cursor:
        try:
            with cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
        except psycopg.Error as exc:
            error: Any = exc
            raise DBAPIError.instance(statement, None, error, psycopg.Error, dialect=connection.dialect,
                                      connection_invalidated=connection.dialect.is_disconnect(
                                          error, driver_connection, cursor)) from exc


class _Writer:
    """Writes rows a batch at a time with a few bulk statements per table (100,000
    rows would take hours one ORM object at a time)."""

    def __init__(self, session: Session, run: Run, workbooks: Sequence[WorkbookVersion],
                 version_number: int | None, filename: str) -> None:
        self.session = session
        self.filename = filename
        self.run = run
        self.workbooks = list(workbooks)
        self.slugs = {w.slug for w in workbooks}
        self.version_number = version_number
        self.zone = ZoneInfo(run.timezone)
        self.summary = ImportSummary()

    def at_midday(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12), tzinfo=self.zone).astimezone(dt.timezone.utc)

    def write(self, rows: Sequence[RecordRow]) -> None:
        """One batch, table by table: accounts, enrolments, submissions with their badges
        (and starts), certificates, evaluations. An enrolment made in this batch
        (``created``) holds nothing yet: nobody else can see it before the commit, so
        what it holds is not looked up."""
        enrolments, created = self._enrolments(rows, self._users(rows))
        badges = self._submissions(rows, enrolments, created)
        if badges:
            self._certificates(rows, enrolments, badges, created)
        self._evaluations(rows, enrolments, created)

    def _submissions(self, rows: Sequence[RecordRow], enrolments: dict[str, tuple[int, int, str]],
                     created: set[int]) -> list[dict[str, Any]]:
        """Each completion not yet submitted becomes a submission, its badge and its
        workbook's start; returns the badges. A new enrolment was given its count of
        submissions when it was made; an existing one's count goes up here."""
        session, summary = self.session, self.summary
        earlier = [enrolment_id for enrolment_id, _, _ in enrolments.values() if enrolment_id not in created]
        have: set[tuple[int, str]] = set()
        if earlier:
            have = {(e, s) for e, s in session.execute(select(Submission.enrolment_id, Submission.workbook_slug)
                                                      .where(_among(session, Submission.enrolment_id, earlier)))}
        new_submissions: list[dict[str, Any]] = []
        for row in rows:
            enrolment_id = enrolments[row.email][0]
            for workbook, day in zip(self.workbooks, row.completed):
                if day is not None and (enrolment_id, workbook.slug) not in have:
                    new_submissions.append({
                        "enrolment_id": enrolment_id, "run_id": self.run.id, "workbook_slug": workbook.slug,
                        "workbook_version_id": workbook.id, "course_version_number": self.version_number,
                        "answers": None, "submitted_at": self.at_midday(day)})
        if not new_submissions:
            return []
        emails = {enrolments[row.email][0]: row.email for row in rows}
        inserted = _bulk_insert(session, Submission, new_submissions,
                                returning=("id", "enrolment_id", "workbook_slug", "submitted_at"))
        badges = []
        for submission_id, enrolment_id, slug, submitted_at in inserted:
            salt = secrets.token_hex(8)
            badges.append({"id": new_assertion_id(), "submission_id": submission_id,
                           "enrolment_id": enrolment_id, "course_slug": self.run.course.slug,
                           "workbook_slug": slug, "salt": salt,
                           "recipient_identity": recipient_identity(emails[enrolment_id], salt),
                           "issued_on": submitted_at})
        _bulk_insert(session, BadgeAssertion, badges)
        starts = [{"enrolment_id": s["enrolment_id"], "workbook_slug": s["workbook_slug"],
                   "started_on": s["submitted_at"].astimezone(self.zone).date()} for s in new_submissions]
        # an earlier enrolment's start of that workbook, if it has one, is kept
        _bulk_insert(session, WorkbookStart, [s for s in starts if s["enrolment_id"] in created])
        _bulk_insert(session, WorkbookStart, [s for s in starts if s["enrolment_id"] not in created],
                     skip_existing=True)
        added: dict[int, int] = {}
        for submission in new_submissions:
            if submission["enrolment_id"] not in created:
                added[submission["enrolment_id"]] = added.get(submission["enrolment_id"], 0) + 1
        if added:
            self._count_submissions(added)
        summary.workbooks_added += len(new_submissions)
        summary.badges_issued += len(badges)
        return badges

    def _count_submissions(self, added: dict[int, int]) -> None:
        """Enrolment id → how many submissions it was given: its count goes up by as many."""
        session = self.session
        if session.get_bind().dialect.name == "postgresql":  # one statement, two arrays
            session.execute(text("UPDATE enrolments SET submitted_count = enrolments.submitted_count + added.n "
                                 "FROM unnest(CAST(:ids AS INTEGER[]), CAST(:ns AS INTEGER[])) AS added(id, n) "
                                 "WHERE enrolments.id = added.id"), {"ids": list(added), "ns": list(added.values())})
        else:
            table = _table(Enrolment)
            session.execute(update(table).where(table.c.id == bindparam("enrolment"))
                            .values(submitted_count=table.c.submitted_count + bindparam("added")),
                            [{"enrolment": e, "added": n} for e, n in added.items()])

    def _certificates(self, rows: Sequence[RecordRow], enrolments: dict[str, tuple[int, int, str]],
                      badges: list[dict[str, Any]], created: set[int]) -> None:
        """A certificate for every learner given a badge here who now holds a valid one
        for every workbook of the course, and none yet: dated on the last of them. A
        new enrolment's badges are this batch's."""
        session = self.session
        valid: dict[int, dict[str, dt.datetime]] = {}
        for badge in badges:
            if badge["enrolment_id"] in created:
                valid.setdefault(badge["enrolment_id"], {})[badge["workbook_slug"]] = badge["issued_on"]
        earlier = {b["enrolment_id"] for b in badges} - created
        certified: set[int] = set()
        if earlier:
            for enrolment_id, slug, issued_on in session.execute(
                    select(BadgeAssertion.enrolment_id, BadgeAssertion.workbook_slug, BadgeAssertion.issued_on)
                    .where(_among(session, BadgeAssertion.enrolment_id, earlier),
                           BadgeAssertion.revoked_at.is_(None))):
                valid.setdefault(enrolment_id, {})[slug] = issued_on
            certified = set(session.scalars(select(Certificate.enrolment_id)
                                            .where(_among(session, Certificate.enrolment_id, earlier))))
        names = {enrolments[row.email][0]: enrolments[row.email][2] for row in rows}
        certificates = [{"code": new_certificate_code(), "enrolment_id": enrolment_id,
                         "holder_name": names[enrolment_id], "issued_on": max(issued.values())}
                        for enrolment_id, issued in valid.items()
                        if enrolment_id not in certified and self.slugs and self.slugs <= issued.keys()]
        _bulk_insert(session, Certificate, certificates)
        self.summary.certificates_issued += len(certificates)

    def _evaluations(self, rows: Sequence[RecordRow], enrolments: dict[str, tuple[int, int, str]],
                     created: set[int]) -> None:
        """The file's overall effect, where the learner gave no evaluation of their own."""
        rated = [row for row in rows if row.overall_effect is not None]
        if not rated:
            return
        session = self.session
        earlier = [enrolments[row.email][0] for row in rated if enrolments[row.email][0] not in created]
        evaluated = set(session.scalars(select(Evaluation.enrolment_id).where(
            _among(session, Evaluation.enrolment_id, earlier)))) if earlier else set()
        evaluations: list[dict[str, Any]] = [
            {"enrolment_id": enrolments[row.email][0], "overall_effect": row.overall_effect,
             "objective_ratings": {}, "comments": None, "source": "import",
             "submitted_at": self.at_midday(row.last_date), "updated_at": utcnow()}
            for row in rated if enrolments[row.email][0] not in evaluated]
        _bulk_insert(session, Evaluation, evaluations)
        self.summary.evaluations_added += len(evaluations)

    def _users(self, rows: Sequence[RecordRow]) -> dict[str, tuple[int, str]]:
        """E-mail → (user id, name), making the accounts that do not exist yet.
        A staff account raises RecordsInvalid (the caller rolls back: nothing is
        imported), should the file not have been checked against this database."""
        session = self.session
        found = session.execute(select(User.id, User.email, User.name, User.role).where(
            _among(session, User.email, [row.email for row in rows]))).all()
        staff = {email: role for _, email, _, role in found if role != Role.learner}
        if staff:
            raise RecordsInvalid(RecordsFile(self.filename, [], [
                Problem(self.filename, row.line, staff_message(row.email, staff[row.email]))
                for row in rows if row.email in staff]))
        users = {email: (user_id, name) for user_id, email, name, _ in found}
        new = [{"email": row.email, "name": row.name, "organisation": row.organisation,
                "password_hash": UNUSABLE_PASSWORD, "role": Role.learner, "email_opt_in": False}
               for row in rows if row.email not in users]
        if new:
            for user_id, email, name in _bulk_insert(session, User, new, returning=("id", "email", "name")):
                users[email] = (user_id, name)
            self.summary.accounts_created += len(new)
        return users

    def _enrolments(self, rows: Sequence[RecordRow], users: dict[str, tuple[int, str]],
                    ) -> tuple[dict[str, tuple[int, int, str]], set[int]]:
        """E-mail → (enrolment id, user id, the account's name), enrolling those who are
        not; and the ids of the enrolments made, each counting the submissions that its
        row's completions will make."""
        session, run = self.session, self.run
        by_user = {users[row.email][0]: row for row in rows}
        existing = {user_id: (enrolment_id, started_on, extended_until)
                    for enrolment_id, user_id, started_on, extended_until in session.execute(
                        select(Enrolment.id, Enrolment.user_id, Enrolment.started_on, Enrolment.extended_until)
                        .where(Enrolment.run_id == run.id, _among(session, Enrolment.user_id, list(by_user))))}
        result: dict[str, tuple[int, int, str]] = {}
        new = []
        for user_id, row in by_user.items():
            last_completion = max((d for d in row.completed if d), default=None)
            extension = last_completion if last_completion and last_completion > run.closes_on else None
            if user_id in existing:
                enrolment_id, started_on, extended_until = existing[user_id]
                result[row.email] = (enrolment_id, user_id, users[row.email][1])
                self.summary.enrolments_kept += 1
                changes = {}
                if started_on is None and row.started_on is not None:
                    changes["started_on"] = row.started_on
                    self.summary.starts_added += 1
                if extension and (extended_until is None or extended_until < extension):
                    changes["extended_until"] = extension
                    self.summary.close_dates_extended += 1
                if changes:
                    session.execute(update(Enrolment).where(Enrolment.id == enrolment_id).values(**changes))
                continue
            new.append({"run_id": run.id, "user_id": user_id, "enrolled_on": row.registered_on,
                        "started_on": row.started_on, "extended_until": extension,
                        "submitted_count": sum(day is not None for _, day in zip(self.workbooks, row.completed)),
                        "last_activity_at": self.at_midday(row.last_date) if row.started_on else None})
            self.summary.starts_added += row.started_on is not None
            self.summary.close_dates_extended += extension is not None
        created: set[int] = set()
        if new:
            names = {user_id: name for user_id, name in users.values()}
            emails = {users[row.email][0]: row.email for row in rows}
            for enrolment_id, enrolled in _bulk_insert(session, Enrolment, new, returning=("id", "user_id")):
                assert enrolled is not None  # each row was inserted with its user's id
                result[emails[enrolled]] = (enrolment_id, enrolled, names[enrolled])
                created.add(enrolment_id)
            self.summary.enrolments_created += len(new)
        return result, created
