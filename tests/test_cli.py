"""The ``shooc`` command line, through the same app as the views (and once as a real
console script)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import MENTORING, PASSWORD, TODAY
from shooc.auth.models import Role, User
from shooc.auth.services import authenticate
from shooc.enrolment.models import Enrolment, Run, RunMode
from shooc.workbooks.models import Course


def test_validate_clean_course(runner) -> None:
    result = runner.invoke(args=["content", "validate", str(MENTORING)])
    assert result.exit_code == 0, result.output
    assert "OK: 'Mentoring trainee and early-career teachers', 5 workbooks" in result.output


def test_validate_prints_every_problem_as_file_line_message(runner, course_copy: Path) -> None:
    wb = course_copy / "02-building-the-relationship.md"
    wb.write_text(wb.read_text().replace("kind: quiz", "kind: exam").replace("title: Building", "titel: Building"))
    result = runner.invoke(args=["content", "validate", str(course_copy)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(course_copy))]
    assert len(lines) == 3  # unknown key, missing title, unknown kind
    for line in lines:
        file, number, message = line.split(":", 2)
        assert file == str(wb) and int(number) > 0 and message.startswith(" ")


def test_publish_prints_the_change_and_is_idempotent(runner, db: Session) -> None:
    first = runner.invoke(args=["content", "publish", str(MENTORING)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Published 'mentoring' version 1:")
    assert "  added    workbook 01-the-mentors-role.md" in first.output
    second = runner.invoke(args=["content", "publish", str(MENTORING)])
    assert second.exit_code == 0
    assert second.output.strip() == "No changes: 'mentoring' version 1 is already published."
    dry = runner.invoke(args=["content", "publish", "--dry-run", str(MENTORING)])
    assert dry.output.strip() == "No changes."


def test_run_create(runner, db: Session, publish) -> None:
    publish()
    result = runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-09-01", "--closes", "2027-07-31"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-rolling"
    again = runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-09-01", "--closes", "2027-07-31",
                                "--mode", "paced", "--pace", "14", "--name", "Autumn paced"])
    assert again.output.strip() == "2026-paced"
    third = runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-10-01", "--closes", "2027-07-31"])
    assert third.output.strip() == "2026-rolling-2"
    paced = db.scalar(select(Run).where(Run.slug == "2026-paced"))
    assert (paced.mode, paced.pace_days, paced.name) == (RunMode.paced, 14, "Autumn paced")
    assert paced.opens_on == dt.date(2026, 9, 1) and paced.closes_on == dt.date(2027, 7, 31)


def test_run_create_errors(runner, publish) -> None:
    no_course = runner.invoke(args=["run", "create", "nope", "--opens", "2026-09-01", "--closes", "2027-07-31"])
    assert no_course.exit_code == 1 and "no course 'nope'" in no_course.output
    publish()
    backwards = runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-09-01", "--closes", "2026-08-01"])
    assert backwards.exit_code == 1 and "closing date must be after the opening date" in backwards.output
    bad_date = runner.invoke(args=["run", "create", "mentoring", "--opens", "1 Sept", "--closes", "2026-08-01"])
    assert bad_date.exit_code == 2 and "'1 Sept' is not a date" in bad_date.output
    runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-09-01", "--closes", "2027-01-01", "--slug", "autumn"])
    taken = runner.invoke(args=["run", "create", "mentoring", "--opens", "2026-09-01", "--closes", "2027-01-01", "--slug", "autumn"])
    assert taken.exit_code == 1 and "already exists" in taken.output


def test_user_create_with_generated_and_stdin_passwords(runner, db: Session) -> None:
    generated = runner.invoke(args=["user", "create", "Lead@Example.org", "--name", "A Leader", "--role", "leader"])
    assert generated.exit_code == 0, generated.output
    password = generated.output.split("Password: ")[1].strip()
    user = authenticate(db, "lead@example.org", password)
    assert user is not None and user.role is Role.leader and user.password_hash != password
    from_stdin = runner.invoke(args=["user", "create", "eval@example.org", "--name", "An Evaluator", "--role",
                                     "evaluator", "--password-stdin"], input=PASSWORD + "\n")
    assert from_stdin.exit_code == 0 and "Password" not in from_stdin.output
    assert authenticate(db, "eval@example.org", PASSWORD) is not None
    duplicate = runner.invoke(args=["user", "create", "eval@example.org", "--name", "X", "--role", "learner"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    short = runner.invoke(args=["user", "create", "x@example.org", "--name", "X", "--role", "learner",
                                "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    bad_role = runner.invoke(args=["user", "create", "y@example.org", "--name", "Y", "--role", "king"])
    assert bad_role.exit_code == 2


def test_demo_publishes_opens_a_run_and_prints_one_account_per_role(runner, db: Session) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    accounts = {}
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in {r.value for r in Role}:
            accounts[parts[0]] = (parts[1], parts[2])
    assert set(accounts) == {"learner", "leader", "evaluator", "admin"}
    for role, (email, password) in accounts.items():
        user = authenticate(db, email, password)
        assert user is not None and user.role.value == role
    run = db.scalar(select(Run))
    assert run.state(TODAY) == "open"
    assert db.scalar(select(Course).where(Course.slug == "mentoring")).current_version_id is not None
    learner = db.scalar(select(User).where(User.role == Role.learner))
    assert db.scalar(select(Enrolment).where(Enrolment.user_id == learner.id)) is not None
    # running it again keeps the run and the accounts, with new passwords
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already published" in again.output
    assert len(db.scalars(select(Run)).all()) == 1


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path: Path) -> None:
    """`shooc` as a person types it: a fresh instance folder, upgrade, publish, run, user."""
    shooc = Path(sys.executable).with_name("shooc")
    env = {**os.environ, "SHOOC_INSTANCE_PATH": str(tmp_path)}
    env.pop("SHOOC_DATABASE_URL", None)

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(shooc), *args], env=env, capture_output=True, text=True, input=input, timeout=120)

    assert run("db", "upgrade").returncode == 0
    assert (tmp_path / "shooc.sqlite3").exists()
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    published = run("content", "publish", str(MENTORING))
    assert published.returncode == 0 and "version 1" in published.stdout
    created = run("run", "create", "mentoring", "--opens", "2026-01-05", "--closes", "2026-12-18")
    assert created.stdout.strip() == "2026-rolling"
    user = run("user", "create", "a@example.org", "--name", "A", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert user.returncode == 0, user.stderr
    bad = run("content", "validate", str(tmp_path))
    assert bad.returncode == 1 and f"{tmp_path}/course.md:1: missing" in bad.stdout
