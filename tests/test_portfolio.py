"""The learner's portfolio PDF (/dashboard/enrolments/<id>/portfolio.pdf): their own
answers of every kind, the course team's feedback, badges and certificate, read back
with PDFium's text extraction (pypdfium2, as the certificate's tests do)."""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import pypdfium2
import pytest
from conftest import TODAY, complete_and_submit, complete_answer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.badges.models import BadgeAssertion, Certificate
from shooc.enrolment import answers
from shooc.enrolment.services import enrol
from shooc.lead import review
from shooc.workbooks.models import WorkbookVersion

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]


def keep(pdf: bytes, name: str) -> None:
    """With SHOOC_SCREENSHOTS=1, the PDF is kept under tests/output/ to be looked at."""
    if os.environ.get("SHOOC_SCREENSHOTS"):
        folder = Path(__file__).parent / "output" / "pdf"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(pdf)


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def page_streams(pdf: bytes) -> bytes:
    """The PDF's content streams, uncompressed (ReportLab deflates them)."""
    return b"".join(zlib.decompress(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\n?endstream", pdf, re.S)
                    if m[:1] == b"x")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def learner(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    run = make_run(name="Spring run 2026")
    user = make_user("learner", email="olena@example.org", name="Олена Коваленко")
    enrolment = enrol(db, run, user.id, TODAY)
    db.commit()
    return user, enrolment


def _workbook(db: Session, enrolment, slug: str) -> WorkbookVersion:  # type: ignore[no-untyped-def]
    return db.scalar(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == enrolment.run.course.current_version_id, WorkbookVersion.slug == slug))


def answer_everything(db: Session, user, enrolment) -> None:  # type: ignore[no-untyped-def]
    """Every activity of every workbook answered (optional ones too, a post for each
    peer discussion), then each workbook submitted."""
    from shooc.community import services as community

    member = community.member(db, user, enrolment.run)
    for slug in SLUGS:
        workbook = _workbook(db, enrolment, slug)
        state = answers.workbook_state(db, enrolment, workbook)
        for activity in workbook.activities:
            if activity.kind == "peer-discussion":
                community.write_post(db, member, slug, f"PEERPOST for {slug}: what I tried.",
                                     activity_id=activity.activity_id)
            elif activity.kind != "quiz":
                answers.save_drafts(db, enrolment, state, {activity.activity_id: complete_answer(activity, "MYWORDS")})
        complete_and_submit(db, enrolment, slug, marker="MYWORDS")
    db.commit()


def test_the_portfolio_prints_every_kind_of_answer_feedback_badges_and_certificate(
        client, auth, db: Session, learner, make_user) -> None:
    user, enrolment = learner
    answer_everything(db, user, enrolment)
    leader = make_user("leader", email="lead@example.org", name="Lee Leader")
    review.give_feedback(db, leader, enrolment, SLUGS[0], "A thoughtful start <b>& well argued</b>.")
    db.commit()
    auth.login(user)
    response = client.get(f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    keep(response.data, "portfolio.pdf")
    text = flat(pdf_text(response.data))
    assert "Олена Коваленко" in text and "Spring run 2026" in text
    assert "MYWORDS word word" in text  # reflections and discussion notes
    assert "Quiz" in text and "right on the last attempt" in text and "Passed" in text
    assert "Self-assessment" in text and "4 of 5: Secure" in text and "Scale: 1 Not yet" in text
    assert "SMART goal" in text and "Time-bound" in text and "1 January 2030" in text
    assert "Watched or read the transcript" in text
    assert "Discussion with the run's participants" in text and "PEERPOST for smart-goal-setting" in text
    assert "A thoughtful start <b>& well argued</b>." in text  # escaped: printed as written
    assert "Feedback from the course team (Lee Leader)" in text
    for assertion in db.scalars(select(BadgeAssertion)):
        assert f"http://localhost/badges/assertions/{assertion.id}" in text.replace(" ", "")
    certificate = db.scalar(select(Certificate))
    code = "-".join(certificate.code[i:i + 4] for i in range(0, 12, 4))
    assert f"code {code}" in text
    assert "Mentoring 1:" in text  # a badge's name
    for i in range(1, 6):
        assert f"Workbook {i}:" in text


def test_a_portfolio_of_work_in_progress(client, auth, db: Session, learner) -> None:
    user, enrolment = learner
    workbook = _workbook(db, enrolment, SLUGS[1])
    state = answers.workbook_state(db, enrolment, workbook)
    reflection = next(a for a in workbook.activities if a.kind == "reflection")
    answers.save_drafts(db, enrolment, state, {reflection.activity_id: {"text": "First para.\n\nSecond para."}})
    db.commit()
    auth.login(user)
    text = flat(pdf_text(client.get(f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf").data))
    assert "First para." in text and "Second para." in text and "In progress" in text and "Not started" in text
    assert "No certificate yet" in text and "No badges yet" in text


def test_the_portfolio_carries_the_institutions_name_and_brand_colour(
        app, client, auth, db: Session, learner, monkeypatch: pytest.MonkeyPatch) -> None:
    user, enrolment = learner
    monkeypatch.setitem(app.config, "SHOOC_INSTITUTION_NAME", "University of Ελλάδα")
    monkeypatch.setitem(app.config, "SHOOC_BRAND_COLOUR", "#7a1f5c")
    auth.login(user)
    pdf = client.get(f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf").data
    assert "University of Ελλάδα" in pdf_text(pdf)
    assert b".478431 .121569 .360784 rg" in page_streams(pdf)  # the band's colour, #7a1f5c


def test_only_the_learner_gets_their_portfolio(client, auth, db: Session, learner, make_user) -> None:
    user, enrolment = learner
    url = f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf"
    assert client.get(url).status_code == 302  # to log in
    other = make_user("learner", email="other@example.org", name="Other Person")
    leader = make_user("leader", email="boss@example.org", name="Boss")
    db.commit()
    for person in (other, leader):
        auth.login(person)
        assert client.get(url).status_code == 404
        auth.logout()
    assert client.get("/dashboard/enrolments/999999/portfolio.pdf").status_code == 302


def test_the_dashboard_and_badges_page_link_to_the_portfolio(client, auth, db: Session, learner) -> None:
    user, enrolment = learner
    complete_and_submit(db, enrolment, SLUGS[0])
    db.commit()
    auth.login(user)
    url = f"/dashboard/enrolments/{enrolment.id}/portfolio.pdf"
    assert f'href="{url}"' in client.get("/dashboard").get_data(as_text=True)
    assert f'href="{url}"' in client.get("/badges").get_data(as_text=True)
