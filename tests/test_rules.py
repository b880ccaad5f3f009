"""Pure unit tests of the enrolment date rules (shooc/enrolment/rules.py).

No database, no Flask: plain dates in, plain answers out.
"""
from __future__ import annotations

import datetime as dt

import pytest

from shooc.enrolment import rules
from shooc.enrolment.rules import (
    Decision,
    close_date,
    days_left,
    enrolment_decision,
    is_open_for_learner,
    is_released,
    release_date,
    run_state,
    suggested_date,
    today_in,
)

D = dt.date
OPENS = D(2026, 3, 2)
CLOSES = D(2026, 7, 31)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


# --- run_state ---------------------------------------------------------------------

@pytest.mark.parametrize("today, state", [
    (D(2026, 3, 1), "upcoming"),
    (D(2025, 12, 31), "upcoming"),
    (OPENS, "open"),
    (D(2026, 5, 15), "open"),
    (CLOSES, "open"),
    (D(2026, 8, 1), "closed"),
    (D(2027, 1, 1), "closed"),
])
def test_run_state(today: dt.date, state: str) -> None:
    assert run_state(OPENS, CLOSES, today) == state


def test_run_state_one_day_run() -> None:
    day = D(2026, 6, 1)
    assert run_state(day, day, day) == "open"
    assert run_state(day, day, day - dt.timedelta(days=1)) == "upcoming"
    assert run_state(day, day, day + dt.timedelta(days=1)) == "closed"


# --- enrolment_decision ------------------------------------------------------------

def test_enrol_on_opening_day_allowed() -> None:
    assert enrolment_decision(OPENS, CLOSES, OPENS) == Decision(True, "")


def test_enrol_on_closing_day_allowed() -> None:
    decision = enrolment_decision(OPENS, CLOSES, CLOSES)
    assert decision.allowed is True
    assert decision.reason == ""


def test_enrol_mid_run_allowed() -> None:
    assert enrolment_decision(OPENS, CLOSES, D(2026, 5, 5)).allowed


def test_enrol_day_after_closing_refused_names_the_date() -> None:
    decision = enrolment_decision(OPENS, CLOSES, D(2026, 8, 1))
    assert decision.allowed is False
    assert decision.reason == "This run closed on 31 July 2026."


def test_enrol_before_opening_refused_names_the_opening_date() -> None:
    decision = enrolment_decision(OPENS, CLOSES, D(2026, 3, 1))
    assert decision.allowed is False
    assert decision.reason == "This run opens on 2 March 2026."


def test_enrol_message_day_without_leading_zero() -> None:
    # "%-d": 2 March, not 02 March
    assert "02 March" not in enrolment_decision(OPENS, CLOSES, D(2026, 1, 1)).reason
    assert enrolment_decision(D(2026, 9, 7), D(2026, 12, 1), D(2026, 9, 1)).reason == (
        "This run opens on 7 September 2026.")


def test_enrol_full_run_refused() -> None:
    decision = enrolment_decision(OPENS, CLOSES, D(2026, 4, 1), capacity=30, enrolled=30)
    assert decision == Decision(False, "This run is full.")


def test_enrol_over_full_run_refused() -> None:
    assert not enrolment_decision(OPENS, CLOSES, D(2026, 4, 1), capacity=30, enrolled=31).allowed


def test_enrol_last_place_allowed() -> None:
    assert enrolment_decision(OPENS, CLOSES, D(2026, 4, 1), capacity=30, enrolled=29).allowed


def test_enrol_capacity_zero_is_full() -> None:
    assert enrolment_decision(OPENS, CLOSES, OPENS, capacity=0, enrolled=0).reason == "This run is full."


def test_enrol_no_capacity_never_full() -> None:
    assert enrolment_decision(OPENS, CLOSES, OPENS, capacity=None, enrolled=10_000).allowed


def test_closed_and_full_reports_closed() -> None:
    decision = enrolment_decision(OPENS, CLOSES, D(2026, 8, 1), capacity=1, enrolled=5)
    assert decision.reason == "This run closed on 31 July 2026."


def test_upcoming_and_full_reports_opening() -> None:
    decision = enrolment_decision(OPENS, CLOSES, D(2026, 2, 1), capacity=1, enrolled=5)
    assert decision.reason == "This run opens on 2 March 2026."


def test_decision_is_frozen() -> None:
    decision = Decision(True)
    with pytest.raises(Exception):
        decision.allowed = False  # type: ignore[misc]


# --- close_date / is_open_for_learner / days_left ----------------------------------

def test_close_date_later_extension_used() -> None:
    assert close_date(CLOSES, D(2026, 8, 14)) == D(2026, 8, 14)


def test_close_date_earlier_extension_ignored() -> None:
    assert close_date(CLOSES, D(2026, 7, 1)) == CLOSES


def test_close_date_same_day_extension() -> None:
    assert close_date(CLOSES, CLOSES) == CLOSES


def test_close_date_no_extension() -> None:
    assert close_date(CLOSES, None) == CLOSES


def test_is_open_for_learner() -> None:
    assert is_open_for_learner(CLOSES, CLOSES)
    assert is_open_for_learner(CLOSES, OPENS)
    assert not is_open_for_learner(CLOSES, D(2026, 8, 1))
    assert not is_open_for_learner(CLOSES, OPENS, withdrawn=True)


@pytest.mark.parametrize("today, left", [
    (CLOSES, 1),
    (D(2026, 7, 30), 2),
    (D(2026, 7, 1), 31),
    (D(2026, 8, 1), 0),
    (D(2027, 1, 1), 0),
])
def test_days_left(today: dt.date, left: int) -> None:
    assert days_left(CLOSES, today) == left


def test_days_left_across_leap_day() -> None:
    assert days_left(D(2028, 3, 1), D(2028, 2, 28)) == 3


# --- release dates -----------------------------------------------------------------

def test_rolling_release_all_at_opening() -> None:
    for position in range(1, 6):
        assert release_date("rolling", OPENS, 7, position) == OPENS
        assert is_released("rolling", OPENS, 7, position, OPENS)
        assert not is_released("rolling", OPENS, 7, position, OPENS - dt.timedelta(days=1))


def test_paced_release_dates() -> None:
    assert [release_date("paced", OPENS, 14, n) for n in range(1, 4)] == [
        D(2026, 3, 2), D(2026, 3, 16), D(2026, 3, 30)]


def test_paced_release_boundary() -> None:
    # workbook 3, pace 7: opens + 14 days
    day = OPENS + dt.timedelta(days=14)
    assert is_released("paced", OPENS, 7, 3, day)
    assert not is_released("paced", OPENS, 7, 3, day - dt.timedelta(days=1))
    assert is_released("paced", OPENS, 7, 3, day + dt.timedelta(days=1))


def test_paced_first_workbook_at_opening() -> None:
    assert release_date("paced", OPENS, 7, 1) == OPENS
    assert is_released("paced", OPENS, 7, 1, OPENS)
    assert not is_released("paced", OPENS, 7, 1, OPENS - dt.timedelta(days=1))


def test_paced_release_from_leap_day() -> None:
    opens = D(2028, 2, 29)
    assert [release_date("paced", opens, 7, n) for n in range(1, 6)] == [
        D(2028, 2, 29), D(2028, 3, 7), D(2028, 3, 14), D(2028, 3, 21), D(2028, 3, 28)]


def test_paced_release_across_leap_day() -> None:
    opens = D(2028, 2, 22)
    assert release_date("paced", opens, 7, 2) == D(2028, 2, 29)
    assert release_date("paced", opens, 7, 3) == D(2028, 3, 7)
    # non-leap year for comparison
    assert release_date("paced", D(2027, 2, 22), 7, 2) == D(2027, 3, 1)


# --- suggested_date ----------------------------------------------------------------

def test_suggested_schedule() -> None:
    start = D(2026, 4, 1)
    assert [suggested_date(start, CLOSES, 14, n) for n in range(1, 6)] == [
        D(2026, 4, 15), D(2026, 4, 29), D(2026, 5, 13), D(2026, 5, 27), D(2026, 6, 10)]


def test_suggested_schedule_across_leap_day() -> None:
    start = D(2028, 2, 15)
    assert [suggested_date(start, D(2028, 12, 31), 7, n) for n in range(1, 6)] == [
        D(2028, 2, 22), D(2028, 2, 29), D(2028, 3, 7), D(2028, 3, 14), D(2028, 3, 21)]


def test_suggested_schedule_from_leap_day() -> None:
    start = D(2028, 2, 29)
    assert suggested_date(start, D(2028, 12, 31), 7, 1) == D(2028, 3, 7)
    assert suggested_date(start, D(2029, 12, 31), 365, 1) == D(2029, 2, 28)


def test_suggested_date_capped_at_close() -> None:
    start = D(2026, 7, 1)
    schedule = [suggested_date(start, CLOSES, 14, n) for n in range(1, 6)]
    assert schedule == [D(2026, 7, 15), D(2026, 7, 29), CLOSES, CLOSES, CLOSES]


def test_suggested_date_exactly_on_close() -> None:
    assert suggested_date(D(2026, 7, 17), CLOSES, 14, 1) == CLOSES


def test_suggested_date_enrolled_on_close_day() -> None:
    assert suggested_date(CLOSES, CLOSES, 7, 1) == CLOSES


# --- today_in ----------------------------------------------------------------------

def test_default_timezone_is_london() -> None:
    assert rules.DEFAULT_TIMEZONE == "Europe/London"


@pytest.mark.parametrize("now, day", [
    # winter (GMT = UTC)
    (utc(2026, 1, 15, 23, 59), D(2026, 1, 15)),
    (utc(2026, 1, 16, 0, 0), D(2026, 1, 16)),
    # spring forward: 29 March 2026, 01:00 UTC
    (utc(2026, 3, 28, 23, 30), D(2026, 3, 28)),
    (utc(2026, 3, 29, 0, 30), D(2026, 3, 29)),
    (utc(2026, 3, 29, 1, 30), D(2026, 3, 29)),
    (utc(2026, 3, 29, 22, 59), D(2026, 3, 29)),
    (utc(2026, 3, 29, 23, 0), D(2026, 3, 30)),  # 00:00 BST
    # summer (BST = UTC+1): 23:30Z is 00:30 next day
    (utc(2026, 7, 31, 22, 59), D(2026, 7, 31)),
    (utc(2026, 7, 31, 23, 0), D(2026, 8, 1)),
    (utc(2026, 7, 31, 23, 30), D(2026, 8, 1)),
    # fall back: 25 October 2026, 01:00 UTC
    (utc(2026, 10, 24, 22, 30), D(2026, 10, 24)),
    (utc(2026, 10, 24, 23, 30), D(2026, 10, 25)),  # still BST: 00:30 on the 25th
    (utc(2026, 10, 25, 0, 30), D(2026, 10, 25)),   # 01:30 BST
    (utc(2026, 10, 25, 1, 30), D(2026, 10, 25)),   # 01:30 GMT
    (utc(2026, 10, 25, 23, 30), D(2026, 10, 25)),  # GMT again: 23:30 same day
    (utc(2026, 10, 26, 0, 0), D(2026, 10, 26)),
])
def test_today_in_london(now: dt.datetime, day: dt.date) -> None:
    assert today_in("Europe/London", now) == day
    assert today_in(now=now) == day


def test_today_in_leap_day() -> None:
    assert today_in(now=utc(2028, 2, 29, 23, 59)) == D(2028, 2, 29)
    assert today_in(now=utc(2028, 3, 1, 0, 0)) == D(2028, 3, 1)


@pytest.mark.parametrize("now, day", [
    # NZST, UTC+12 (July)
    (utc(2026, 7, 31, 11, 59), D(2026, 7, 31)),
    (utc(2026, 7, 31, 12, 0), D(2026, 8, 1)),
    # NZDT, UTC+13 (January)
    (utc(2026, 1, 15, 10, 59), D(2026, 1, 15)),
    (utc(2026, 1, 15, 11, 0), D(2026, 1, 16)),
])
def test_today_in_auckland(now: dt.datetime, day: dt.date) -> None:
    assert today_in("Pacific/Auckland", now) == day


def test_today_in_other_timezone_differs_from_london() -> None:
    now = utc(2026, 7, 31, 12, 30)
    assert today_in("Europe/London", now) == D(2026, 7, 31)
    assert today_in("Pacific/Auckland", now) == D(2026, 8, 1)
    assert today_in("America/Los_Angeles", utc(2026, 8, 1, 3, 0)) == D(2026, 7, 31)


def test_today_in_non_utc_aware_now() -> None:
    # an aware datetime in another offset is converted, not read as London time
    now = dt.datetime(2026, 8, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))  # 22:30Z
    assert today_in(now=now) == D(2026, 7, 31)


def test_today_in_without_now_is_a_date() -> None:
    today = today_in()
    assert isinstance(today, dt.date) and not isinstance(today, dt.datetime)
    utc_today = dt.datetime.now(dt.timezone.utc).date()
    assert abs((today - utc_today).days) <= 1


def test_today_in_unknown_timezone_raises() -> None:
    with pytest.raises(Exception):
        today_in("Europe/Atlantis", utc(2026, 1, 1))


# --- closing-day scenario end to end -----------------------------------------------

def test_run_closing_at_london_midnight_in_summer() -> None:
    """A run closing on 31 July closes at midnight London time (23:00 UTC)."""
    before = today_in(now=utc(2026, 7, 31, 22, 59))
    after = today_in(now=utc(2026, 7, 31, 23, 0))
    assert enrolment_decision(OPENS, CLOSES, before).allowed
    assert not enrolment_decision(OPENS, CLOSES, after).allowed
    assert days_left(CLOSES, before) == 1
    assert days_left(CLOSES, after) == 0
