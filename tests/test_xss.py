"""XSS payloads (tests/xss.py) in every text a learner or a leader writes, and every
page that shows it checked, by parsing, for anything that could run: learners' answers
(their workbook, the leader's view of them, the badge's evidence page and JSON), names
and places of work (dashboards, participants, badge and certificate pages, the PDF),
leaders' feedback, announcements and recordings (Markdown), workbook content
(Markdown, sanitised by nh3), run names (the evaluators' SVG charts), survey comments.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import markdown
import pypdfium2
import pytest
from sqlalchemy.orm import Session

from conftest import Auth

from xss import PAYLOADS, SHORT_PAYLOAD, script_problems, set_up_poisoned

BROWSER = {"Accept": "text/html"}


def test_the_check_finds_every_payload_when_nothing_neutralises_it() -> None:
    """The check itself: raw payloads, and their Markdown rendered unsanitised, are caught."""
    raw = [p for p in PAYLOADS if script_problems(p)]
    rendered = [p for p in PAYLOADS if p not in raw and script_problems(markdown.markdown(p))]
    # these four run only in a context of their own (a single-quoted attribute, a
    # Markdown that autolinks any scheme, a template engine), or not at all in Markdown
    contextual = {"' onmouseover='window.xss=1' x='", "<javascript:window.xss=1>",
                  "[tab inside](java\tscript:window.xss=1)", "{{ 7*7 }}{% raw %}"}
    assert set(PAYLOADS) - set(raw) - set(rendered) == contextual
    assert len(PAYLOADS) >= 25


@pytest.fixture
def poisoned(app, db: Session, course_copy: Path) -> dict:  # type: ignore[no-untyped-def]
    return set_up_poisoned(db, course_copy)


def _pages(client, who: str, urls: list[str]) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url, headers=BROWSER)
        assert response.status_code == 200, (url, response.status_code)
        pages[f"{who} {url}"] = response.get_data(as_text=True)
    return pages


def test_no_payload_runs_on_any_page_that_shows_it(client, auth: Auth, make_user, poisoned) -> None:
    run, enrolment, assertion, certificate = (poisoned[k] for k in ("run", "enrolment", "assertion", "certificate"))
    workbooks = [w.slug for w in run.course.current_version.workbooks]
    public = _pages(client, "anonymous", ["/", "/courses/mentoring", f"/badges/assertions/{assertion.id}",
                             f"/badges/assertions/{assertion.id}/evidence", f"/certificates/{certificate.code}",
                             f"/badges/classes/mentoring/{workbooks[0]}"])
    auth.login(poisoned["learner"])
    learner = _pages(client, "learner", ["/dashboard", "/badges", "/account/",
                              *[f"/courses/mentoring/workbooks/{slug}" for slug in workbooks]])
    auth.logout()
    auth.login(poisoned["leader"])
    base = f"/lead/runs/{run.slug}"
    leader = _pages(client, "leader", ["/lead/", f"{base}/participants", f"{base}/participants/{enrolment.id}",
                             f"{base}/announcements", "/lead/courses/mentoring/recordings", "/lead/audit",
                             f"/courses/mentoring/workbooks/{workbooks[0]}", f"{base}/edit"])
    auth.logout()
    auth.login(make_user("evaluator"))
    evaluator = _pages(client, "evaluator", ["/evaluate/", f"/evaluate/runs/{run.slug}",
                                f"/evaluate/compare?run={run.slug}&run={poisoned['other'].slug}",
                                f"/evaluate/runs/{run.slug}/evaluation"])
    pages = {**public, **learner, **leader, **evaluator}
    problems = {url: script_problems(page) for url, page in pages.items()}
    assert {url: p for url, p in problems.items() if p} == {}
    # and the payloads were there to be neutralised: shown as text, or as harmless markup
    for url in [f"anonymous /badges/assertions/{assertion.id}/evidence",
                f"learner /courses/mentoring/workbooks/{workbooks[0]}",  # answers, feedback
                f"leader {base}/participants/{enrolment.id}", f"evaluator /evaluate/runs/{run.slug}/evaluation"]:
        assert "&lt;script&gt;window.xss=1&lt;/script&gt;" in pages[url], url
    assert "window.xss" in pages["learner /dashboard"] and "announcement-body" in pages["learner /dashboard"]
    compare = f"evaluator /evaluate/compare?run={run.slug}&run={poisoned['other'].slug}"
    assert "&lt;svg onload=window.xss=1&gt;" in pages[compare]
    print(f"{len(PAYLOADS)} payloads, {len(pages)} pages checked")


def test_the_badge_json_carries_the_evidence_as_data_not_markup(client, poisoned) -> None:
    assertion = poisoned["assertion"]
    response = client.get(f"/badges/assertions/{assertion.id}", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # never sniffed and rendered as HTML
    document = json.loads(response.data)
    evidence = document["evidence"]
    narrative = (evidence[0] if isinstance(evidence, list) else evidence)["narrative"]
    assert narrative.startswith(PAYLOADS[0])  # the learner's text, exactly


def test_the_certificate_prints_markup_in_a_name_as_text(client, poisoned) -> None:
    """ReportLab's Paragraph reads <font>, <a href> and <img> in text as markup; the
    certificate must print the name as typed and hold no link or script."""
    pdf_bytes = client.get(f"/certificates/{poisoned['certificate'].code}.pdf").data
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    text = pdf[0].get_textpage().get_text_range()
    assert re.sub(r"\s", "", SHORT_PAYLOAD) in re.sub(r"\s", "", text)  # every character printed, <font> too
    assert b"/JavaScript" not in pdf_bytes and b"/JS" not in pdf_bytes and b"javascript:" not in pdf_bytes.lower()
    links = re.findall(rb"/URI \((.*?)\)", pdf_bytes)
    assert links == [f"http://localhost/certificates/{poisoned['certificate'].code}".encode()], links


def test_images_of_other_sites_are_refused(course_copy: Path) -> None:
    from shooc.workbooks.loader import load_course

    course = course_copy / "course.md"
    course.write_text(course.read_text() + "\n![image](javascript:window.xss=1)\n<img src=\"data:text/html,x\">\n")
    messages = [p.message for p in load_course(course_copy).problems]
    assert len(messages) == 2 and all("on another site" in m or "not found" in m for m in messages), messages
