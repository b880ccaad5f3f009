"""What the certificate says beyond the holder's name (issue 18): the study hours
for CPD records (``hours`` in course.md), the issuing institution
(SHOOC_INSTITUTION_NAME, else the course's issuer), the signatory's name and role
(``certificate.signatory``), the run's name; and each badge's name only where it
adds to its workbook's title. Read back with PDFium (pypdfium2)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit
from shooc.badges.certificate_pdf import badge_suffix, hours_text
from shooc.badges.models import Certificate
from shooc.enrolment.services import enrol
from shooc.workbooks.loader import load_course

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range())


@pytest.fixture
def certificate(db: Session, make_user, make_run) -> Certificate:  # type: ignore[no-untyped-def]
    run = make_run(name="Spring 2027 national run")
    user = make_user("learner", email="ada@example.org", name="Ada Lovelace")
    enrolment = enrol(db, run, user.id, TODAY)
    enrolment.show_name = True
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    return db.scalar(select(Certificate))


def test_the_pdf_prints_hours_institution_signatory_and_run(app, client, certificate,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SHOOC_INSTITUTION_NAME", "University of Northshire")
    pdf = client.get(f"/certificates/{certificate.code}.pdf").data
    if os.environ.get("SHOOC_SCREENSHOTS"):
        folder = Path(__file__).parent / "output" / "pdf"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "certificate.pdf").write_bytes(pdf)
    text = text_of(pdf)
    assert "UNIVERSITY OF NORTHSHIRE" in text  # the heading: the issuing institution
    assert "Spring 2027 national run · completed" in text and "15 hours of study" in text
    assert "Dr Jane Okafor" in text and "Course Director, Mentoring trainee and early-career teachers" in text
    assert "University of Northshire" in text  # under the signatory too
    # each workbook's title once: its badge's name ("Mentoring 3: Observation and feedback") repeats it
    assert text.count("Observation and feedback") == 1
    assert "Mentoring 3:" not in text


def test_without_an_institution_the_courses_issuer_signs(app, client, certificate,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for unset in ("", "shooc"):  # unset, or left at its default
        monkeypatch.setitem(app.config, "SHOOC_INSTITUTION_NAME", unset)
        text = text_of(client.get(f"/certificates/{certificate.code}.pdf").data)
        assert "SHOOC MENTORING COURSE TEAM" in text  # the heading
        assert "Okafor Course Director, Mentoring trainee and early-career teachers shooc Mentoring Course Team" in text


def test_the_certificate_page_shows_the_same_facts(app, client, certificate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SHOOC_INSTITUTION_NAME", "University of Northshire")
    html = client.get(f"/certificates/{certificate.code}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<dt>Study time</dt><dd>15 hours of study (for CPD records)</dd>" in html
    assert "<dt>Issued by</dt><dd>University of Northshire</dd>" in html
    assert "Dr Jane Okafor, Course Director, Mentoring trainee and early-career teachers" in html
    assert "Spring 2027 national run" in html


def test_helpers() -> None:
    assert badge_suffix("Observation and feedback", "Mentoring 3: Observation and feedback") == ""
    assert badge_suffix("Observation", "Keen observer") == "Keen observer"
    assert hours_text(15) == "15 hours of study" and hours_text(7.5) == "7.5 hours of study"
    assert hours_text(1) == "1 hour of study" and hours_text(None) == ""


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "course.md"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("value", ["0", "-3", "lots", "true", "5000"])
def test_hours_must_be_a_number_of_hours(course_copy: Path, value: str) -> None:
    edit(course_copy, "hours: 15", f"hours: {value}")
    problems = [str(p) for p in load_course(course_copy).problems]
    assert len(problems) == 1 and "'hours' must be the course's study hours" in problems[0], problems
    assert problems[0].startswith(f"{course_copy}/course.md:")


def test_the_signatory_has_a_name_and_a_role(course_copy: Path) -> None:
    edit(course_copy, "    name: Dr Jane Okafor\n", "    title: Dr Jane Okafor\n")
    problems = [str(p) for p in load_course(course_copy).problems]
    assert any("unknown key 'title' in 'certificate' 'signatory' (allowed: name, role)" in p for p in problems)
    assert any("missing required key 'name' in 'certificate' 'signatory'" in p for p in problems)


def test_a_signatory_as_one_text_is_still_a_name(course_copy: Path) -> None:
    edit(course_copy, "  signatory:\n    name: Dr Jane Okafor\n    role: Course Director, Mentoring trainee and "
                      "early-career teachers\n", "  signatory: The Mentoring Course Team\n")
    result = load_course(course_copy)
    assert result.problems == [] and result.course is not None
    from shooc.badges.services import signatory
    assert signatory(result.course.meta) == ("The Mentoring Course Team", "")
