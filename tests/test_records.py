"""Importing a past run's records (docs/formats.md): from the command line and the web,
checked before anything is written, all or nothing, idempotent, with historical
badge and certificate dates, and its counts equal to the run's statistics."""
from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, complete_and_submit, csrf_token, mentoring
from records_data import COLUMNS, expected_counts, records_rows, to_csv
from shooc.auth.models import User
from shooc.auth.services import authenticate
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.unit_of_work import get_db
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.enrolment.services import enrol
from shooc.evaluate.models import Evaluation
from shooc.evaluate.stats import run_stats
from shooc.lead import records
from shooc.audit import AuditEntry
from shooc.lead.models import RecordImport

OPENS, CLOSES = dt.date(2017, 1, 9), dt.date(2017, 12, 31)
TABLES = [User, Enrolment, Submission, BadgeAssertion, Certificate, Evaluation]


@pytest.fixture
def past_run(make_run) -> Run:  # type: ignore[no-untyped-def]
    return make_run(opens=OPENS, closes=CLOSES, name="2017 rolling run", slug="2017-rolling")


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {t.__name__: db.scalar(select(func.count()).select_from(t)) for t in TABLES}


def row(**values: str) -> dict[str, str]:
    base = {c: "" for c in COLUMNS}
    base.update(email="ann@example.org", name="Ann Archer", organisation="Oak School", registered_on="2017-02-01")
    base.update(values)
    return base


def check(db: Session, run: Run, rows: list[dict], filename: str = "past.csv") -> records.RecordsFile:
    return records.check_file(db, run, to_csv(rows), filename)


# The reference case of the issue ----------------------------------------------------

def test_a_500_row_file_with_one_bad_row_imports_nothing_then_the_fixed_file_counts_exactly(
        runner, db: Session, past_run: Run, tmp_path: Path) -> None:
    rows = records_rows(500, OPENS, CLOSES)
    good = rows[317]["registered_on"]
    rows[317]["registered_on"] = "2017-02-30"
    bad_file = tmp_path / "2017.csv"
    bad_file.write_bytes(to_csv(rows))
    before = counts(db)

    result = runner.invoke(args=["records", "import", "2017-rolling", str(bad_file)])
    assert result.exit_code == 1
    assert f"{bad_file}:319: registered_on '2017-02-30' is not a date like 2017-01-31" in result.output
    assert "nothing imported" in result.output
    assert counts(db) == before

    rows[317]["registered_on"] = good
    bad_file.write_bytes(to_csv(rows))
    result = runner.invoke(args=["records", "import", "2017-rolling", str(bad_file)])
    assert result.exit_code == 0, result.output
    expected = expected_counts(rows)
    figures = run_stats(db, past_run)
    assert {key: figures[key] for key in expected} == expected
    assert figures["evaluation"]["responses"] == sum(bool(r["overall_effect"]) for r in rows)
    for effect, n in figures["evaluation"]["overall_effect"].items():
        assert n == sum(r["overall_effect"] == effect for r in rows)
    for workbook in figures["per_workbook"]:
        assert workbook["completed"] == sum(bool(r[f"workbook_{workbook['order']}"]) for r in rows)
    assert figures["completion_rate_registered"] == round(expected["completed_all"] / 500, 4)

    # the same file again changes nothing
    after = counts(db)
    again = runner.invoke(args=["records", "import", "2017-rolling", str(bad_file)])
    assert again.exit_code == 0 and "0 learners enrolled (0 new accounts), 500 already enrolled" in again.output
    assert counts(db) == after
    assert run_stats(db, past_run)["workbooks_completed"] == expected["workbooks_completed"]


def test_badges_and_certificates_carry_their_historical_dates(db: Session, past_run: Run) -> None:
    rows = [row(started_on="2017-02-02", workbook_1="2017-02-10", workbook_2="2017-03-01", workbook_3="2017-03-20",
                workbook_4="2017-04-02", workbook_5="2017-05-05", overall_effect="Very good")]
    summary = records.import_records(db, past_run, check(db, past_run, rows))
    db.commit()
    assert (summary.workbooks_added, summary.badges_issued, summary.certificates_issued) == (5, 5, 1)
    enrolment = db.scalar(select(Enrolment).where(Enrolment.run_id == past_run.id))
    assert (enrolment.enrolled_on, enrolment.started_on) == (dt.date(2017, 2, 1), dt.date(2017, 2, 2))
    badges = db.scalars(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id)
                        .order_by(BadgeAssertion.issued_on)).all()
    assert [b.issued_on.date().isoformat() for b in badges] == [
        "2017-02-10", "2017-03-01", "2017-03-20", "2017-04-02", "2017-05-05"]
    certificate = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    assert certificate.issued_on.date() == dt.date(2017, 5, 5) and certificate.holder_name == "Ann Archer"
    evaluation = db.scalar(select(Evaluation).where(Evaluation.enrolment_id == enrolment.id))
    assert evaluation.overall_effect.value == "very_good" and evaluation.source == "import"
    audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "records.import"))
    assert audit.actor.startswith("command line") and "5 badges" in audit.summary


def test_the_public_badge_says_when_it_was_issued(client, db: Session, past_run: Run) -> None:
    records.import_records(db, past_run, check(db, past_run, [row(started_on="2017-02-02",
                                                                  workbook_1="2017-02-10")]))
    db.commit()
    badge = db.scalar(select(BadgeAssertion))
    document = client.get(f"/badges/assertions/{badge.id}", headers={"Accept": "application/ld+json"}).get_json()
    assert document["issuedOn"].startswith("2017-02-10")


def test_an_imported_person_claims_the_account_by_registering(client, db: Session, past_run: Run,
                                                             instance_path: Path) -> None:
    records.import_records(db, past_run, check(db, past_run, [row(started_on="2017-02-02", workbook_1="2017-02-10")]))
    db.commit()
    user = db.scalar(select(User).where(User.email == "ann@example.org"))
    assert user.email_verified_at is None and not user.email_opt_in and user.consented_at is None
    assert authenticate(db, "ann@example.org", "!") is None  # no password opens it

    token = csrf_token(client, "/auth/register")
    response = client.post("/auth/register", data={
        "csrf_token": token, "name": "Ann Archer", "email": "ann@example.org", "password": PASSWORD,
        "confirm": PASSWORD, "consent": "y", "organisation": "Oak School", "job_role": "mentor",
        "mentoring_experience": "1-3"})
    assert response.status_code == 302
    db.expire_all()
    assert authenticate(db, "ann@example.org", PASSWORD) is not None  # the password is theirs now
    assert db.scalar(select(func.count()).select_from(BadgeAssertion)) == 1  # and the history stays


def test_someone_already_in_the_run_keeps_their_work_and_gains_the_rest(client, auth, db: Session, make_run,
                                                                        make_user) -> None:
    run = make_run(slug="now")  # open now, so that the learner can work in it
    user = make_user("learner", email="ann@example.org", name="Ann Own-Name")
    enrolment = enrol(db, run, user.id)
    db.commit()
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    own = db.scalar(select(Submission).where(Submission.enrolment_id == enrolment.id))
    day = (TODAY - dt.timedelta(days=2)).isoformat()
    rows = [row(registered_on=day, started_on=day, workbook_1=day, workbook_2=day)]
    summary = records.import_records(db, run, check(db, run, rows))
    db.commit()
    assert (summary.enrolments_created, summary.enrolments_kept, summary.workbooks_added) == (0, 1, 1)
    slugs = {s.workbook_slug: s for s in db.scalars(select(Submission).where(Submission.enrolment_id == enrolment.id))}
    assert slugs["the-mentors-role"].id == own.id and slugs["the-mentors-role"].answers  # their answers kept
    assert "building-the-relationship" in slugs
    assert db.get(User, user.id).name == "Ann Own-Name"  # the account is theirs, not the file's
    assert db.get(Enrolment, enrolment.id).enrolled_on == TODAY  # and so is their start

    # an imported workbook (no answers in the file) reads as submitted
    auth.login(user)
    page = client.get("/courses/mentoring/workbooks/building-the-relationship")
    assert page.status_code == 200 and "Submitted" in page.get_data(as_text=True)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "2 of 5" in dashboard or "2/5" in dashboard, dashboard


def test_a_second_file_completes_earlier_learners_and_enrols_new_ones_in_the_same_batch(
        db: Session, past_run: Run) -> None:
    """A learner of an earlier file (three workbooks) completes the other two in the
    next file, beside a new learner in the same batch: each is certified once, on the
    last of their badges, and counts exactly what they submitted (issue 21: a batch
    looks up only what its earlier enrolments hold)."""
    first = [row(started_on="2017-02-02", workbook_1="2017-02-10", workbook_2="2017-03-01",
                 workbook_3="2017-03-20")]
    records.import_records(db, past_run, check(db, past_run, first))
    db.commit()
    second = [row(started_on="2017-02-02", workbook_1="2017-02-10", workbook_2="2017-03-01",
                  workbook_3="2017-03-20", workbook_4="2017-04-02", workbook_5="2017-05-05", overall_effect="good"),
              row(email="bea@example.org", name="Bea Baker", started_on="2017-02-03", workbook_1="2017-02-11",
                  workbook_2="2017-02-12", workbook_3="2017-02-13", workbook_4="2017-02-14",
                  workbook_5="2017-02-15", overall_effect="excellent")]
    summary = records.import_records(db, past_run, check(db, past_run, second))
    db.commit()
    assert (summary.enrolments_created, summary.enrolments_kept) == (1, 1)
    assert (summary.workbooks_added, summary.badges_issued, summary.certificates_issued,
            summary.evaluations_added) == (7, 7, 2, 2)
    db.expire_all()
    by_email = {e.user.email: e for e in db.scalars(select(Enrolment).where(Enrolment.run_id == past_run.id))}
    assert {email: e.submitted_count for email, e in by_email.items()} == {"ann@example.org": 5,
                                                                          "bea@example.org": 5}
    issued = {c.enrolment_id: c.issued_on.date() for c in db.scalars(select(Certificate))}
    assert issued == {by_email["ann@example.org"].id: dt.date(2017, 5, 5),
                      by_email["bea@example.org"].id: dt.date(2017, 2, 15)}
    figures = run_stats(db, past_run)
    assert (figures["workbooks_completed"], figures["certificates_awarded"]) == (10, 2)
    again = records.import_records(db, past_run, check(db, past_run, second))
    assert again.added == 0 and again.certificates_issued == 0


def test_a_bulk_write_that_breaks_a_constraint_raises_sqlalchemys_error(db: Session) -> None:
    """On PostgreSQL the rows go by COPY on psycopg's connection: its errors still come
    out as SQLAlchemy's, as every caller (and shooc.db.database_unreachable) expects."""
    account = {"email": "twice@example.org", "name": "Twice", "password_hash": "!", "role": "learner",
               "email_opt_in": False}
    with pytest.raises(IntegrityError):
        records._bulk_insert(db, User, [account, dict(account)], returning=("id",))
    db.rollback()


def test_a_completion_after_the_close_extends_that_learners_close_date(db: Session, past_run: Run) -> None:
    rows = [row(registered_on="2017-12-20", started_on="2017-12-21", workbook_1="2018-01-15")]
    summary = records.import_records(db, past_run, check(db, past_run, rows))
    db.commit()
    assert summary.close_dates_extended == 1
    assert db.scalar(select(Enrolment.extended_until)) == dt.date(2018, 1, 15)


# Every problem, named by its line ---------------------------------------------------------

@pytest.mark.parametrize("values,message", [
    ({"email": "ann-at-example.org"}, "email 'ann-at-example.org' is not an e-mail address"),
    ({"email": ""}, "email is empty"),
    ({"name": ""}, "name is empty"),
    ({"name": "x" * 201}, "name is longer than 200 characters"),
    ({"registered_on": ""}, "registered_on is empty"),
    ({"registered_on": "01/02/2017"}, "registered_on '01/02/2017' is not a date like 2017-01-31"),
    ({"registered_on": "20170201"}, "registered_on '20170201' is not a date like 2017-01-31"),
    ({"registered_on": "2016-12-31"}, "registered_on 2016-12-31 is outside the run's dates (2017-01-09 to 2017-12-31)"),
    ({"started_on": "2017-01-31"}, "started_on 2017-01-31 is before registered_on 2017-02-01"),
    ({"started_on": "2017-02-02", "workbook_3": "2017-02-01"}, "workbook_3 2017-02-01 is before started_on 2017-02-02"),
    ({"workbook_1": "2017-03-01"}, "workbook_1 is completed, so started_on must be given"),
    ({"started_on": "2017-02-02", "workbook_2": (TODAY + dt.timedelta(days=1)).isoformat()}, "is in the future"),
    ({"overall_effect": "superb"}, "overall_effect 'superb' is not one of excellent, very_good, good, fair, poor"),
])
def test_each_bad_value_is_named_with_its_line(db: Session, past_run: Run, values: dict, message: str) -> None:
    checked = check(db, past_run, [row(email="first@example.org"), row(**values)])
    assert not checked.ok
    assert [str(p) for p in checked.problems if message in p.message] and all(
        p.line == 3 and p.filename == "past.csv" for p in checked.problems), [str(p) for p in checked.problems]


def test_every_problem_of_a_file_is_reported_at_once(db: Session, past_run: Run) -> None:
    rows = [row(email=f"p{i}@example.org") for i in range(6)]
    rows[1]["name"] = ""
    rows[3]["overall_effect"] = "meh"
    rows[5]["email"] = "p0@example.org"
    checked = check(db, past_run, rows)
    assert [(p.line, p.message) for p in checked.problems] == [
        (3, "name is empty"),
        (5, "overall_effect 'meh' is not one of excellent, very_good, good, fair, poor (or empty)"),
        (7, "p0@example.org appears again (first on line 2)")]


@pytest.mark.parametrize("data,message", [
    (b"", "the file is empty"),
    (b"email,name\r\n", "missing column 'organisation'"),
    ((",".join(COLUMNS) + ",shoe_size\r\n").encode(), "unknown column 'shoe_size'"),
    ((",".join(COLUMNS) + "\r\n").encode(), "the file has a header but no rows"),
    ((",".join(COLUMNS) + "\r\na@example.org,A\r\n").encode(), "2 fields, but the header has 11"),
    ((",".join(COLUMNS + ["email", "Email "]) + "\r\n").encode(), "column 'email' appears 3 times"),
    ((",".join(COLUMNS + [f"x{i}" for i in range(40)]) + "\r\n").encode(),
     "the header has 51 columns, more than the 50 a records file may have"),
])
def test_a_file_of_the_wrong_shape_is_refused(db: Session, past_run: Run, data: bytes, message: str) -> None:
    checked = records.check_file(db, past_run, data, "x.csv")
    assert any(message in p.message for p in checked.problems), [str(p) for p in checked.problems]


def test_a_file_not_in_utf8_names_the_line(db: Session, past_run: Run) -> None:
    data = to_csv([row(email="a@example.org"), row(email="b@example.org", name="Zoë")]).decode().encode("latin-1")
    checked = records.check_file(db, past_run, data, "x.csv")
    assert [str(p) for p in checked.problems] == [
        "x.csv:3: the file is not UTF-8 text (save it from your spreadsheet as 'CSV UTF-8')"]


def test_a_spreadsheets_bom_blank_lines_columns_in_any_order_and_quoted_fields_are_fine(
        db: Session, past_run: Run) -> None:
    order = list(reversed(COLUMNS))
    lines = [",".join(order)]
    lines.append(",".join({**row(name='"Archer, Ann"'), "name": '"Archer, Ann"'}[c] for c in order))
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n\r\n,,,,,,,,,,\r\n").encode()
    checked = records.check_file(db, past_run, data, "x.csv")
    assert checked.ok, [str(p) for p in checked.problems]
    assert checked.rows[0].name == "Archer, Ann"


# The web ---------------------------------------------------------------------------------

def _upload(client, run: Run, data: bytes, filename: str = "2017.csv"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/lead/runs/{run.slug}/import")
    return client.post(f"/lead/runs/{run.slug}/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), filename)})


def test_leaders_import_from_the_web_after_fixing_the_named_row(client, auth, db: Session, make_user,
                                                                 past_run: Run) -> None:
    auth.login(make_user("leader"))
    page = client.get(f"/lead/runs/{past_run.slug}/import")
    assert page.status_code == 200 and "Download a template" in page.get_data(as_text=True)
    template = client.get(f"/lead/runs/{past_run.slug}/import/template.csv")
    assert records.check_file(db, past_run, template.data, "t.csv").ok

    rows = records_rows(500, OPENS, CLOSES, seed=7)
    rows[41]["overall_effect"] = "brilliant"
    before = counts(db)
    response = _upload(client, past_run, to_csv(rows))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported: 1 problem in 2017.csv" in body
    assert "2017.csv:43</code>: overall_effect &#39;brilliant&#39; is not one of" in body
    assert counts(db) == before

    rows[41]["overall_effect"] = "excellent"
    response = _upload(client, past_run, to_csv(rows))
    assert response.status_code == 302
    job_page = client.get(response.headers["Location"])
    body = job_page.get_data(as_text=True)
    expected = expected_counts(rows)
    assert "Imported 500 rows" in body
    figures = run_stats(db, past_run)
    assert {k: figures[k] for k in expected} == expected
    assert f"<th scope=\"row\">Certificates awarded</th><td class=\"num\">{expected['certificates_awarded']}</td>" in body
    job = db.scalar(select(RecordImport))
    assert job.status == "done" and job.summary["rows"] == 500 and job.data == b""  # no second copy kept


def test_an_upload_without_its_csrf_token_is_refused(client, auth, make_user, past_run: Run) -> None:
    auth.login(make_user("leader"))
    response = client.post(f"/lead/runs/{past_run.slug}/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(to_csv([row()])), "a.csv")})
    assert response.status_code == 400


def test_a_big_file_imports_in_the_background_with_progress(committed_app) -> None:
    """Above SHOOC_IMPORT_INLINE_ROWS, the request returns at once and the page shows progress."""
    from shooc.auth.services import create_user
    from shooc.enrolment.runs import create_run
    from shooc.workbooks.publish import publish_course

    committed_app.config["SHOOC_IMPORT_INLINE_ROWS"] = 10
    database = get_db(committed_app)
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, OPENS, CLOSES, slug="2017-rolling")
        create_user(session, "leader@example.org", "Lee Leader", "leader", PASSWORD)
        session.commit()
    client = committed_app.test_client()
    client.post("/auth/login", data={"email": "leader@example.org", "password": PASSWORD,
                                     "csrf_token": csrf_token(client)})
    rows = records_rows(300, OPENS, CLOSES, seed=3)
    response = _upload(client, run, to_csv(rows))
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while True:
        body = client.get(response.headers["Location"]).get_data(as_text=True)
        if "Imported 300 rows" in body or time.monotonic() > deadline:
            break
        assert 'http-equiv="refresh"' in body and "Importing 300 rows" in body
        time.sleep(0.2)
    assert "Imported 300 rows" in body
    with database.session() as session:
        figures = run_stats(session, session.get(Run, run.id))
    expected = expected_counts(rows)
    assert {k: figures[k] for k in expected} == expected


# Bounds (issue 14, item 8): a hostile file is refused quickly and reported readably ----

def wide_header_file(columns: int = 100_000) -> bytes:
    """A header of ``columns`` columns (the attack's file: 409 s of one worker), then a row."""
    header = COLUMNS + [f"column_{i}" for i in range(columns - len(COLUMNS))]
    return (",".join(header) + "\r\n" + ",".join(["x"] * columns) + "\r\n").encode()


WIDE_PROBLEM = (":1: the header has 100,000 columns, more than the 50 a records file may have "
                "(its columns are " + ", ".join(COLUMNS) + ")")


def test_a_100000_column_header_is_refused_at_once_from_the_command_line(
        runner, db: Session, past_run: Run, tmp_path: Path) -> None:
    file = tmp_path / "wide.csv"
    file.write_bytes(wide_header_file())
    before = counts(db)
    started = time.monotonic()
    result = runner.invoke(args=["records", "import", "2017-rolling", str(file)])
    assert time.monotonic() - started < 5  # the quadratic check took minutes
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{file}{WIDE_PROBLEM}", "Error: 1 problem found; nothing imported."]
    assert counts(db) == before


def test_a_100000_column_header_is_refused_at_once_from_the_web(
        client, auth, make_user, db: Session, past_run: Run) -> None:
    auth.login(make_user("leader"))
    before = counts(db)
    started = time.monotonic()
    response = _upload(client, past_run, wide_header_file(), "wide.csv")
    assert time.monotonic() - started < 5
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported: 1 problem in wide.csv" in body
    assert f"<code>wide.csv:1</code>: {WIDE_PROBLEM[4:]}" in body
    assert counts(db) == before and db.scalar(select(func.count()).select_from(RecordImport)) == 0


def bad_rows_file(n: int) -> bytes:
    """``n`` rows, each with an empty name."""
    return to_csv([row(email=f"p{i}@example.org", name="") for i in range(n)])


def test_thousands_of_bad_rows_list_the_first_100_then_say_how_many_more(
        runner, db: Session, past_run: Run, tmp_path: Path) -> None:
    checked = records.check_file(db, past_run, bad_rows_file(3_000), "bad.csv")
    assert [(p.line, p.message) for p in checked.problems] == [(n, "name is empty") for n in range(2, 102)]
    assert (checked.more, checked.problem_count) == (2_900, 3_000)

    file = tmp_path / "bad.csv"
    file.write_bytes(bad_rows_file(3_000))
    before = counts(db)
    result = runner.invoke(args=["records", "import", "2017-rolling", str(file)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:100] == [f"{file}:{n}: name is empty" for n in range(2, 102)]
    assert lines[100:] == [f"... and 2,900 more problems in {file} (the first 100 are listed)",
                           "Error: 3,000 problems found; nothing imported."]
    assert counts(db) == before


def test_thousands_of_bad_rows_on_the_web_list_the_first_100_then_say_how_many_more(
        client, auth, make_user, db: Session, past_run: Run) -> None:
    auth.login(make_user("leader"))
    before = counts(db)
    response = _upload(client, past_run, bad_rows_file(3_000), "bad.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported: 3,000 problems in bad.csv" in body
    assert body.count("</code>: name is empty</li>") == 100 and "<code>bad.csv:101</code>" in body
    assert "<code>bad.csv:102</code>" not in body
    assert "<p>... and 2,900 more problems in bad.csv (the first 100 are listed)</p>" in body
    assert counts(db) == before


# Staff accounts (issue 14, item 11): an import never makes a staff account a participant ----

@pytest.mark.parametrize("role", ["admin", "leader", "evaluator"])
def test_a_staff_accounts_address_is_a_problem_on_its_row_from_the_command_line(
        runner, db: Session, make_user, past_run: Run, tmp_path: Path, role: str) -> None:
    staff = make_user(role, email=f"Staff.{role}@Example.org")
    rows = [row(email="first@example.org"),
            row(email=f"STAFF.{role}@example.org", started_on="2017-02-02", workbook_1="2017-02-10")]
    file = tmp_path / "past.csv"
    file.write_bytes(to_csv(rows))
    before = counts(db)
    result = runner.invoke(args=["records", "import", "2017-rolling", str(file)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{file}:3: staff.{role}@example.org is a staff account ({role}), not a participant: "
        "a records file imports learners only",
        "Error: 1 problem found; nothing imported."]
    assert counts(db) == before
    db.refresh(staff)
    assert staff.role.value == role and not db.scalar(select(Enrolment).where(Enrolment.user_id == staff.id))


def test_a_staff_accounts_address_is_a_problem_on_its_row_from_the_web(
        client, auth, db: Session, make_user, past_run: Run) -> None:
    admin = make_user("admin")
    auth.login(make_user("leader"))
    rows = [row(email=f"p{i}@example.org") for i in range(4)]
    rows[2].update(email=admin.email, started_on="2017-02-02", workbook_1="2017-02-10")
    before = counts(db)
    response = _upload(client, past_run, to_csv(rows), "past.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported: 1 problem in past.csv" in body
    assert (f"<code>past.csv:4</code>: {admin.email} is a staff account (admin), not a participant: "
            "a records file imports learners only</li>") in body
    assert counts(db) == before and db.scalar(select(func.count()).select_from(RecordImport)) == 0


def test_staff_problems_join_the_others_in_line_order_and_the_writer_refuses_staff_too(
        db: Session, make_user, past_run: Run) -> None:
    evaluator = make_user("evaluator")
    rows = [row(email=f"p{i}@example.org") for i in range(4)]
    rows[0]["email"] = evaluator.email
    rows[2]["name"] = ""
    checked = check(db, past_run, rows)
    assert [(p.line, p.message.split(":")[0]) for p in checked.problems] == [
        (2, f"{evaluator.email} is a staff account (evaluator), not a participant"), (4, "name is empty")]

    # a file read without the database (read_records alone) is still refused by the writer
    unchecked = records.read_records(to_csv([row(email=evaluator.email)]), "past.csv", past_run, 5)
    assert unchecked.ok
    before = counts(db)
    with pytest.raises(records.RecordsInvalid) as refused:
        records.import_records(db, past_run, unchecked)
    db.rollback()
    assert [str(p) for p in refused.value.records.problems] == [
        f"past.csv:2: {evaluator.email} is a staff account (evaluator), not a participant: "
        "a records file imports learners only"]
    assert counts(db) == before


def test_the_template_imports_into_the_run_it_came_from_and_again_adds_nothing(
        client, auth, db: Session, make_user, make_run) -> None:  # type: ignore[no-untyped-def]
    """The template's sample row lies within the run (and not after today) whatever
    its dates; the same file imported a second time says that nothing was new."""
    run = make_run(opens=TODAY - dt.timedelta(days=40), closes=TODAY + dt.timedelta(days=100), slug="open-now")
    auth.login(make_user("leader"))
    template = client.get(f"/lead/runs/{run.slug}/import/template.csv").data
    assert records.check_file(db, run, template, "t.csv").ok, records.check_file(db, run, template, "t.csv").problems
    first = client.get(_upload(client, run, template, "t.csv").headers["Location"]).get_data(as_text=True)
    assert "Imported 1 row on" in first
    again = client.get(_upload(client, run, template, "t.csv").headers["Location"]).get_data(as_text=True)
    assert "Nothing new: all 1 row read" in again and "Imported 1 row" not in again
    summaries = [e.summary for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "records.import"))]
    assert "1 row read" in summaries[0] and "1 certificates" not in " ".join(summaries)
