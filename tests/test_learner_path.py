"""The learner's path after the workbooks, over real HTTP (issue 18): a finished learner
is shown what comes next (the certificate, the survey, sharing the badges), not a
countdown; a learner whose run has closed finds the course's open run and joins it,
taking the drafts of the workbooks they had not submitted (services.carry_over)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, answer_required, complete_and_submit, csrf_token
from shooc.badges.models import BadgeAssertion
from shooc.enrolment import answers
from shooc.enrolment.models import Enrolment, Response, Run, Submission
from shooc.enrolment.services import enrol
from shooc.workbooks.models import WorkbookVersion

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback", "smart-goal-setting",
         "mentoring-communities"]


def workbook(db: Session, slug: str) -> WorkbookVersion:
    return db.scalars(select(WorkbookVersion).where(WorkbookVersion.slug == slug)
                      .order_by(WorkbookVersion.id.desc())).first()


def test_a_finished_learner_sees_what_comes_next(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    user = make_user("learner", name="Fin Finisher")
    enrolment = enrol(db, run, user.id, TODAY - dt.timedelta(days=5))
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    auth.login(user)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You have submitted all 5 workbooks: you have finished the course." in page
    assert "Download your certificate (PDF)" in page and "/certificates/" in page
    assert "Your 5 badges" in page and 'href="/badges"' in page
    assert "Give your evaluation" in page  # the survey
    assert "Withdraw from this run" not in page
    assert "days left" not in page and "<strong>Finished</strong>" in page
    assert "Suggested by" not in page


def test_a_learner_with_a_workbook_to_go_still_has_the_countdown(client, auth, db: Session, make_user,
                                                                 make_run) -> None:
    run = make_run()
    user = make_user("learner")
    enrolment = enrol(db, run, user.id, TODAY - dt.timedelta(days=5))
    for slug in SLUGS[:4]:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    auth.login(user)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "days left" in page and "Suggested by" in page and "Withdraw from this run" in page
    assert "Download your certificate" not in page


@pytest.fixture
def returning(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A learner who submitted workbook 1 in the spring run, left drafts in workbooks
    2 and 3 (and a post in 1's discussion), and whose run has since closed; the
    autumn run is open."""
    spring = make_run(name="Spring run")
    user = make_user("learner", name="Rita Returner")
    old = enrol(db, spring, user.id, TODAY - dt.timedelta(days=2))
    complete_and_submit(db, old, SLUGS[0], marker="Spring")
    for slug in SLUGS[1:3]:
        answer_required(db, old, workbook(db, slug), marker="Draft")  # complete, never submitted
    answers.save_answer(db, old, SLUGS[1], "open-question-with-your-run", {"posted": True, "post_id": 1})
    db.flush()
    spring.opens_on, spring.closes_on = TODAY - dt.timedelta(days=300), TODAY - dt.timedelta(days=200)
    old.enrolled_on = TODAY - dt.timedelta(days=250)
    db.commit()
    autumn = make_run(name="Autumn run", opens=TODAY - dt.timedelta(days=3), closes=TODAY + dt.timedelta(days=90))
    return user, old, autumn


def test_a_returning_learner_joins_the_open_run_and_keeps_the_drafts(client, auth, db: Session, returning) -> None:
    user, old, autumn = returning
    kept_before = {(r.workbook_slug, r.activity_id): r.answer for r in db.scalars(
        select(Response).where(Response.enrolment_id == old.id))}
    drafts = {key: answer for key, answer in kept_before.items()
              if key[0] != SLUGS[0] and key[1] != "open-question-with-your-run"}  # not submitted, not a post
    assert drafts and len(drafts) < len(kept_before)
    auth.login(user)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Autumn run is open now." in page and ">Join Autumn run</button>" in page
    assert "your submitted workbooks and their badges stay with Spring run" in page

    response = client.post("/courses/mentoring/enrol", data={"run": autumn.slug,
                                                             "csrf_token": csrf_token(client, "/dashboard")})
    assert response.headers["Location"] == "/dashboard"
    new = db.scalar(select(Enrolment).where(Enrolment.run_id == autumn.id))
    assert new is not None and new.user_id == user.id
    copied = {(r.workbook_slug, r.activity_id): r.answer for r in db.scalars(
        select(Response).where(Response.enrolment_id == new.id))}
    assert copied == drafts  # the unsubmitted workbooks' answers, and only those
    assert new.started_on == TODAY
    # the old run keeps everything: its answers, its submission, its badge
    assert {(r.workbook_slug, r.activity_id): r.answer for r in db.scalars(
        select(Response).where(Response.enrolment_id == old.id))} == kept_before
    assert db.scalar(select(Submission.enrolment_id).where(Submission.workbook_slug == SLUGS[0])) == old.id
    assert db.scalar(select(Submission.id).where(Submission.enrolment_id == new.id)) is None
    assert {e for (e,) in db.execute(select(Submission.enrolment_id).join(
        BadgeAssertion, BadgeAssertion.submission_id == Submission.id))} == {old.id}

    # the workbook opens in the new run with the draft in it, editable
    state = answers.workbook_state(db, new, workbook(db, SLUGS[1]))
    assert state.editable and state.status == "in progress"
    texts = [a["text"] for (slug, _), a in drafts.items() if "text" in a]
    assert texts and all(text.startswith("Draft") for text in texts)
    shown = "".join(client.get(f"/courses/mentoring/workbooks/{slug}").get_data(as_text=True) for slug in SLUGS[1:3])
    assert all(f">{text}</textarea>" in shown for text in texts) and "data-autosave-url" in shown
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Join Autumn run" not in dashboard  # joined: no more offer
    assert dashboard.index("Autumn run") < dashboard.index("Spring run")  # the new run first


def test_no_offer_while_the_run_is_open_or_without_an_open_run(client, auth, db: Session, returning) -> None:
    user, old, autumn = returning
    autumn.opens_on = TODAY + dt.timedelta(days=10)  # not open yet
    db.commit()
    auth.login(user)
    assert "Join Autumn run" not in client.get("/dashboard").get_data(as_text=True)
    old_run = db.get(Run, old.run_id)
    old_run.opens_on, old_run.closes_on = TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=50)
    db.commit()
    assert "Join" not in client.get("/dashboard").get_data(as_text=True)
