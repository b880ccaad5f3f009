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

import html as html_module
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import set_base_url, TODAY, complete_and_submit, csrf_token
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
    from shooc.unit_of_work import get_db

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
    from shooc.unit_of_work import get_db

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
    enrolment.show_name = True  # so that anyone may download the PDF
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
    set_base_url(app, monkeypatch, "https://learn.example.ac.uk")
    kept = attacker.get(url, headers={"Host": "localhost"})
    db.expire_all()
    assert db.get(Certificate, certificate.code).pdf == kept.data
    assert read_qr_codes(kept.data) == [f"https://learn.example.ac.uk/certificates/{certificate.code}"]


# 1. A cross-site form and a learner's saved answers ----------------------------------

WB1 = "/courses/mentoring/workbooks/the-mentors-role"
CONTEXT, WARM_UP = "a.my-mentoring-context.text", "a.roles-warm-up.text"
SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture
def learner(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    user = make_user(name="Vera Victim")
    enrol(db, make_run(), user.id, TODAY)
    db.commit()
    return user


def log_in(client: FlaskClient, user, remember: bool = False) -> None:  # type: ignore[no-untyped-def]
    from conftest import PASSWORD

    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                "remember": "y" if remember else "", "csrf_token": csrf_token(client)})
    assert response.status_code == 302


def save(client: FlaskClient, fields: dict[str, str]) -> None:
    response = client.post(WB1, data={**fields, "action": "save", "csrf_token": csrf_token(client, WB1)})
    assert response.status_code == 302


def saved_answers(client: FlaskClient) -> tuple[str, str]:
    import re

    html = client.get(WB1).get_data(as_text=True)
    found = {name: re.search(rf'name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html) for name in (CONTEXT, WARM_UP)}
    return tuple(html_module.unescape(m.group(1)) if m else None for m in found.values())  # type: ignore[return-value]


def drawn_form(client: FlaskClient) -> tuple[str, str]:
    """The workbook form's CSRF token and ``loaded_at``, as the page drew them."""
    import re

    html = client.get(WB1).get_data(as_text=True)
    return csrf_token(client, WB1), re.search(r'name="loaded_at" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def pending_count(db: Session) -> int:
    from sqlalchemy import func

    from shooc.enrolment.models import PendingDraft

    db.expire_all()
    return db.scalar(select(func.count()).select_from(PendingDraft)) or 0


def test_a_cross_site_form_never_changes_or_blanks_saved_answers(app: Flask, db: Session, learner) -> None:
    """The attack: a hostile page auto-submits the workbook form; the browser sends no
    cookie (SameSite=Lax) but stores the one the answer sets; with "keep me logged in"
    the victim's next visit to the workbook saved the attacker's blanks."""
    victim = app.test_client()
    log_in(victim, learner, remember=True)
    save(victim, {CONTEXT: "My school's context", WARM_UP: "My warm-up"})

    hostile = app.test_client()  # the victim's browser, as the hostile page's post leaves it: no cookie sent
    attack = hostile.post(WB1, headers=CROSS_SITE, data={CONTEXT: "", WARM_UP: "", "action": "save"})
    assert attack.status_code == 403
    assert "Set-Cookie" not in attack.headers and pending_count(db) == 0
    planted = hostile.get_cookie("session")
    if planted is not None:  # what the browser would keep from that answer replaces its session cookie
        victim.set_cookie("session", planted.value)
    assert saved_answers(victim) == ("My school's context", "My warm-up")
    # a post with no Origin and no Sec-Fetch-Site (not from one of our pages in a browser) is not kept either
    assert app.test_client().post(WB1, data={CONTEXT: "", "action": "save"}).status_code == 403
    assert pending_count(db) == 0


def test_an_honest_expired_session_still_loses_nothing(app: Flask, db: Session, learner) -> None:
    browser = app.test_client()
    log_in(browser, learner)
    save(browser, {CONTEXT: "First thoughts"})
    token, loaded_at = drawn_form(browser)
    browser.delete_cookie("session")  # it ended
    kept = browser.post(WB1, headers=SAME_ORIGIN, data={
        "csrf_token": token, "loaded_at": loaded_at, CONTEXT: "First thoughts, then more", WARM_UP: "New",
        "action": "save", "unrelated": "x" * 1000})
    assert kept.status_code == 302 and kept.headers["Location"].startswith("/auth/login")
    log_in(browser, learner)
    assert browser.get(WB1).status_code == 302  # restored at once: it replaces only what was on that page
    assert saved_answers(browser) == ("First thoughts, then more", "New")
    assert pending_count(db) == 0


def test_a_rescued_draft_never_silently_replaces_newer_text(app: Flask, db: Session, learner) -> None:
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, learner)
    save(laptop, {CONTEXT: "Old text"})
    token, loaded_at = drawn_form(laptop)
    laptop.delete_cookie("session")  # the laptop's session ends while its page stays open
    log_in(phone, learner)
    save(phone, {CONTEXT: "Newer text from the phone"})  # saved after the laptop's page was drawn
    laptop.post(WB1, headers=SAME_ORIGIN, data={"csrf_token": token, "loaded_at": loaded_at,
                                                  CONTEXT: "Laptop text", WARM_UP: "Laptop warm-up", "action": "save"})
    log_in(laptop, learner)
    review = laptop.get(WB1)
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "choose what to keep" in html
    assert "Newer text from the phone" in html and "Laptop text" in html
    assert saved_answers(phone) == ("Newer text from the phone", "")  # nothing replaced yet
    choose = laptop.post(WB1, data={"action": "restore", "keep.my-mentoring-context": "typed",
                                    "csrf_token": csrf_token(laptop, "/dashboard")})
    assert choose.status_code == 302
    assert saved_answers(phone) == ("Laptop text", "Laptop warm-up")
    assert pending_count(db) == 0


def test_a_rescued_draft_can_be_discarded(app: Flask, db: Session, learner) -> None:
    browser = app.test_client()
    log_in(browser, learner)
    save(browser, {CONTEXT: "Saved"})
    token = csrf_token(browser, WB1)
    browser.delete_cookie("session")
    browser.post(WB1, headers=SAME_ORIGIN, data={"csrf_token": token, CONTEXT: "Typed", "action": "save"})
    log_in(browser, learner)
    assert "choose what to keep" in browser.get(WB1).get_data(as_text=True)  # no loaded_at: a conflict
    browser.post(WB1, data={"action": "restore-discard", "csrf_token": csrf_token(browser, "/dashboard")})
    assert saved_answers(browser) == ("Saved", "") and pending_count(db) == 0


# 2. Pending drafts cannot fill the database -------------------------------------------

def anonymous(app: Flask, address: str = "127.0.0.2") -> FlaskClient:
    client = app.test_client()  # no cookies, from another loopback address
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_pending_drafts_are_kept_only_for_real_workbooks_and_bounded(app: Flask, db: Session, learner) -> None:
    stranger = anonymous(app)
    for path in ("/courses/no-such-course/workbooks/the-mentors-role", "/courses/mentoring/workbooks/no-such-workbook"):
        assert stranger.post(path, headers=SAME_ORIGIN, data={CONTEXT: "x" * 100}).status_code == 404
    big = stranger.post(WB1, headers=SAME_ORIGIN, data={CONTEXT: "x" * 6_000_000, "action": "save"})
    assert big.status_code == 413 and "Nothing was kept" in big.get_data(as_text=True)
    assert stranger.post(WB1, headers=SAME_ORIGIN, data={"junk": "x" * 100_000}).status_code == 302
    assert pending_count(db) == 0  # a post with no field of the workbook keeps nothing

    from shooc.enrolment import pending

    for _ in range(pending.PENDING_PER_ADDRESS_PER_HOUR):
        assert anonymous(app).post(WB1, headers=SAME_ORIGIN, data={CONTEXT: "y" * 1000}).status_code == 302
    refused = anonymous(app).post(WB1, headers=SAME_ORIGIN, data={CONTEXT: "y" * 1000})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert pending_count(db) == pending.PENDING_PER_ADDRESS_PER_HOUR
    # another address is counted apart
    assert anonymous(app, "127.0.0.3").post(WB1, headers=SAME_ORIGIN, data={CONTEXT: "z"}).status_code == 302


def test_the_characters_kept_per_address_are_bounded(app: Flask, db: Session, learner, monkeypatch) -> None:
    from shooc.enrolment import pending

    monkeypatch.setattr(pending, "PENDING_PER_ADDRESS_PER_HOUR", 1000)
    text = "w" * (pending.PENDING_MAX_CHARS - 100)
    fits = pending.PENDING_MAX_CHARS_PER_ADDRESS // pending.PENDING_MAX_CHARS
    for _ in range(fits):
        assert anonymous(app).post(WB1, headers=SAME_ORIGIN, data={CONTEXT: text}).status_code == 302
    assert anonymous(app).post(WB1, headers=SAME_ORIGIN, data={CONTEXT: text}).status_code == 429
    assert pending_count(db) == fits


def test_expired_pending_drafts_are_purged(app: Flask, db: Session, learner) -> None:
    import datetime as dt

    from shooc.db import utcnow
    from shooc.enrolment import pending
    from shooc.enrolment.models import PendingDraft

    db.add(PendingDraft(token="old", path=WB1, form={CONTEXT: ["x"]}, address_key="k", size=1,
                        created_at=utcnow() - dt.timedelta(hours=pending.PENDING_DRAFT_HOURS + 1)))
    db.commit()
    assert anonymous(app).post(WB1, headers=SAME_ORIGIN, data={CONTEXT: "new"}).status_code == 302
    db.expire_all()
    assert db.get(PendingDraft, "old") is None and pending_count(db) == 1


# 13c. One choice names the holder on every public page of their credentials ---------

BROWSER_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


def test_a_hidden_name_stays_hidden_on_the_certificate_too(app: Flask, db: Session, make_user, make_run) -> None:
    """The gap: a learner who hid their name on each badge page found the certificate
    page naming them (and its PDF printing it) for anyone with the link."""
    user = make_user(name="Hedy Hidden")
    enrolment = enrol(db, make_run(), user.id, TODAY)
    db.commit()
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    certificate = db.scalar(select(Certificate))
    from shooc.badges.models import BadgeAssertion

    badge = db.scalar(select(BadgeAssertion))
    stranger = app.test_client()
    pages = [f"/certificates/{certificate.code}", f"/badges/assertions/{badge.id}"]
    for url in pages:
        assert "Hedy Hidden" not in stranger.get(url, headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert stranger.get(f"/certificates/{certificate.code}.pdf").status_code == 403
    # a verifier holding the paper can still check the name without the page showing it
    check = stranger.get(f"/certificates/{certificate.code}?name=hedy%20%20HIDDEN").get_data(as_text=True)
    assert "That is the name on this certificate." in check
    wrong = stranger.get(f"/certificates/{certificate.code}?name=Someone+Else").get_data(as_text=True)
    assert "That is not the name on this certificate." in wrong

    holder = app.test_client()
    log_in(holder, user)
    assert holder.get(f"/certificates/{certificate.code}.pdf").data.startswith(b"%PDF")  # always theirs
    holder.post(f"/badges/enrolments/{enrolment.id}/name",
                data={"show_name": "yes", "csrf_token": csrf_token(holder, "/badges")})
    for url in pages:  # one choice: every public page names them now
        assert "Hedy Hidden" in stranger.get(url, headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert stranger.get(f"/certificates/{certificate.code}.pdf").data.startswith(b"%PDF")


# 7. Script URLs in a version published before addresses were checked -----------------

def test_a_script_address_already_published_never_reaches_a_badge(client: FlaskClient, db: Session, publish) -> None:
    """The loader now refuses such an address (tests/test_loader.py); a version
    published before kept it in its stored meta: the badge documents leave it out."""
    from shooc.workbooks.models import CourseVersion, WorkbookVersion

    publish()
    version = db.scalar(select(CourseVersion))
    meta = dict(version.meta)
    meta["issuer"] = {**meta["issuer"], "url": "javascript:alert(document.cookie)"}
    meta["standards"] = {**(meta.get("standards") or {}), "url": "JavaScript:alert(1)"}
    version.meta = meta
    db.commit()
    slug = db.scalar(select(WorkbookVersion.slug))
    for url in ("/badges/issuer", f"/badges/classes/mentoring/{slug}"):
        for accept in ("application/ld+json", BROWSER_ACCEPT):
            body_text = client.get(url, headers={"Accept": accept}).get_data(as_text=True)
            assert "javascript:" not in body_text.lower(), (url, accept)
