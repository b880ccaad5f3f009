"""Changing an account's e-mail address (shooc/auth/email_change.py): asked for on
the account page with the password, confirmed by the link sent to the new address
(until then the old one stays), the old address told; an address in use refused
without saying so; rate-limited; the badges re-hashed for the new address (and
checked so by 1EdTech's validator)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, complete_and_submit
from test_accounts import (body, flashes, link_in, links_in, login, logged_in_email, mails, page, post_form,
                           stored_user)
from test_badge_conformance import _assert_passes, _errors, _issue_badge, _verify, validator  # noqa: F401
from shooc.auth import email_change
from shooc.auth.models import User
from shooc.badges.models import BadgeAssertion
from shooc.enrolment.services import enrol

OLD, NEW = "old@school.example", "new@home.example"


@pytest.fixture
def outbox(app: Flask, instance_path: Path) -> Path:
    folder = instance_path / "outbox"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture
def learner(db: Session, make_user) -> User:  # type: ignore[no-untyped-def]
    user = make_user("learner", email=OLD, name="Olu Okoye")
    db.commit()
    return user


def ask(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return post_form(client, "/account/email", {"email": email, "password": password}, form_page="/account/")


def to(outbox: Path, address: str) -> list:  # type: ignore[type-arg]
    return [m for m in mails(outbox) if m["To"] == address]


def test_the_new_address_is_confirmed_by_its_link_and_the_old_one_is_told(
        client: FlaskClient, db: Session, learner: User, outbox: Path) -> None:
    login(client, OLD)
    response = ask(client, "  New@Home.example ")
    assert response.status_code == 302 and response.headers["Location"] == "/account/#email-heading"
    account = client.get("/account/")
    assert f"We sent a link to {NEW}" in " ".join(flashes(account))
    assert "Waiting for confirmation" in page(account) and "Cancel the change" in page(account)
    user = stored_user(db, OLD)
    assert user is not None and user.pending_email == NEW  # the old address stays until the link is used
    [confirm_mail] = to(outbox, NEW)
    [notice] = to(outbox, OLD)
    assert "Confirm your new e-mail address" in confirm_mail["Subject"]
    assert NEW in body(notice) and "cancel the\nchange on your account page" in body(notice)
    assert links_in(notice) == ["/account/"]
    link = link_in(confirm_mail)
    assert link.startswith("/account/email/confirm/")

    opened = client.get(link)  # opening it changes nothing
    assert opened.status_code == 200 and NEW in page(opened) and "Use this address" in page(opened)
    assert stored_user(db, OLD) is not None
    done = post_form(client, link, {})
    assert done.status_code == 302
    assert stored_user(db, OLD) is None and stored_user(db, NEW) is not None
    assert stored_user(db, NEW).pending_email is None
    assert logged_in_email(client) == NEW
    [_, changed] = to(outbox, OLD)
    assert NEW in body(changed) and "is now" in body(changed)
    assert post_form(client, link, {}).status_code == 400  # used once
    client.post("/auth/logout", data={"csrf_token": ""})


def test_after_the_change_one_logs_in_with_the_new_address(db: Session, learner: User, app: Flask) -> None:
    email_change.ask(db, learner, NEW, PASSWORD)
    email_change.confirm(db, learner, NEW)
    db.commit()
    fresh = app.test_client()
    assert login(fresh, OLD).status_code != 302
    assert login(fresh, NEW).status_code == 302


def test_a_wrong_password_or_the_same_address_is_refused_keeping_what_was_typed(
        client: FlaskClient, learner: User, outbox: Path) -> None:
    login(client, OLD)
    response = ask(client, NEW, password="not my password at all")
    assert response.status_code == 422
    html = page(response)
    assert "That is not your password." in html and f'value="{NEW}"' in html
    response = ask(client, OLD)
    assert response.status_code == 422 and "That is already your account&#39;s address." in page(response)
    response = ask(client, "not-an-address")
    assert response.status_code == 422 and "Enter an e-mail address like" in page(response)
    assert mails(outbox) == []


def test_an_address_in_use_is_refused_without_saying_so(client: FlaskClient, db: Session, learner: User,
                                                        make_user, outbox: Path) -> None:
    make_user("learner", email=NEW, name="Someone Else")
    db.commit()
    login(client, OLD)
    response = ask(client, NEW)
    assert response.status_code == 302  # as for a free address
    account = client.get("/account/")
    assert f"We sent a link to {NEW}" in " ".join(flashes(account)) and "Waiting for confirmation" in page(account)
    [to_new] = to(outbox, NEW)
    assert "already has its own shooc account" in body(to_new)
    assert "/account/email/confirm/" not in body(to_new)  # no link: nothing can be confirmed
    assert len(to(outbox, OLD)) == 1  # the old address told, as always
    assert stored_user(db, OLD) is not None


def test_a_newer_request_or_cancelling_ends_the_earlier_link(client: FlaskClient, db: Session, learner: User,
                                                             outbox: Path) -> None:
    login(client, OLD)
    ask(client, NEW)
    first = link_in(to(outbox, NEW)[0])
    ask(client, "newer@home.example")
    assert post_form(client, first, {}).status_code == 400 or client.get(first).status_code == 400
    second = link_in(to(outbox, "newer@home.example")[0])
    post_form(client, "/account/email/cancel", {}, form_page="/account/")
    assert client.get(second).status_code == 400
    assert stored_user(db, OLD).pending_email is None


def test_the_link_never_changes_another_logged_in_persons_account(app: Flask, db: Session, learner: User,
                                                                  make_user, outbox: Path) -> None:
    make_user("learner", email="bystander@example.org", name="By Stander")
    db.commit()
    owner = app.test_client()
    login(owner, OLD)
    ask(owner, NEW)
    link = link_in(to(outbox, NEW)[0])
    other = app.test_client()
    login(other, "bystander@example.org")
    assert "another account than the one logged in here" in page(other.get(link))
    assert post_form(other, link, {}).status_code == 409
    assert stored_user(db, OLD) is not None


def test_asking_is_rate_limited(client: FlaskClient, learner: User, outbox: Path) -> None:
    login(client, OLD)
    for n in range(5):
        assert ask(client, f"new{n}@home.example").status_code == 302
    limited = ask(client, "new9@home.example")
    assert limited.status_code == 429 and "change your e-mail address" in page(limited)


def test_badges_are_rehashed_for_the_new_address(db: Session, learner: User, make_run) -> None:
    enrolment = enrol(db, make_run(), learner.id, TODAY)
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    assertion = db.scalar(select(BadgeAssertion))
    before = assertion.salt
    email_change.ask(db, learner, NEW, PASSWORD)
    email_change.confirm(db, learner, NEW)
    db.commit()
    db.refresh(assertion)
    assert assertion.salt != before
    assert assertion.recipient_identity == "sha256$" + hashlib.sha256((NEW + assertion.salt).encode()).hexdigest()


def test_the_rehashed_badge_passes_the_validator_for_the_new_address_only(validator, live_server) -> None:
    base, database = live_server
    assertion_id, badge_name = _issue_badge(database, OLD)
    session = database.session()
    try:
        user = session.scalar(select(User).where(User.email == OLD))
        email_change.ask(session, user, NEW, PASSWORD)
        email_change.confirm(session, user, NEW)
        session.commit()
    finally:
        session.close()
    url = f"{base}/badges/assertions/{assertion_id}"
    status, result = _verify(url, NEW, "email-changed-new-address")
    _assert_passes(result, status, base, assertion_id, badge_name, NEW, evidence=False)
    status, result = _verify(url, OLD, "email-changed-old-address")
    assert status == 1 and result["report"]["valid"] is False
    assert any("did not match" in error for error in _errors(result)), _errors(result)


def test_migration_0020_goes_down_and_up_keeping_every_row(tmp_path: Path) -> None:
    """On SQLite the columns are dropped in place: a copy of ``users`` would null every
    enrolment's user on the way (their foreign keys are ON DELETE SET NULL)."""
    import datetime as dt

    from alembic import command
    from sqlalchemy import text

    from conftest import mentoring
    from shooc.auth.services import create_user
    from shooc.db import Database
    from shooc.enrolment.runs import create_run
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.publish import publish_course

    database = Database(f"sqlite:///{tmp_path}/m.sqlite3")
    upgrade(database)
    with database.session() as session:
        course = publish_course(session, mentoring()).course
        run = create_run(session, course, dt.date.today(), dt.date.today() + dt.timedelta(days=30), slug="r")
        user = create_user(session, OLD, "Olu Okoye", "learner", PASSWORD)
        enrol(session, run, user.id)
        email_change.ask(session, user, NEW, PASSWORD)
        session.commit()
        user_id = user.id
    command.downgrade(alembic_config(database), "0019")
    with database.engine.connect() as connection:
        assert "pending_email" not in {row[1] for row in connection.execute(text("PRAGMA table_info(users)"))}
        assert connection.execute(text("SELECT user_id FROM enrolments")).scalar() == user_id
    upgrade(database)
    with database.session() as session:
        found = session.get(User, user_id)
        assert found is not None and found.email == OLD and found.pending_email is None
    database.engine.dispose()
