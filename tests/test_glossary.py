"""The course's glossary (issue 19): glossary.md checked with file:line, published
with the version, a public page of terms, and workbooks' terms linked to it."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from conftest import MENTORING
from shooc.workbooks.loader import load_course

WB1 = "/courses/mentoring/workbooks/the-mentors-role"


def with_glossary(course_copy: Path, text: str) -> Path:
    (course_copy / "glossary.md").write_text(text)
    return course_copy


@pytest.mark.parametrize("text, line, message", [
    ("---\nterms:\n  - term: ECT\n    definition: A teacher.\n  - term: ect\n    definition: Again.\n---\n",
     5, "'ect' is in the glossary twice (first on line 3)"),
    ("---\nterms:\n  - term: ECT\n    aliases: [QTS]\n    definition: A teacher.\n  - term: QTS\n"
     "    definition: Status.\n---\n", 6, "'QTS' is in the glossary twice (first on line 4)"),
    ("---\nterms:\n  - term: ECT\n    definition: ''\n---\n", 4, "'definition' in term 1 of the glossary is empty"),
    ("---\nterms:\n  - term: ECT\n---\n", 3, "missing required key 'definition' in term 1 of the glossary"),
    ("---\nterms:\n  - term: ECT\n    definition: [unclosed\n---\n", 5, "malformed YAML"),
    ("---\nterms:\n  - term: ECT\n    meaning: A teacher.\n    definition: x\n---\n", 4, "unknown key 'meaning'"),
    ("---\nterms: none\n---\n", 2, "the glossary needs 'terms'"),
    ("no front matter\n", 1, "missing front matter"),
])
def test_glossary_problems_name_file_and_line(course_copy: Path, text: str, line: int, message: str) -> None:
    result = load_course(with_glossary(course_copy, text))
    assert not result.ok
    [problem] = result.problems
    assert str(problem).startswith(f"{course_copy}/glossary.md:{line}: ") and message in problem.message


def test_the_shipped_glossary_has_the_courses_terms() -> None:
    result = load_course(MENTORING)
    assert result.ok, result.problems
    terms = {t.term for t in result.course.glossary}
    assert {"appropriate body", "cold call", "ECT", "ECF", "ITTECF", "induction tutor", "lead mentor", "hinge question",
            "ITAP", "ITT", "judgementoring", "QTS", "SCITT", "SENCo", "Teachers' Standards", "mentor standards",
            "UK GDPR"} <= terms


def test_the_glossary_page_lists_terms_and_workbooks_link_their_first_use(client, publish, make_user, auth,
                                                                          make_run) -> None:
    make_run()
    page = client.get("/courses/mentoring/glossary")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<dt id="term-ect">ECT' in html and "(also: ECTs, early career teacher" in html
    assert '<dt id="term-teachers-standards">' in html
    assert 'href="/courses/mentoring/glossary"' in client.get("/courses/mentoring").get_data(as_text=True)
    auth.login(make_user("leader"))
    workbook = client.get(WB1).get_data(as_text=True)
    links = re.findall(r'<a href="/courses/mentoring/glossary#(term-[a-z0-9-]+)" class="glossary-term" '
                       r'title="([^"]+)">([^<]+)</a>', workbook)
    anchors = [anchor for anchor, _title, _text in links]
    assert len(anchors) == len(set(anchors)) > 3  # each term once per workbook
    assert "term-itt" in anchors and "term-ect" in anchors
    # never inside a heading
    for heading in re.findall(r"<h[1-6][^>]*>.*?</h[1-6]>", workbook, re.S):
        assert "glossary-term" not in heading


def test_terms_are_linked_by_alias_and_in_any_case_but_abbreviations_keep_theirs(course_copy: Path, publish,
                                                                                 client, auth, make_user) -> None:
    for name in course_copy.iterdir():
        if re.match(r"0[2-5]-", name.name):
            name.unlink()
    (course_copy / "glossary.md").write_text(
        "---\nterms:\n  - term: Lead mentor\n    definition: Leads the mentors.\n"
        "  - term: SEND\n    aliases: [special educational needs]\n    definition: Needs & disabilities.\n---\n")
    workbook = course_copy / "01-the-mentors-role.md"
    text = workbook.read_text()
    # first in the body (right after the front matter), so that these are the first uses
    _, front, rest = text.split("---\n", 2)
    workbook.write_text(f"---\n{front}---\nWe send notes to the LEAD MENTOR about special educational needs; "
                        f"the lead mentor again.\n\n{rest}")
    publish(course_copy)
    auth.login(make_user("leader"))
    html = client.get(WB1).get_data(as_text=True)
    assert ('We send notes to the <a href="/courses/mentoring/glossary#term-lead-mentor" class="glossary-term" '
            'title="Leads the mentors.">LEAD MENTOR</a> about <a href="/courses/mentoring/glossary#term-send" '
            'class="glossary-term" title="Needs &amp; disabilities.">special educational needs</a>; '
            'the lead mentor again.') in html


def test_no_glossary_no_page(course_copy: Path, publish, client) -> None:
    (course_copy / "glossary.md").unlink()
    publish(course_copy)
    assert client.get("/courses/mentoring/glossary").status_code == 404
