"""Live sessions of a run: scheduling them (the page, the command line), who may, bad
input, time zones, the join link's window, the day-before reminder, the two calendar
feeds (read with vobject, an iCalendar parser of its own, not the icalendar that
writes them), and recordings placed in a workbook's media activity."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from conftest import TODAY, csrf_token, set_base_url
from shooc.audit import AuditEntry
from shooc.auth.models import User
from shooc.community.models import Notification
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run
from shooc.enrolment.services import enrol, withdraw
from shooc.lead import live_sessions as live
from shooc.lead.models import CalendarFeed, LiveSession, Recording, SessionReminderSent
from shooc.mailqueue import OutgoingMail
from shooc.urls import SiteUrls

BASE = "https://learn.example.ac.uk"
LINKS = SiteUrls(BASE)
NEXT_YEAR = TODAY.year + 1
LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
UTC = dt.timezone.utc
MEDIA_WORKBOOK, MEDIA_ACTIVITY = "mentoring-communities", "community-webinar"


def _learner(db: Session, make_user, name: str, opt_in: bool = True) -> User:  # type: ignore[no-untyped-def]
    user = make_user("learner", name=name)
    user.email_opt_in = opt_in
    db.commit()
    return user


@pytest.fixture
def people(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run (London) with an opted-in learner, one who wants no e-mail, one withdrawn,
    and another run's learner; a leader."""
    run = make_run(name="Spring run", slug="spring")
    other = make_run(name="Other run", slug="other")
    found = {"olive": _learner(db, make_user, "Olive Opted-in"), "nora": _learner(db, make_user, "Nora No-mail",
                                                                                   opt_in=False),
             "walt": _learner(db, make_user, "Walt Withdrawn"), "otto": _learner(db, make_user, "Otto Other-run"),
             "leader": make_user("leader", name="Lee Leader")}
    for key in ("olive", "nora", "walt"):
        enrol(db, run, found[key].id, TODAY - dt.timedelta(days=3))
    enrol(db, other, found["otto"].id, TODAY)
    withdraw(db, db.scalars(select(Enrolment).where(Enrolment.user_id == found["walt"].id)).one())
    db.commit()
    return run, found


def _schedule(db: Session, run: Run, starts: str, title: str = "Feedback webinar", minutes: str = "60",
              join_url: str = "https://meet.example.org/abc", now: dt.datetime | None = None) -> LiveSession:
    scheduled, _ = live.schedule(db, None, run, title, starts, minutes, LINKS, join_url=join_url, now=now)
    db.commit()
    return scheduled


def _form(**values: str) -> dict[str, str]:
    return {"title": "Feedback webinar", "starts": f"{NEXT_YEAR}-07-01T18:00", "minutes": "60",
            "join_url": "https://meet.example.org/abc", "description": "Bring a question.", **values}


# Who may, and the page ------------------------------------------------------------

def test_only_leaders_and_admins_reach_the_sessions_pages(client, auth, db: Session, make_user, people) -> None:
    run, found = people
    scheduled = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    pages = [f"/lead/runs/{run.slug}/sessions", f"/lead/runs/{run.slug}/sessions/{scheduled.id}"]
    for url in pages:
        assert client.get(url).status_code == 302  # to log in
    auth.login(found["olive"])
    for url in pages:
        assert client.get(url).status_code == 403
    token = csrf_token(client, "/dashboard")
    assert client.post(pages[0], data={**_form(), "csrf_token": token}).status_code == 403
    assert client.post(f"{pages[1]}/cancel", data={"csrf_token": token}).status_code == 403
    auth.logout()
    auth.login(make_user("admin"))
    assert client.get(pages[0]).status_code == 200
    assert client.get(f"/lead/runs/nope/sessions").status_code == 404
    other = db.scalar(select(Run).where(Run.slug == "other"))
    assert client.get(f"/lead/runs/{other.slug}/sessions/{scheduled.id}").status_code == 404  # not that run's
    assert db.scalar(select(func.count()).select_from(LiveSession)) == 1


def test_a_leader_schedules_a_session_and_its_learners_are_told(app, client, auth, db: Session, people,
                                                                 monkeypatch) -> None:
    set_base_url(app, monkeypatch, BASE)
    run, found = people
    auth.login(found["leader"])
    url = f"/lead/runs/{run.slug}/sessions"
    response = client.post(url, data={**_form(), "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302, response.get_data(as_text=True)
    scheduled = db.scalars(select(LiveSession)).one()
    # 18:00 London time in July is 17:00 UTC (BST)
    assert scheduled.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 17, 0, tzinfo=UTC)
    assert (scheduled.minutes, scheduled.join_url, scheduled.sequence) == (60, "https://meet.example.org/abc", 0)
    page = client.get(url).get_data(as_text=True)
    assert f"18:00 BST" in page and "Feedback webinar" in page
    mail = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "session-scheduled")).all()
    assert [m.recipient for m in mail] == [found["olive"].email]  # opted in, enrolled, not withdrawn
    assert "18:00 BST" in mail[0].subject and "https://meet.example.org/abc" not in mail[0].body
    assert f"{BASE}/runs/spring/sessions.ics" in mail[0].body
    told = set(db.scalars(select(Notification.user_id)))
    assert told == {found["olive"].id, found["nora"].id}
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "session.schedule")).one()
    assert entry.actor_id == found["leader"].id and entry.details["session_id"] == scheduled.id


@pytest.mark.parametrize("field, value, message", [
    ("title", "  ", "Give the session a title."),
    ("starts", "", "Give the date and time it starts"),
    ("starts", "next tuesday", "Give the date and time it starts, like"),
    ("starts", f"{TODAY.year - 1}-07-01T18:00", "is in the past"),
    ("starts", f"{NEXT_YEAR}-03-28T01:30", "does not exist in Europe/London"),  # the clocks go forward
    ("minutes", "0", "positive number of minutes"),
    ("minutes", "-30", "positive number of minutes"),
    ("minutes", "an hour", "whole number"),
    ("minutes", "100000", "at most"),
    ("join_url", "javascript:alert(1)", "The join link must be a web address starting with https:// or http://"),
    ("join_url", "ftp://meet.example.org/x", "The join link must be a web address starting with https://"),
    ("join_url", "meet.example.org/abc", "The join link must be a web address"),
])
def test_bad_input_names_the_field_and_keeps_what_was_typed(client, auth, db: Session, people, field: str,
                                                            value: str, message: str) -> None:
    run, found = people
    auth.login(found["leader"])
    url = f"/lead/runs/{run.slug}/sessions"
    typed = _form(**{field: value}, description="Words the leader <typed> & kept")
    response = client.post(url, data={**typed, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message.replace("'", "&#39;") in error.group(1), page[page.find('class="error"') - 200:][:600]
    assert 'aria-invalid="true"' in page
    assert "Words the leader &lt;typed&gt; &amp; kept" in page  # nothing lost
    for name in ("title", "starts", "minutes", "join_url"):
        if typed[name].strip():
            assert f'value="{typed[name]}"' in page.replace("&#34;", '"'), name
    assert db.scalar(select(func.count()).select_from(LiveSession)) == 0
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_posting_without_a_csrf_token_is_refused(client, auth, db: Session, people) -> None:
    run, found = people
    auth.login(found["leader"])
    assert client.post(f"/lead/runs/{run.slug}/sessions", data=_form()).status_code == 400
    assert db.scalar(select(func.count()).select_from(LiveSession)) == 0


# Time zones -------------------------------------------------------------------------

def test_a_start_without_an_offset_is_read_in_the_runs_time_zone(db: Session, make_run) -> None:
    london = make_run(slug="london")
    new_york = make_run(slug="new-york", timezone="America/New_York")
    summer = _schedule(db, london, f"{NEXT_YEAR}-07-01T18:00")
    winter = _schedule(db, london, f"{NEXT_YEAR}-01-14T18:00")
    eastern = _schedule(db, new_york, f"{NEXT_YEAR}-07-01T18:00")
    offset = _schedule(db, london, f"{NEXT_YEAR}-07-01T18:00+02:00")
    utc = _schedule(db, london, f"{NEXT_YEAR}-07-01T18:00Z")
    assert summer.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 17, tzinfo=UTC)
    assert winter.starts_at == dt.datetime(NEXT_YEAR, 1, 14, 18, tzinfo=UTC)
    assert eastern.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 22, tzinfo=UTC)
    assert offset.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 16, tzinfo=UTC)
    assert utc.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 18, tzinfo=UTC)
    assert live.shown(summer.starts_at, london.timezone).endswith("18:00 BST")
    assert live.shown(winter.starts_at, london.timezone).endswith("18:00 GMT")
    assert live.shown(eastern.starts_at, new_york.timezone).endswith("18:00 EDT")
    assert live.shown(utc.starts_at, london.timezone).endswith("19:00 BST")
    # the night the clocks go back, 01:30 happens twice: the first (BST)
    autumn = _schedule(db, london, f"{NEXT_YEAR}-10-31T01:30" if dt.date(NEXT_YEAR, 10, 31).weekday() == 6 else
                       _last_sunday_of_october(NEXT_YEAR) + "T01:30")
    assert live.shown(autumn.starts_at, london.timezone).endswith("01:30 BST")


def _last_sunday_of_october(year: int) -> str:
    day = dt.date(year, 10, 31)
    return (day - dt.timedelta(days=(day.weekday() + 1) % 7)).isoformat()


def test_learners_see_times_in_their_runs_time_zone(client, auth, db: Session, make_user, make_run) -> None:
    new_york = make_run(slug="new-york", timezone="America/New_York")
    learner = make_user("learner")
    enrol(db, new_york, learner.id, TODAY)
    db.commit()
    _schedule(db, new_york, f"{NEXT_YEAR}-01-14T18:00", title="Winter chat")
    auth.login(learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Winter chat" in page and f"14 January {NEXT_YEAR}, 18:00 EST" in page


# The join link's window -----------------------------------------------------------------

def test_the_join_link_shows_from_15_minutes_before_the_start_to_the_end(db: Session, make_run) -> None:
    run = make_run()
    start = dt.datetime(NEXT_YEAR, 7, 1, 17, tzinfo=UTC)
    scheduled = _schedule(db, run, start.isoformat(), minutes="45")
    minute = dt.timedelta(minutes=1)
    assert not live.join_open(scheduled, start - 16 * minute)
    assert live.join_open(scheduled, start - 15 * minute)
    assert live.join_open(scheduled, start)
    assert live.join_open(scheduled, start + 45 * minute - dt.timedelta(seconds=1))
    assert not live.join_open(scheduled, start + 45 * minute)
    live.cancel(db, None, scheduled, LINKS, now=start - 60 * minute)
    assert not live.join_open(scheduled, start)


def test_the_dashboard_shows_the_join_link_only_in_its_window(client, auth, db: Session, people) -> None:
    run, found = people
    now = utcnow()
    soon = _schedule(db, run, (now + dt.timedelta(minutes=10)).isoformat(), title="Starting soon",
                     join_url="https://meet.example.org/soon")
    later = _schedule(db, run, (now + dt.timedelta(minutes=40)).isoformat(), title="Later today",
                      join_url="https://meet.example.org/later")
    _schedule(db, run, (now + dt.timedelta(minutes=5)).isoformat(), title="Was to be")
    gone = db.scalar(select(LiveSession).where(LiveSession.title == "Was to be"))
    live.cancel(db, None, gone, LINKS)
    db.commit()
    auth.login(found["olive"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Starting soon" in page and 'href="https://meet.example.org/soon"' in page
    assert "Later today" in page and "https://meet.example.org/later" not in page
    opens = live.in_zone(later.starts_at - live.JOIN_EARLY, run.timezone)
    assert f"The link to join shows here from {opens:%H:%M}, 15 minutes before the start." in page
    assert "Was to be" in page and "cancelled" in page
    auth.logout()
    auth.login(found["otto"])  # another run's learner sees none of it
    assert "Starting soon" not in client.get("/dashboard").get_data(as_text=True)


# Changing and cancelling ------------------------------------------------------------------

def test_a_leader_changes_and_cancels_a_session(client, auth, db: Session, people) -> None:
    run, found = people
    scheduled = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    auth.login(found["leader"])
    url = f"/lead/runs/{run.slug}/sessions/{scheduled.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{NEXT_YEAR}-07-01T18:00"' in page  # in the run's time zone, as typed
    response = client.post(url, data={**_form(starts=f"{NEXT_YEAR}-07-02T19:30", title="Moved webinar"),
                                      "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    db.refresh(scheduled)
    assert scheduled.starts_at == dt.datetime(NEXT_YEAR, 7, 2, 18, 30, tzinfo=UTC)
    assert (scheduled.title, scheduled.sequence) == ("Moved webinar", 1)
    moved = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "session-moved")).all()
    assert [m.recipient for m in moved] == [found["olive"].email] and "19:30 BST" in moved[0].subject
    # only the description: calendars see it, nobody is e-mailed
    client.post(url, data={**_form(starts=f"{NEXT_YEAR}-07-02T19:30", title="Moved webinar", description="New"),
                           "csrf_token": csrf_token(client, url)})
    db.refresh(scheduled)
    assert scheduled.sequence == 2 and db.scalar(select(func.count()).select_from(OutgoingMail).where(
        OutgoingMail.kind == "session-moved")) == 1
    cancel = client.post(f"{url}/cancel", data={"csrf_token": csrf_token(client, url)})
    assert cancel.status_code == 302
    db.refresh(scheduled)
    assert scheduled.cancelled_at is not None and scheduled.sequence == 3
    assert db.scalar(select(func.count()).select_from(OutgoingMail).where(
        OutgoingMail.kind == "session-cancelled")) == 1
    actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["session.schedule", "session.change", "session.change", "session.cancel"] or \
        actions[-4:] == ["session.schedule", "session.change", "session.change", "session.cancel"]
    # a cancelled session is not changed again
    again = client.post(url, data={**_form(), "csrf_token": csrf_token(client, url)})
    assert again.status_code == 302 and db.get(LiveSession, scheduled.id).title == "Moved webinar"
    assert "cancelled" in client.get(f"/lead/runs/{run.slug}/sessions").get_data(as_text=True)


# The day-before reminder ---------------------------------------------------------------

def _at_london(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LONDON).astimezone(UTC)


def test_the_day_before_reminder_goes_once_to_each_opted_in_learner(db: Session, people) -> None:
    run, found = people
    day = TODAY + dt.timedelta(days=20)
    scheduled = _schedule(db, run, f"{day.isoformat()}T18:00")
    assert live.send_session_reminders(db, LINKS, now=_at_london(day - dt.timedelta(days=2), 8)) == 0
    assert live.send_session_reminders(db, LINKS, now=_at_london(day - dt.timedelta(days=1), 8)) == 1
    db.commit()
    assert live.send_session_reminders(db, LINKS, now=_at_london(day - dt.timedelta(days=1), 9)) == 0  # again
    assert live.send_session_reminders(db, LINKS, now=_at_london(day, 8)) == 0  # the day itself
    db.commit()
    mail = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "session-reminder")).all()
    assert [m.recipient for m in mail] == [found["olive"].email]
    assert "tomorrow" in mail[0].subject and "18:00" in mail[0].subject
    assert "is tomorrow" in mail[0].body and "https://meet.example.org/abc" not in mail[0].body
    # moved to another day: reminded again, the day before the new one
    live.change(db, None, scheduled, scheduled.title, f"{(day + dt.timedelta(days=7)).isoformat()}T18:00", "60",
                LINKS, join_url="https://meet.example.org/abc", now=_at_london(day - dt.timedelta(days=1), 10))
    db.commit()
    assert live.send_session_reminders(db, LINKS, now=_at_london(day + dt.timedelta(days=6), 8)) == 1
    db.commit()
    # a cancelled session: no reminder
    other = _schedule(db, run, f"{(day + dt.timedelta(days=30)).isoformat()}T18:00", title="Cancelled")
    live.cancel(db, None, other, LINKS)
    db.commit()
    assert live.send_session_reminders(db, LINKS, now=_at_london(day + dt.timedelta(days=29), 8)) == 0


def test_the_reminder_has_one_row_per_session_and_person(db: Session, people) -> None:
    """The unique key that stops a second server's reminder, whatever got past the lock."""
    run, found = people
    scheduled = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    db.add(SessionReminderSent(session_id=scheduled.id, user_id=found["olive"].id))
    db.commit()
    db.add(SessionReminderSent(session_id=scheduled.id, user_id=found["olive"].id))
    with pytest.raises(Exception):
        db.commit()
    db.rollback()


def test_reminders_send_from_cron_sends_the_session_reminder_once(runner, db: Session, people, app,
                                                                  monkeypatch) -> None:
    set_base_url(app, monkeypatch, BASE)
    run, found = people
    tomorrow = live.in_zone(utcnow(), run.timezone).date() + dt.timedelta(days=1)
    _schedule(db, run, f"{tomorrow.isoformat()}T23:00")
    dry = runner.invoke(args=["reminders", "send", "--dry-run"])
    assert dry.exit_code == 0 and "and 1 reminder of tomorrow's live sessions" in dry.output, dry.output
    assert db.scalar(select(func.count()).select_from(SessionReminderSent)) == 0
    first = runner.invoke(args=["reminders", "send"])
    assert first.exit_code == 0 and "and 1 reminder of tomorrow's live sessions" in first.output, first.output
    second = runner.invoke(args=["reminders", "send"])
    assert second.exit_code == 0 and "live sessions" not in second.output, second.output
    assert db.scalar(select(func.count()).select_from(OutgoingMail).where(
        OutgoingMail.kind == "session-reminder")) == 1


# The command line ----------------------------------------------------------------------

def test_sessions_create_prints_the_id(runner, db: Session, make_run) -> None:
    run = make_run(slug="spring", timezone="America/New_York")
    result = runner.invoke(args=["sessions", "create", "spring", "--title", "Evening chat", "--starts",
                                 f"{NEXT_YEAR}-07-01T18:00", "--minutes", "45", "--join-url",
                                 "https://meet.example.org/x"])
    assert result.exit_code == 0, result.output
    created = db.get(LiveSession, int(result.output.strip()))
    assert created is not None and created.run_id == run.id
    assert created.starts_at == dt.datetime(NEXT_YEAR, 7, 1, 22, tzinfo=UTC)  # read in the run's time zone
    assert (created.minutes, created.join_url) == (45, "https://meet.example.org/x")
    bad = runner.invoke(args=["sessions", "create", "spring", "--title", "X", "--starts", "tomorrow",
                              "--minutes", "0", "--join-url", "javascript:alert(1)"])
    assert bad.exit_code == 1
    assert "--starts: Give the date and time" in bad.output
    assert "--minutes: The length must be a positive" in bad.output and "--join-url: The join link" in bad.output
    assert runner.invoke(args=["sessions", "create", "nope", "--title", "X", "--starts", f"{NEXT_YEAR}-07-01T18:00",
                               "--minutes", "5"]).exit_code == 1
    assert db.scalar(select(func.count()).select_from(LiveSession)) == 1


# Calendars -----------------------------------------------------------------------------

def _parse(body: bytes):  # type: ignore[no-untyped-def]
    calendar = vobject.readOne(body.decode())
    return calendar, {e.uid.value: e for e in getattr(calendar, "vevent_list", [])}


def test_the_runs_calendar_is_public_without_join_links(client, db: Session, people) -> None:
    run, _ = people
    first = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00", minutes="90")
    second = _schedule(db, run, f"{NEXT_YEAR}-01-14T18:00", title="Winter chat")
    live.cancel(db, None, second, LINKS)
    db.commit()
    response = client.get(f"/runs/{run.slug}/sessions.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar, events = _parse(response.data)
    assert calendar.version.value == "2.0"
    host = "localhost"
    one, two = events[f"session-{first.id}@{host}"], events[f"session-{second.id}@{host}"]
    assert one.dtstart.value == first.starts_at and one.dtstart.value.utcoffset() == dt.timedelta(0)
    assert one.dtend.value == first.starts_at + dt.timedelta(minutes=90)
    assert one.dtstamp.value.tzinfo is not None
    assert one.status.value == "CONFIRMED" and two.status.value == "CANCELLED"
    assert int(one.sequence.value) == 0 and int(two.sequence.value) == 1
    assert "Feedback webinar" in one.summary.value
    assert b"meet.example.org" not in response.data  # the join links stay in the personal feeds
    assert "url" not in one.contents
    assert client.get("/runs/nope/sessions.ics").status_code == 404
    # a change shows: same UID, a higher SEQUENCE, the new time
    live.change(db, None, first, first.title, f"{NEXT_YEAR}-07-01T19:00", "90", LINKS,
                join_url="https://meet.example.org/abc")
    db.commit()
    _, events = _parse(client.get(f"/runs/{run.slug}/sessions.ics").data)
    changed = events[f"session-{first.id}@{host}"]
    assert int(changed.sequence.value) == 1 and changed.dtstart.value == dt.datetime(NEXT_YEAR, 7, 1, 18, tzinfo=UTC)


def test_a_personal_feed_has_sessions_with_links_schedule_and_close_date(client, auth, db: Session, make_user,
                                                                         make_run) -> None:
    paced = make_run(slug="paced", mode="paced", pace_days=7, opens=TODAY - dt.timedelta(days=2),
                     closes=TODAY + dt.timedelta(days=80))
    learner = make_user("learner", name="Pat Paced")
    enrolment = enrol(db, paced, learner.id, TODAY)
    db.commit()
    scheduled = _schedule(db, paced, f"{NEXT_YEAR}-07-01T18:00")
    auth.login(learner)
    page = client.get("/dashboard/calendar").get_data(as_text=True)
    assert "You have no calendar address yet." in page
    assert client.post("/dashboard/calendar/new", data={"csrf_token": csrf_token(client, "/dashboard/calendar")}) \
        .status_code == 302
    token = db.get(CalendarFeed, learner.id).token
    page = client.get("/dashboard/calendar").get_data(as_text=True)
    assert f"/calendar/{token}.ics" in page
    auth.logout()  # calendar applications carry no cookie
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"] or "private" in response.headers["Cache-Control"]
    _, events = _parse(response.data)
    session_event = events[f"session-{scheduled.id}@localhost"]
    assert session_event.dtstart.value == scheduled.starts_at
    assert session_event.url.value == "https://meet.example.org/abc"
    opens = {uid: e for uid, e in events.items() if "-opens-" in uid}
    suggested = {uid: e for uid, e in events.items() if "-suggested-" in uid}
    assert len(opens) == 5 and len(suggested) == 5
    second = events[f"enrolment-{enrolment.id}-opens-building-the-relationship@localhost"]
    assert second.dtstart.value == paced.opens_on + dt.timedelta(days=7)  # opens_on + (n-1) * pace_days
    first_suggested = events[f"enrolment-{enrolment.id}-suggested-the-mentors-role@localhost"]
    assert first_suggested.dtstart.value == TODAY + dt.timedelta(days=7)  # start + n * pace_days
    close = events[f"enrolment-{enrolment.id}-close@localhost"]
    assert close.dtstart.value == enrolment.close_date == paced.closes_on
    # a new address: the old one is 404 at once
    auth.login(learner)
    client.post("/dashboard/calendar/new", data={"csrf_token": csrf_token(client, "/dashboard/calendar")})
    db.expire_all()
    new_token = db.get(CalendarFeed, learner.id).token
    assert new_token != token
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get(f"/calendar/{new_token}.ics").status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert client.get(f"/calendar/{new_token[:-1]}.ics").status_code == 404


def test_a_personal_feed_leaves_out_runs_one_withdrew_from(client, db: Session, people) -> None:
    run, found = people
    _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    token = live.feed_token(db, found["walt"])
    db.commit()
    _, events = _parse(client.get(f"/calendar/{token}.ics").data)
    assert events == {}


# Recordings in the media activity -------------------------------------------------------------

def test_a_recording_placed_in_the_media_activity_shows_there_only(client, auth, db: Session, people) -> None:
    run, found = people
    scheduled = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    auth.login(found["leader"])
    url = "/lead/courses/mentoring/recordings"
    form = client.get(f"{url}?session={scheduled.id}").get_data(as_text=True)
    assert 'value="Feedback webinar"' in form  # the session's title, to keep or change
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "workbook": "the-mentors-role",
                                 "activity": MEDIA_ACTIVITY, "session": str(scheduled.id), "title": "Recording",
                                 "url": "https://video.example.org/r1", "transcript": "Words."})
    assert bad.status_code == 422 and "That workbook has no recording activity" in bad.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "workbook": MEDIA_WORKBOOK,
                                      "activity": MEDIA_ACTIVITY, "session": str(scheduled.id),
                                      "title": "Mentors together, the recording", "url": "https://video.example.org/r1",
                                      "transcript": "First words.\n\nSecond words."})
    assert response.status_code == 302, response.get_data(as_text=True)
    recording = db.scalars(select(Recording)).one()
    assert (recording.activity_id, recording.session_id) == (MEDIA_ACTIVITY, scheduled.id)
    taken = client.post(url, data={"csrf_token": csrf_token(client, url), "workbook": MEDIA_WORKBOOK,
                                   "activity": MEDIA_ACTIVITY, "title": "Another", "url": "https://video.example.org/2",
                                   "transcript": "Words."})
    assert taken.status_code == 422 and "already shows" in taken.get_data(as_text=True)
    auth.logout()
    auth.login(found["olive"])
    page = client.get(f"/courses/mentoring/workbooks/{MEDIA_WORKBOOK}").get_data(as_text=True)
    activity = page[page.index(f'id="activity-{MEDIA_ACTIVITY}"'):]
    activity = activity[:activity.index("</section>")]
    assert "Mentors together, the recording" in activity and 'href="https://video.example.org/r1"' in activity
    assert '<p class="transcript-text">Second words.</p>' in activity
    assert "The recording will be posted here" not in page
    assert page.count("Mentors together, the recording") == 2  # the activity's title line, and its button's label
    assert 'id="recordings-heading"' not in page and "https://video.example.org/r1" not in page.replace(activity, "")
    assert 'name="a.community-webinar.watched"' in activity


def test_the_migration_places_existing_recordings_in_their_media_activity(database_url: str,
                                                                          schema_tables: list[str]) -> None:
    """Migration 0018 up and down on the suite's own database (SQLite, or PostgreSQL in
    CI's second run), left empty and at head afterwards as the fixture made it."""
    from alembic import command

    from conftest import empty_tables, mentoring
    from shooc.db import Database
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.publish import publish_course

    database = Database(database_url)
    try:
        with database.session() as session:
            course_id = publish_course(session, mentoring()).course.id
            session.commit()
        command.downgrade(alembic_config(database), "0017")
        with database.engine.begin() as connection:
            for n, (slug, at) in enumerate([(MEDIA_WORKBOOK, "2026-03-01"), (MEDIA_WORKBOOK, "2026-04-01"),
                                            ("the-mentors-role", "2026-03-01")]):
                connection.execute(text(
                    "INSERT INTO recordings (course_id, workbook_slug, title, url, transcript, recorded_on, "
                    "created_at) VALUES (:c, :w, :t, 'https://v.example/1', 'Words.', :at, :created)"),
                    {"c": course_id, "w": slug, "t": f"R{n}", "at": dt.date.fromisoformat(at),
                     "created": dt.datetime(2026, 4, 2, 10, tzinfo=UTC)})
        upgrade(database)
        with database.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT title, activity_id, session_id FROM recordings ORDER BY title")).all()
        # the latest of the media workbook in its activity; the other, and the workbook without one, after the text
        assert [tuple(r) for r in rows] == [("R0", None, None), ("R1", MEDIA_ACTIVITY, None), ("R2", None, None)]
        command.downgrade(alembic_config(database), "0017")
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM recordings")).scalar() == 3
            with pytest.raises(Exception):
                connection.execute(text("SELECT count(*) FROM live_sessions"))
    finally:
        upgrade(database)
        with database.engine.begin() as connection:  # the course and its current version refer to each other
            connection.execute(text("UPDATE courses SET current_version_id = NULL"))
        empty_tables(database, schema_tables)
        database.engine.dispose()


def test_two_reminder_runs_at_once_send_each_session_reminder_once(committed_app) -> None:
    """Two cron jobs (or servers) at the same moment: one waits for the other."""
    import threading

    from conftest import PASSWORD, mentoring
    from shooc.auth.services import create_user
    from shooc.enrolment.runs import create_run
    from shooc.unit_of_work import get_db
    from shooc.workbooks.publish import publish_course

    database = get_db(committed_app)
    day = TODAY + dt.timedelta(days=10)
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=60))
        for n in range(12):
            user = create_user(session, f"crowd{n}@example.org", f"Crowd {n}", "learner", PASSWORD,
                               email_opt_in=True)
            enrol(session, run, user.id, TODAY)
        session.commit()
        live.schedule(session, None, run, "Crowded webinar", f"{day.isoformat()}T18:00", "60", LINKS)
        session.commit()
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        own = database.session()
        try:
            barrier.wait(timeout=30)
            counts.append(live.send_session_reminders(own, LINKS, now=_at_london(day - dt.timedelta(days=1), 8)))
            own.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(counts) == [0, 12]
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(SessionReminderSent)) == 12
        assert check.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.kind == "session-reminder")) == 12


def test_the_recordings_form_is_filled_in_from_its_links_and_refuses_strange_sessions(client, auth, db: Session,
                                                                                     people) -> None:
    run, found = people
    other_course_session = _schedule(db, run, f"{NEXT_YEAR}-07-01T18:00")
    auth.login(found["leader"])
    url = "/lead/courses/mentoring/recordings"
    page = client.get(f"{url}?activity={MEDIA_ACTIVITY}").get_data(as_text=True)
    assert f'<option selected value="{MEDIA_WORKBOOK}">' in page and \
        f'<option selected value="{MEDIA_ACTIVITY}">' in page
    assert client.get(f"{url}?session=99999999999999999999999").status_code == 200
    for bad in ("99999999999999999999999", "-1", "١", str(other_course_session.id + 1000)):
        response = client.post(url, data={"csrf_token": csrf_token(client, url), "workbook": MEDIA_WORKBOOK,
                                          "activity": "", "session": bad, "title": "R", "transcript": "Words.",
                                          "url": "https://video.example.org/r"})
        assert response.status_code in (302, 422), bad
    # an unknown id is refused; a value that is no id at all is no session
    assert db.scalar(select(func.count()).select_from(Recording).where(Recording.session_id.is_not(None))) == 0
