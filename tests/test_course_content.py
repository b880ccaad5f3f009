"""What the shipped mentoring course promises its learners, checked on its files: enough
core text in every workbook, quizzes whose answers cannot be guessed from their place,
and self-assessments that rate only the standards their workbook claims (and so its
badge is aligned to). No database: these read the course folder only."""
from __future__ import annotations

import pytest

from conftest import mentoring

WORKBOOKS = [w.filename for w in mentoring().workbooks]


def workbook(filename: str):  # type: ignore[no-untyped-def]
    return next(w for w in mentoring().workbooks if w.filename == filename)


@pytest.mark.parametrize("filename", WORKBOOKS)
def test_every_workbook_keeps_at_least_1500_words_of_core_text(filename: str) -> None:
    # The loader's word count is the workbook's prose as learners read it: the body
    # without its front matter and without its activity blocks.
    assert workbook(filename).word_count >= 1500


@pytest.mark.parametrize("filename", WORKBOOKS)
def test_no_quiz_has_its_correct_answer_first_in_every_question(filename: str) -> None:
    quizzes = [a for a in workbook(filename).activities if a.kind == "quiz"]
    assert quizzes, "every workbook has a quiz"
    for quiz in quizzes:
        questions = quiz.definition["questions"]
        first_is_correct = [bool(q["options"][0].get("correct")) for q in questions]
        assert not all(first_is_correct), f"{quiz.id}: the first option is right in every question"


@pytest.mark.parametrize("filename", WORKBOOKS)
def test_self_assessments_rate_only_the_workbooks_own_standards(filename: str) -> None:
    book = workbook(filename)
    claimed = set(book.standards)
    for activity in book.activities:
        if activity.kind != "self-assessment":
            continue
        for statement in activity.definition["statements"]:
            standard = statement.get("standard")
            assert standard is None or standard in claimed, (
                f"{activity.id}.{statement['id']} rates {standard}, "
                f"which {filename} does not list among its standards {sorted(claimed)}")
