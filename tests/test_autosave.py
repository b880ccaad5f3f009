"""Autosave over real HTTP: POST /courses/<course>/workbooks/<slug>/autosave saves one
activity's answer over the revision the page had; a save over an older revision is
refused with the newer text; the form's limits, locks and CSRF hold; nobody else's
workbook is reached. (The browser's side, a network cut and two tabs, is in
tests/test_browser_reading.py.)"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, csrf_token
from shooc.enrolment.models import Enrolment, Response
from shooc.enrolment.services import enrol
from shooc.workbooks.activities import MAX_TEXT

from test_learning import REFLECTION, WB1, complete_answers, post, quiz_fields, quiz_of

URL = WB1 + "/autosave"
TEXT = "a.my-mentoring-context.text"


@pytest.fixture
def learner(db: Session, make_user, make_run, auth):  # type: ignore[no-untyped-def]
    run = make_run()
    user = make_user("learner", name="Lena Learner")
    enrol(db, run, user.id, TODAY - dt.timedelta(days=2))
    db.commit()
    auth.login(user)
    return user


def autosave(client, body: Any, token: str | None = None, page: str = WB1):  # type: ignore[no-untyped-def]
    token = csrf_token(client, page) if token is None else token
    return client.post(URL, json=body, headers={"X-CSRFToken": token})


def body(text: str, revision: int, activity: str = "my-mentoring-context") -> dict[str, Any]:
    return {"activity": activity, "revision": revision, "fields": {f"a.{activity}.text": text}}


def saved(db: Session) -> Response:
    db.expire_all()
    return db.scalars(select(Response).where(Response.activity_id == "my-mentoring-context")).one()


def test_saves_one_activity_and_counts_revisions(client, learner, db: Session) -> None:
    first = autosave(client, body("First thoughts", 0))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["revision"] == 1 and first.get_json()["changed"] is True
    assert dt.datetime.fromisoformat(first.get_json()["saved_at"]).tzinfo is not None
    second = autosave(client, body("First thoughts, then more", 1))
    assert second.get_json()["revision"] == 2
    assert saved(db).answer == {"text": "First thoughts, then more"} and saved(db).revision == 2
    # the same text again (leaving the field without typing) makes no new revision
    again = autosave(client, body("First thoughts, then more", 2))
    assert again.status_code == 200 and again.get_json() == {**again.get_json(), "revision": 2, "changed": False}
    # the page shows the revision for the script to start from
    page = client.get(WB1).get_data(as_text=True)
    assert re.search(r'data-autosave="my-mentoring-context" data-revision="2" data-saved-at="[^"]+"', page)
    assert 'data-autosave-url="/courses/mentoring/workbooks/the-mentors-role/autosave"' in page


def test_a_stale_save_is_refused_with_the_newer_text(client, learner, db: Session) -> None:
    """Two tabs opened at revision 0: the first saves; the second's save, typed over
    revision 0, is refused with the first's text and revision, and changes nothing.
    Sent again over the newer revision (the learner chose their own), it is saved."""
    assert autosave(client, body("From the laptop", 0)).status_code == 200
    stale = autosave(client, body("From the phone", 0))
    assert stale.status_code == 409
    answer = stale.get_json()
    assert answer["revision"] == 1 and answer["fields"] == {TEXT: ["From the laptop"]}
    assert "another tab or on another device" in answer["error"] and answer["saved_at"]
    assert saved(db).answer == {"text": "From the laptop"}
    assert autosave(client, body("From the phone", 1)).status_code == 200
    assert saved(db).answer == {"text": "From the phone"} and saved(db).revision == 2


def test_a_save_with_the_form_moves_the_revision_on(client, learner, db: Session) -> None:
    """A save from the Save button (no JavaScript) is a new revision too: an autosave
    from a page drawn before it is refused."""
    assert autosave(client, body("Autosaved", 0)).status_code == 200
    post(client, WB1, {"action": "save:my-mentoring-context", TEXT: "Saved with the button"})
    assert saved(db).revision == 2
    assert autosave(client, body("Typed over revision 1", 1)).status_code == 409


def test_other_kinds_are_saved_and_given_back_as_fields(client, learner, db: Session) -> None:
    """Ratings and quiz choices save as the form saves them; a refusal gives back the
    fields that show the saved answer."""
    wb = "/courses/mentoring/workbooks/the-mentors-role"
    page = client.get(wb).get_data(as_text=True)
    ids = re.findall(r'data-autosave="([^"]+)"', page)
    assert "my-mentoring-context" in ids and len(ids) >= 2
    quiz_fields = {k: v for k, v in complete_answers(db, client).items() if k.startswith(f"a.{quiz_of(db).activity_id}.")}
    quiz_id = next(iter(quiz_fields)).split(".")[1]
    ok = autosave(client, {"activity": quiz_id, "revision": 0, "fields": quiz_fields})
    assert ok.status_code == 200, ok.get_json()
    refused = autosave(client, {"activity": quiz_id, "revision": 0, "fields": {}})
    assert refused.status_code == 409 and refused.get_json()["fields"] == quiz_fields


@pytest.mark.parametrize("sent,problem", [
    ("not json", "JSON object"),
    ({"activity": "my-mentoring-context", "fields": {}}, "'revision'"),
    ({"activity": "my-mentoring-context", "revision": True, "fields": {}}, "'revision'"),
    ({"activity": "my-mentoring-context", "revision": -1, "fields": {}}, "'revision'"),
    ({"activity": 3, "revision": 0, "fields": {}}, "'activity'"),
    ({"activity": "my-mentoring-context", "revision": 0, "fields": {TEXT: 3}}, "'fields'"),
    ({"activity": "my-mentoring-context", "revision": 0, "fields": {TEXT: "a\x00b"}}, "NUL"),
    ({"activity": "no-such-thing", "revision": 0, "fields": {}}, "no activity 'no-such-thing'"),
])
def test_bad_bodies_are_refused_clearly(client, learner, db: Session, sent: Any, problem: str) -> None:
    token = csrf_token(client, WB1)
    if isinstance(sent, str):
        response = client.post(URL, data=sent, content_type="application/json", headers={"X-CSRFToken": token})
    else:
        response = autosave(client, sent, token)
    assert response.status_code == 400 and response.is_json
    assert problem in response.get_json()["error"]
    assert db.scalars(select(Response)).all() == []


def test_too_long_is_refused_with_the_limit(client, learner, db: Session) -> None:
    response = autosave(client, body("x" * (MAX_TEXT + 1), 0))
    assert response.status_code == 422
    assert f"{MAX_TEXT:,}" in response.get_json()["error"]
    assert db.scalars(select(Response)).all() == []


def test_csrf_is_needed_in_the_header(client, learner, db: Session) -> None:
    for token in ("", "forged"):
        response = client.post(URL, json=body("Hello", 0), headers={"X-CSRFToken": token} if token else {})
        assert response.status_code == 400 and "reload it" in response.get_json()["error"]
    assert db.scalars(select(Response)).all() == []


def test_a_submitted_workbook_refuses(client, learner, db: Session) -> None:
    quiz = quiz_of(db)
    post(client, WB1, {**quiz_fields(quiz, client=client), "action": f"check:{quiz.activity_id}"})
    assert post(client, WB1, {"action": "submit", **complete_answers(db, client)}).headers["Location"] == "/dashboard"
    response = autosave(client, body(REFLECTION + " more", saved(db).revision))
    assert response.status_code == 403 and response.get_json()["locked"] is True
    assert "You submitted this workbook" in response.get_json()["error"]
    assert saved(db).answer == {"text": REFLECTION}


def test_nobody_else_saves(client, auth, learner, db: Session, make_user) -> None:
    token = csrf_token(client, WB1)
    auth.logout()
    anonymous = client.post(URL, json=body("Hello", 0), headers={"X-CSRFToken": token})
    assert anonymous.status_code == 401 and "kept in this browser" in anonymous.get_json()["error"]
    auth.login(make_user("learner", email="other@example.org"))  # not enrolled
    stranger = autosave(client, body("Hello", 0), page="/dashboard")
    assert stranger.status_code == 404
    for role in ("leader", "evaluator", "admin"):
        auth.logout()
        auth.login(make_user(role, email=f"{role}@example.org"))
        assert autosave(client, body("Hello", 0), page="/dashboard").status_code == 403
    assert db.scalars(select(Response)).all() == []
    assert db.scalar(select(Enrolment)).started_on is None


def test_the_page_says_what_a_button_did_beside_it(client, learner, db: Session) -> None:
    """Draft saved is said in the activity whose Save was pressed, not at the top."""
    response = post(client, WB1, {"action": "save:my-mentoring-context", TEXT: "Draft"})
    assert response.headers["Location"].endswith("#activity-my-mentoring-context")
    page = client.get(WB1).get_data(as_text=True)
    assert re.search(r'id="activity-my-mentoring-context-status" role="status">Draft saved\.</p>', page)
    assert 'class="flash' not in page
    assert "Draft saved." not in client.get(WB1).get_data(as_text=True)  # said once


def test_the_migration_gives_existing_answers_revision_1(database_url: str, schema_tables: list[str]) -> None:
    """Migration 0019 down and up on the suite's own database (SQLite, or PostgreSQL):
    answers saved before it start at revision 1; the database is left empty at head."""
    from alembic import command
    from sqlalchemy import inspect, text

    from conftest import PASSWORD, empty_tables, mentoring
    from shooc.auth.services import create_user
    from shooc.db import Database
    from shooc.enrolment.answers import save_answer
    from shooc.enrolment.runs import create_run
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.publish import publish_course

    database = Database(database_url)
    try:
        with database.session() as session:
            course = publish_course(session, mentoring()).course
            run = create_run(session, course, TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=30))
            user = create_user(session, "m@example.org", "M", "learner", PASSWORD)
            save_answer(session, enrol(session, run, user.id, TODAY), "the-mentors-role", "my-mentoring-context",
                        {"text": "Before"})
            session.commit()
        command.downgrade(alembic_config(database), "0018")
        with database.engine.connect() as connection:
            assert "revision" not in {c["name"] for c in inspect(connection).get_columns("responses")}
        upgrade(database)
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT revision FROM responses")).scalars().all() == [1]
    finally:
        upgrade(database)
        with database.engine.begin() as connection:  # the course and its current version refer to each other
            connection.execute(text("UPDATE courses SET current_version_id = NULL"))
        empty_tables(database, schema_tables)
        database.engine.dispose()


def test_a_button_save_over_text_changed_elsewhere_is_refused_and_shows_both(client, learner, db: Session) -> None:
    """The form's buttons (with or without the page's script) send each answer's
    revision as the page was drawn: a tab left open at revision 1 whose Save would
    overwrite text saved since from another device is refused, saving nothing of the
    form, and shows the newer text beside the learner's own; the page it shows carries
    the newer revision, so that pressing Save again keeps theirs."""
    assert autosave(client, body("Typed on the laptop", 0)).status_code == 200
    page = client.get(WB1).get_data(as_text=True)
    assert '<input type="hidden" name="rev.my-mentoring-context" value="1">' in page
    assert autosave(client, body("Typed later on the phone", 1)).status_code == 200  # revision 2
    refused = post(client, WB1, {"action": "save:my-mentoring-context", "rev.my-mentoring-context": "1",
                                 TEXT: "The laptop tab's longer text", "a.roles-warm-up.text": "A warm-up"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Nothing was saved: an answer marked below was changed in another tab or on another device" in html
    assert "The newer text: “Typed later on the phone”" in html
    assert "The laptop tab&#39;s longer text" in html or "The laptop tab's longer text" in html  # kept in its box
    assert '<input type="hidden" name="rev.my-mentoring-context" value="2">' in html
    assert saved(db).answer == {"text": "Typed later on the phone"}
    assert db.scalar(select(Response).where(Response.activity_id == "roles-warm-up")) is None  # nothing of the form
    # the learner keeps theirs: the same form again, now over revision 2
    kept = post(client, WB1, {"action": "save:my-mentoring-context", "rev.my-mentoring-context": "2",
                              TEXT: "The laptop tab's longer text"})
    assert kept.status_code == 302 and saved(db).answer == {"text": "The laptop tab's longer text"}
    # an unchanged answer over an old revision is no conflict (the page's own autosave got there first)
    same = post(client, WB1, {"action": "save", "rev.my-mentoring-context": "1", TEXT: "The laptop tab's longer text"})
    assert same.status_code == 302
