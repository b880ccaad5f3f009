"""A learner's path over real HTTP: enrol, answer every kind of activity, save,
check a quiz, submit; and every way that can go wrong without losing their work."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, csrf_token
from quiz_kit import choose
from shooc.enrolment.models import Enrolment, Response, Submission
from shooc.enrolment.answers import workbook_submitted
from shooc.enrolment.services import enrol
from shooc.workbooks.models import ActivityVersion, WorkbookVersion

WB1 = "/courses/mentoring/workbooks/the-mentors-role"
REFLECTION = " ".join(f"word{i}" for i in range(210))


@pytest.fixture
def learner(db: Session, make_user, make_run, auth):  # type: ignore[no-untyped-def]
    """A learner enrolled in an open run, logged in."""
    run = make_run()
    user = make_user("learner", name="Lena Learner")
    enrol(db, run, user.id, TODAY - dt.timedelta(days=2))
    db.commit()
    auth.login(user)
    return user


def quiz_of(db: Session, slug: str = "the-mentors-role") -> ActivityVersion:
    return db.scalar(select(ActivityVersion).join(WorkbookVersion).where(
        WorkbookVersion.slug == slug, ActivityVersion.kind == "quiz"))


def quiz_fields(quiz: ActivityVersion, right: bool = True, *, client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The right (or wrong) options of the quiz of WB1, chosen by their text on the
    learner's page (its codes and order are the learner's own)."""
    return choose(client.get(WB1).get_data(as_text=True), quiz.activity_id, quiz.definition, right)


def post(client, url: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def ratings_fields(db: Session, slug: str = "the-mentors-role") -> dict[str, Any]:
    """A rating of 4 for every statement of the workbook's required self-assessments."""
    fields: dict[str, Any] = {}
    for activity in db.scalars(select(ActivityVersion).join(WorkbookVersion).where(
            WorkbookVersion.slug == slug, ActivityVersion.kind == "self-assessment")):
        if activity.required:
            for statement in activity.definition["statements"]:
                fields[f"a.{activity.activity_id}.{statement['id']}"] = "4"
    return fields


def complete_answers(db: Session, client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"a.my-mentoring-context.text": REFLECTION, **ratings_fields(db), **quiz_fields(quiz_of(db), client=client)}


# Enrolling --------------------------------------------------------------------

def test_enrol_from_the_course_page(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(name="Spring run")
    auth.login(make_user())
    page = client.get("/courses/mentoring").get_data(as_text=True)
    assert "Enrol now" in page
    response = post(client, "/courses/mentoring/enrol", {"run": run.slug})
    assert response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "You are enrolled in Spring run" in dashboard
    assert "0 of 5 workbooks submitted" in dashboard
    assert dashboard.count("not started") == 5
    # enrolling twice is one enrolment
    post(client, "/courses/mentoring/enrol", {"run": run.slug})
    assert db.scalar(select(func.count()).select_from(Enrolment)) == 1
    assert "Go to your dashboard" in client.get("/courses/mentoring").get_data(as_text=True)


@pytest.mark.parametrize("opens,closes,message", [
    (TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=30), "This run opens on"),
    (TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=1), "This run closed on"),
])
def test_enrolling_outside_a_run_is_refused(client, auth, db: Session, make_user, make_run, opens, closes,
                                            message: str) -> None:
    run = make_run(opens=opens, closes=closes)
    auth.login(make_user())
    response = post(client, "/courses/mentoring/enrol", {"run": run.slug})
    assert response.headers["Location"] == "/courses/mentoring"
    assert message in client.get("/courses/mentoring").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_a_full_run_refuses_more(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(capacity=1)
    enrol(db, run, make_user().id, TODAY)
    db.commit()
    auth.login(make_user())
    post(client, "/courses/mentoring/enrol", {"run": run.slug})
    assert "This run is full." in client.get("/courses/mentoring").get_data(as_text=True)


def test_enrolling_on_the_closing_day(client, auth, make_user, make_run) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=60), closes=TODAY)
    auth.login(make_user())
    assert post(client, "/courses/mentoring/enrol", {"run": run.slug}).headers["Location"] == "/dashboard"
    assert "1</strong> day left" in client.get("/dashboard").get_data(as_text=True)


# Answering and saving ---------------------------------------------------------

def test_save_a_draft_of_every_kind_and_find_it_again(client, db: Session, learner) -> None:
    page = client.get(WB1)
    assert page.status_code == 200
    data = {
        "a.roles-warm-up.text": "Model and guide.",
        "a.expectations-conversation.text": "We agreed Tuesdays.",
        "a.role-self-assessment.trust": "4",
        "a.my-mentoring-context.text": "A start <script>alert(1)</script>",
        **quiz_fields(quiz_of(db), client=client),
    }
    response = post(client, WB1, {**data, "action": "save"})
    assert response.status_code == 302
    html = client.get(WB1).get_data(as_text=True)
    assert "All your answers are saved." in html
    assert ">Model and guide.</textarea>" in html
    assert ">We agreed Tuesdays.</textarea>" in html
    assert re.search(r'name="a\.role-self-assessment\.trust" value="4" aria-label="[^"]*" checked', html)
    assert not re.search(r'name="a\.role-self-assessment\.trust" value="3" aria-label="[^"]*" checked', html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    # saved choices come back checked, but no marks are shown before an attempt
    assert "Last attempt" not in html


def test_any_button_saves_everything_typed_and_returns_to_its_activity(client, db: Session, learner) -> None:
    response = post(client, WB1, {"a.roles-warm-up.text": "this one", "a.my-mentoring-context.text": "and this",
                                  "action": "save:roles-warm-up"})
    assert response.headers["Location"].endswith("#activity-roles-warm-up")
    saved = {r.activity_id: r.answer for r in db.scalars(select(Response))}
    assert saved["roles-warm-up"] == {"text": "this one"} and saved["my-mentoring-context"] == {"text": "and this"}
    quiz = quiz_of(db)
    post(client, WB1, {"a.my-mentoring-context.text": "changed before checking the quiz",
                       **quiz_fields(quiz, client=client), "action": f"check:{quiz.activity_id}"})
    db.expire_all()
    assert db.scalar(select(Response.answer).where(Response.activity_id == "my-mentoring-context")) == {
        "text": "changed before checking the quiz"}


def test_word_count_is_shown(client, learner) -> None:
    post(client, WB1, {"a.my-mentoring-context.text": "one two  three\nfour", "action": "save"})
    html = client.get(WB1).get_data(as_text=True)
    assert re.search(r'<span class="count">4</span> words; at least 200', html)


def test_quiz_is_marked_on_the_server_with_feedback_and_retries(client, db: Session, learner) -> None:
    quiz = quiz_of(db)
    before = client.get(WB1).get_data(as_text=True)
    for key, text in quiz.rendered.items():
        if key.endswith(".feedback") or key.endswith(".explanation"):
            assert text not in before
    wrong = post(client, WB1, {**quiz_fields(quiz, right=False, client=client), "action": f"check:{quiz.activity_id}"})
    assert wrong.headers["Location"].endswith(f"#activity-{quiz.activity_id}")
    html = client.get(WB1).get_data(as_text=True)
    total = len(quiz.definition["questions"])
    assert f"You scored 0 out of {total}: not yet a pass" in html
    assert "not yet a pass" in html and "Not quite." in html
    first = quiz.definition["questions"][0]
    assert quiz.rendered[f"{first['id']}.explanation"] in html
    post(client, WB1, {**quiz_fields(quiz, client=client), "action": f"check:{quiz.activity_id}"})
    html = client.get(WB1).get_data(as_text=True)
    assert f"You scored {total} out of {total}: a pass." in html
    assert "(2 attempts)" in html
    answer = db.scalar(select(Response.answer).where(Response.activity_id == quiz.activity_id))
    assert answer["passed"] is True and answer["attempts"] == 2


def test_submitting_an_incomplete_workbook_lists_what_is_missing_and_keeps_the_draft(client, db: Session, learner) -> None:
    response = post(client, WB1, {"a.my-mentoring-context.text": "Too short a reflection.", "action": "submit"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The workbook cannot be submitted yet" in html
    assert "Write at least 200 words: you have 4." in html
    assert "Answer the questions and check your answers (75% to pass)." in html
    assert ">Too short a reflection.</textarea>" in html
    assert db.scalar(select(func.count()).select_from(Submission)) == 0
    assert db.scalar(select(Response.answer).where(Response.activity_id == "my-mentoring-context")) == {
        "text": "Too short a reflection."}


def test_submit_a_complete_workbook(client, db: Session, learner) -> None:
    seen = []

    def listener(session, submission) -> None:  # type: ignore[no-untyped-def]
        seen.append(submission.workbook_slug)

    workbook_submitted.connect(listener)
    try:
        post(client, WB1, {**quiz_fields(quiz_of(db), client=client), "action": f"check:{quiz_of(db).activity_id}"})
        response = post(client, WB1, {**complete_answers(db, client), "action": "submit"})
    finally:
        workbook_submitted.disconnect(listener)  # only ours: badges listen too
    assert response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Workbook 1 is submitted. Well done!" in dashboard
    assert "1 of 5 workbooks submitted" in dashboard
    submission = db.scalar(select(Submission))
    assert submission.workbook_slug == "the-mentors-role" and submission.course_version_number == 1
    assert submission.answers["my-mentoring-context"] == {"text": REFLECTION}
    assert seen == ["the-mentors-role"]
    # read-only afterwards; a second submit (double click, other tab) changes nothing
    html = client.get(WB1).get_data(as_text=True)
    assert "You submitted this workbook on" in html and "disabled" in html and 'value="submit"' not in html
    again = post(client, WB1, {**complete_answers(db, client), "action": "submit"})
    assert again.status_code == 302
    assert db.scalar(select(func.count()).select_from(Submission)) == 1
    changed = post(client, WB1, {"a.my-mentoring-context.text": "rewritten", "action": "save"})
    assert changed.status_code == 409 and "rewritten" in changed.get_data(as_text=True)
    assert db.scalar(select(Response.answer).where(Response.activity_id == "my-mentoring-context")) == {"text": REFLECTION}


def test_without_script_submitting_asks_on_a_page_first(client, db: Session, learner) -> None:
    """The <dialog> needs script; a browser without it sends confirm=ask (from <noscript>)."""
    page = client.get(WB1).get_data(as_text=True)
    assert '<noscript><input type="hidden" name="confirm" value="ask"></noscript>' in page
    post(client, WB1, {**quiz_fields(quiz_of(db), client=client), "action": f"check:{quiz_of(db).activity_id}"})
    asked = post(client, WB1, {**complete_answers(db, client), "action": "submit", "confirm": "ask"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Submit workbook 1: The mentor" in html
    assert 'name="confirm" value="saved"' in html and "Not yet: back to the workbook" in html
    assert "not done yet" not in html  # everything required is done
    # Nothing is submitted yet, but what was typed is saved.
    assert db.scalar(select(func.count()).select_from(Submission)) == 0
    assert db.scalar(select(Response.answer).where(Response.activity_id == "my-mentoring-context")) == {
        "text": REFLECTION}
    # The page's button submits what was saved (its form holds no answers, and clears none).
    done = post(client, WB1, {"action": "submit", "confirm": "saved"})
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    submission = db.scalar(select(Submission))
    assert submission.answers["my-mentoring-context"] == {"text": REFLECTION}
    again = post(client, WB1, {"action": "submit", "confirm": "saved"})
    assert again.status_code == 302 and db.scalar(select(func.count()).select_from(Submission)) == 1


def test_without_script_an_incomplete_workbook_is_refused_after_the_question(client, db: Session, learner) -> None:
    asked = post(client, WB1, {"a.my-mentoring-context.text": "Too short.", "action": "submit", "confirm": "ask"})
    assert asked.status_code == 200 and "required activities are not done yet" in asked.get_data(as_text=True)
    refused = post(client, WB1, {"action": "submit", "confirm": "saved"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "The workbook cannot be submitted yet" in html
    assert ">Too short.</textarea>" in html
    assert db.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_closed_enrolment_is_read_only_and_an_extension_reopens_it(client, db: Session, learner) -> None:
    post(client, WB1, {"a.roles-warm-up.text": "kept", "action": "save"})
    enrolment = db.scalar(select(Enrolment))
    enrolment.run.closes_on = TODAY - dt.timedelta(days=1)
    db.commit()
    html = client.get(WB1).get_data(as_text=True)
    assert "nothing can be submitted" in html and ">kept</textarea>" in html
    refused = post(client, WB1, {"a.roles-warm-up.text": "new text", "action": "save"})
    assert refused.status_code == 409 and ">new text</textarea>" in refused.get_data(as_text=True)
    assert "Closed" in client.get("/dashboard").get_data(as_text=True)
    enrolment.extended_until = TODAY + dt.timedelta(days=7)
    db.commit()
    assert post(client, WB1, {"a.roles-warm-up.text": "new text", "action": "save"}).status_code == 302
    assert "7</strong> days left" in client.get("/dashboard").get_data(as_text=True) or \
           "8</strong> days left" in client.get("/dashboard").get_data(as_text=True)


def test_a_paced_run_releases_workbooks_on_their_day(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=7), mode="paced", pace_days=7)
    user = make_user()
    enrol(db, run, user.id, TODAY)
    db.commit()
    auth.login(user)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert dashboard.count("opens ") == 3  # workbooks 1 and 2 are out (day 0 and day 7)
    html = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    assert f"This workbook opens on {TODAY + dt.timedelta(days=7):%-d %B %Y}" in html
    refused = post(client, "/courses/mentoring/workbooks/observation-and-feedback",
                   {"a.notes-practice.text": "early", "action": "save"})
    assert refused.status_code == 409


def test_an_answer_too_long_is_not_saved_but_shown_again(client, db: Session, learner) -> None:
    text = "x" * 20_001
    response = post(client, WB1, {"a.roles-warm-up.text": text, "action": "save"})
    assert response.status_code == 422
    assert "too long" in response.get_data(as_text=True) and text in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Response)) == 0


def test_an_ended_session_loses_nothing(client, auth, db: Session, learner) -> None:
    token = csrf_token(client, WB1)
    client.delete_cookie("session")  # the session ended (idle timeout, browser restart)
    response = client.post(WB1, headers={"Origin": "http://localhost"},  # as a browser sends it from our page
                           data={"csrf_token": token, "a.my-mentoring-context.text": "Typed before expiry",
                                 "action": "save"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session had ended" in login_page
    assert db.scalar(select(func.count()).select_from(Response)) == 0
    back = client.post(response.headers["Location"], data={
        "email": learner.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert back.headers["Location"] == WB1
    restored = client.get(WB1)
    assert restored.status_code == 302  # saved, then shown
    html = client.get(WB1).get_data(as_text=True)
    assert "What you typed before your session ended is saved" in html
    assert ">Typed before expiry</textarea>" in html


def test_a_stale_form_token_shows_the_text_again(client, db: Session, learner) -> None:
    response = client.post(WB1, data={"csrf_token": "stale", "a.roles-warm-up.text": "my words", "action": "save"})
    assert response.status_code == 400
    assert ">my words</textarea>" in response.get_data(as_text=True)
    assert "press Save again" in response.get_data(as_text=True)


def test_drafts_survive_a_new_content_version(client, db: Session, learner, publish, course_copy) -> None:
    post(client, WB1, {"a.my-mentoring-context.text": "Draft under version 1", "action": "save"})
    wb = course_copy / "01-the-mentors-role.md"
    wb.write_text(wb.read_text().replace("# The mentor's role", "# The mentor's role (revised)"))
    assert publish(course_copy).version.number == 2
    html = client.get(WB1).get_data(as_text=True)
    assert "(revised)" in html and ">Draft under version 1</textarea>" in html


def test_learners_see_only_their_own_work(client, auth, db: Session, learner, make_user) -> None:
    post(client, WB1, {"a.my-mentoring-context.text": "Lena's private reflection", "action": "save"})
    lena_enrolment = db.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    auth.logout()
    other = make_user(name="Olly Other")
    enrol(db, lena_enrolment.run, other.id, TODAY)
    db.commit()
    auth.login(other)
    html = client.get(WB1).get_data(as_text=True)
    assert "Lena" not in html and "private reflection" not in html
    assert client.get(f"/dashboard/enrolments/{lena_enrolment.id}/withdraw").status_code == 404
    data = client.get("/account/data.json").get_json()
    assert "private reflection" not in str(data)


def test_withdraw_and_rejoin(client, db: Session, learner) -> None:
    enrolment = db.scalar(select(Enrolment))
    assert "Withdraw from" in client.get(f"/dashboard/enrolments/{enrolment.id}/withdraw").get_data(as_text=True)
    post(client, f"/dashboard/enrolments/{enrolment.id}/withdraw", {})
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "You have withdrawn" in dashboard and "Rejoin the run" in dashboard
    assert "You have withdrawn from this run" in client.get(WB1).get_data(as_text=True)
    assert post(client, WB1, {"a.roles-warm-up.text": "x", "action": "save"}).status_code == 409
    post(client, f"/dashboard/enrolments/{enrolment.id}/rejoin", {})
    assert "Welcome back" in client.get("/dashboard").get_data(as_text=True)
    assert post(client, WB1, {"a.roles-warm-up.text": "x", "action": "save"}).status_code == 302


def test_the_dashboard_suggests_what_to_do_next(client, db: Session, learner) -> None:
    html = client.get("/dashboard").get_data(as_text=True)
    assert "start workbook 1" in html
    post(client, "/courses/mentoring/workbooks/observation-and-feedback", {"a.notes-practice.text": "hm", "action": "save"})
    html = client.get("/dashboard").get_data(as_text=True)
    assert "continue workbook 3" in html and "in progress" in html
    enrolment = db.scalar(select(Enrolment))
    suggested = enrolment.enrolled_on + dt.timedelta(days=7)
    assert f"{suggested:%-d %B %Y}" in html
