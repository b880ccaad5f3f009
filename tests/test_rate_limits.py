"""Rate limits on logging in, registering and password resets (shooc/auth/limits.py):
per account and per address, a clear 429 page, counts shared through Redis by
several app servers, and a Redis outage that locks nobody out."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from conftest import PASSWORD, Auth, csrf_token, unavailable
from shooc import create_app
from shooc.auth import limits
from shooc.auth.models import Role, User
from shooc.auth.services import create_user
from test_accounts import (flashes, last_mail, link_in, logged_in_email, mails, outbox, page, stored_user,  # noqa: F401
                           token_made_ago)

REDIS_URL = os.environ.get("SHOOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # every request comes from there
    return client


def fail_login(client: FlaskClient, email: str) -> int:
    return client.post("/auth/login", data={"email": email, "password": "not the password",
                                            "csrf_token": csrf_token(client)}).status_code


def cheap_to_guess(db: Session, user: User) -> User:
    """The account's password hash made cheap to check (one PBKDF2 round instead of
    scrypt's 90 ms), so that an attack of a hundred guesses takes a second, not ten:
    every answer, and so everything the limits count, stays the same."""
    user.password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1")
    db.commit()
    return user


def guess_from_many_addresses(app: Flask, email: str, addresses: int = 10) -> None:
    """A stranger with no cookies guesses the password from ``addresses`` loopback
    addresses (127.0.0.2, 127.0.0.3, ...), 10 wrong guesses from each: what the
    per-account-and-address limit lets through, 100 in all."""
    for n in range(2, 2 + addresses):
        stranger = client_at(app, f"127.0.0.{n}")
        assert [fail_login(stranger, email) for _ in range(10)] == [422] * 10, n


def device_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(limits.DEVICE_COOKIE, path="/auth")
    return cookie.value if cookie is not None else None


ACCOUNT_WIDE = "from many places: someone may be trying to guess its password"


def test_failed_logins_lock_the_account_at_that_address_and_say_so(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client = client_at(app, "192.0.2.1")
    assert [fail_login(client, user.email) for _ in range(10)] == [422] * 10
    page = Auth(client).login(user)  # the right password too: a guesser learns nothing
    assert page.status_code == 429
    text = page.get_data(as_text=True)
    assert "Too many attempts" in text and "to log in with this e-mail address from your address" in text
    # what to do: a link that logs in at once, or wait
    assert 'action="/auth/login-link"' in text and "E-mail me a link to log in" in text
    assert f'value="{user.email}"' in text and 'for="email"' in text  # the form is filled in, and labelled
    assert 'href="/auth/reset"' in text
    # the lock lasts what is left of the 15-minute window, never a minute more
    assert 14 * 60 <= int(page.headers["Retry-After"]) <= 15 * 60
    assert "wait 15 minutes" in text or "wait 14 minutes" in text
    # the same account from anywhere else is not locked (its owner may be there:
    # issue 14, item 3); another account from this address is not either
    assert Auth(client_at(app, "198.51.100.7")).login(user).status_code == 302
    assert Auth(client).login(make_user()).status_code == 302
    # the form itself still shows (only attempts are counted)
    assert client.get("/auth/login").status_code == 200


@pytest.mark.slow
def test_successful_logins_are_never_limited(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """A school's teachers logging in from one address in one session."""
    users = [make_user() for _ in range(35)]
    for user in users:
        client = client_at(app, "203.0.113.9")
        assert Auth(client).login(user).status_code == 302


@pytest.mark.slow
def test_failures_from_one_address_stop_that_address(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    client = client_at(app, "192.0.2.2")
    statuses = [fail_login(client, f"guess{n}@example.org") for n in range(31)]
    assert statuses[:30] == [422] * 30 and statuses[30] == 429
    assert Auth(client).login(make_user()).status_code == 429
    assert Auth(client_at(app, "192.0.2.3")).login(make_user()).status_code == 302


@pytest.mark.slow
def test_registration_is_limited_per_account_and_per_address(app: Flask) -> None:
    def register(client: FlaskClient, email: str) -> int:
        return client.post("/auth/register", data={
            "email": email, "name": "Rae Register", "organisation": "Oak Academy", "job_role": "mentor",
            "mentoring_experience": "1-3", "password": PASSWORD, "confirm": PASSWORD, "consent": "y",
            "csrf_token": csrf_token(client, "/auth/register")}).status_code

    client = client_at(app, "192.0.2.4")
    assert [register(client, "rae@example.org") for _ in range(5)] == [302] * 5
    page = client.post("/auth/register", data={"email": "rae@example.org", "name": "Rae", "password": PASSWORD,
                                               "consent": "y", "csrf_token": csrf_token(client, "/auth/register")})
    assert page.status_code == 429 and "to register" in page.get_data(as_text=True)
    crowd = client_at(app, "192.0.2.5")
    assert [register(crowd, f"teacher{n}@example.org") for n in range(50)] == [302] * 50
    assert register(crowd, "teacher50@example.org") == 429


def test_password_reset_requests_are_limited(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()

    def ask(client: FlaskClient) -> int:
        return client.post("/auth/reset", data={"email": user.email,
                                                "csrf_token": csrf_token(client, "/auth/reset")}).status_code

    client = client_at(app, "192.0.2.6")
    assert [ask(client) for _ in range(5)] == [302] * 5
    assert ask(client) == 429
    assert ask(client_at(app, "192.0.2.7")) == 429  # per account: nobody's inbox is flooded


def test_a_strangers_guesses_never_lock_the_owner_out(app: Flask, db: Session, make_user,  # type: ignore[no-untyped-def]
                                                      outbox: Path) -> None:
    """Issue 14, item 3: 10 failures from anywhere locked an account for everyone,
    its owner with the right password included. Now a stranger elsewhere (another
    address, no cookies) is stopped after 10 guesses per address and, guessing from
    many addresses, after 100 an hour; the owner's browser, which logged in before,
    still gets in with the password; a new device of the owner's is refused, but the
    link e-mailed from the refusal logs it in at once, once."""
    victim = cheap_to_guess(db, make_user(email="vera.victim@example.org"))
    owner = client_at(app, "127.0.0.1")
    assert Auth(owner).login(victim).status_code == 302
    assert device_cookie(owner) is not None
    assert Auth(owner).logout().status_code == 302

    guess_from_many_addresses(app, victim.email)  # 100 wrong guesses from 127.0.0.2-11
    # the stranger is stopped: at each address they used, and at any new one
    again = fail_login(client_at(app, "127.0.0.2"), victim.email)
    assert again == 429
    elsewhere = Auth(client_at(app, "127.0.0.12")).login(victim)  # even with the right password
    assert elsewhere.status_code == 429 and ACCOUNT_WIDE in page(elsewhere)
    assert 59 * 60 <= int(elsewhere.headers["Retry-After"]) <= 60 * 60

    # the owner's own browser gets in with the password, at once
    assert Auth(owner).login(victim).status_code == 302
    assert logged_in_email(owner) == victim.email

    # a new device of the owner's: refused, but the refusal offers a link
    laptop = client_at(app, "127.0.0.13")
    refused = Auth(laptop).login(victim)
    assert refused.status_code == 429
    text = page(refused)
    assert ACCOUNT_WIDE in text and "log in at once with a link we e-mail you" in text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    asked = laptop.post("/auth/login-link", data={"email": victim.email, "csrf_token": token})
    assert asked.status_code == 302 and asked.headers["Location"] == "/auth/check-email"
    message = last_mail(outbox)
    assert message["To"] == victim.email and len(mails(outbox)) == 1
    link = link_in(message)
    assert link.startswith("/auth/login-link/")

    # opening the link changes nothing (mail scanners fetch links)
    last_login = stored_user(db, victim.email).last_login_at  # type: ignore[union-attr]
    for _ in range(2):
        opened = laptop.get(link)
        assert opened.status_code == 200 and victim.email in page(opened) and ">Log in</button>" in page(opened)
    assert logged_in_email(laptop) is None
    assert stored_user(db, victim.email).last_login_at == last_login  # type: ignore[union-attr]
    forged = laptop.post(link)  # a cross-site form: no CSRF token
    assert forged.status_code == 400 and logged_in_email(laptop) is None

    # its button logs in, and this browser is the owner's from now on
    used = laptop.post(link, data={"csrf_token": csrf_token(laptop, link)})
    assert used.status_code == 302 and used.headers["Location"] == "/dashboard"
    assert logged_in_email(laptop) == victim.email and device_cookie(laptop) is not None
    # the link works once
    assert Auth(laptop).logout().status_code == 302
    assert laptop.get(link).status_code == 400 and "already been used" in page(laptop.get(link))
    reused = laptop.post(link, data={"csrf_token": csrf_token(laptop)})
    assert reused.status_code == 400 and logged_in_email(laptop) is None
    assert client_at(app, "127.0.0.14").post(link, data={"csrf_token": csrf_token(laptop)}).status_code == 400
    # and the laptop's password now gets in too
    assert Auth(laptop).login(victim).status_code == 302


def test_only_the_accounts_own_device_cookie_exempts(app: Flask, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    """Past the account-wide limit a forged cookie, one signed with another key, one
    for the attacker's own account or an expired one lets nobody in; the owner's does."""
    victim = cheap_to_guess(db, make_user())
    owner = client_at(app, "127.0.0.1")
    assert Auth(owner).login(victim).status_code == 302
    guess_from_many_addresses(app, victim.email)

    with app.test_request_context():
        victims_hash = limits._device_hash(victim.email)
    real = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="shooc-device")
    forged = {
        "nonsense": "not-a-cookie",
        "the owner's cookie, altered": device_cookie(owner)[:-2] + "xx",  # type: ignore[index]
        "signed with another key": URLSafeTimedSerializer("guessed key", salt="shooc-device").dumps([victims_hash]),
        "signed for another purpose": URLSafeTimedSerializer(app.config["SECRET_KEY"],
                                                             salt="shooc-reset").dumps([victims_hash]),
        "an unkeyed hash": real.dumps([hashlib.sha256(victim.email.encode()).hexdigest()[:32]]),
    }
    for n, (what, value) in enumerate(forged.items()):
        client = client_at(app, f"127.0.1.{n}")
        client.set_cookie(limits.DEVICE_COOKIE, value, path="/auth")
        assert Auth(client).login(victim).status_code == 429, what

    # the attacker's own account's cookie, from logging in to it
    attacker = client_at(app, "127.0.2.1")
    assert Auth(attacker).login(make_user()).status_code == 302 and device_cookie(attacker)
    assert Auth(attacker).logout().status_code == 302
    assert Auth(attacker).login(victim).status_code == 429

    # a year old: expired (itsdangerous's clock turned back while it is signed)
    with pytest.MonkeyPatch.context() as patch:
        import itsdangerous.timed
        import types

        past = time.time() - 366 * 86400
        patch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: past))
        old = real.dumps([victims_hash])
    stale = client_at(app, "127.0.2.2")
    stale.set_cookie(limits.DEVICE_COOKIE, old, path="/auth")
    assert Auth(stale).login(victim).status_code == 429

    # the control: the same hash, properly signed, from a new address gets in
    copied = client_at(app, "127.0.2.3")
    copied.set_cookie(limits.DEVICE_COOKIE, real.dumps([victims_hash]), path="/auth")
    assert Auth(copied).login(victim).status_code == 302
    assert Auth(owner).login(victim).status_code == 302


def test_the_owners_device_is_still_limited_per_address(app: Flask, db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    """A device cookie exempts from the account-wide limit only: a thief with the
    owner's browser (or its cookie) gets 10 guesses per address in 15 minutes too."""
    victim = cheap_to_guess(db, make_user())
    owner = client_at(app, "127.0.0.1")
    assert Auth(owner).login(victim).status_code == 302 and Auth(owner).logout().status_code == 302
    assert [fail_login(owner, victim.email) for _ in range(10)] == [422] * 10
    locked = Auth(owner).login(victim)
    assert locked.status_code == 429 and "from your address" in page(locked)


def test_the_device_cookie(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """Set on every login, for /auth only, HttpOnly, SameSite=Lax, for a year (Secure
    over https: test_accounts.py), naming no address; up to five accounts of a shared
    computer, the newest first."""
    users = [make_user() for _ in range(6)]
    client = app.test_client()
    response = Auth(client).login(users[0])
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(limits.DEVICE_COOKIE + "="))
    attributes = {part.split("=")[0].strip().lower() for part in header.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes and "secure" not in attributes
    assert "Path=/auth" in header and "SameSite=Lax" in header and "Max-Age=31536000" in header
    value = device_cookie(client)
    assert value and users[0].email not in value and "example" not in URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="shooc-device").loads(value)[0]

    for user in users[1:]:
        Auth(client).logout()
        assert Auth(client).login(user).status_code == 302
    with app.test_request_context():
        named = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="shooc-device").loads(device_cookie(client))
        assert named == [limits._device_hash(u.email) for u in reversed(users[1:])]  # the newest five


# The login link --------------------------------------------------------------------

def ask_for_link(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/login-link", data={"email": email,
                                                 "csrf_token": csrf_token(client, "/auth/login-link")})


def test_asking_for_a_login_link_says_the_same_whoever_asks(app: Flask, db: Session, make_user,  # type: ignore[no-untyped-def]
                                                            outbox: Path) -> None:
    """One answer, one message each: a link to a confirmed account; to an address
    without an account, or with one never confirmed (its password may be whoever
    registered it last), the message saying there is no account ready to use."""
    make_user(email="known@example.org")
    create_user(db, "unconfirmed@example.org", "Una", Role.learner, PASSWORD, verified=False)
    db.commit()
    login_page = page(app.test_client().get("/auth/login"))
    assert 'href="/auth/login-link"' in login_page and "E-mail me a link to log in" in login_page
    form = page(app.test_client().get("/auth/login-link"))
    assert '<label for="email">E-mail address</label>' in form and 'autocomplete="email"' in form
    answers = {}
    for address in ("known@example.org", "nobody@example.org", "unconfirmed@example.org"):
        client = app.test_client()
        response = ask_for_link(client, address)
        assert response.status_code == 302 and response.headers["Location"] == "/auth/check-email"
        answers[address] = flashes(client.get("/auth/check-email"))[0].replace(address, "ADDRESS")
        message = last_mail(outbox)
        assert message["To"] == address
        if address == "known@example.org":
            assert link_in(message).startswith("/auth/login-link/") and "15 minutes" in message.get_body(preferencelist=("plain",)).get_content()
        else:
            assert link_in(message) == "/auth/register" and "log in" in message.get_body(preferencelist=("plain",)).get_content()
    assert len(mails(outbox)) == 3
    assert len(set(answers.values())) == 1, answers
    assert "link works once, within 15 minutes" in answers["known@example.org"]
    invalid = app.test_client().post("/auth/login-link", data={"email": "not an address",
                                                               "csrf_token": csrf_token(app.test_client())})
    assert invalid.status_code in (400, 422)


def test_a_login_link_expires_after_15_minutes_and_ends_with_any_login(app: Flask, db: Session,  # type: ignore[no-untyped-def]
                                                                       make_user, outbox: Path) -> None:
    user = make_user()
    secret = app.config["SECRET_KEY"]
    client = app.test_client()
    assert client.get(f"/auth/login-link/{token_made_ago(user, secret, 'login', 14 * 60)}").status_code == 200
    expired = client.get(f"/auth/login-link/{token_made_ago(user, secret, 'login', 15 * 60 + 30)}")
    assert expired.status_code == 400 and "expired" in page(expired)
    assert 'href="/auth/login-link"' in page(expired)  # ask for a new one
    # a link for one purpose opens nothing else
    assert client.get(f"/auth/login-link/{token_made_ago(user, secret, 'reset', 0)}").status_code == 400
    # logging in with the password meanwhile uses it up
    ask_for_link(client, user.email)
    link = link_in(last_mail(outbox))
    assert Auth(app.test_client()).login(user).status_code == 302
    assert client.get(link).status_code == 400


def test_a_login_link_never_logs_in_over_someone_elses_session(app: Flask, make_user,  # type: ignore[no-untyped-def]
                                                              outbox: Path) -> None:
    """An attacker's own login link, sent to a logged-in victim, does not swap the
    victim into the attacker's account (as /auth/confirm/<token>)."""
    victim, attacker = make_user(email="victim@example.org"), make_user(email="attacker@example.org")
    browser = app.test_client()
    assert Auth(browser).login(victim).status_code == 302
    ask_for_link(app.test_client(), attacker.email)
    link = link_in(last_mail(outbox))
    opened = browser.get(link)
    assert opened.status_code == 200 and "you are logged in as <strong>victim@example.org</strong>" in page(opened)
    assert ">Log in</button>" not in page(opened)
    refused = browser.post(link, data={"csrf_token": csrf_token(browser, "/auth/logout")})
    assert refused.status_code == 409 and logged_in_email(browser) == victim.email
    # the link still works for its owner
    owner = app.test_client()
    assert owner.post(link, data={"csrf_token": csrf_token(owner, link)}).status_code == 302
    assert logged_in_email(owner) == attacker.email


def test_login_link_requests_are_limited(app: Flask, make_user, outbox: Path) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client = client_at(app, "192.0.2.11")
    assert [ask_for_link(client, user.email).status_code for _ in range(5)] == [302] * 5
    refused = ask_for_link(client_at(app, "192.0.2.12"), user.email)  # per account: no inbox is flooded
    assert refused.status_code == 429 and "to ask for a link to log in" in page(refused)
    assert "Retry-After" in refused.headers and len(mails(outbox)) == 5
    crowd = client_at(app, "192.0.2.13")
    assert [ask_for_link(crowd, f"teacher{n}@example.org").status_code for n in range(50)] == [302] * 50
    assert ask_for_link(crowd, "teacher50@example.org").status_code == 429


# Several servers, one Redis --------------------------------------------------------

def redis_reachable(url: str = REDIS_URL) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    if not redis_reachable():
        unavailable("REDIS", f"Redis is not reachable at {REDIS_URL}")
    prefix = "shooc-test-" + secrets.token_hex(4)
    yield prefix
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def server_app(database_url: str, folder: Path, redis_url: str, prefix: str) -> Flask:
    folder.mkdir()
    return create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(folder),
                       "SHOOC_SECRET_KEY": "shared", "SHOOC_REDIS_URL": redis_url, "SHOOC_REDIS_PREFIX": prefix})


def test_servers_sharing_redis_share_the_counts(database_url: str, tmp_path: Path, redis_prefix: str) -> None:
    first = server_app(database_url, tmp_path / "one", REDIS_URL, redis_prefix)
    second = server_app(database_url, tmp_path / "two", REDIS_URL, redis_prefix)
    email = "target@example.org"
    on_first, on_second = client_at(first, "192.0.2.8"), client_at(second, "192.0.2.8")  # one guesser, two servers
    statuses = [fail_login(on_first if n % 2 else on_second, email) for n in range(10)]
    assert statuses == [422] * 10
    assert fail_login(on_first, email) == 429 and fail_login(on_second, email) == 429
    # and nothing personal is in Redis: the account's key is a hash
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"*{redis_prefix}*")]
    assert keys and not any(email in k for k in keys)


def test_a_redis_outage_locks_nobody_out(database_url: str, tmp_path: Path) -> None:
    """Nothing listens on port 1: every count falls back to the process's memory."""
    app = server_app(database_url, tmp_path / "down", "redis://127.0.0.1:1/0", "shooc-down")
    client = client_at(app, "192.0.2.10")
    assert [fail_login(client, "someone@example.org") for _ in range(10)] == [422] * 10
    assert fail_login(client, "someone@example.org") == 429  # still limited, in memory
    assert client.get("/").status_code == 200  # pages still serve
