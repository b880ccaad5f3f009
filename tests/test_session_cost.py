"""What every logged-in request costs and must still check (issue 21): the session
cookie is re-signed at most once a minute and a session's CSRF token signed once per
process, yet a role taken away, a disabled account or a login ended elsewhere is
refused on the very next request, and a token is good for its own session only."""
from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from shooc.auth.models import Role, new_session_token
from shooc.db import utcnow
from shooc.web import SessionSignedEachMinute
from statement_kit import statements_of_get


def _session_cookie_set(response) -> bool:  # type: ignore[no-untyped-def]
    return any(value.startswith("session=") for value in response.headers.getlist("Set-Cookie"))


def test_the_session_cookie_is_signed_again_at_most_once_a_minute(app: Flask, client: FlaskClient, auth, make_user,
                                                                  ) -> None:  # type: ignore[no-untyped-def]
    auth.login(make_user())
    assert client.get("/dashboard").status_code == 200
    second = client.get("/dashboard")
    assert second.status_code == 200 and not _session_cookie_set(second)  # signed under a minute ago
    interface = app.session_interface
    assert isinstance(interface, SessionSignedEachMinute)
    interface.RESIGN_AFTER_SECONDS = 0  # type: ignore[misc]  # as if a minute had passed
    try:
        assert _session_cookie_set(client.get("/dashboard"))  # the idle timeout slides on
    finally:
        del interface.RESIGN_AFTER_SECONDS  # type: ignore[misc]
    assert client.get("/dashboard").status_code == 200


def test_a_role_taken_away_is_refused_on_the_very_next_request(client: FlaskClient, auth, db: Session,
                                                               make_user) -> None:  # type: ignore[no-untyped-def]
    leader = make_user(Role.leader)
    auth.login(leader)
    assert client.get("/lead/").status_code == 200
    leader.role = Role.learner
    db.commit()
    assert client.get("/lead/").status_code == 403


def test_a_disabled_account_or_a_login_ended_elsewhere_is_logged_out_on_the_very_next_request(
        client: FlaskClient, auth, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    learner = make_user()
    auth.login(learner)
    assert client.get("/dashboard").status_code == 200
    learner.disabled_at = utcnow()
    db.commit()
    assert client.get("/dashboard").status_code == 302  # to the login page
    learner.disabled_at = None
    db.commit()
    auth.login(learner)
    assert client.get("/dashboard").status_code == 200
    learner.session_token = new_session_token()  # "log out everywhere", a new password
    db.commit()
    answer = client.get("/dashboard")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_a_sessions_csrf_token_is_signed_once_and_good_for_that_session_only(
        app: Flask, client: FlaskClient, auth, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    from conftest import CSRF_RE

    ann, bea = make_user(), make_user()
    auth.login(ann)
    tokens = [CSRF_RE.search(client.get(page).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
              for page in ("/dashboard", "/account/", "/dashboard")]
    assert len(set(tokens)) == 1  # the same signed token on every page of the session
    other = app.test_client()
    other_token = CSRF_RE.search(other.get("/auth/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert other_token != tokens[0]
    # Ann's token is refused in another session; her own session takes it
    assert other.post("/auth/logout", data={"csrf_token": tokens[0]}).status_code == 400
    logged_out = client.post("/auth/logout", data={"csrf_token": tokens[0]})
    assert logged_out.status_code == 302 and client.get("/dashboard").status_code == 302
    auth.login(bea)  # a new login is a new session, with a new token
    bea_token = CSRF_RE.search(client.get("/dashboard").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert bea_token not in (tokens[0], other_token)


def test_the_dashboard_reads_in_the_same_few_statements_whatever_the_enrolments(
        app: Flask, client: FlaskClient, auth, db: Session, make_user, make_run) -> None:  # type: ignore[no-untyped-def]
    """The user (with their unread count), their enrolments, one UNION ALL of every
    mark on their workbooks and enrolments, announcements and live sessions: the same
    with three runs' enrolments, answers and a self-assessment as with one enrolment
    (bench/README.md, issue 21, measures the time)."""
    from shooc.enrolment import self_assessment as self_assessments
    from shooc.enrolment.services import enrol

    learner = make_user()
    auth.login(learner)
    enrol(db, make_run(), learner.id)
    db.commit()
    statements_of_get(app, client, "/dashboard")  # the published course read once, then kept (published.py)
    one = statements_of_get(app, client, "/dashboard")
    assert len(one) <= 7, one
    for _ in range(2):
        enrolment = enrol(db, make_run(), learner.id)
        self_assessments.skip(db, enrolment, self_assessments.BEFORE)
    db.commit()
    statements_of_get(app, client, "/dashboard")
    assert len(statements_of_get(app, client, "/dashboard")) == len(one)
