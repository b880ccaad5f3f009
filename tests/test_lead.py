"""The leaders' area (who may enter: tests/test_access.py): runs, participants at scale, one learner."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit, csrf_token
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol, withdraw
from shooc.audit import AuditEntry
from shooc.lead.services import participants

@pytest.fixture
def cohort(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run with learners at every stage."""
    run = make_run(name="Spring run", slug="spring")
    people = {}
    for key, name in [("new", "Nia New"), ("busy", "Bea Busy"), ("done", "Dan Done"), ("gone", "Gil Gone"),
                      ("formula", "=HYPERLINK(\"http://x\")")]:
        user = make_user("learner", name=name)
        people[key] = enrol(db, run, user.id, TODAY - dt.timedelta(days=3))
    db.commit()
    complete_and_submit(db, people["busy"], "the-mentors-role")
    for slug in ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
                 "smart-goal-setting", "mentoring-communities"]:
        complete_and_submit(db, people["done"], slug)
    withdraw(db, people["gone"])
    db.commit()
    return run, people


def test_create_and_edit_a_run(client, auth, db: Session, make_user, publish) -> None:
    publish()
    leader = make_user("leader", name="Lee Leader")
    auth.login(leader)
    token = csrf_token(client, "/lead/runs/new")
    bad = client.post("/lead/runs/new", data={"csrf_token": token, "course": "mentoring", "name": "Autumn",
                                               "opens_on": "2027-09-01", "closes_on": "2027-08-01", "mode": "rolling",
                                               "pace_days": "7"})
    assert bad.status_code == 422 and "closing date must be after the opening date" in bad.get_data(as_text=True)
    good = client.post("/lead/runs/new", data={"csrf_token": token, "course": "mentoring", "name": "Autumn",
                                                "slug": "autumn-2027", "opens_on": "2027-09-01",
                                                "closes_on": "2028-07-31", "mode": "paced", "pace_days": "14",
                                                "capacity": "500"})
    assert good.headers["Location"] == "/lead/"
    run = db.scalar(select(Run).where(Run.slug == "autumn-2027"))
    assert (run.mode.value, run.pace_days, run.capacity) == ("paced", 14, 500)
    page = client.get("/lead/").get_data(as_text=True)
    assert "Autumn" in page and "upcoming" in page
    edited = client.post("/lead/runs/autumn-2027/edit", data={
        "csrf_token": token, "course": "mentoring", "name": "Autumn (paced)", "slug": "autumn-2027",
        "opens_on": "2027-09-01", "closes_on": "2028-06-30", "mode": "paced", "pace_days": "14", "capacity": ""})
    assert edited.status_code == 302
    db.refresh(run)
    assert run.name == "Autumn (paced)" and run.closes_on == dt.date(2028, 6, 30) and run.capacity is None
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["run.create", "run.update"]
    assert entries[1].actor.startswith("Lee Leader") and "closes on: 2028-07-31 → 2028-06-30" in entries[1].summary


def test_a_new_closing_date_says_how_many_learners_it_moves(client, auth, db: Session, make_user, cohort) -> None:
    run, people = cohort
    people["busy"].extended_until = run.closes_on + dt.timedelta(days=300)
    db.commit()
    auth.login(make_user("leader"))
    token = csrf_token(client, f"/lead/runs/{run.slug}/edit")
    data = {"csrf_token": token, "course": "mentoring", "name": run.name, "slug": run.slug,
            "opens_on": run.opens_on.isoformat(), "closes_on": (run.closes_on + dt.timedelta(days=30)).isoformat(),
            "mode": "rolling", "pace_days": "7"}
    first = client.post(f"/lead/runs/{run.slug}/edit", data=data)
    assert first.status_code == 200
    # 5 enrolled, 1 withdrawn, 1 with a later extension
    assert "moves the close date of <strong>3</strong> learners" in first.get_data(as_text=True)
    db.refresh(run)
    assert run.closes_on == TODAY + dt.timedelta(days=100)  # not saved yet
    confirmed = client.post(f"/lead/runs/{run.slug}/edit", data={**data, "confirmed": data["closes_on"]})
    assert confirmed.status_code == 302
    db.refresh(run)
    assert run.closes_on == TODAY + dt.timedelta(days=130)


def test_close_a_run_with_a_reason(client, auth, db: Session, make_user, cohort) -> None:
    run, people = cohort
    auth.login(make_user("leader"))
    page = client.get(f"/lead/runs/{run.slug}/close").get_data(as_text=True)
    assert "<strong>4</strong> learners" in page
    token = csrf_token(client, f"/lead/runs/{run.slug}/close")
    assert client.post(f"/lead/runs/{run.slug}/close", data={"csrf_token": token, "reason": ""}).status_code == 422
    client.post(f"/lead/runs/{run.slug}/close", data={"csrf_token": token, "reason": "Funding ended"})
    db.refresh(run)
    assert run.closes_on == TODAY - dt.timedelta(days=1)
    assert db.scalar(select(AuditEntry.reason).where(AuditEntry.action == "run.close")) == "Funding ended"


def test_participants_search_filter_sort_and_export(client, auth, make_user, cohort) -> None:
    run, people = cohort
    auth.login(make_user("leader"))
    base = f"/lead/runs/{run.slug}/participants"
    html = client.get(base).get_data(as_text=True)
    assert "5 participants." in html
    for status, names in {"not-started": ["Nia New"], "in-progress": ["Bea Busy"], "completed": ["Dan Done"],
                          "withdrawn": ["Gil Gone"]}.items():
        page = client.get(f"{base}?status={status}").get_data(as_text=True)
        assert "1 participant match" in page or status == "not-started", status
        for name in names:
            assert name in page
    assert "Bea Busy" in client.get(f"{base}?q=bea").get_data(as_text=True)
    assert "Nia New" not in client.get(f"{base}?q=bea").get_data(as_text=True)
    by_progress = client.get(f"{base}?sort=progress&desc=1").get_data(as_text=True)
    assert by_progress.index("Dan Done") < by_progress.index("Bea Busy") < by_progress.index("Nia New")
    export = client.get(f"{base}?format=csv")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 5
    assert {r["status"] for r in rows} == {"not-started", "in-progress", "completed", "withdrawn"}
    done = next(r for r in rows if r["name"] == "Dan Done")
    assert done["workbooks_submitted"] == "5"
    formula = next(r for r in rows if "HYPERLINK" in r["name"])
    assert formula["name"].startswith("'=")  # a spreadsheet shows it, never runs it
    filtered = list(csv.DictReader(io.StringIO(client.get(f"{base}?format=csv&status=completed").get_data(as_text=True))))
    assert [r["name"] for r in filtered] == ["Dan Done"]


def test_participants_page_in_pages(db: Session, make_user, make_run) -> None:
    run = make_run()
    for n in range(7):
        enrol(db, run, make_user(name=f"Person {n:02d}").id, TODAY)
    db.commit()
    first = participants(db, run, page_size=3)
    last = participants(db, run, page_size=3, page=3)
    beyond = participants(db, run, page_size=3, page=99)
    assert (first.total, first.pages) == (7, 3)
    assert [r.name for r in first.rows] == ["Person 00", "Person 01", "Person 02"]
    assert [r.name for r in last.rows] == ["Person 06"] and beyond.page == 3


def test_one_learner_extension_feedback_and_audit(client, auth, db: Session, make_user, cohort) -> None:
    run, people = cohort
    busy = people["busy"]
    leader = make_user("leader", name="Lee Leader")
    auth.login(leader)
    url = f"/lead/runs/{run.slug}/participants/{busy.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Bea Busy" in page and "Read the submitted answers" in page and "word word" in page
    token = csrf_token(client, url)
    refused = client.post(f"{url}/extend", data={"csrf_token": token, "until": "2000-01-01", "reason": "Illness"})
    assert refused.status_code == 422 and "must be later than the run" in refused.get_data(as_text=True)
    no_reason = client.post(f"{url}/extend", data={"csrf_token": token, "until": "2099-01-01", "reason": ""})
    assert no_reason.status_code == 422
    until = run.closes_on + dt.timedelta(days=21)
    client.post(f"{url}/extend", data={"csrf_token": token, "until": until.isoformat(), "reason": "Illness"})
    db.refresh(busy)
    assert busy.close_date == until
    client.post(f"{url}/feedback/the-mentors-role", data={"csrf_token": token, "text": "A thoughtful reflection <b>well done</b>."})
    entries = db.scalars(select(AuditEntry).where(AuditEntry.enrolment_id == busy.id).order_by(AuditEntry.id)).all()
    assert [(e.action, e.reason) for e in entries] == [("enrolment.extend", "Illness"), ("feedback.give", None)]
    assert all("Bea" not in e.summary for e in entries)  # learners are referred to by enrolment, not name
    audit_page = client.get("/lead/audit").get_data(as_text=True)
    assert "Illness" in audit_page and "Lee Leader" in audit_page
    # the learner sees the feedback, escaped, on the workbook's page
    auth.logout()
    auth.login(busy.user.email)
    workbook = client.get("/courses/mentoring/workbooks/the-mentors-role").get_data(as_text=True)
    assert "Feedback from the course team" in workbook
    assert "A thoughtful reflection &lt;b&gt;well done&lt;/b&gt;." in workbook
    assert "Lee Leader" in workbook


def test_a_leader_of_another_run_cannot_mix_runs_and_learners(client, auth, make_user, make_run, cohort) -> None:
    run, people = cohort
    other = make_run(name="Other", slug="other")
    auth.login(make_user("leader"))
    assert client.get(f"/lead/runs/{other.slug}/participants/{people['busy'].id}").status_code == 404
    assert client.get("/lead/runs/nope/participants").status_code == 404


def test_the_leaders_home_counts_nobody_as_studying_in_a_closed_run(client, auth, db: Session, make_user,
                                                                   make_run) -> None:
    """A closed run where everyone finished or ran out of time: nobody still studying;
    an extension beyond today still counts."""
    run = make_run(opens=TODAY - dt.timedelta(days=200), closes=TODAY + dt.timedelta(days=10), slug="closed")
    finished, stopped, extended = (enrol(db, run, make_user().id, TODAY - dt.timedelta(days=150)) for _ in range(3))
    db.commit()
    for slug in ("the-mentors-role", "building-the-relationship", "observation-and-feedback",
                 "smart-goal-setting", "mentoring-communities"):
        complete_and_submit(db, finished, slug)
    run.closes_on = TODAY - dt.timedelta(days=10)  # then the run closed
    extended.extended_until = TODAY + dt.timedelta(days=5)
    db.commit()
    auth.login(make_user("leader"))
    page = client.get("/lead/").get_data(as_text=True)
    row = page.split('href="/lead/runs/closed/participants"')[1].split("</tr>")[0]
    assert [int(n) for n in __import__("re").findall(r'<td class="num">(\d+)</td>', row)] == [3, 1, 1]
    close_page = client.get(f"/lead/runs/{run.slug}/close")
    assert close_page.status_code in (200, 302)


def test_a_learners_submitted_answers_are_read_only_text_under_their_name(client, auth, db: Session, make_user,
                                                                         make_run) -> None:
    run = make_run(slug="spring")
    learner = make_user(name="Rita Reflective")
    enrolment = enrol(db, run, learner.id)
    db.commit()
    complete_and_submit(db, enrolment, "the-mentors-role", marker="MY-REFLECTION-TEXT")
    db.commit()
    auth.login(make_user("leader"))
    page = client.get(f"/lead/runs/spring/participants/{enrolment.id}").get_data(as_text=True)
    answers = page.split("Read the submitted answers")[1].split('/feedback/')[0]
    assert "Rita Reflective’s answer" in answers and "MY-REFLECTION-TEXT" in answers
    assert "Your answer" not in answers and "<textarea" not in answers
    assert "<dt>Enrolled</dt>" in page and "<dt>Started</dt>" in page
