"""Announcements, webinar recordings and reminders: who may post them, who sees and
who is e-mailed them, and that reminders go to the right people once a week."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import set_base_url, PASSWORD, TODAY, complete_and_submit, csrf_token, mentoring
from shooc.auth.models import User
from shooc.auth.services import create_user
from shooc.unit_of_work import get_db
from shooc.enrolment.models import Enrolment
from shooc.enrolment.answers import save_answer
from shooc.enrolment.services import enrol, withdraw
from shooc.lead import communications as comms
from shooc.audit import AuditEntry
from shooc.branding import brand
from shooc.lead.models import Announcement, Recording, ReminderSent
from shooc.mail import Mailer
from shooc.mailqueue import OutgoingMail, deliver
from shooc.workbooks.models import Course
from shooc.urls import SiteUrls

BASE = "https://learn.example.ac.uk"
LINKS = SiteUrls(BASE)
WORKBOOKS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback", "smart-goal-setting",
             "mentoring-communities"]
# Ten in the morning, London time, today: the runs' today is TODAY.
NOW = dt.datetime.combine(TODAY, dt.time(10), tzinfo=ZoneInfo("Europe/London")).astimezone(dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _learner(db: Session, make_user, name: str, opt_in: bool = True) -> User:
    user = make_user("learner", name=name)
    user.email_opt_in = opt_in
    db.commit()
    return user


def _outbox(instance_path: Path) -> set[Path]:
    return set((instance_path / "outbox").glob("*.eml"))


def _read(paths: set[Path]) -> dict[str, email.message.EmailMessage]:
    """The messages of these .eml files, by recipient."""
    messages = {}
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages[message["To"]] = message
    return messages


def _text(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def runs(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run with learners of every kind, and another run with one learner."""
    run = make_run(name="Spring run", slug="spring")
    other = make_run(name="Other run", slug="other")
    people = {
        "olive": _learner(db, make_user, "Olive Opted-in"),
        "nora": _learner(db, make_user, "Nora No-mail", opt_in=False),
        "walt": _learner(db, make_user, "Walt Withdrawn"),
        "uma": _learner(db, make_user, "Uma Unconfirmed"),
        "dee": _learner(db, make_user, "Dee Deleted"),
        "otto": _learner(db, make_user, "Otto Other-run"),
    }
    enrolments = {key: enrol(db, other if key == "otto" else run, user.id, TODAY - dt.timedelta(days=3))
                  for key, user in people.items()}
    withdraw(db, enrolments["walt"])
    people["uma"].email_verified_at = None
    enrolments["dee"].user_id = None  # the account was deleted; the enrolment stays for the counts
    db.commit()
    return run, other, people, enrolments


# Who may ---------------------------------------------------------------------------

def _routes(db: Session, run, course_slug: str = "mentoring") -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    course = db.scalar(select(Course).where(Course.slug == course_slug))
    announcement = Announcement(run_id=run.id, title="Hello", body="Hi", body_html="<p>Hi</p>", author_name="x")
    recording = Recording(course_id=course.id, workbook_slug=WORKBOOKS[0], title="Webinar", url="https://v.example/1",
                          transcript="Words.")
    db.add_all([announcement, recording])
    db.commit()
    gets = [f"/lead/runs/{run.slug}/announcements", f"/lead/courses/{course_slug}/recordings"]
    posts = gets + [f"/lead/runs/{run.slug}/announcements/{announcement.id}/remove",
                    f"/lead/courses/{course_slug}/recordings/{recording.id}/remove"]
    return gets, posts


def test_posts_without_a_csrf_token_are_refused(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(slug="spring")
    _, posts = _routes(db, run)
    auth.login(make_user("leader"))
    for url in posts:
        response = client.post(url, data={"title": "Hello", "body": "Hi", "workbook": WORKBOOKS[0],
                                          "url": "https://v.example/2", "transcript": "Words."})
        assert response.status_code == 400, url
        assert "Form expired" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Announcement)) == 1
    assert db.scalar(select(func.count()).select_from(Recording)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_unknown_runs_courses_and_items_are_404(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(slug="spring")
    other = make_run(slug="other")
    _, posts = _routes(db, run)
    auth.login(make_user("leader"))
    token = csrf_token(client, "/auth/login")
    assert client.get("/lead/runs/nope/announcements").status_code == 404
    assert client.get("/lead/courses/nope/recordings").status_code == 404
    # an announcement of one run cannot be removed through another
    wrong = posts[2].replace("/runs/spring/", f"/runs/{other.slug}/")
    assert client.post(wrong, data={"csrf_token": token}).status_code == 404


# Announcements ---------------------------------------------------------------------

def test_an_announcement_reaches_its_run_and_is_e_mailed_to_those_who_opted_in(
        app, client, auth, db: Session, make_user, runs, instance_path, monkeypatch) -> None:
    run, other, people, enrolments = runs
    set_base_url(app, monkeypatch, BASE)
    leader = make_user("leader", name="Lee Leader")
    auth.login(leader)
    url = f"/lead/runs/{run.slug}/announcements"
    form = client.get(url).get_data(as_text=True)
    # olive, nora, uma see it (walt withdrew, dee's account is gone); olive alone is e-mailed
    assert re.search(r"<strong>3</strong> learners will see it on their dashboard;\s*<strong>1</strong> has opted in",
                     form), form
    before = _outbox(instance_path)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "action": "post",
                                      "title": "Webinar on Thursday",
                                      "body": "Join us at **4pm** on Thursday: [the webinar](https://meet.example.org/w)."})
    assert response.status_code == 302 and response.headers["Location"] == url
    announcement = db.scalar(select(Announcement).where(Announcement.run_id == run.id))
    assert (announcement.author_name, announcement.emailed_to) == ("Lee Leader", 1)
    assert "<strong>4pm</strong>" in announcement.body_html
    assert "1 e-mail on the way" in client.get(url).get_data(as_text=True)

    # e-mailed (delivered at once under TESTING) to the one opted-in, confirmed, enrolled learner
    mails = _read(_outbox(instance_path) - before)
    assert list(mails) == [people["olive"].email]
    mail = mails[people["olive"].email]
    assert mail["Subject"] == "Mentoring trainee and early-career teachers: Webinar on Thursday"
    text = _text(mail)
    assert "Dear Olive Opted-in" in text and "Join us at **4pm** on Thursday" in text
    assert f"{BASE}/dashboard" in text and f"{BASE}/account/" in text and "untick" in text
    assert db.scalar(select(func.count()).select_from(OutgoingMail).where(OutgoingMail.sent_at.is_(None))) == 0

    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.post"))
    assert entry.run_id == run.id and entry.actor == f"Lee Leader <{leader.email}>"
    assert entry.details["emailed_to"] == 1

    # on the dashboards of the run's learners (opted in or not), not on another run's
    auth.logout()
    for key, sees in [("olive", True), ("nora", True), ("otto", False)]:
        auth.login(people[key])
        dashboard = client.get("/dashboard").get_data(as_text=True)
        assert ("Webinar on Thursday" in dashboard) is sees, key
        if sees:
            assert "From the course team" in dashboard and "Lee Leader" in dashboard
            assert '<a href="https://meet.example.org/w" rel="noopener noreferrer">the webinar</a>' in dashboard
        auth.logout()


def test_the_dashboard_shows_the_latest_few_newest_first(db: Session, make_user, runs) -> None:
    run, other, people, _ = runs
    for n in range(5):
        comms.post_announcement(db, None, run, f"News {n}", "Text", LINKS, now=NOW + n * dt.timedelta(minutes=1))
    comms.post_announcement(db, None, other, "Other news", "Text", LINKS, now=NOW)
    db.commit()
    latest = comms.latest_announcements(db, [run.id, other.id])
    assert [a.title for a in latest[run.id]] == ["News 4", "News 3", "News 2"]
    assert [a.title for a in latest[other.id]] == ["Other news"]
    assert comms.latest_announcements(db, []) == {}


def test_announcement_markdown_is_sanitised(client, auth, db: Session, make_user, runs) -> None:
    run, _, people, _ = runs
    body = ("Hello <script>alert('x')</script> **there**\n\n[click](javascript:alert(1)) "
            "<a href=\"https://ok.example\" onclick=\"steal()\">ok</a> <img src=x onerror=alert(1)> "
            "![pic](https://tracker.example/p.png) <iframe src=\"https://evil.example\"></iframe>\n\n# Big heading")
    announcement = comms.post_announcement(db, None, run, "Mind <b>this</b>\r\nBcc: all@example.org", body, LINKS,
                                           now=NOW)
    db.commit()
    # a title is one line: it is the subject of an e-mail, where a line break would start a header
    assert announcement.title == "Mind <b>this</b> Bcc: all@example.org"
    assert db.scalar(select(OutgoingMail.subject)).endswith(": Mind <b>this</b> Bcc: all@example.org")
    html = announcement.body_html
    for bad in ("<script", "alert(", "javascript:", "onclick", "onerror", "<img", "tracker.example", "<iframe",
                "id="):
        assert bad not in html, bad
    assert "<strong>there</strong>" in html and 'href="https://ok.example"' in html
    auth.login(people["olive"])
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Mind &lt;b&gt;this&lt;/b&gt;" in dashboard  # the title is text
    assert "<script>alert" not in dashboard


def test_an_announcement_needs_a_title_and_a_body_and_is_posted_once(client, auth, db: Session, make_user,
                                                                    runs) -> None:
    run, *_ = runs
    auth.login(make_user("leader"))
    url = f"/lead/runs/{run.slug}/announcements"
    token = csrf_token(client, url)
    empty = client.post(url, data={"csrf_token": token, "title": " ", "body": ""})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert "Give the announcement a title" in page and "Write the announcement." in page
    long = client.post(url, data={"csrf_token": token, "title": "x" * 201, "body": "y" * 20_001})
    page = long.get_data(as_text=True)
    assert long.status_code == 422 and "200 characters" in page and "20,000 characters" in page
    assert db.scalar(select(func.count()).select_from(Announcement)) == 0

    preview = client.post(url, data={"csrf_token": token, "title": "Hi", "body": "Some *news*", "action": "preview"})
    assert preview.status_code == 200 and "<em>news</em>" in preview.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Announcement)) == 0  # a preview posts nothing

    data = {"csrf_token": token, "title": "Hi", "body": "Some *news*", "action": "post"}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data, follow_redirects=True)  # a double click
    assert "was already posted a moment ago" in again.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Announcement)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_removing_an_announcement(client, auth, db: Session, make_user, runs) -> None:
    run, _, people, _ = runs
    announcement = comms.post_announcement(db, None, run, "Wrong date", "Sorry", LINKS, now=NOW)
    db.commit()
    auth.login(make_user("leader"))
    url = f"/lead/runs/{run.slug}/announcements"
    response = client.post(f"{url}/{announcement.id}/remove", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(Announcement)) == 0
    assert [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "announcement.post", "announcement.remove"]
    auth.logout()
    auth.login(people["olive"])
    assert "Wrong date" not in client.get("/dashboard").get_data(as_text=True)


# Recordings --------------------------------------------------------------------------

TRANSCRIPT = "Welcome, everyone.\nToday: <b>feedback</b> & questions.\r\n\r\nSecond paragraph <script>x()</script>."


def test_a_recording_shows_on_its_workbook_page_with_its_transcript(client, auth, db: Session, make_user,
                                                                    runs) -> None:
    run, _, people, _ = runs
    auth.login(make_user("leader", name="Lee Leader"))
    url = "/lead/courses/mentoring/recordings"
    assert "The mentor&#39;s role" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "workbook": "observation-and-feedback",
                                      "title": "Webinar 3: feedback", "url": "https://video.example.ac.uk/w3",
                                      "recorded_on": "2026-03-05", "transcript": TRANSCRIPT})
    assert response.status_code == 302, response.get_data(as_text=True)
    recording = db.scalar(select(Recording))
    assert (recording.workbook_slug, recording.recorded_on) == ("observation-and-feedback", dt.date(2026, 3, 5))
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "recording.add"))
    assert entry.details["course"] == "mentoring" and entry.details["url"] == "https://video.example.ac.uk/w3"
    lead_page = client.get(url).get_data(as_text=True)
    assert "Webinar 3: feedback" in lead_page and "Recorded 5 March 2026" in lead_page
    preview = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    assert "Webinar 3: feedback" in preview  # leaders see it in the preview too
    auth.logout()

    auth.login(people["olive"])
    page = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    assert '<a href="https://video.example.ac.uk/w3" rel="noopener noreferrer" target="_blank">Webinar 3: feedback' in page
    assert "Recorded 5 March 2026" in page
    transcript = page[page.index('<details class="transcript"><summary>Read the transcript'):]
    transcript = transcript[:transcript.index("</details>")]
    paragraphs = re.findall(r'<p class="transcript-text">(.*?)</p>', transcript, re.S)
    assert paragraphs == ["Welcome, everyone.\nToday: &lt;b&gt;feedback&lt;/b&gt; &amp; questions.",
                          "Second paragraph &lt;script&gt;x()&lt;/script&gt;."]
    assert "Webinar 3" not in client.get("/courses/mentoring/workbooks/the-mentors-role").get_data(as_text=True)


BAD_ADDRESSES = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "ftp://files.example/w.mp4",
                 "https://", "video.example/w3", "//video.example/w3", "https://video.example/a b", "",
                 "https://x.example/" + "a" * 1000]


def test_a_recording_needs_a_web_address(client, auth, db: Session, make_user, publish) -> None:
    publish()
    auth.login(make_user("leader"))
    url = "/lead/courses/mentoring/recordings"
    token = csrf_token(client, url)
    for address in BAD_ADDRESSES:
        response = client.post(url, data={"csrf_token": token, "workbook": WORKBOOKS[0], "title": "Webinar",
                                          "url": address, "transcript": "Words."})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, address
        assert ("Give the recording&#39;s address." in page if not address else
                "1000 characters" in page if len(address) > 1000 else
                "Give a web address starting with https://" in page), address
        assert 'value="Webinar"' in page  # what was typed is kept
    assert db.scalar(select(func.count()).select_from(Recording)) == 0


def test_a_recording_needs_a_title_a_transcript_and_a_workbook_of_the_course(client, auth, db: Session, make_user,
                                                                            publish) -> None:
    publish()
    auth.login(make_user("leader"))
    url = "/lead/courses/mentoring/recordings"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "workbook": WORKBOOKS[0], "title": "",
                                      "url": "https://video.example/w", "transcript": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the recording a title." in page
    assert "Add the transcript: learners who are deaf or hard of hearing" in page
    wrong = client.post(url, data={"csrf_token": token, "workbook": "no-such-workbook", "title": "W",
                                   "url": "https://video.example/w", "transcript": "Words."})
    assert wrong.status_code == 422
    assert db.scalar(select(func.count()).select_from(Recording)) == 0
    course = db.scalar(select(Course).where(Course.slug == "mentoring"))
    with pytest.raises(comms.Invalid) as refused:  # the service refuses it too, whoever calls it
        comms.add_recording(db, None, course, "no-such-workbook", "W", "javascript:x", "")
    assert set(refused.value.problems) == {"workbook", "url", "transcript"}


def test_removing_a_recording(client, auth, db: Session, make_user, runs) -> None:
    _, _, people, _ = runs
    course = db.scalar(select(Course).where(Course.slug == "mentoring"))
    recording = comms.add_recording(db, None, course, WORKBOOKS[0], "Old webinar", "https://v.example/1", "Words.")
    db.commit()
    auth.login(make_user("leader"))
    url = "/lead/courses/mentoring/recordings"
    assert client.post(f"{url}/{recording.id}/remove", data={"csrf_token": csrf_token(client, url)}).status_code == 302
    assert db.scalar(select(func.count()).select_from(Recording)) == 0
    assert [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))] == ["recording.add",
                                                                                          "recording.remove"]


# Reminders -------------------------------------------------------------------------

@pytest.fixture
def reminder_run(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run closing in five days, and learners in every situation a reminder cares about."""
    run = make_run(name="Spring run", slug="spring", opens=TODAY - dt.timedelta(days=60), closes=TODAY + 5 * DAY)
    closed = make_run(name="Closed run", slug="closed", opens=TODAY - dt.timedelta(days=60),
                      closes=TODAY + 3 * DAY)
    later = TODAY + dt.timedelta(days=60)
    people: dict[str, Enrolment] = {}

    def learner(key: str, enrolled_days_ago: int, opt_in: bool = True, until: dt.date | None = None,
                in_run=run) -> Enrolment:  # type: ignore[no-untyped-def]
        user = _learner(db, make_user, key.replace("_", " ").title(), opt_in)
        enrolment = enrol(db, in_run, user.id, TODAY - dt.timedelta(days=enrolled_days_ago))
        enrolment.extended_until = until
        people[key] = enrolment
        return enrolment

    # close date in 5 days, active yesterday, workbook 2 in progress after submitting workbook 1
    busy = learner("busy_closing", 30)
    # extended far beyond the run: not closing; quiet for 20 days in workbook 1
    quiet = learner("quiet", 40, until=later)
    # extended; enrolled 20 days ago and never started
    never = learner("never_started", 20, until=later)
    learner("fresh", 3, until=later)  # enrolled 3 days ago: not inactive yet
    learner("done", 30)  # submitted everything
    learner("no_mail", 30, opt_in=False)
    gone = learner("withdrawn", 30)
    ended = learner("ended", 30, in_run=closed)  # their run closed yesterday (below)
    deleted = learner("deleted", 30)
    db.commit()
    complete_and_submit(db, busy, WORKBOOKS[0])
    save_answer(db, busy, WORKBOOKS[1], "first-meeting-plan", {"text": "A start"})
    busy.last_activity_at = NOW - DAY
    save_answer(db, quiet, WORKBOOKS[0], "roles-warm-up", {"text": "Half way"})
    quiet.last_activity_at = NOW - 20 * DAY
    for slug in WORKBOOKS:
        complete_and_submit(db, people["done"], slug)
    for enrolment in (gone, ended):
        save_answer(db, enrolment, WORKBOOKS[0], "roles-warm-up", {"text": "Half way"})
        enrolment.last_activity_at = NOW - 30 * DAY
    withdraw(db, gone)
    closed.closes_on = TODAY - DAY
    deleted.user_id = None
    never.last_activity_at = None
    db.commit()
    return run, people


def _due(db: Session, now: dt.datetime = NOW, **kwargs) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {r.name: (r.kind, r.workbook.slug) for r in comms.due_reminders(db, now, **kwargs)}


def test_reminders_go_to_the_right_learners_with_the_right_link(db: Session, reminder_run, app) -> None:
    run, people = reminder_run
    assert _due(db) == {
        "Busy Closing": ("closing", WORKBOOKS[1]),  # the workbook in progress
        "Quiet": ("inactive", WORKBOOKS[0]),
        "Never Started": ("inactive", WORKBOOKS[0]),  # the first not started
    }
    result = comms.send_reminders(db, LINKS, now=NOW)
    db.commit()
    assert (result.count("closing"), result.count("inactive")) == (1, 2)
    queued = {m.recipient: m for m in db.scalars(select(OutgoingMail))}
    assert len(queued) == 3
    busy = queued[people["busy_closing"].user.email]
    close = TODAY + 5 * DAY
    assert busy.kind == "reminder-closing" and busy.subject.endswith(": 6 days left")
    assert f"ends on {close:%-d %B %Y}: 6 days left" in busy.body
    assert "submitted 1 of 5 workbooks. Carry on with workbook 2, Building the relationship" in busy.body
    assert f"{BASE}/courses/mentoring/workbooks/{WORKBOOKS[1]}\n" in busy.body
    assert f"account page: {BASE}/account/" in busy.body
    never = queued[people["never_started"].user.email]
    assert never.kind == "reminder-inactive" and "have not started yet" in never.body
    assert f"Start workbook 1, The mentor's role:\n{BASE}/courses/mentoring/workbooks/{WORKBOOKS[0]}" in never.body
    quiet = queued[people["quiet"].user.email]
    assert f"since {(TODAY - 20 * DAY):%-d %B %Y}" in quiet.body
    rows = db.scalars(select(ReminderSent)).all()
    assert {(r.enrolment_id, r.kind, r.workbook_slug) for r in rows} == {
        (people["busy_closing"].id, "closing", WORKBOOKS[1]), (people["quiet"].id, "inactive", WORKBOOKS[0]),
        (people["never_started"].id, "inactive", WORKBOOKS[0])}
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "reminders.send")).details["inactive"] == 2

    sent = deliver(get_db(app), Mailer(sender="shooc <no-reply@localhost>", outbox=Path(app.instance_path) / "outbox"))
    assert (sent.sent, sent.failed) == (3, 0)


def test_reminders_are_sent_at_most_once_per_kind_a_week(db: Session, reminder_run) -> None:
    run, people = reminder_run
    assert len(comms.send_reminders(db, LINKS, now=NOW).reminders) == 3
    db.commit()
    assert comms.send_reminders(db, LINKS, now=NOW).reminders == []  # run twice: nothing more
    assert comms.send_reminders(db, LINKS, now=NOW + 6 * DAY).reminders == []
    # busy has gone quiet too, but was told that their time is ending: no second e-mail that week
    assert _due(db, NOW + 2 * DAY, inactive_days=1) == {"Fresh": ("inactive", WORKBOOKS[0])}
    db.commit()
    # a week later: the quiet ones again (busy's run has closed by then)
    week = comms.send_reminders(db, LINKS, now=NOW + 7 * DAY)
    assert {(r.name, r.kind) for r in week.reminders} == {("Quiet", "inactive"), ("Never Started", "inactive")}
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 5


def test_closing_reminders_again_a_week_later_and_the_thresholds(db: Session, reminder_run) -> None:
    run, people = reminder_run
    quiet = people["quiet"]
    quiet.extended_until = TODAY + 10 * DAY
    db.commit()
    assert _due(db, closing_days=3) == {"Quiet": ("inactive", WORKBOOKS[0]),
                                        "Never Started": ("inactive", WORKBOOKS[0])}
    assert _due(db, closing_days=3, inactive_days=21) == {}
    assert _due(db, closing_days=11, inactive_days=30)["Quiet"] == ("closing", WORKBOOKS[0])
    comms.send_reminders(db, LINKS, now=NOW, closing_days=11, inactive_days=30)
    assert _due(db, NOW + 7 * DAY, closing_days=11, inactive_days=30) == {"Quiet": ("closing", WORKBOOKS[0])}


def test_a_paced_run_with_nothing_released_to_do_sends_nothing(db: Session, make_user, make_run) -> None:
    run = make_run(slug="paced", mode="paced", pace_days=30, opens=TODAY - 40 * DAY, closes=TODAY + 100 * DAY)
    user = _learner(db, make_user, "Pat Paced")
    enrolment = enrol(db, run, user.id, TODAY - 35 * DAY)
    db.commit()
    for slug in WORKBOOKS[:2]:  # the two released so far
        complete_and_submit(db, enrolment, slug)
    enrolment.last_activity_at = NOW - 20 * DAY
    db.commit()
    assert _due(db) == {}


def test_reminders_command_dry_run_writes_nothing(runner, db: Session, reminder_run, app, monkeypatch) -> None:
    set_base_url(app, monkeypatch, BASE)
    run, people = reminder_run
    dry = runner.invoke(args=["reminders", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.strip().splitlines()
    assert lines[-1] == ("Would send 3 reminders (1 closing, 2 inactive); nothing sent or recorded (dry run).")
    closing = next(line for line in lines if people["busy_closing"].user.email in line)
    assert closing.startswith("closing ") and f"{BASE}/courses/mentoring/workbooks/{WORKBOOKS[1]}" in closing
    assert db.scalar(select(func.count()).select_from(ReminderSent)) == 0
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_reminders_command_sends_once(runner, db: Session, reminder_run, app, instance_path, monkeypatch) -> None:
    set_base_url(app, monkeypatch, BASE)
    run, people = reminder_run
    before = _outbox(instance_path)
    first = runner.invoke(args=["reminders", "send"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Queued 3 reminders (1 closing, 2 inactive); sent 3 e-mails, 0 failed."
    mails = _read(_outbox(instance_path) - before)
    assert set(mails) == {people[k].user.email for k in ("busy_closing", "quiet", "never_started")}
    assert f"{BASE}/courses/mentoring/workbooks/{WORKBOOKS[1]}" in _text(mails[people["busy_closing"].user.email])
    second = runner.invoke(args=["reminders", "send"])
    assert second.output.strip() == "Queued 0 reminders (0 closing, 0 inactive); sent 0 e-mails, 0 failed."
    # with other thresholds, fresh (enrolled 3 days ago, never started) is due too
    other = runner.invoke(args=["reminders", "send", "--closing-days", "0", "--inactive-days", "3"])
    assert other.exit_code == 0 and other.output.startswith("Queued 1 reminder (0 closing, 1 inactive);")
    assert runner.invoke(args=["reminders", "send", "--inactive-days", "0"]).exit_code == 2


def test_mail_send_delivers_what_is_queued(runner, db: Session, runs, instance_path) -> None:
    run, _, people, _ = runs
    for key in ("nora", "uma"):  # opt them in now
        people[key].email_opt_in = True
    people["uma"].email_verified_at = NOW
    comms.post_announcement(db, None, run, "Hello", "Text", LINKS)
    db.commit()
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 3
    before = _outbox(instance_path)
    result = runner.invoke(args=["mail", "send", "--limit", "2"])
    assert result.exit_code == 0 and result.output.strip() == ("Queued 0 notifications and 0 daily digests. "
                                                           "Sent 2 e-mails, 0 failed; 1 waiting, 0 given up.")
    result = runner.invoke(args=["mail", "send"])
    assert result.output.strip() == ("Queued 0 notifications and 0 daily digests. "
                                     "Sent 1 e-mail, 0 failed; 0 waiting, 0 given up.")
    assert set(_read(_outbox(instance_path) - before)) == {people[k].email for k in ("olive", "nora", "uma")}


def test_two_reminder_runs_at_once_send_each_reminder_once(committed_app) -> None:
    """Two cron jobs (or servers) at the same moment: one waits for the other."""
    from shooc.enrolment.runs import create_run
    from shooc.workbooks.publish import publish_course

    database = get_db(committed_app)
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, TODAY - 60 * DAY, TODAY + 3 * DAY)
        for n in range(12):
            user = create_user(session, f"crowd{n}@example.org", f"Crowd {n}", "learner", PASSWORD,
                               email_opt_in=True)
            enrol(session, run, user.id, TODAY - 30 * DAY)
        session.commit()
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        own = database.session()
        try:
            barrier.wait(timeout=30)
            counts.append(len(comms.send_reminders(own, LINKS, now=NOW).reminders))
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
        assert check.scalar(select(func.count()).select_from(ReminderSent)) == 12
        assert check.scalar(select(func.count()).select_from(OutgoingMail)) == 12


def test_one_unsendable_message_does_not_stop_the_others(app, db: Session) -> None:
    from shooc.mailqueue import Message, enqueue

    enqueue(db, [Message("a@example.org", "Broken\nsubject", "x", "announcement"),
                 Message("b@example.org", "Fine", "x", "announcement")])
    db.commit()
    outgoing = Mailer(sender="shooc <no-reply@localhost>", outbox=Path(app.instance_path) / "outbox")
    result = deliver(get_db(app), outgoing)
    assert (result.sent, result.failed) == (1, 1)


# E-mails in the institution's HTML layout, with their plain text (issue 18) --------

BRANDED_LINKS = SiteUrls(BASE, brand({"SHOOC_INSTITUTION_NAME": "Northfield University",
                                      "SHOOC_BRAND_COLOUR": "#7a1f5c", "SHOOC_LOGO_URL": "/static/logo.png",
                                      "SHOOC_CONTACT_EMAIL": "courses@northfield.example.ac.uk"}))


def _parts(path: Path) -> tuple[str, str, email.message.EmailMessage]:
    """The plain-text and HTML parts of a delivered .eml."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content(), message)


def _branded(html: str) -> None:
    assert html.startswith("<!doctype html>") and '<html lang="en-GB">' in html
    assert '<img src="https://learn.example.ac.uk/static/logo.png" alt="Northfield University"' in html
    assert "border-top:4px solid #7a1f5c" in html  # the brand colour
    assert '<a href="mailto:courses@northfield.example.ac.uk"' in html


def test_an_announcement_is_e_mailed_as_branded_html_of_its_markdown_beside_the_plain_text(
        db: Session, runs, app, instance_path) -> None:
    run, _, people, _ = runs
    body = ("Join us at **4pm** on Thursday: [the webinar](https://meet.example.org/w).\n\n"
            "- bring a lesson plan\n- and a question\n\n<script>alert(1)</script>")
    announcement = comms.post_announcement(db, None, run, "Webinar <Thursday>", body, BRANDED_LINKS)
    db.commit()
    queued = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "announcement")).one()
    assert queued.body.count("**4pm**") == 1 and "<strong>" not in queued.body  # the text part: as written
    html = queued.html
    _branded(html)
    assert "<strong>4pm</strong>" in html and "**4pm**" not in html and "<li>bring a lesson plan</li>" in html
    # the rendered, sanitised Markdown, its link styled as the e-mail's own are
    assert ('<a style="color:inherit;text-decoration:underline" href="https://meet.example.org/w" '
            'rel="noopener noreferrer">the webinar</a>') in html
    assert "<script" not in html and "alert(1)" not in html
    assert ">Webinar &lt;Thursday&gt;</h1>" in html and "Dear Olive Opted-in," in html
    assert f'<a href="{BASE}/dashboard"' in html and f'<a href="{BASE}/account/"' in html and "untick" in html

    before = _outbox(instance_path)
    sent = deliver(get_db(app), Mailer(sender="shooc <no-reply@localhost>", outbox=instance_path / "outbox"))
    assert (sent.sent, sent.failed) == (1, 0)
    (path,) = _outbox(instance_path) - before
    text, delivered, message = _parts(path)
    assert message["To"] == people["olive"].email
    assert "Join us at **4pm** on Thursday" in text and f"{BASE}/dashboard" in text
    assert "<strong>4pm</strong>" in delivered and "Northfield University" in delivered


def test_reminders_messages_and_live_sessions_are_e_mailed_in_the_same_layout(db: Session, runs, make_user) -> None:
    from shooc.lead import live_sessions, messages

    run, _, people, enrolments = runs
    leader = make_user("leader", name="Lee Leader")
    messages.send_message(db, leader, run, messages.Audience("one", enrolments["olive"].id), "Your reflection",
                          "Thank you for <b>your</b> reflection.\nSee https://learn.example.ac.uk/dashboard soon.",
                          BRANDED_LINKS)
    live_sessions.schedule(db, leader, run, "Feedback clinic", (NOW + 3 * DAY).astimezone(
        ZoneInfo(run.timezone)).strftime("%Y-%m-%dT%H:%M"), "60", BRANDED_LINKS, now=NOW)
    comms.send_reminders(db, BRANDED_LINKS, now=NOW + 70 * DAY)  # a closing reminder for those still enrolled
    db.commit()
    mails = db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
    kinds = {m.kind for m in mails}
    assert {"message", "session-scheduled"} <= kinds and any(k.startswith("reminder-") for k in kinds), kinds
    for mail in mails:
        assert mail.html is not None, mail.kind
        _branded(mail.html)
        assert mail.body.split("\n", 1)[0] in mail.html  # "Dear <name>,"
        # every address of the text is a link in the HTML, and the text's signature its footer
        for url in re.findall(r"https://\S+[^\s.,:;]", mail.body):
            assert f'<a href="{url}"' in mail.html, (mail.kind, url)
        assert "untick" not in mail.body or "border-top:1px solid #d9dde5" in mail.html
    message = next(m for m in mails if m.kind == "message")
    assert "Thank you for &lt;b&gt;your&lt;/b&gt; reflection.<br>" in message.html  # written text, escaped
