"""Before and after (issue 19): a learner rates themself against the course's four
standards when they start and when they have finished; they see their change on the
dashboard and in the portfolio, evaluators the paired change of a run (page, CSV,
API, CLI) under the small-cell rule."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import TODAY, complete_and_submit, csrf_token
from sqlalchemy.orm import Session
from test_api import bearer, make_token
from test_portfolio import SLUGS, flat, pdf_text

from shooc.api import tokens  # noqa: F401  (make_token's)
from shooc.enrolment import self_assessment as sa
from shooc.enrolment.services import enrol, withdraw
from shooc.evaluate import counters
from shooc.evaluate.stats import run_stats
from shooc.workbooks import current

CODES = ["S1", "S2", "S3", "S4"]


def standards_of(db: Session, run) -> list[sa.Standard]:  # type: ignore[no-untyped-def]
    return sa.standards(current.meta(db, run.course))


def give(db: Session, enrolment, phase: str, ratings: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Record a phase as the rules allow it: before with nothing submitted, after with all five."""
    standards = standards_of(db, enrolment.run)
    sa.record(db, enrolment, phase, dict(zip(CODES, ratings)), standards,
              submitted=0 if phase == sa.BEFORE else 5, workbooks=5, active=True)


def learners(db: Session, make_user, run, n: int) -> list:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        out.append(enrol(db, run, make_user("learner").id, TODAY))
    db.commit()
    return out


def paired_run(db: Session, make_user, make_run, pairs: int, slug: str = "paired"):  # type: ignore[no-untyped-def]
    """A run with ``pairs`` learners who rated before (2, 2, 3, 1) and after (4, 3, 3, 2),
    one who skipped the before and gave an after, one who gave a before only."""
    run = make_run(slug=slug)
    people = learners(db, make_user, run, pairs + 2)
    for e in people[:pairs]:
        give(db, e, sa.BEFORE, [2, 2, 3, 1])
        give(db, e, sa.AFTER, [4, 3, 3, 2])
    sa.skip(db, people[pairs], sa.BEFORE)
    give(db, people[pairs], sa.AFTER, [5, 5, 5, 5])
    give(db, people[pairs + 1], sa.BEFORE, [1, 1, 1, 1])
    db.commit()
    return run, people


def test_pairs_are_counted_and_means_are_over_pairs_only(db: Session, make_user, make_run) -> None:
    run, _ = paired_run(db, make_user, make_run, 6)
    figures = run_stats(db, run)["self_assessment"]
    assert figures["pairs"] == 6 and figures["withheld"] is False
    by_code = {row["code"]: row for row in figures["per_standard"]}
    assert list(by_code) == CODES
    assert by_code["S1"] == {"code": "S1", "name": "Personal qualities", "pairs": 6, "withheld": False,
                             "before_mean": 2.0, "after_mean": 4.0, "mean_change": 2.0}
    assert (by_code["S3"]["mean_change"], by_code["S4"]["after_mean"]) == (0.0, 2.0)
    # the counters equal the rows, and a rebuild writes the same
    assert run_stats(db, run, recount=True)["self_assessment"] == figures
    counters.rebuild(db, run)
    assert run_stats(db, run)["self_assessment"] == figures


def test_below_five_pairs_the_breakdown_is_withheld(db: Session, make_user, make_run) -> None:
    run, _ = paired_run(db, make_user, make_run, 4)
    figures = run_stats(db, run)["self_assessment"]
    assert figures["pairs"] == 4 and figures["withheld"] is True and "per_standard" not in figures
    assert [s["code"] for s in figures["standards"]] == CODES  # the names only: no one's answer


def test_each_phase_is_given_once_and_only_when_open(db: Session, make_user, make_run) -> None:
    run = make_run()
    (e,) = learners(db, make_user, run, 1)
    standards = standards_of(db, run)
    with pytest.raises(sa.SelfAssessmentError, match="opens once you have submitted every workbook"):
        sa.record(db, e, sa.AFTER, dict.fromkeys(CODES, 3), standards, 2, 5, True)
    with pytest.raises(sa.SelfAssessmentError, match="until you submit your first workbook"):
        sa.record(db, e, sa.BEFORE, dict.fromkeys(CODES, 3), standards, 1, 5, True)
    with pytest.raises(sa.MissingRatings) as missing:
        sa.record(db, e, sa.BEFORE, {"S1": 3, "S2": 9}, standards, 0, 5, True)
    assert [m["code"] for m in missing.value.missing] == ["S2", "S3", "S4"]
    assert sa.state_of(db, e.id).ratings == {}  # nothing kept
    give(db, e, sa.BEFORE, [3, 3, 3, 3])
    with pytest.raises(sa.SelfAssessmentError, match="already"):
        give(db, e, sa.BEFORE, [4, 4, 4, 4])
    assert sa.state_of(db, e.id).ratings == {"before": dict.fromkeys(CODES, 3)}


def form(client, enrolment_id: int, phase: str, **ratings: int | str):  # type: ignore[no-untyped-def]
    page = f"/dashboard/enrolments/{enrolment_id}/self-assessment/{phase}"
    data = {"csrf_token": csrf_token(client, "/dashboard"), "action": "save"}
    data.update({f"rating-{code}": str(value) for code, value in ratings.items()})
    return client.post(page, data=data)


def test_the_learner_is_prompted_may_skip_and_rates_before_and_after(
        client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    user = make_user("learner")
    auth.login(user)
    page = client.get(f"/courses/{run.course.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/courses/{run.course.slug}/enrol", data={"run": run.slug, "csrf_token": token})
    from shooc.enrolment.services import enrolment_for
    enrolment = enrolment_for(db, user.id, run.course)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Before you start: rate your confidence" in html and "Not now" in html
    # Not now: the prompt goes, a quiet link stays while nothing is submitted
    skipped = client.post(f"/dashboard/enrolments/{enrolment.id}/self-assessment/before",
                          data={"csrf_token": csrf_token(client, "/dashboard"), "action": "skip"})
    assert skipped.status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Before you start: rate your confidence" not in html
    assert "Rate your confidence against the standards before you start" in html
    # the form: every standard with its description, five labelled points
    page = client.get(f"/dashboard/enrolments/{enrolment.id}/self-assessment/before").get_data(as_text=True)
    assert page.count('type="radio" name="rating-S1"') == 5 and "Very confident" in page
    assert "Establish trusting relationships" in page
    # a missing standard: said which, what was chosen is kept, nothing stored
    bad = form(client, enrolment.id, "before", S1=2, S2=3, S4=7)
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "S3 Professionalism" in text and "S4 Self-development" in text
    assert re.search(r'name="rating-S1" value="2" checked', text) and re.search(r'name="rating-S2" value="3" checked', text)
    assert sa.state_of(db, enrolment.id).ratings == {}
    # without the CSRF token: refused
    assert client.post(f"/dashboard/enrolments/{enrolment.id}/self-assessment/before",
                       data={"rating-S1": "2", "action": "save"}).status_code == 400
    assert form(client, enrolment.id, "before", S1=2, S2=3, S3=3, S4=1).status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Your confidence when you started" in html and "2 A little confident" in html
    assert "rating-bar before r2" in html
    # after the first submission the before is closed; after the fifth the after opens
    complete_and_submit(db, enrolment, SLUGS[0])
    db.commit()
    html = client.get("/dashboard").get_data(as_text=True)
    assert "rate your confidence again" not in html
    for slug in SLUGS[1:]:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    html = client.get("/dashboard").get_data(as_text=True)
    assert "You have finished: rate your confidence again" in html
    assert form(client, enrolment.id, "after", S1=4, S2=3, S3=5, S4=1).status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "How your confidence changed" in html and "rate your confidence again" not in html
    assert "2 A little confident → 4 Confident" in html and "(up 2)" in html and "(no change)" in html
    assert "rating-bar after r4" in html
    # the portfolio and the data download carry them
    pdf = flat(pdf_text(client.get(f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf").data))
    assert "How my confidence changed" in pdf and "2 of 5: A little confident" in pdf and "4 of 5: Confident" in pdf
    data = json.loads(client.get("/account/data.json").data)
    mine = data["enrolments"][0]["self_assessment"]
    assert mine["before"]["ratings"] == {"S1": 2, "S2": 3, "S3": 3, "S4": 1}
    assert mine["after"]["ratings"]["S3"] == 5 and mine["scale"][4] == "Very confident"


def test_another_learners_self_assessment_is_not_found(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    (theirs,) = learners(db, make_user, run, 1)
    auth.login(make_user("learner"))
    assert client.get(f"/dashboard/enrolments/{theirs.id}/self-assessment/before").status_code == 404
    assert client.get("/dashboard/enrolments/1/self-assessment/during").status_code == 404


def test_a_withdrawn_learner_is_not_prompted(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    user = make_user("learner")
    enrolment = enrol(db, run, user.id, TODAY)
    withdraw(db, enrolment)
    db.commit()
    auth.login(user)
    assert "rate your confidence" not in client.get("/dashboard").get_data(as_text=True).lower()


@pytest.mark.parametrize("pairs", [4, 5])
def test_the_small_cell_rule_holds_on_page_csv_api_and_cli(
        client, auth, db: Session, make_user, make_run, runner, pairs: int) -> None:
    run, _ = paired_run(db, make_user, make_run, pairs)
    evaluator = make_user("evaluator")
    _, token = make_token(db, evaluator)
    auth.login(evaluator)
    page = client.get(f"/evaluate/runs/{run.slug}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/evaluate/runs/{run.slug}/stats.csv").get_data(as_text=True))))
    api = client.get(f"/api/v1/runs/{run.slug}/stats", headers=bearer(token)).get_json()["self_assessment"]
    cli_json = json.loads(runner.invoke(args=["stats", run.slug, "--format", "json"]).output)["self_assessment"]
    cli_csv = list(csv.DictReader(io.StringIO(runner.invoke(args=["stats", run.slug, "--format", "csv"]).output)))
    table = runner.invoke(args=["stats", run.slug, "--format", "table"]).output
    assert api == cli_json and api["pairs"] == pairs
    for row in (rows[0], cli_csv[0]):
        assert row["self_assessment_pairs"] == str(pairs)
        assert "self_assessment_S1_before_mean" in row  # the same columns whatever the size
    if pairs < 5:
        assert api["withheld"] is True and "per_standard" not in api
        assert "4 pairs so far. The change per standard is shown from 5 pairs" in page
        assert "Mean confidence of" not in page
        for row in (rows[0], cli_csv[0]):
            assert row["self_assessment_withheld"] == "True" and row["self_assessment_S1_before_mean"] == ""
        assert re.search(r"self assessment S1 before mean\s*$", table, re.M)
    else:
        assert api["withheld"] is False and api["per_standard"][0]["before_mean"] == 2.0
        assert "Mean confidence of 5 pairs, per standard" in page and "+2.00" in page
        for row in (rows[0], cli_csv[0]):
            assert row["self_assessment_S1_before_mean"] == "2.0" and row["self_assessment_S1_mean_change"] == "2.0"
        assert re.search(r"self assessment S1 after mean\s+4\.0", table)
