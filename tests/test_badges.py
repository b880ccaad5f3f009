"""Open Badges and certificates: issued on submission, verifiable by anyone, revocable."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from openbadges_bakery import unbake
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import set_base_url, TODAY, complete_and_submit, csrf_token
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.enrolment.services import enrol

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def enrolment(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    run = make_run(name="Spring run")
    user = make_user("learner", email="Ada.Lovelace@Example.org", name="Ada Lovelace")
    found = enrol(db, run, user.id, TODAY)
    db.commit()
    return found


def submit(db: Session, enrolment, *slugs: str) -> None:  # type: ignore[no-untyped-def]
    for slug in slugs:
        complete_and_submit(db, enrolment, slug)
    db.commit()


def test_a_submitted_workbook_issues_its_badge(client, db: Session, enrolment) -> None:
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    response = client.get(f"/badges/assertions/{assertion.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json" and "Accept" in response.headers["Vary"]
    document = response.get_json(force=True)
    base = "http://localhost"
    assert document["@context"] == "https://w3id.org/openbadges/v2"
    assert document["type"] == "Assertion" and document["id"] == f"{base}/badges/assertions/{assertion.id}"
    assert document["badge"] == f"{base}/badges/classes/mentoring/the-mentors-role"
    assert document["verification"] == {"type": "hosted"}
    recipient = document["recipient"]
    expected = "sha256$" + hashlib.sha256(("ada.lovelace@example.org" + recipient["salt"]).encode()).hexdigest()
    assert recipient == {"type": "email", "hashed": True, "salt": recipient["salt"], "identity": expected}
    assert document["issuedOn"].endswith("Z")
    assert "Ada" not in response.get_data(as_text=True)


@pytest.mark.parametrize("accept,html", [(None, False), ("application/json", False), ("application/ld+json", False),
                                         ("*/*", False), (BROWSER, True), ("text/html", True)])
def test_content_negotiation(client, db: Session, enrolment, accept, html: bool) -> None:
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    headers = {"Accept": accept} if accept else {}
    for url in ("/badges/issuer", "/badges/classes/mentoring/the-mentors-role", f"/badges/assertions/{assertion.id}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert (response.mimetype == "text/html") is html, url
        assert "Accept" in response.headers["Vary"]


def test_issuer_and_badge_class(client, db: Session, enrolment) -> None:
    issuer = client.get("/badges/issuer").get_json(force=True)
    assert issuer == {"@context": "https://w3id.org/openbadges/v2", "type": "Issuer",
                      "id": "http://localhost/badges/issuer", "name": "shooc Mentoring Course Team",
                      "url": "https://shooc.example.org", "email": "mentoring@shooc.example.org"}
    badge = client.get("/badges/classes/mentoring/observation-and-feedback").get_json(force=True)
    assert badge["type"] == "BadgeClass" and badge["name"] == "Mentoring 3: Observation and feedback"
    assert badge["issuer"] == issuer["id"]
    assert badge["criteria"]["narrative"].startswith("Studied focused observation")
    assert [a["targetCode"] for a in badge["alignment"]] == ["S2", "S1"]
    assert badge["alignment"][0]["targetFramework"].startswith("National Standards")
    image = client.get(badge["image"].replace("http://localhost", ""))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    images = {client.get(f"/badges/classes/mentoring/{slug}").get_json(force=True)["image"] for slug in SLUGS}
    assert len(images) == 5  # a distinct image for each workbook
    assert client.get("/badges/classes/mentoring/nope").status_code == 404


def test_the_base_url_setting_builds_the_ids(app, client, db: Session, enrolment, monkeypatch) -> None:
    set_base_url(app, monkeypatch, "https://learn.example.ac.uk")
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    document = client.get(f"/badges/assertions/{assertion.id}").get_json(force=True)
    assert document["id"] == f"https://learn.example.ac.uk/badges/assertions/{assertion.id}"
    assert document["badge"].startswith("https://learn.example.ac.uk/badges/classes/")


def test_the_baked_image_carries_the_assertion(client, db: Session, enrolment) -> None:
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    response = client.get(f"/badges/assertions/{assertion.id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    baked = json.loads(unbake(io.BytesIO(response.data)))
    assert baked["id"] == f"http://localhost/badges/assertions/{assertion.id}"
    assert baked["recipient"]["identity"] == assertion.recipient_identity


def test_the_public_page_shows_the_name_and_evidence_only_when_the_learner_chooses(
        client, auth, db: Session, enrolment) -> None:
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    page = client.get(f"/badges/assertions/{assertion.id}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "Valid." in page and "Ada Lovelace" not in page and "name not shown" in page
    auth.login("ada.lovelace@example.org")
    mine = client.get("/badges").get_data(as_text=True)
    assert "Mentoring 1: The mentor&#39;s role" in mine and f"/badges/assertions/{assertion.id}.png" in mine
    client.post(f"/badges/assertions/{assertion.id}/settings", data={
        "csrf_token": csrf_token(client, "/badges"), "evidence": "my-mentoring-context"})
    client.post(f"/badges/enrolments/{enrolment.id}/name", data={
        "csrf_token": csrf_token(client, "/badges"), "show_name": "yes"})
    auth.logout()
    page = client.get(f"/badges/assertions/{assertion.id}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "Ada Lovelace" in page and "A reflection the holder chose to share" in page
    document = client.get(f"/badges/assertions/{assertion.id}").get_json(force=True)
    assert document["evidence"][0]["id"].endswith(f"/badges/assertions/{assertion.id}/evidence")
    assert "word word" in document["evidence"][0]["narrative"]
    assert "word word" in client.get(f"/badges/assertions/{assertion.id}/evidence").get_data(as_text=True)


def test_only_the_owner_changes_a_badge(client, auth, db: Session, enrolment, make_user) -> None:
    submit(db, enrolment, "the-mentors-role")
    assertion = db.scalar(select(BadgeAssertion))
    auth.login(make_user())
    response = client.post(f"/badges/assertions/{assertion.id}/settings", data={
        "csrf_token": csrf_token(client, "/badges"), "evidence": "my-mentoring-context"})
    assert response.status_code == 404
    response = client.post(f"/badges/enrolments/{enrolment.id}/name", data={
        "csrf_token": csrf_token(client, "/badges"), "show_name": "yes"})
    assert response.status_code == 404
    db.expire_all()
    assert db.get(BadgeAssertion, assertion.id).evidence_activity_id is None
    assert db.get(type(enrolment), enrolment.id).show_name is False


def test_five_workbooks_make_one_certificate(client, app, db: Session, enrolment, monkeypatch) -> None:
    set_base_url(app, monkeypatch, "http://localhost")  # a configured origin: the PDF is kept
    enrolment.show_name = True  # the holder chose to be named on the public pages
    submit(db, enrolment, *SLUGS[:4])
    assert db.scalar(select(func.count()).select_from(Certificate)) == 0
    submit(db, enrolment, SLUGS[4])
    certificate = db.scalar(select(Certificate))
    assert db.scalar(select(func.count()).select_from(BadgeAssertion)) == 5
    assert certificate.holder_name == "Ada Lovelace" and len(certificate.code) == 12
    page = client.get(f"/certificates/{certificate.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid certificate." in html and "Ada Lovelace" in html
    assert html.count('<span class="status-tag submitted">valid</span>') == 5
    grouped = "-".join(certificate.code[i:i + 4] for i in range(0, 12, 4))
    assert client.get(f"/certificates/{grouped.lower()}").status_code == 301  # as typed from the paper
    pdf = client.get(f"/certificates/{certificate.code}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"SourceSerifPro" in pdf.data  # the name's font is embedded
    db.refresh(certificate)
    assert certificate.pdf == pdf.data  # made once, kept
    assert client.get("/certificates/ZZZZZZZZZZZZ").status_code == 404


def read_qr_codes(pdf: bytes) -> list[str]:
    """What a phone's camera reads off the certificate's page (PDFium renders it at
    144 dpi, zxing-cpp reads every code on it)."""
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(pdf)[0]
    return [code.text for code in zxingcpp.read_barcodes(page.render(scale=2).to_pil())]


def test_the_certificates_qr_code_reads_as_its_verification_address(client, db: Session, enrolment) -> None:
    enrolment.show_name = True  # a public PDF
    submit(db, enrolment, *SLUGS)
    certificate = db.scalar(select(Certificate))
    pdf = client.get(f"/certificates/{certificate.code}.pdf").data
    assert read_qr_codes(pdf) == [f"http://localhost/certificates/{certificate.code}"]


@pytest.mark.parametrize("base", ["https://learn.example.ac.uk", "https://mentoring.courses.example-university.ac.uk"])
def test_qr_codes_with_the_one_fixed_mask_read_for_any_code(base: str) -> None:
    """QR_MASK is one mask for every certificate (certificate_pdf.py says why): codes
    for many different certificates, and longer addresses, all read back."""
    import datetime as dt
    import secrets

    from shooc.badges.certificate_pdf import CertificateContent, render
    from shooc.badges.services import new_certificate_code

    for _ in range(12):
        url = f"{base}/certificates/{new_certificate_code()}"
        pdf = render(CertificateContent(
            holder=secrets.token_hex(4), course_title="Mentoring", run_name="Run", completed_on=dt.date.today(),
            title="Certificate of completion", text="has completed every workbook", signatory="S", issuer_name="I",
            workbooks=((1, "One", "Badge one"),), code="ABCD-EFGH-JKLM", url=url))
        assert read_qr_codes(pdf) == [url]


def test_revoking_a_badge_answers_410_and_takes_the_certificate_down(client, auth, db: Session, enrolment,
                                                                    make_user) -> None:
    submit(db, enrolment, *SLUGS)
    assertion = db.scalar(select(BadgeAssertion).where(BadgeAssertion.workbook_slug == "observation-and-feedback"))
    certificate = db.scalar(select(Certificate))
    client.get(f"/certificates/{certificate.code}.pdf")
    url = f"/badges/assertions/{assertion.id}"
    auth.login(make_user("learner"))
    assert client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, "/badges"), "reason": "x"}).status_code == 403
    auth.logout()
    auth.login(make_user("leader"))
    assert "Revoke this badge" in client.get(url, headers={"Accept": BROWSER}).get_data(as_text=True)
    refused = client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, "/badges"), "reason": " "})
    assert refused.status_code == 302 and db.get(BadgeAssertion, assertion.id).revoked_at is None
    client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, "/badges"), "reason": "Plagiarised reflection"})
    auth.logout()
    response = client.get(url)
    assert response.status_code == 410
    assert response.get_json(force=True) == {"@context": "https://w3id.org/openbadges/v2",
                                             "id": f"http://localhost{url}", "revoked": True,
                                             "revocationReason": "Plagiarised reflection"}
    page = client.get(url, headers={"Accept": BROWSER})
    assert page.status_code == 410 and "This badge has been revoked" in page.get_data(as_text=True)
    assert client.get(f"{url}.png").status_code == 410
    cert_page = client.get(f"/certificates/{certificate.code}")
    assert cert_page.status_code == 410
    assert "A badge it depends on was revoked: Plagiarised reflection" in cert_page.get_data(as_text=True)
    db.expire_all()
    assert db.get(Certificate, certificate.code).pdf is None  # remade, marked revoked

    # the learner sees it: the dashboard (no "all submitted, congratulations"), the
    # workbook's page and their notifications say what was revoked and why
    auth.login(enrolment.user)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "badge revoked" in dashboard and "Plagiarised reflection" in dashboard
    assert "Congratulations" not in dashboard
    workbook = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    assert "The course team revoked this workbook’s badge" in workbook and "Plagiarised reflection" in workbook
    assert "The course team revoked" not in client.get("/courses/mentoring/workbooks/the-mentors-role").get_data(
        as_text=True)
    assert "was revoked" in client.get("/notifications").get_data(as_text=True)


def test_a_leader_revokes_a_certificate_alone_with_a_reason(client, auth, db: Session, enrolment,
                                                           make_user) -> None:
    from shooc.audit import AuditEntry

    submit(db, enrolment, *SLUGS)
    certificate = db.scalar(select(Certificate))
    url = f"/certificates/{certificate.code}"
    assert "Revoke this certificate" not in client.get(url).get_data(as_text=True)  # the public does not see it
    auth.login(make_user("learner"))
    assert client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, "/badges"), "reason": "x"}).status_code == 403
    auth.logout()
    auth.login(make_user("leader", name="Lee Leader"))
    assert client.post(f"{url}/revoke", data={"reason": "no token"}).status_code == 400
    refused = client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, url), "reason": "  "})
    assert refused.status_code == 302 and db.get(Certificate, certificate.code).revoked_at is None
    client.post(f"{url}/revoke", data={"csrf_token": csrf_token(client, url), "reason": "Completed on another's account"})
    db.expire_all()
    page = client.get(url)
    assert page.status_code == 410 and "Completed on another&#39;s account" in page.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(BadgeAssertion).where(BadgeAssertion.revoked_at.is_(None))) == 5
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.revoke"))
    assert entry.reason == "Completed on another's account" and entry.actor.startswith("Lee Leader")
    participant = client.get(f"/lead/runs/{enrolment.run.slug}/participants/{enrolment.id}").get_data(as_text=True)
    assert certificate.code in participant and participant.count("Its badge") == 5


def test_cli_lists_and_revokes(runner, db: Session, enrolment) -> None:
    submit(db, enrolment, *SLUGS)
    run_slug = enrolment.run.slug
    listed = runner.invoke(args=["badges", "list", run_slug, "--format", "json"])
    rows = json.loads(listed.output)
    assert len(rows) == 5 and rows[0]["email"] == "ada.lovelace@example.org"
    assert set(rows[0]) == {"assertion", "email", "workbook", "issued_on", "revoked"}
    assert {r["workbook"] for r in rows} == set(SLUGS) and not any(r["revoked"] for r in rows)
    as_csv = list(csv.DictReader(io.StringIO(runner.invoke(args=["badges", "list", run_slug]).output)))
    assert len(as_csv) == 5 and as_csv[0]["assertion"].startswith("http://127.0.0.1:5000/badges/assertions/")
    certificates = json.loads(runner.invoke(args=["certificates", "list", run_slug, "--format", "json"]).output)
    assert len(certificates) == 1 and set(certificates[0]) == {"code", "url", "email", "issued_on", "revoked"}
    revoked = runner.invoke(args=["badges", "revoke", rows[2]["assertion"], "--reason", "Issued in error"])
    assert revoked.exit_code == 0 and "Revoked certificate" in revoked.output
    assert json.loads(runner.invoke(args=["certificates", "list", run_slug, "--format", "json"]).output)[0]["revoked"]
    missing = runner.invoke(args=["badges", "revoke", "0" * 32, "--reason", "x"])
    assert missing.exit_code == 1
    no_reason = runner.invoke(args=["badges", "revoke", rows[0]["assertion"], "--reason", ""])
    assert no_reason.exit_code == 1 and "reason" in no_reason.output
    assert runner.invoke(args=["badges", "list", "no-such-run"]).exit_code == 1


def test_deleting_the_account_erases_the_name_but_badges_still_verify(client, auth, db: Session, enrolment) -> None:
    submit(db, enrolment, *SLUGS)
    certificate = db.scalar(select(Certificate))
    assertion = db.scalar(select(BadgeAssertion))
    auth.login("ada.lovelace@example.org")
    client.post("/account/delete", data={"csrf_token": csrf_token(client, "/account/delete"),
                                         "password": "correct horse battery staple", "confirm": "y"})
    page = client.get(f"/certificates/{certificate.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ada" not in html and "erased at the holder" in html  # 200: not revoked
    # the badge still proves itself to whoever holds the address it was issued to
    document = client.get(f"/badges/assertions/{assertion.id}").get_json(force=True)
    assert document["type"] == "Assertion" and document["id"] == f"http://localhost/badges/assertions/{assertion.id}"
    assert document["verification"] == {"type": "hosted"} and "revoked" not in document
    salt = document["recipient"]["salt"]
    assert document["recipient"]["identity"] == (
        "sha256$" + hashlib.sha256(("ada.lovelace@example.org" + salt).encode()).hexdigest())
    badge_class = client.get(document["badge"].replace("http://localhost", "")).get_json(force=True)
    assert badge_class["type"] == "BadgeClass" and badge_class["id"] == document["badge"]


def test_a_removed_workbook_keeps_its_badges_verifiable(client, db: Session, enrolment, publish, course_copy) -> None:
    publish(course_copy)
    submit(db, enrolment, "mentoring-communities")
    (course_copy / "05-mentoring-communities.md").unlink()
    publish(course_copy)
    assertion = db.scalar(select(BadgeAssertion))
    url = f"http://localhost/badges/assertions/{assertion.id}"
    document = client.get(url).get_json(force=True)
    assert document["type"] == "Assertion" and document["id"] == url and "revoked" not in document
    assert document["badge"] == "http://localhost/badges/classes/mentoring/mentoring-communities"
    assert document["recipient"]["identity"] == assertion.recipient_identity
    badge_class = client.get(document["badge"]).get_json(force=True)
    assert badge_class["type"] == "BadgeClass" and badge_class["id"] == document["badge"]
    assert badge_class["name"].startswith("Mentoring 5")
    baked = client.get(f"{url}.png")
    assert baked.mimetype == "image/png"
    assert json.loads(unbake(io.BytesIO(baked.data))) == document  # the image carries the same assertion


@pytest.mark.slow
def test_badges_are_issued_by_an_explicit_connection_not_by_an_import(tmp_path: Path) -> None:
    """A script that submits through the services, without create_app, connects
    badge issuing itself and gets its badge; one that does not is refused rather than
    recording a submission that earns nothing (issue 15)."""
    import subprocess
    import sys
    import textwrap

    from shooc.config import PROJECT_ROOT

    script = textwrap.dedent(f"""
        import datetime as dt, sys
        sys.path.insert(0, {str(PROJECT_ROOT / 'tests')!r})
        from sqlalchemy import func, select
        from conftest import MENTORING, complete_and_submit
        from shooc.auth.models import Role
        from shooc.auth.services import create_user
        from shooc.badges.models import BadgeAssertion
        from shooc.db import Database
        from shooc.enrolment.models import Submission
        from shooc.enrolment.runs import create_run
        from shooc.enrolment.services import enrol
        from shooc.migrate import upgrade
        from shooc.workbooks.loader import load_course
        from shooc.workbooks.publish import publish_course

        database = Database("sqlite:///{tmp_path}/script.sqlite3")
        upgrade(database)
        session = database.session()
        course = publish_course(session, load_course(MENTORING).course).course
        today = dt.date.today()
        run = create_run(session, course, today - dt.timedelta(days=1), today + dt.timedelta(days=90))
        enrolment = enrol(session, run, create_user(session, "s@example.org", "S", Role.learner, "a long pass phrase").id)
        session.commit()
        try:
            complete_and_submit(session, enrolment, "the-mentors-role")
        except RuntimeError as error:
            session.rollback()
            print("refused:", error)
        if sys.argv[1] == "connect":
            from shooc.badges.services import connect_to_submissions
            connect_to_submissions()
            connect_to_submissions()
            complete_and_submit(session, enrolment, "the-mentors-role")
            session.commit()
        print("submissions", session.scalar(select(func.count()).select_from(Submission)),
              "badges", session.scalar(select(func.count()).select_from(BadgeAssertion)))
    """)
    results = {}
    for how in ("no-connect", "connect"):
        (tmp_path / "script.sqlite3").unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-c", script, how], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        results[how] = done.stdout
    assert "refused: nothing issues badges" in results["no-connect"]
    assert results["no-connect"].strip().endswith("submissions 0 badges 0")
    assert results["connect"].strip().endswith("submissions 1 badges 1")
