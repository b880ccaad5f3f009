"""Rate limits on logging in, registering and password resets (shooc/auth/limits.py):
per account and per address, a clear 429 page, counts shared through Redis by
several app servers, and a Redis outage that locks nobody out."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from conftest import PASSWORD, Auth, csrf_token, unavailable
from shooc import create_app

REDIS_URL = os.environ.get("SHOOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # every request comes from there
    return client


def fail_login(client: FlaskClient, email: str) -> int:
    return client.post("/auth/login", data={"email": email, "password": "not the password",
                                            "csrf_token": csrf_token(client)}).status_code


def test_failed_logins_lock_the_account_and_say_so(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client = client_at(app, "192.0.2.1")
    assert [fail_login(client, user.email) for _ in range(10)] == [422] * 10
    page = Auth(client).login(user)  # the right password too: a guesser learns nothing
    assert page.status_code == 429
    text = page.get_data(as_text=True)
    assert "Too many attempts" in text and "to log in" in text and "wait" in text
    assert 'href="/auth/reset"' in text
    # the lock lasts what is left of the 15-minute window, never a minute more
    assert 14 * 60 <= int(page.headers["Retry-After"]) <= 15 * 60
    assert "wait 15 minutes" in text or "wait 14 minutes" in text
    # the same account from anywhere else is locked too; another account is not
    elsewhere = client_at(app, "198.51.100.7")
    assert Auth(elsewhere).login(user).status_code == 429
    other = make_user()
    assert Auth(client).login(other).status_code == 302
    # the form itself still shows (only attempts are counted)
    assert client.get("/auth/login").status_code == 200


def test_successful_logins_are_never_limited(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """A school's teachers logging in from one address in one session."""
    users = [make_user() for _ in range(35)]
    for user in users:
        client = client_at(app, "203.0.113.9")
        assert Auth(client).login(user).status_code == 302


def test_failures_from_one_address_stop_that_address(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    client = client_at(app, "192.0.2.2")
    statuses = [fail_login(client, f"guess{n}@example.org") for n in range(31)]
    assert statuses[:30] == [422] * 30 and statuses[30] == 429
    assert Auth(client).login(make_user()).status_code == 429
    assert Auth(client_at(app, "192.0.2.3")).login(make_user()).status_code == 302


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
    on_first, on_second = client_at(first, "192.0.2.8"), client_at(second, "192.0.2.9")
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
