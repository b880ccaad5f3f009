"""What an outside attack got through (issue 14), done again as the attacker did it:
over HTTP, with a second client that has no cookies, forged headers, and another
loopback address. Each test fails if its fix is taken out.

The other items of that issue are tested beside the code they concern:
test_rate_limits.py and test_accounts.py (lockout, timing, the confirmation link),
test_loader.py, test_records.py and test_web_publish.py (URLs in course files, CSV
and zip abuse, staff in a records file), test_stats.py (small cells), test_deploy.py
(the access log), test_api.py and test_pages.py (tokens, ids in Markdown).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit, csrf_token
from shooc.badges.models import Certificate
from shooc.enrolment.services import enrol
from test_accounts import REGISTRATION, body, mails
from test_badges import SLUGS, read_qr_codes

EVIL = "evil.example"


@pytest.fixture
def outbox(app: Flask, instance_path: Path) -> Path:
    folder = instance_path / "outbox"
    for old in folder.glob("*.eml"):
        old.unlink()
    return folder


# 6. Forged Host headers -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/auth/login", "/auth/reset", "/badges/issuer", "/certificates/ABCDABCDABCD.pdf"])
def test_a_host_the_site_does_not_know_is_refused(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": EVIL})
    assert response.status_code == 400
    assert EVIL not in response.get_data(as_text=True)
    assert client.get(path, headers={"Host": "127.0.0.1:5000"}).status_code in (200, 404)


def test_a_forged_host_puts_no_link_into_a_reset_or_confirmation_mail(
        app: Flask, db: Session, make_user, outbox: Path) -> None:
    victim = make_user(email="victim@example.org")
    attacker = app.test_client()  # no cookies
    token = csrf_token(attacker, "/auth/reset")
    response = attacker.post("/auth/reset", headers={"Host": EVIL}, data={"email": victim.email, "csrf_token": token})
    assert response.status_code == 400
    registered = attacker.post("/auth/register", headers={"Host": EVIL}, data={
        **REGISTRATION, "email": "new@example.org", "csrf_token": csrf_token(attacker, "/auth/register")})
    assert registered.status_code == 400
    assert mails(outbox) == []
    # the same request on a host the site knows sends mail, with links on that host
    local = app.test_client()
    token = csrf_token(local, "http://127.0.0.1:5000/auth/reset")
    local.post("/auth/reset", base_url="http://127.0.0.1:5000", data={"email": victim.email, "csrf_token": token})
    (message,) = mails(outbox)
    assert "http://127.0.0.1:5000/auth/reset/" in body(message) and EVIL not in body(message)


def test_with_a_base_url_every_link_is_on_it_and_other_hosts_are_refused(
        app: Flask, database_url: str, instance_path: Path, make_user, outbox: Path) -> None:
    from shooc import create_app
    from shooc.db import get_db

    configured = create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(instance_path),
                             "SHOOC_SECRET_KEY": "test-secret", "TESTING": True,
                             "SHOOC_BASE_URL": "https://learn.example.ac.uk"})
    get_db(configured).engine.dispose()
    configured.extensions["shooc.db"] = get_db(app)  # in the test's transaction
    victim = make_user(email="victim@example.org")
    client = configured.test_client()
    assert client.get("/auth/reset", headers={"Host": EVIL}).status_code == 400
    forwarded = client.get("/auth/reset", headers={"Host": "learn.example.ac.uk"})
    assert forwarded.status_code == 200
    token = csrf_token(client, "/auth/reset")  # the test client's own host: localhost, the machine itself
    client.post("/auth/reset", data={"email": victim.email, "csrf_token": token})
    (message,) = mails(outbox)
    assert "https://learn.example.ac.uk/auth/reset/" in body(message)


def test_behind_a_proxy_a_forged_forwarded_host_is_refused(app: Flask, database_url: str,
                                                           instance_path: Path) -> None:
    from shooc import create_app
    from shooc.db import get_db

    proxied = create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(instance_path),
                          "SHOOC_SECRET_KEY": "test-secret", "TESTING": True, "SHOOC_PROXY_HOPS": 1,
                          "SHOOC_BASE_URL": "https://learn.example.ac.uk"})
    get_db(proxied).engine.dispose()
    proxied.extensions["shooc.db"] = get_db(app)
    client = proxied.test_client()
    assert client.get("/", headers={"X-Forwarded-Host": EVIL}).status_code == 400
    assert client.get("/", headers={"X-Forwarded-Host": "learn.example.ac.uk"}).status_code == 200


@pytest.fixture
def certificate(db: Session, make_user, make_run) -> Certificate:  # type: ignore[no-untyped-def]
    enrolment = enrol(db, make_run(), make_user(name="Grace Hopper").id, TODAY)
    db.commit()
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    return db.scalar(select(Certificate))


def test_no_certificate_pdf_is_kept_with_a_url_from_the_request(
        app: Flask, db: Session, certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack: the first download with a forged Host was kept, and every later
    download printed evil.example. Now a forged Host is refused, and without
    SHOOC_BASE_URL the PDF is drawn for each download, never kept."""
    attacker, holder = app.test_client(), app.test_client()
    url = f"/certificates/{certificate.code}.pdf"
    assert attacker.get(url, headers={"Host": EVIL}).status_code == 400
    first = attacker.get(url, headers={"Host": "localhost"})
    assert read_qr_codes(first.data) == [f"http://localhost/certificates/{certificate.code}"]
    db.expire_all()
    assert db.get(Certificate, certificate.code).pdf is None
    later = holder.get(url, headers={"Host": "127.0.0.1:5000"})
    assert read_qr_codes(later.data) == [f"http://127.0.0.1:5000/certificates/{certificate.code}"]

    # with the origin configured, it is kept, and on it whatever the request's host
    monkeypatch.setitem(app.config, "SHOOC_BASE_URL", "https://learn.example.ac.uk")
    kept = attacker.get(url, headers={"Host": "localhost"})
    db.expire_all()
    assert db.get(Certificate, certificate.code).pdf == kept.data
    assert read_qr_codes(kept.data) == [f"https://learn.example.ac.uk/certificates/{certificate.code}"]
