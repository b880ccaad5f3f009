"""Enrolment rules as pure functions of dates (DESIGN.md §1, rolling enrolment).

Dates are calendar days in the run's time zone (Europe/London unless the run says
otherwise): a run that closes on 31 July closes at midnight London time, wherever
the server is.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/London"


def today_in(timezone: str = DEFAULT_TIMEZONE, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(ZoneInfo(timezone)).date()


def run_state(opens_on: dt.date, closes_on: dt.date, today: dt.date) -> str:
    """'upcoming', 'open' (the opening and closing days included) or 'closed'."""
    if today < opens_on:
        return "upcoming"
    if today > closes_on:
        return "closed"
    return "open"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def enrolment_decision(opens_on: dt.date, closes_on: dt.date, today: dt.date,
                       capacity: int | None = None, enrolled: int = 0) -> Decision:
    state = run_state(opens_on, closes_on, today)
    if state == "upcoming":
        return Decision(False, f"This run opens on {opens_on:%-d %B %Y}.")
    if state == "closed":
        return Decision(False, f"This run closed on {closes_on:%-d %B %Y}.")
    if capacity is not None and enrolled >= capacity:
        return Decision(False, "This run is full.")
    return Decision(True)


def close_date(run_closes_on: dt.date, extended_until: dt.date | None) -> dt.date:
    """A learner's last day: the run's closing date, or a later one a leader granted."""
    if extended_until is not None and extended_until > run_closes_on:
        return extended_until
    return run_closes_on


def is_open_for_learner(close_on: dt.date, today: dt.date, withdrawn: bool = False) -> bool:
    return not withdrawn and today <= close_on


def days_left(close_on: dt.date, today: dt.date) -> int:
    """Days left including today; 0 once the close date has passed."""
    return max(0, (close_on - today).days + 1)


def release_date(mode: str, opens_on: dt.date, pace_days: int, position: int) -> dt.date:
    """When workbook ``position`` (1-based) becomes available: at opening in a rolling
    run; on opening + (n-1)·pace days in a paced one."""
    if mode == "paced":
        return opens_on + dt.timedelta(days=(position - 1) * pace_days)
    return opens_on


def is_released(mode: str, opens_on: dt.date, pace_days: int, position: int, today: dt.date) -> bool:
    return today >= release_date(mode, opens_on, pace_days, position)


def suggested_date(start: dt.date, close_on: dt.date, pace_days: int, position: int) -> dt.date:
    """The suggested personal schedule: workbook n by start + n·pace days, capped at
    the close date."""
    return min(start + dt.timedelta(days=position * pace_days), close_on)
