"""Admins' pages for people (/admin/users) and ``shooc user role`` (issue 17):
finding people, their enrolments, roles, disabling and enabling, lifting the login
limits, a new confirmation link; every change audited; an admin cannot lock the
site out of its own administration."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PASSWORD, Auth, csrf_token
from shooc.audit import AuditEntry
from shooc.auth.models import Role, User
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol
from test_accounts import link_in, mails, outbox  # noqa: F401
from test_rate_limits import cheap_to_guess, client_at, guess_from_many_addresses


def _post(client: FlaskClient, url: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/users"), **data}, follow_redirects=True)


def _audited(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_an_admin_finds_people_by_part_of_a_name_or_address_and_by_role(
        client: FlaskClient, auth: Auth, make_user, make_run) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    make_user(name="Priya Patel", email="priya@school.example")
    make_user(name="Pat 100% Real", email="pat_real@school.example")
    make_user(Role.leader, name="Leo Leader", email="leo@uni.example")
    auth.login(admin)
    names = lambda response: [n for n in ("Priya Patel", "Pat 100% Real", "Leo Leader")  # noqa: E731
                              if n in response.get_data(as_text=True)]
    assert names(client.get("/admin/users?q=PAT")) == ["Priya Patel", "Pat 100% Real"]
    assert names(client.get("/admin/users?q=100%25")) == ["Pat 100% Real"]  # % is a character, not a wildcard
    assert names(client.get("/admin/users?q=i_a")) == []  # nor is _ (it would match Priya)
    assert names(client.get("/admin/users?q=priya@school.example")) == ["Priya Patel"]
    assert names(client.get("/admin/users?role=leader")) == ["Leo Leader"]
    assert "Nobody matches" in client.get("/admin/users?q=nobody-at-all").get_data(as_text=True)


def test_an_admin_changes_a_role_which_takes_effect_at_once_and_is_audited(
        app: Flask, client: FlaskClient, auth: Auth, db: Session, make_user, make_run) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    teacher = make_user(name="Tess Teacher")
    run: Run = make_run()
    enrol(db, run, teacher.id)
    db.commit()
    auth.login(admin)
    person = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "Tess Teacher" in person and run.name in person  # the enrolment, linked to its participant page
    response = _post(client, f"/admin/users/{teacher.id}/role", role="leader")
    assert "Tess Teacher is now a course leader." in response.get_data(as_text=True)
    (entry,) = _audited(db, "user.role")
    assert entry.details == {"user_id": teacher.id, "before": "learner", "after": "leader"}
    assert "Tess" not in entry.summary and teacher.email not in entry.summary  # named by id only
    assert _post(client, f"/admin/users/{teacher.id}/role", role="boss").status_code == 400
    auth.logout()
    auth.login(teacher)
    assert client.get("/lead/").status_code == 200


def test_an_admin_cannot_demote_or_disable_themselves_nor_the_last_admin(
        app: Flask, client: FlaskClient, auth: Auth, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    auth.login(admin)
    for url, data in ((f"/admin/users/{admin.id}/role", {"role": "learner"}), (f"/admin/users/{admin.id}/disable", {})):
        text = _post(client, url, **data).get_data(as_text=True)
        assert "yourself: another admin must" in text
    db.refresh(admin)
    assert admin.role is Role.admin and admin.disabled_at is None
    result = app.test_cli_runner().invoke(args=["user", "role", admin.email, "--role", "leader"])
    assert result.exit_code != 0 and "only active admin" in result.output
    other = make_user(Role.admin)
    result = app.test_cli_runner().invoke(args=["user", "role", admin.email, "--role", "leader"])
    assert result.exit_code == 0 and f"{admin.email} is now leader." in result.output
    assert _audited(db, "user.role")[-1].actor.startswith("command line")
    assert app.test_cli_runner().invoke(args=["user", "role", "nobody@example.org", "--role", "leader"]).exit_code != 0
    assert other.role is Role.admin


def test_a_disabled_account_cannot_log_in_until_it_is_enabled(
        app: Flask, client: FlaskClient, auth: Auth, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    teacher = make_user(name="Dan Disabled")
    auth.login(admin)
    assert "account is disabled" in _post(client, f"/admin/users/{teacher.id}/disable").get_data(as_text=True)
    other = app.test_client()
    login = {"email": teacher.email, "password": PASSWORD, "csrf_token": csrf_token(other)}
    assert other.post("/auth/login", data=login).status_code != 302
    assert "can log in again" in _post(client, f"/admin/users/{teacher.id}/enable").get_data(as_text=True)
    assert other.post("/auth/login", data={**login, "csrf_token": csrf_token(other)}).status_code == 302
    assert [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))][-2:] == [
        "user.disable", "user.enable"]


def test_lifting_the_login_limits_lets_the_owner_in_with_their_password_at_once(
        app: Flask, client: FlaskClient, auth: Auth, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    teacher = cheap_to_guess(db, make_user(name="Gina Guessed"))
    guess_from_many_addresses(app, teacher.email)  # 100 failures from 10 addresses: locked from everywhere
    owner = client_at(app, "127.0.0.99")
    login = lambda: owner.post("/auth/login", data={"email": teacher.email, "password": PASSWORD,  # noqa: E731
                                                    "csrf_token": csrf_token(owner)}).status_code
    assert login() == 429
    auth.login(admin)
    assert "login limits" in _post(client, f"/admin/users/{teacher.id}/unlock").get_data(as_text=True)
    assert login() == 302
    assert _audited(db, "user.unlock")[0].details == {"user_id": teacher.id}


def test_a_new_confirmation_link_goes_to_an_unconfirmed_address_only(
        app: Flask, client: FlaskClient, auth: Auth, db: Session, make_user, outbox: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from shooc.auth.services import create_user

    admin = make_user(Role.admin)
    waiting = create_user(db, "waiting@school.example", "Wendy Waiting", Role.learner, PASSWORD, verified=False)
    db.commit()
    auth.login(admin)
    page = client.get(f"/admin/users/{waiting.id}").get_data(as_text=True)
    assert "Not confirmed" in page and "Send a new confirmation link" in page
    assert "on its way" in _post(client, f"/admin/users/{waiting.id}/confirmation").get_data(as_text=True)
    (message,) = mails(outbox)
    assert message["To"] == "waiting@school.example"
    visitor = app.test_client()
    assert visitor.get(link_in(message)).status_code == 200  # the link's page: confirm with its button
    confirmed = make_user(name="Cora Confirmed")
    assert "confirmed already" in _post(client, f"/admin/users/{confirmed.id}/confirmation").get_data(as_text=True)
    assert len(mails(outbox)) == 1
    assert db.scalar(select(User).where(User.id == waiting.id)) is not None
