"""Property-based tests of the records import (docs/formats.md) through the leaders' web
page: any file gives a summary or problems naming their lines (422), never a 500, and
a refused file writes nothing at all (every table's rows are compared)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from hypothesis import example, given, settings, strategies as st
from sqlalchemy.orm import Session

from bad_input import HOSTILE_TEXT, changed_tables, database_fingerprint
from conftest import csrf_token
from records_data import COLUMNS
from shooc.enrolment.models import Run

OPENS, CLOSES = dt.date(2017, 1, 9), dt.date(2017, 12, 31)
PROBLEM_RE = re.compile(r"<code>records\.csv:(\d+)</code>: ")


@st.composite
def valid_row(draw: st.DrawFn, n: int) -> dict[str, str]:
    registered = draw(st.dates(OPENS, CLOSES - dt.timedelta(days=30)))
    started = registered + dt.timedelta(days=draw(st.integers(0, 3)))
    done = draw(st.integers(0, 5))
    return {"email": f"p{n}@example.org", "name": draw(st.sampled_from(["Ann Archer", "Émile Zola", "李小龍"])),
            "organisation": draw(st.sampled_from(["", "Oak School"])), "registered_on": registered.isoformat(),
            "started_on": started.isoformat() if done or draw(st.booleans()) else "",
            **{f"workbook_{w}": (started + dt.timedelta(days=w)).isoformat() if w <= done else ""
               for w in range(1, 6)},
            "overall_effect": draw(st.sampled_from(["", "excellent", "Very good", "poor"]))}


@st.composite
def records_file(draw: st.DrawFn) -> bytes:
    """A CSV of plausible rows, a third of them with one cell replaced by hostile text;
    sometimes a mangled header, or the bytes cut and spliced anywhere."""
    header = list(COLUMNS)
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.permutations(COLUMNS + ["extra"]))[:draw(st.integers(0, 12))]
    rows = []
    for n in range(draw(st.integers(0, 6))):
        row = draw(valid_row(n))
        if draw(st.integers(0, 2)) == 0:
            row[draw(st.sampled_from(COLUMNS))] = draw(HOSTILE_TEXT)
        rows.append([row.get(c) or draw(HOSTILE_TEXT) if c not in row else row[c] for c in header])
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n"]))).writerows([header, *rows])
    data = out.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 7)) == 0:  # not CSV any more: cut, spliced with bytes
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=20)) + data[cut:]
    return data


@pytest.fixture
def past_run(make_run) -> Run:  # type: ignore[no-untyped-def]
    return make_run(opens=OPENS, closes=CLOSES, name="2017 rolling run", slug="2017-rolling")


@settings(max_examples=40)
@given(data=records_file())
@example(data=b"email,name,organisation,registered_on,started_on,workbook_1,workbook_2,workbook_3,workbook_4,"
              b"workbook_5,overall_effect\r\np0@example.org,Ann\x00Archer,,2017-02-01,,,,,,,\r\n")
def test_any_records_file_imports_or_names_its_lines_and_writes_nothing(
        client, auth, make_user, db: Session, past_run: Run, data: bytes) -> None:
    if not getattr(client, "logged_in", False):
        auth.login(make_user("leader"))
        client.logged_in = True
    before = database_fingerprint(db)
    token = csrf_token(client, f"/lead/runs/{past_run.slug}/import")
    response = client.post(f"/lead/runs/{past_run.slug}/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(data), "records.csv")})
    if response.status_code == 302:  # imported: its page gives the summary
        job = client.get(response.headers["Location"])
        assert job.status_code == 200 and "rows" in job.get_data(as_text=True)
        return
    assert response.status_code == 422, response.status_code
    body = response.get_data(as_text=True)
    lines = data.count(b"\n") + 2
    named = [int(n) for n in PROBLEM_RE.findall(body)]
    assert named and all(1 <= n <= lines for n in named), body[:2000]
    assert "Nothing was imported" in body
    assert changed_tables(before, database_fingerprint(db)) == set()


def test_a_nul_in_a_cell_is_a_problem_on_its_line(db: Session, past_run: Run) -> None:
    """Without this check PostgreSQL refuses the text halfway through the import (a 500)."""
    from shooc.lead import records

    data = (",".join(COLUMNS) + "\r\np0@example.org,Ann\x00Archer,,2017-02-01,,,,,,,\r\n").encode()
    checked = records.check_file(db, past_run, data, "records.csv")
    assert [str(p) for p in checked.problems] == ["records.csv:2: name contains a NUL character (is this a CSV file?)"]
