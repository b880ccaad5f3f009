"""A run's figures: the counters kept with each event always equal a recount of the
rows, whatever happened in the run, and they are the figures of docs/formats.md."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit
from records_data import records_rows, to_csv
from shooc.auth.services import delete_account
from shooc.badges.models import BadgeAssertion
from shooc.badges.services import revoke_badge
from shooc.enrolment.services import enrol, withdraw
from shooc.evaluate import counters
from shooc.evaluate.stats import run_stats
from shooc.lead import records

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]


def assert_counters_equal_a_recount(db: Session, run) -> dict:  # type: ignore[no-untyped-def]
    db.expire_all()
    counted = counters.read(db, run)
    assert counted == counters.recount(db, run)
    figures = run_stats(db, run)
    assert figures == run_stats(db, run, as_of=dt.datetime.fromisoformat(figures["as_of"].replace("Z", "+00:00")),
                                recount=True)
    return figures


@pytest.fixture
def busy_run(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run where everything has happened once."""
    run = make_run(slug="busy")
    learners = {}
    for key in ("idle", "started", "two", "done", "quitter", "returner", "erased", "revoked"):
        learners[key] = enrol(db, run, make_user("learner").id, TODAY - dt.timedelta(days=3))
    db.commit()
    complete_and_submit(db, learners["started"], SLUGS[0])
    for slug in SLUGS[:2]:
        complete_and_submit(db, learners["two"], slug)
    for key in ("done", "erased", "revoked"):
        for slug in SLUGS:
            complete_and_submit(db, learners[key], slug)
    complete_and_submit(db, learners["quitter"], SLUGS[0])
    withdraw(db, learners["quitter"])
    complete_and_submit(db, learners["returner"], SLUGS[0])
    withdraw(db, learners["returner"])
    enrol(db, run, learners["returner"].user_id, TODAY)  # rejoins
    withdraw(db, learners["done"])  # after finishing: counted as finished
    assertion = db.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == learners["revoked"].id,
                                                       BadgeAssertion.workbook_slug == SLUGS[2]))
    revoke_badge(db, assertion, "Issued in error")
    delete_account(db, learners["erased"].user)
    db.commit()
    return run, learners


def test_the_counters_equal_a_recount_after_everything_that_can_happen(db: Session, busy_run) -> None:
    run, _ = busy_run
    figures = assert_counters_equal_a_recount(db, run)
    assert (figures["registered"], figures["started"], figures["withdrawn"]) == (8, 7, 1)
    assert figures["workbooks_completed"] == 1 + 2 + 15 + 1 + 1
    assert figures["badges_awarded"] == 20 - 1
    assert (figures["completed_all"], figures["certificates_awarded"]) == (3, 2)  # one certificate revoked
    assert figures["per_workbook"][0] == {"order": 1, "slug": SLUGS[0], "title": "The mentor's role",
                                          "started": 7, "completed": 7}
    assert figures["still_inside_window"] == 8 - 3 - 1 and figures["closed_without_finishing"] == 0
    assert figures["median_days_to_certificate"] == 0.0  # all on the day they started
    assert sum(w["registered"] for w in figures["weekly"]) == 8


def test_an_import_then_live_learners_still_agree(db: Session, make_run, make_user) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=200), slug="mixed")
    rows = records_rows(120, run.opens_on, TODAY - dt.timedelta(days=1), seed=5)
    records.import_records(db, run, records.check_file(db, run, to_csv(rows), "past.csv"))
    db.commit()
    assert_counters_equal_a_recount(db, run)
    live = enrol(db, run, make_user("learner").id)
    db.commit()
    for slug in SLUGS:
        complete_and_submit(db, live, slug)
    db.commit()
    figures = assert_counters_equal_a_recount(db, run)
    assert figures["registered"] == 121 and figures["median_days_to_certificate"] is not None


def test_a_rebuild_writes_the_same_counters(db: Session, busy_run) -> None:
    run, _ = busy_run
    before = counters.read(db, run)
    counters.rebuild(db, run)
    db.commit()
    assert counters.read(db, run) == before


def test_after_the_close_only_extensions_keep_learners_inside(db: Session, busy_run) -> None:
    run, learners = busy_run
    learners["two"].extended_until = run.closes_on + dt.timedelta(days=30)
    db.commit()
    after_close = dt.datetime.combine(run.closes_on + dt.timedelta(days=2), dt.time(12), tzinfo=dt.timezone.utc)
    figures = run_stats(db, run, as_of=after_close)
    assert figures["still_inside_window"] == 1 and figures["closed_without_finishing"] == 3


def test_median_of_a_histogram() -> None:
    assert counters.median_from_tally({}) is None
    assert counters.median_from_tally({"3": 1}) == 3
    assert counters.median_from_tally({"1": 1, "10": 1}) == 5.5
    assert counters.median_from_tally({"1": 2, "2": 1, "40": 1}) == 1.5
    assert counters.median_from_tally({"7": 3, "2": 1, "9": 0}) == 7
