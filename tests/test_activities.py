"""Pure unit tests of the activity kinds registry (shooc/workbooks/activities.py).

No database, no Flask: definitions are dicts, forms are werkzeug MultiDicts.
"""
from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from shooc.workbooks.activities import (
    KINDS,
    MAX_TEXT,
    DefinitionProblem,
    get_kind,
    is_multiple,
    pass_mark,
    question_id,
    word_count,
)

REFLECTION = KINDS["reflection"]
DISCUSSION = KINDS["discussion"]
QUIZ = KINDS["quiz"]
SELF = KINDS["self-assessment"]
GOAL = KINDS["smart-goal"]
MEDIA = KINDS["media"]


def form(*pairs: tuple[str, str]) -> MultiDict:
    return MultiDict(list(pairs))


def messages(kind_name: str, definition: dict[str, Any]) -> list[str]:
    return [p.message for p in KINDS[kind_name].validate(definition)]


def quiz_def(pass_mark_: int | None = None) -> dict[str, Any]:
    """Four questions: three single answer (correct: 1, 0, 2), one multiple (0 and 2)."""
    definition: dict[str, Any] = {
        "id": "roles-quiz", "kind": "quiz",
        "questions": [
            {"id": "purpose", "text": "Purpose?",
             "options": [{"text": "Assess"}, {"text": "Support", "correct": True}]},
            {"id": "when", "text": "When?",
             "options": [{"text": "Early", "correct": True}, {"text": "Late"}, {"text": "Never"}]},
            {"id": "who", "text": "Who?",
             "options": [{"text": "A"}, {"text": "B"}, {"text": "C", "correct": True}]},
            {"id": "skills", "text": "Skills?",
             "options": [{"text": "Listening", "correct": True}, {"text": "Telling"},
                         {"text": "Questions", "correct": True}]},
        ],
    }
    if pass_mark_ is not None:
        definition["pass_mark"] = pass_mark_
    return definition


ALL_RIGHT = [("a.roles-quiz.purpose", "1"), ("a.roles-quiz.when", "0"), ("a.roles-quiz.who", "2"),
             ("a.roles-quiz.skills", "0"), ("a.roles-quiz.skills", "2")]


def answer_quiz(definition: dict[str, Any], pairs: list[tuple[str, str]],
                previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return QUIZ.answer_from_form(form(*pairs), "a.roles-quiz", definition, previous)


def attempt(definition: dict[str, Any], pairs: list[tuple[str, str]],
            previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return QUIZ.mark(answer_quiz(definition, pairs, previous), definition)  # type: ignore[attr-defined]


# --- registry ----------------------------------------------------------------------

def test_registry_has_the_seven_kinds() -> None:
    assert set(KINDS) == {"reflection", "discussion", "peer-discussion", "quiz", "self-assessment", "smart-goal",
                          "media"}
    for name, kind in KINDS.items():
        assert kind.name == name
        assert get_kind(name) is kind
    assert get_kind("essay") is None


# --- word_count --------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    (None, 0),
    ("", 0),
    ("   \n\t ", 0),
    ("one", 1),
    ("one two  three", 3),
    ("  leading and trailing  ", 3),
    ("line one\nline two\r\nline three", 6),
    ("tab\tseparated\twords", 3),
    ("don't stop-gap e.g. 3.5%", 4),
    ("non\u00a0breaking", 2),
    ("— dash counts", 3),
])
def test_word_count(text: str | None, words: int) -> None:
    assert word_count(text) == words


# --- reflection --------------------------------------------------------------------

REFL = {"id": "first-meeting", "kind": "reflection", "prompt": "Think.", "min_words": 5, "max_words": 10}


def test_reflection_answer_from_form() -> None:
    answer = REFLECTION.answer_from_form(form(("a.first-meeting.text", "  Hello there  ")),
                                         "a.first-meeting", REFL, None)
    assert answer == {"text": "Hello there"}


def test_reflection_crlf_normalised() -> None:
    answer = REFLECTION.answer_from_form(form(("a.r.text", "one\r\ntwo\r\n\r\nthree\r\n")), "a.r", REFL, None)
    assert answer == {"text": "one\ntwo\n\nthree"}
    assert "\r" not in answer["text"]


def test_reflection_whitespace_only_is_empty() -> None:
    answer = REFLECTION.answer_from_form(form(("a.r.text", " \r\n\t \r\n ")), "a.r", REFL, None)
    assert answer == {"text": ""}
    assert REFLECTION.missing(answer, REFL) == ["Write your answer (at least 5 words)."]


def test_reflection_field_absent() -> None:
    assert REFLECTION.answer_from_form(form(), "a.r", REFL, None) == {"text": ""}


def test_reflection_other_activity_fields_ignored() -> None:
    answer = REFLECTION.answer_from_form(form(("a.other.text", "not mine")), "a.r", REFL, None)
    assert answer == {"text": ""}


def test_reflection_missing_empty() -> None:
    assert REFLECTION.missing(None, REFL) == ["Write your answer (at least 5 words)."]
    assert REFLECTION.missing({}, REFL) == ["Write your answer (at least 5 words)."]
    assert REFLECTION.missing({"text": ""}, {"prompt": "p"}) == ["Write your answer."]


def test_reflection_missing_too_few_words() -> None:
    assert REFLECTION.missing({"text": "one two three"}, REFL) == ["Write at least 5 words: you have 3."]


def test_reflection_word_limits_inclusive() -> None:
    assert REFLECTION.missing({"text": "a b c d e"}, REFL) == []
    assert REFLECTION.missing({"text": " ".join(["w"] * 10)}, REFL) == []


def test_reflection_missing_too_many_words() -> None:
    assert REFLECTION.missing({"text": " ".join(["w"] * 11)}, REFL) == [
        "Keep it to 10 words at most: you have 11."]


def test_reflection_no_limits() -> None:
    definition = {"prompt": "p"}
    assert REFLECTION.missing({"text": "x"}, definition) == []
    assert REFLECTION.missing({"text": " ".join(["w"] * 5000)}, definition) == []


def test_reflection_too_long() -> None:
    assert REFLECTION.too_long({"text": "x" * MAX_TEXT}) == []
    assert REFLECTION.too_long({"text": "x" * (MAX_TEXT + 1)}) == ["'text' is longer than 20,000 characters"]
    assert MAX_TEXT == 20_000


def test_too_long_counts_after_crlf_normalisation() -> None:
    # 10,000 line breaks sent as \r\n (20,000 characters) plus one letter: 10,001 after normalising
    raw = "\r\n" * 10_000 + "x"
    answer = REFLECTION.answer_from_form(form(("a.r.text", "x" + raw)), "a.r", REFL, None)
    assert REFLECTION.too_long(answer) == []


# --- discussion --------------------------------------------------------------------

DISC = {"id": "talk", "kind": "discussion", "prompt": "Talk to your trainee."}


def test_discussion_answer_and_missing() -> None:
    answer = DISCUSSION.answer_from_form(form(("a.talk.text", "We talked\r\nabout feedback. ")), "a.talk", DISC, None)
    assert answer == {"text": "We talked\nabout feedback."}
    assert DISCUSSION.missing(answer, DISC) == []


def test_discussion_missing_when_empty_or_whitespace() -> None:
    answer = DISCUSSION.answer_from_form(form(("a.talk.text", "   \r\n  ")), "a.talk", DISC, None)
    assert answer == {"text": ""}
    assert DISCUSSION.missing(answer, DISC) == ["Write your notes of the conversation."]
    assert DISCUSSION.missing(None, DISC) == ["Write your notes of the conversation."]


def test_discussion_too_long() -> None:
    answer = DISCUSSION.answer_from_form(form(("a.talk.text", "y" * 20_001)), "a.talk", DISC, None)
    assert DISCUSSION.too_long(answer) == ["'text' is longer than 20,000 characters"]


# --- smart goal --------------------------------------------------------------------

GOAL_DEF = {"id": "my-goal", "kind": "smart-goal", "prompt": "Set a goal."}
GOAL_FIELDS = ["specific", "measurable", "achievable", "relevant", "time_bound"]


def full_goal_form(**overrides: str) -> MultiDict:
    values = {f: f"my {f}" for f in GOAL_FIELDS} | {"target_date": "2026-12-18"} | overrides
    return form(*((f"a.my-goal.{k}", v) for k, v in values.items()))


def test_smart_goal_answer_from_form() -> None:
    answer = GOAL.answer_from_form(full_goal_form(specific=" Observe\r\ntwice "), "a.my-goal", GOAL_DEF, None)
    assert answer == {"specific": "Observe\ntwice", "measurable": "my measurable",
                      "achievable": "my achievable", "relevant": "my relevant",
                      "time_bound": "my time_bound", "target_date": "2026-12-18"}
    assert GOAL.missing(answer, GOAL_DEF) == []


def test_smart_goal_empty() -> None:
    answer = GOAL.answer_from_form(form(), "a.my-goal", GOAL_DEF, None)
    assert answer == {f: "" for f in GOAL_FIELDS} | {"target_date": ""}
    assert GOAL.missing(answer, GOAL_DEF) == [
        "Fill in: Specific, Measurable, Achievable, Relevant, Time-bound.", "Give a target date."]
    assert GOAL.missing(None, GOAL_DEF) == GOAL.missing(answer, GOAL_DEF)


def test_smart_goal_some_fields_missing() -> None:
    answer = GOAL.answer_from_form(full_goal_form(measurable="   ", relevant=""), "a.my-goal", GOAL_DEF, None)
    assert GOAL.missing(answer, GOAL_DEF) == ["Fill in: Measurable, Relevant."]


@pytest.mark.parametrize("bad", ["", "   ", "tomorrow", "2026-02-30", "2026-13-01", "18/12/2026", "2026-12"])
def test_smart_goal_bad_date(bad: str) -> None:
    answer = GOAL.answer_from_form(full_goal_form(target_date=bad), "a.my-goal", GOAL_DEF, None)
    assert GOAL.missing(answer, GOAL_DEF) == ["Give a target date."]


def test_smart_goal_leap_day_date() -> None:
    answer = GOAL.answer_from_form(full_goal_form(target_date="2028-02-29"), "a.my-goal", GOAL_DEF, None)
    assert GOAL.missing(answer, GOAL_DEF) == []
    answer = GOAL.answer_from_form(full_goal_form(target_date="2027-02-29"), "a.my-goal", GOAL_DEF, None)
    assert GOAL.missing(answer, GOAL_DEF) == ["Give a target date."]


@pytest.mark.parametrize("odd", ["20261218", "2026-W51-5"])
def test_smart_goal_target_date_must_be_yyyy_mm_dd(odd: str) -> None:
    answer = GOAL.answer_from_form(full_goal_form(target_date=odd), "a.my-goal", GOAL_DEF, None)
    assert GOAL.missing(answer, GOAL_DEF) == ["Give a target date."]


def test_smart_goal_too_long_names_the_field() -> None:
    answer = GOAL.answer_from_form(full_goal_form(achievable="z" * 20_001), "a.my-goal", GOAL_DEF, None)
    assert GOAL.too_long(answer) == ["'achievable' is longer than 20,000 characters"]


# --- media -------------------------------------------------------------------------

MEDIA_URL = {"id": "webinar", "kind": "media", "url": "https://media.example.ac.uk/w.mp4"}
MEDIA_TRANSCRIPT = {"id": "webinar", "kind": "media", "transcript": "Welcome ..."}
MEDIA_NOTHING = {"id": "webinar", "kind": "media"}
WATCH_MESSAGE = "Watch the recording (or read the transcript) and tick the box."


def test_media_watched() -> None:
    answer = MEDIA.answer_from_form(form(("a.webinar.watched", "yes")), "a.webinar", MEDIA_URL, None)
    assert answer == {"watched": True}
    assert MEDIA.missing(answer, MEDIA_URL) == []


@pytest.mark.parametrize("value", ["", "no", "on", "YES", "true", "1"])
def test_media_not_watched_unless_yes(value: str) -> None:
    answer = MEDIA.answer_from_form(form(("a.webinar.watched", value)), "a.webinar", MEDIA_URL, None)
    assert answer == {"watched": False}


def test_media_unticked_box_posts_nothing() -> None:
    answer = MEDIA.answer_from_form(form(), "a.webinar", MEDIA_URL, {"watched": True})
    assert answer == {"watched": False}


def test_media_missing_with_url_or_transcript() -> None:
    for definition in (MEDIA_URL, MEDIA_TRANSCRIPT):
        assert MEDIA.missing({"watched": False}, definition) == [WATCH_MESSAGE]
        assert MEDIA.missing(None, definition) == [WATCH_MESSAGE]
        assert MEDIA.missing({"watched": True}, definition) == []


def test_media_without_url_or_transcript_is_complete() -> None:
    assert MEDIA.missing(None, MEDIA_NOTHING) == []
    assert MEDIA.missing({"watched": False}, MEDIA_NOTHING) == []


def test_media_too_long_ignores_booleans() -> None:
    assert MEDIA.too_long({"watched": True}) == []


# --- self-assessment ---------------------------------------------------------------

SA = {"id": "check", "kind": "self-assessment",
      "statements": [{"id": "trust", "text": "I build trust.", "standard": "S1"},
                     {"id": "model", "text": "I model teaching."},
                     {"id": "plan", "text": "I plan."}]}


def test_self_assessment_ratings() -> None:
    answer = SELF.answer_from_form(form(("a.check.trust", "1"), ("a.check.model", "5"), ("a.check.plan", "3")),
                                   "a.check", SA, None)
    assert answer == {"ratings": {"trust": 1, "model": 5, "plan": 3}}
    assert SELF.missing(answer, SA) == []


@pytest.mark.parametrize("value", ["0", "6", "x", "", " 3", "3 ", "03", "3.0", "-1", "10", "²", "٣"])
def test_self_assessment_hostile_ratings_ignored(value: str) -> None:
    answer = SELF.answer_from_form(form(("a.check.trust", value), ("a.check.model", "4")), "a.check", SA, None)
    assert answer == {"ratings": {"model": 4}}


def test_self_assessment_unknown_statement_ignored() -> None:
    answer = SELF.answer_from_form(form(("a.check.intruder", "5"), ("a.check.trust", "2")), "a.check", SA, None)
    assert answer == {"ratings": {"trust": 2}}


def test_self_assessment_missing_partial() -> None:
    answer = SELF.answer_from_form(form(("a.check.trust", "2"), ("a.check.plan", "6")), "a.check", SA, None)
    assert SELF.missing(answer, SA) == ["Rate every statement: 1 of 3 rated."]


def test_self_assessment_missing_none() -> None:
    assert SELF.missing(None, SA) == ["Rate every statement: 0 of 3 rated."]
    assert SELF.missing({"ratings": {}}, SA) == ["Rate every statement: 0 of 3 rated."]


def test_self_assessment_missing_ignores_stale_ratings() -> None:
    # a rating for a statement no longer in the definition does not count
    answer = {"ratings": {"trust": 3, "model": 3, "gone": 5}}
    assert SELF.missing(answer, SA) == ["Rate every statement: 2 of 3 rated."]


# --- quiz: answers -----------------------------------------------------------------

def test_quiz_answer_from_form() -> None:
    answer = answer_quiz(quiz_def(), ALL_RIGHT)
    assert answer == {"choices": {"purpose": [1], "when": [0], "who": [2], "skills": [0, 2]}}


@pytest.mark.parametrize("value", ["2", "3", "99", "-1", "x", "", "1.0", " 1", "0x1", "1e0"])
def test_quiz_hostile_option_index_ignored(value: str) -> None:
    # "purpose" has two options: only "0" and "1" are valid
    answer = answer_quiz(quiz_def(), [("a.roles-quiz.purpose", value)])
    assert answer == {"choices": {}}


def test_quiz_superscript_digit_ignored() -> None:
    answer = answer_quiz(quiz_def(), [("a.roles-quiz.purpose", "²")])
    assert answer == {"choices": {}}


def test_quiz_hostile_mixed_with_valid() -> None:
    answer = answer_quiz(quiz_def(), [("a.roles-quiz.skills", "9"), ("a.roles-quiz.skills", "2"),
                                      ("a.roles-quiz.skills", "x"), ("a.roles-quiz.skills", "2")])
    assert answer == {"choices": {"skills": [2]}}


def test_quiz_single_answer_keeps_only_one() -> None:
    answer = answer_quiz(quiz_def(), [("a.roles-quiz.when", "2"), ("a.roles-quiz.when", "0")])
    assert len(answer["choices"]["when"]) == 1
    assert answer["choices"]["when"] == [0]


def test_quiz_multiple_answers_sorted_and_deduplicated() -> None:
    answer = answer_quiz(quiz_def(), [("a.roles-quiz.skills", "2"), ("a.roles-quiz.skills", "0"),
                                      ("a.roles-quiz.skills", "2")])
    assert answer["choices"]["skills"] == [0, 2]


def test_quiz_answer_keeps_previous_marks_replaces_choices() -> None:
    definition = quiz_def()
    first = attempt(definition, ALL_RIGHT)
    answer = answer_quiz(definition, [("a.roles-quiz.purpose", "0")], previous=first)
    assert answer["choices"] == {"purpose": [0]}
    assert answer["attempts"] == 1
    assert answer["passed"] is True
    assert answer["last_attempt"] == first["last_attempt"]
    assert first["choices"] == {"purpose": [1], "when": [0], "who": [2], "skills": [0, 2]}  # not mutated


def test_quiz_default_question_ids() -> None:
    definition = {"questions": [
        {"text": "One?", "options": [{"text": "a", "correct": True}, {"text": "b"}]},
        {"text": "Two?", "options": [{"text": "a"}, {"text": "b", "correct": True}]}]}
    assert [question_id(q, i) for i, q in enumerate(definition["questions"])] == ["q1", "q2"]
    answer = QUIZ.answer_from_form(form(("a.x.q1", "0"), ("a.x.q2", "1")), "a.x", definition, None)
    assert answer == {"choices": {"q1": [0], "q2": [1]}}
    assert QUIZ.mark(answer, definition)["passed"] is True  # type: ignore[attr-defined]


# --- quiz: marking -----------------------------------------------------------------

def test_quiz_all_right() -> None:
    marked = attempt(quiz_def(), ALL_RIGHT)
    assert marked["attempts"] == 1
    assert marked["passed"] is True
    assert marked["last_attempt"] == {
        "choices": {"purpose": [1], "when": [0], "who": [2], "skills": [0, 2]},
        "correct": {"purpose": True, "when": True, "who": True, "skills": True},
        "score": 4, "total": 4, "passed": True}
    assert QUIZ.missing(marked, quiz_def()) == []


def test_quiz_multiple_needs_exactly_the_correct_set() -> None:
    single_right = ALL_RIGHT[:3]
    for picks in ([("a.roles-quiz.skills", "0")],
                  [("a.roles-quiz.skills", "2")],
                  [("a.roles-quiz.skills", "0"), ("a.roles-quiz.skills", "1"), ("a.roles-quiz.skills", "2")],
                  [("a.roles-quiz.skills", "1")]):
        marked = attempt(quiz_def(), single_right + picks)
        assert marked["last_attempt"]["correct"]["skills"] is False, picks
        assert marked["last_attempt"]["score"] == 3


def test_quiz_single_wrong_answer() -> None:
    pairs = [("a.roles-quiz.purpose", "0")] + ALL_RIGHT[1:]
    marked = attempt(quiz_def(), pairs)
    assert marked["last_attempt"]["correct"]["purpose"] is False
    assert marked["last_attempt"]["score"] == 3
    assert marked["passed"] is False  # default pass mark 100


def test_quiz_unanswered_counts_as_wrong() -> None:
    marked = attempt(quiz_def(), [])
    assert marked["last_attempt"]["correct"] == {"purpose": False, "when": False, "who": False, "skills": False}
    assert marked["last_attempt"]["score"] == 0
    assert marked["last_attempt"]["total"] == 4
    assert marked["passed"] is False
    marked = attempt(quiz_def(), ALL_RIGHT[1:])  # "purpose" left out
    assert marked["last_attempt"]["correct"]["purpose"] is False
    assert marked["last_attempt"]["score"] == 3


def test_quiz_default_pass_mark_is_100() -> None:
    assert pass_mark(quiz_def()) == 100
    assert pass_mark(quiz_def(0)) == 0
    assert attempt(quiz_def(), ALL_RIGHT[1:])["passed"] is False
    assert attempt(quiz_def(), ALL_RIGHT)["passed"] is True


@pytest.mark.parametrize("mark, right, passes", [
    (75, 4, True), (75, 3, True), (75, 2, False),
    (50, 2, True), (50, 1, False),
    (76, 3, False),
    (74, 3, True),
    (0, 0, True),
    (100, 4, True), (100, 3, False),
])
def test_quiz_pass_mark_boundaries(mark: int, right: int, passes: bool) -> None:
    # answer the first `right` questions right, the rest left unanswered
    keep = set(["purpose", "when", "who", "skills"][:right])
    pairs = [(k, v) for k, v in ALL_RIGHT if k.rsplit(".", 1)[1] in keep]
    marked = attempt(quiz_def(mark), pairs)
    assert marked["last_attempt"]["score"] == right
    assert marked["last_attempt"]["passed"] is passes
    assert marked["passed"] is passes


def test_quiz_pass_mark_with_three_questions() -> None:
    definition = quiz_def(67)
    definition["questions"] = definition["questions"][:3]
    pairs = ALL_RIGHT[:2]  # 2 of 3 = 66.7%
    assert attempt(definition, pairs)["passed"] is False
    definition["pass_mark"] = 66
    assert attempt(definition, pairs)["passed"] is True


def test_quiz_attempts_counted_and_passed_sticks() -> None:
    definition = quiz_def(75)
    first = attempt(definition, ALL_RIGHT[:1])  # 1 of 4: fail
    assert first["attempts"] == 1 and first["passed"] is False
    assert QUIZ.missing(first, definition) == ["Try again: 75% of the questions right are needed to pass."]
    second = attempt(definition, ALL_RIGHT, previous=first)  # 4 of 4: pass
    assert second["attempts"] == 2 and second["passed"] is True
    assert QUIZ.missing(second, definition) == []
    third = attempt(definition, [], previous=second)  # 0 of 4: fail, but passed stays
    assert third["attempts"] == 3
    assert third["last_attempt"]["passed"] is False
    assert third["last_attempt"]["score"] == 0
    assert third["passed"] is True
    assert QUIZ.missing(third, definition) == []


def test_quiz_mark_does_not_mutate_its_argument() -> None:
    answer = answer_quiz(quiz_def(), ALL_RIGHT)
    before = dict(answer)
    QUIZ.mark(answer, quiz_def())  # type: ignore[attr-defined]
    assert answer == before


def test_quiz_missing_before_any_attempt() -> None:
    assert QUIZ.missing(None, quiz_def()) == ["Answer the questions and check your answers (100% to pass)."]
    answer = answer_quiz(quiz_def(75), ALL_RIGHT)  # choices made, not yet checked
    assert QUIZ.missing(answer, quiz_def(75)) == ["Answer the questions and check your answers (75% to pass)."]


def test_quiz_multiple_true_with_one_correct_option() -> None:
    definition = {"id": "q", "kind": "quiz", "questions": [
        {"id": "only", "text": "Pick all that apply", "multiple": True,
         "options": [{"text": "a"}, {"text": "b", "correct": True}, {"text": "c"}]}]}
    assert is_multiple(definition["questions"][0]) is True
    answer = QUIZ.answer_from_form(form(("a.q.only", "1"), ("a.q.only", "2")), "a.q", definition, None)
    assert answer["choices"] == {"only": [1, 2]}  # check boxes: both kept
    assert QUIZ.mark(answer, definition)["passed"] is False  # type: ignore[attr-defined]
    answer = QUIZ.answer_from_form(form(("a.q.only", "1")), "a.q", definition, None)
    assert QUIZ.mark(answer, definition)["passed"] is True  # type: ignore[attr-defined]
    assert list(QUIZ.validate(definition)) == []


def test_is_multiple() -> None:
    one = {"options": [{"text": "a", "correct": True}, {"text": "b"}]}
    two = {"options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}]}
    assert is_multiple(one) is False
    assert is_multiple(two) is True
    assert is_multiple({**one, "multiple": True}) is True
    assert is_multiple({**two, "multiple": False}) is True  # two correct: still check boxes


def test_quiz_correct_must_be_true_not_truthy() -> None:
    definition = {"questions": [{"id": "a", "text": "t",
                                 "options": [{"text": "x", "correct": "yes"}, {"text": "y", "correct": True}]}]}
    answer = QUIZ.answer_from_form(form(("a.q.a", "1")), "a.q", definition, None)
    assert QUIZ.mark(answer, definition)["passed"] is True  # type: ignore[attr-defined]


# --- definition validator ----------------------------------------------------------

def test_valid_definitions_have_no_problems() -> None:
    assert messages("reflection", REFL) == []
    assert messages("discussion", DISC) == []
    assert messages("smart-goal", GOAL_DEF) == []
    assert messages("media", MEDIA_URL) == []
    assert messages("media", MEDIA_NOTHING) == []
    assert messages("self-assessment", SA) == []
    assert messages("quiz", quiz_def(75)) == []


def test_problems_are_definition_problems() -> None:
    problems = list(REFLECTION.validate({"id": "r", "kind": "reflection"}))
    assert problems == [DefinitionProblem((), "missing required key 'prompt'")]


def test_unknown_key() -> None:
    assert messages("reflection", {**REFL, "min_word": 3}) == [
        "unknown key 'min_word' for a reflection (allowed: guidance, id, kind, max_words, min_words, "
        "prompt, recall, required, title)"]
    problems = list(REFLECTION.validate({**REFL, "min_word": 3}))
    assert problems[0].path == ("min_word",)


def test_unknown_keys_in_quiz_question_and_option() -> None:
    definition = quiz_def()
    definition["questions"][0] = {**definition["questions"][0], "hint": "x"}
    definition["questions"][1] = {**definition["questions"][1],
                                  "options": [{"text": "Early", "correct": True, "why": "x"}, {"text": "Late"}]}
    assert messages("quiz", definition) == ["question 1: unknown key 'hint'",
                                            "question 2, option 1: unknown key 'why'"]


def test_unknown_key_in_statement() -> None:
    definition = {**SA, "statements": [{"id": "a", "text": "t", "standards": "S1"}]}
    assert messages("self-assessment", definition) == ["statement 1: unknown key 'standards'"]


@pytest.mark.parametrize("value", [-1, "ten", 2.5, True, None])
def test_bad_min_words(value: Any) -> None:
    assert messages("reflection", {**REFL, "min_words": value, "max_words": 100}) == [
        "'min_words' must be a whole number of 0 or more"]


def test_bad_max_words() -> None:
    assert messages("reflection", {**REFL, "max_words": "lots"}) == ["'max_words' must be a whole number of 1 or more"]


def test_max_words_below_min_words() -> None:
    problems = list(REFLECTION.validate({**REFL, "min_words": 100, "max_words": 50}))
    assert problems == [DefinitionProblem(("max_words",), "'max_words' is less than 'min_words'")]
    assert messages("reflection", {**REFL, "min_words": 50, "max_words": 50}) == []


def test_quiz_question_without_correct_answer() -> None:
    definition = quiz_def()
    definition["questions"][1] = {"id": "when", "text": "When?", "options": [{"text": "Early"}, {"text": "Late"}]}
    problems = list(QUIZ.validate(definition))
    assert problems == [DefinitionProblem(("questions", 1), "question 2 has no correct answer")]


def test_quiz_correct_not_a_boolean() -> None:
    definition = {"id": "q", "kind": "quiz", "questions": [
        {"id": "a", "text": "t", "options": [{"text": "x", "correct": "yes"}, {"text": "y"}]}]}
    assert messages("quiz", definition) == ["question 1, option 1: 'correct' must be true or false",
                                            "question 1 has no correct answer"]


def test_quiz_duplicate_question_ids() -> None:
    definition = quiz_def()
    definition["questions"][2] = {**definition["questions"][2], "id": "purpose"}
    problems = list(QUIZ.validate(definition))
    assert problems == [DefinitionProblem(("questions", 2, "id"), "question id 'purpose' is used twice")]


def test_quiz_explicit_id_clashes_with_default_id() -> None:
    definition = {"id": "q", "kind": "quiz", "questions": [
        {"text": "One", "options": [{"text": "a", "correct": True}, {"text": "b"}]},
        {"id": "q1", "text": "Two", "options": [{"text": "a", "correct": True}, {"text": "b"}]}]}
    assert messages("quiz", definition) == ["question id 'q1' is used twice"]


@pytest.mark.parametrize("bad_id", ["Purpose", "has space", "-leading", 7, ""])
def test_quiz_bad_question_id(bad_id: Any) -> None:
    definition = quiz_def()
    definition["questions"][0] = {**definition["questions"][0], "id": bad_id}
    assert messages("quiz", definition) == ["question 1: 'id' must be lower-case letters, digits and hyphens"]


def test_quiz_question_needs_two_options_and_text() -> None:
    definition = {"id": "q", "kind": "quiz", "questions": [
        {"id": "a", "options": [{"text": "only", "correct": True}]}]}
    assert messages("quiz", definition) == ["question 1 needs a 'text'", "question 1 needs at least two 'options'"]


def test_quiz_questions_required_and_non_empty() -> None:
    assert messages("quiz", {"id": "q", "kind": "quiz"}) == ["missing required key 'questions'"]
    assert messages("quiz", {"id": "q", "kind": "quiz", "questions": []}) == ["'questions' must be a list of questions"]


@pytest.mark.parametrize("value", [101, -1, "75", 75.5, True])
def test_quiz_bad_pass_mark(value: Any) -> None:
    assert messages("quiz", {**quiz_def(), "pass_mark": value}) == ["'pass_mark' must be a percentage from 0 to 100"]


def test_quiz_multiple_not_boolean() -> None:
    definition = quiz_def()
    definition["questions"][0] = {**definition["questions"][0], "multiple": "yes"}
    assert messages("quiz", definition) == ["question 1: 'multiple' must be true or false"]


def test_self_assessment_duplicate_statement_ids() -> None:
    definition = {**SA, "statements": SA["statements"] + [{"id": "trust", "text": "Again."}]}
    problems = list(SELF.validate(definition))
    assert problems == [DefinitionProblem(("statements", 3, "id"), "statement id 'trust' is used twice")]


def test_self_assessment_bad_statements() -> None:
    definition = {**SA, "statements": ["just text", {"id": "Bad Id", "text": "t"}, {"id": "ok"}]}
    assert messages("self-assessment", definition) == [
        "statement 1 must have 'id' and 'text'",
        "statement 2 needs an 'id' of lower-case letters, digits and hyphens",
        "statement 3 needs a 'text'"]
    assert messages("self-assessment", {"id": "s", "kind": "self-assessment"}) == [
        "missing required key 'statements'"]


def test_self_assessment_scale_needs_five_labels() -> None:
    assert messages("self-assessment", {**SA, "scale": ["a", "b", "c", "d", "e"]}) == []
    assert messages("self-assessment", {**SA, "scale": ["a", "b", "c", "d"]}) == [
        "'scale' must be a list of five labels"]
    assert messages("self-assessment", {**SA, "scale": ["a", "b", "c", "d", " "]}) == [
        "'scale' must be a list of five labels"]


def test_media_url_must_be_https() -> None:
    assert messages("media", {**MEDIA_NOTHING, "url": "http://example.com/v.mp4"}) == [
        "'url' must be an https:// address"]
    assert messages("media", {**MEDIA_NOTHING, "url": "https://exa mple.com"}) == [
        "'url' must be an https:// address"]


def test_prompt_must_be_non_empty_text() -> None:
    assert messages("discussion", {**DISC, "prompt": "   "}) == ["'prompt' must be non-empty text"]
    assert messages("smart-goal", {"id": "g", "kind": "smart-goal"}) == ["missing required key 'prompt'"]
