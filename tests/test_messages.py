"""Messages from the course team (issue 17): to one learner or to the participants a
filter selects, through the mail queue, respecting the learner's e-mail choice, audited.
Who may reach the page: tests/test_access.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit, csrf_token
from shooc.audit import AuditEntry
from shooc.community.models import Notification
from shooc.enrolment.models import Submission
from shooc.enrolment.services import enrol, withdraw
from shooc.lead.models import TeamMessage
from shooc.mailqueue import OutgoingMail

WORKBOOK = "the-mentors-role"


def _people(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run: a quiet learner (started 40 days ago, nothing submitted), one who
    submitted last week, one who never started, one who opted out of e-mail, one
    withdrawn, and one in another run."""
    run = make_run(slug="spring", name="Spring run", opens=TODAY - dt.timedelta(days=60))
    other = make_run(slug="other", name="Other run", opens=TODAY - dt.timedelta(days=60))
    people = {}
    for key, opt_in in (("quiet", True), ("recent", True), ("new", True), ("no_mail", True), ("gone", True),
                        ("elsewhere", True)):
        user = make_user("learner", name=key.replace("_", " ").title())
        user.email_opt_in = key != "no_mail" and opt_in
        people[key] = enrol(db, other if key == "elsewhere" else run, user.id, TODAY - dt.timedelta(days=50))
    db.commit()
    for key in ("quiet", "recent", "no_mail", "gone"):
        people[key].started_on = TODAY - dt.timedelta(days=40)
    complete_and_submit(db, people["recent"], WORKBOOK)
    db.scalar(select(Submission)).submitted_at = dt.datetime.combine(
        TODAY - dt.timedelta(days=7), dt.time(12), tzinfo=dt.timezone.utc)
    withdraw(db, people["gone"])
    db.commit()
    return run, people


def _send(client, run, **fields: str):  # type: ignore[no-untyped-def]
    url = f"/lead/runs/{run.slug}/messages"
    return client.post(url, data={"csrf_token": csrf_token(client, url), "action": "send", **fields})


def test_a_message_to_a_filtered_group(client, auth, db: Session, make_user, make_run) -> None:
    run, people = _people(db, make_user, make_run)
    auth.login(make_user("leader", name="Lee Leader"))
    url = f"/lead/runs/{run.slug}/messages"
    counted = client.post(url, data={"csrf_token": csrf_token(client, url), "action": "count",
                                     "audience": "quiet", "days": "30", "subject": "Still with us?",
                                     "body": "Keep the draft"})
    page = counted.get_data(as_text=True)
    # the quiet ones: started 40 days ago, nothing submitted in 30 (not "recent", not the withdrawn)
    assert counted.status_code == 200 and "<strong>2</strong> people will find it" in page
    assert "<strong>1</strong> will be e-mailed" in page and "Keep the draft</textarea>" in page
    assert db.scalar(select(func.count()).select_from(TeamMessage)) == 0  # counting sends nothing

    sent = _send(client, run, audience="quiet", days="30", subject="Still with us?",
                 body="We miss you <b>here</b>.\nWorkbook 1 takes an hour.")
    assert sent.status_code == 302
    assert "Sent “Still with us?” to 2 people; 1 e-mail on the way." in client.get(url).get_data(as_text=True)
    told = {n.user_id for n in db.scalars(select(Notification).where(Notification.kind == "message"))}
    assert told == {people["quiet"].user_id, people["no_mail"].user_id}
    mail = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "message")).all()
    assert [m.recipient for m in mail] == [people["quiet"].user.email]  # the opted-out one is not e-mailed
    assert "We miss you <b>here</b>." in mail[0].body and "Lee Leader" in mail[0].body
    assert mail[0].subject.endswith(": Still with us?")
    kept = db.scalar(select(TeamMessage))
    assert (kept.audience, kept.recipients, kept.emailed_to) == ("Started, nothing submitted for 30 days", 2, 1)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "message.send"))
    assert entry.run_id == run.id and "2 people, 1 e-mail(s) queued" in entry.summary
    assert entry.details == {"audience": "quiet", "days": 30}
    page = client.get(url).get_data(as_text=True)
    assert "We miss you &lt;b&gt;here&lt;/b&gt;." in page  # the sent list, escaped

    # a double click sends once; everyone enrolled leaves out the withdrawn and the other run
    again = _send(client, run, audience="quiet", days="30", subject="Still with us?",
                  body="We miss you <b>here</b>.\nWorkbook 1 takes an hour.")
    assert again.status_code == 422 and "already sent to them within the hour" in again.get_data(as_text=True)
    _send(client, run, audience="everyone", subject="Webinar", body="On Thursday.")
    everyone = db.scalar(select(TeamMessage).where(TeamMessage.subject == "Webinar"))
    assert (everyone.recipients, everyone.emailed_to) == (4, 3)

    # the learner reads the whole message on their notifications page
    auth.logout()
    auth.login(people["quiet"].user.email)
    notifications = client.get("/notifications").get_data(as_text=True)
    assert "Lee Leader: Still with us?" in notifications and "We miss you &lt;b&gt;here&lt;/b&gt;." in notifications


def test_a_message_to_one_learner_is_emailed_whatever_their_group_choice(client, auth, db: Session, make_user,
                                                                          make_run) -> None:
    run, people = _people(db, make_user, make_run)
    auth.login(make_user("leader"))
    one = people["no_mail"]
    page = client.get(f"/lead/runs/{run.slug}/messages", query_string={"to": one.id}).get_data(as_text=True)
    assert f"Write to {one.user.name}" in page and "<strong>1</strong> will be e-mailed" in page
    assert _send(client, run, to=str(one.id), subject="Your reflection", body="Shall we talk?").status_code == 302
    assert [m.recipient for m in db.scalars(select(OutgoingMail))] == [one.user.email]
    kept = db.scalar(select(TeamMessage))
    assert (kept.audience, kept.recipients) == (one.user.name, 1)
    assert db.scalar(select(AuditEntry.enrolment_id).where(AuditEntry.action == "message.send")) == one.id
    # someone of another run, or no one, is not found
    assert client.get(f"/lead/runs/{run.slug}/messages", query_string={"to": people["elsewhere"].id}).status_code == 404
    assert client.get(f"/lead/runs/{run.slug}/messages", query_string={"to": 99999}).status_code == 404


def test_a_message_that_cannot_be_sent_keeps_what_was_typed(client, auth, db: Session, make_user, make_run) -> None:
    run, _ = _people(db, make_user, make_run)
    auth.login(make_user("leader"))
    empty = _send(client, run, audience="everyone", subject=" ", body="Kept text")
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Give the message a subject" in page and "Kept text</textarea>" in page
    long = _send(client, run, audience="everyone", subject="Long", body="x" * 10_001)
    assert long.status_code == 422 and "Keep the message to 10,000 characters" in long.get_data(as_text=True)
    nobody = _send(client, run, audience="completed", subject="Well done", body="Kept too")
    page = nobody.get_data(as_text=True)
    assert nobody.status_code == 422 and "Nobody is selected: choose another filter: nothing was sent." in page
    assert "Kept too</textarea>" in page
    days = _send(client, run, audience="quiet", days="0", subject="Hello", body="Hi")
    assert days.status_code == 422 and "from 1 to 3,650" in days.get_data(as_text=True)
    forged = _send(client, run, audience="withdrawn", subject="Hello", body="Hi")
    assert forged.status_code == 422
    assert db.scalar(select(func.count()).select_from(TeamMessage)) == 0
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0
