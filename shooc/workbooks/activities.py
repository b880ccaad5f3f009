"""The registry of activity kinds (DESIGN.md §2).

Each kind knows the keys of its Markdown definition, how to check them, and which of
its fields are Markdown to render at publish time. (Answering activities builds on
the same registry: each kind will also validate an answer and say whether it is
complete.)
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Iterator, Protocol, TypeGuard

from shooc.webaddress import HTTPS_ONLY, is_web_address
from shooc.workbooks import quizorder

MAX_TEXT = 20_000  # characters in one answer field: a long essay, not a file
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
# recall: "<workbook-slug>/<activity-id>", an earlier answer of the learner's shown
# above this activity's prompt (checked against the course by the loader)
COMMON_KEYS = {"id", "kind", "title", "required", "recall"}
#: the kinds whose answers a later activity may recall: what the learner wrote or rated
RECALLABLE_KINDS = ("reflection", "discussion", "smart-goal", "self-assessment")
DEFAULT_SCALE = ["Not yet", "Beginning", "Developing", "Secure", "Strong"]

Path_ = tuple[Any, ...]


class FormData(Protocol):
    """What a posted form offers (werkzeug's MultiDict, or a plain stand-in)."""

    def get(self, key: str) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...
    def keys(self) -> Iterable[str]: ...


class _Fields:
    """A FormData of plain lists (a quiz's decoded choices)."""

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {}

    def get(self, key: str) -> Any:
        values = self.lists.get(key)
        return values[0] if values else None

    def getlist(self, key: str) -> list[Any]:
        return list(self.lists.get(key, []))

    def keys(self) -> Iterable[str]:
        return self.lists.keys()


def word_count(text: str | None) -> int:
    """Words as a word processor counts them: runs of non-space characters."""
    return len(text.split()) if text else 0


def _is_index(value: Any) -> bool:
    """'0'..'99': ASCII digits only (str.isdigit also takes '²', which int() refuses)."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 2


def _form_text(form: FormData, key: str) -> str:
    return (form.get(key) or "").replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class DefinitionProblem:
    path: Path_  # where in the YAML, for the line number
    message: str


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class ActivityKind:
    """Base of every kind. Subclasses declare their keys and add their own checks."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: key -> (required, check, what the check wants)
    keys: ClassVar[dict[str, tuple[bool, Callable[[Any], bool], str]]] = {}
    #: keys whose text is Markdown
    markdown_keys: ClassVar[tuple[str, ...]] = ("prompt", "guidance")

    def validate(self, definition: dict[str, Any]) -> Iterator[DefinitionProblem]:
        for key in definition:
            if key not in COMMON_KEYS and key not in self.keys:
                allowed = ", ".join(sorted(COMMON_KEYS | set(self.keys)))
                yield DefinitionProblem((key,), f"unknown key '{key}' for a {self.name} (allowed: {allowed})")
        for key, (required, check, wants) in self.keys.items():
            if key not in definition:
                if required:
                    yield DefinitionProblem((), f"missing required key '{key}'")
            elif not check(definition[key]):
                yield DefinitionProblem((key,), f"'{key}' must be {wants}")
        yield from self.validate_more(definition)

    def validate_more(self, definition: dict[str, Any]) -> Iterator[DefinitionProblem]:
        return iter(())

    def markdown_fields(self, definition: dict[str, Any]) -> dict[str, str]:
        """Every Markdown text of the definition, by a flat key, for rendering."""
        return {k: definition[k] for k in self.markdown_keys if _is_text(definition.get(k))}

    # Answers. A form posts each field of an activity as "a.<activity id>.<field>".

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        """The learner's draft from a posted form (never rejected for being incomplete)."""
        raise NotImplementedError

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        """What the learner still has to do; empty when the activity is complete."""
        raise NotImplementedError

    def too_long(self, answer: dict[str, Any]) -> list[str]:
        """Texts over the size a draft may have (the draft is then not saved, but
        shown again with the message, so nothing is lost)."""
        return [f"'{k}' is longer than {MAX_TEXT:,} characters" for k, v in answer.items()
                if isinstance(v, str) and len(v) > MAX_TEXT]


TEXT = (_is_text, "non-empty text")
COUNT = (_is_count, "a whole number of 0 or more")
URL = (lambda v: is_web_address(v, HTTPS_ONLY), "an https:// address")  # the one check: shooc.webaddress
BOOL = (lambda v: isinstance(v, bool), "true or false")


class Reflection(ActivityKind):
    name = "reflection"
    description = "a written answer"
    keys = {"prompt": (True, *TEXT), "guidance": (False, *TEXT),
            "min_words": (False, *COUNT),
            "max_words": (False, lambda v: _is_count(v) and v >= 1, "a whole number of 1 or more")}

    def validate_more(self, definition: dict[str, Any]) -> Iterator[DefinitionProblem]:
        low, high = definition.get("min_words"), definition.get("max_words")
        if _is_count(low) and _is_count(high) and high < low:
            yield DefinitionProblem(("max_words",), "'max_words' is less than 'min_words'")

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        return {"text": _form_text(form, f"{prefix}.text")}

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        words = word_count((answer or {}).get("text"))
        low, high = definition.get("min_words") or 0, definition.get("max_words")
        if words == 0:
            return ["Write your answer" + (f" (at least {low} words)" if low else "") + "."]
        if words < low:
            return [f"Write at least {low} words: you have {words}."]
        if high and words > high:
            return [f"Keep it to {high} words at most: you have {words}."]
        return []


class Discussion(ActivityKind):
    name = "discussion"
    description = "notes of a conversation with a trainee or colleagues"
    keys = {"prompt": (True, *TEXT), "guidance": (False, *TEXT)}

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        return {"text": _form_text(form, f"{prefix}.text")}

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        return [] if word_count((answer or {}).get("text")) else ["Write your notes of the conversation."]


class PeerDiscussion(ActivityKind):
    """A prompt answered in the workbook's discussion, among the people of the run
    (shooc/community): the learner's post is their answer, and the activity is
    complete once they have posted to it. The workbook's own form never edits it
    (its answer, ``{"posted": true, "post_id": N}``, is written by posting)."""

    name = "peer-discussion"
    description = "a prompt answered in the workbook's discussion, among the run's people"
    keys = {"prompt": (True, *TEXT), "guidance": (False, *TEXT)}

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        return dict(previous or {})  # what posting recorded; nothing on the workbook's form changes it

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        return [] if (answer or {}).get("posted") else ["Post your answer to the discussion."]


class SmartGoal(ActivityKind):
    name = "smart-goal"
    description = "a specific, measurable, achievable, relevant, time-bound goal"
    keys = {"prompt": (True, *TEXT), "guidance": (False, *TEXT)}
    FIELDS = {"specific": "Specific", "measurable": "Measurable", "achievable": "Achievable",
              "relevant": "Relevant", "time_bound": "Time-bound"}

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        answer = {field: _form_text(form, f"{prefix}.{field}") for field in self.FIELDS}
        answer["target_date"] = _form_text(form, f"{prefix}.target_date")
        return answer

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        answer = answer or {}
        empty = [label for field, label in self.FIELDS.items() if not answer.get(field)]
        problems = [f"Fill in: {', '.join(empty)}."] if empty else []
        if not _is_iso_date(answer.get("target_date")):
            problems.append("Give a target date.")
        return problems


class Media(ActivityKind):
    name = "media"
    description = "a recording with its transcript"
    keys = {"url": (False, *URL), "transcript": (False, *TEXT), "prompt": (False, *TEXT)}
    markdown_keys = ("prompt", "transcript")

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        return {"watched": form.get(f"{prefix}.watched") == "yes"}

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        if not definition.get("url") and not definition.get("transcript"):
            return []  # nothing posted yet: nothing to do
        if (answer or {}).get("watched"):
            return []
        return ["Watch the recording (or read the transcript) and tick the box."]


class SelfAssessment(ActivityKind):
    name = "self-assessment"
    description = "rate yourself 1-5 against statements"
    keys = {"prompt": (False, *TEXT), "guidance": (False, *TEXT),
            "statements": (True, lambda v: isinstance(v, list) and len(v) > 0, "a list of statements"),
            "scale": (False, lambda v: isinstance(v, list) and len(v) == 5 and all(map(_is_text, v)),
                      "a list of five labels")}
    STATEMENT_KEYS = {"id", "text", "standard"}

    def validate_more(self, definition: dict[str, Any]) -> Iterator[DefinitionProblem]:
        statements = definition.get("statements")
        if not isinstance(statements, list):
            return
        seen: set[str] = set()
        for i, item in enumerate(statements):
            where = ("statements", i)
            if not isinstance(item, dict):
                yield DefinitionProblem(where, f"statement {i + 1} must have 'id' and 'text'")
                continue
            for key in item:
                if key not in self.STATEMENT_KEYS:
                    yield DefinitionProblem(where + (key,), f"statement {i + 1}: unknown key '{key}'")
            sid = item.get("id")
            if not (isinstance(sid, str) and ID_RE.match(sid)):
                yield DefinitionProblem(where, f"statement {i + 1} needs an 'id' of lower-case letters, digits "
                                               "and hyphens")
            elif sid in seen:
                yield DefinitionProblem(where + ("id",), f"statement id '{sid}' is used twice")
            else:
                seen.add(sid)
            if not _is_text(item.get("text")):
                yield DefinitionProblem(where, f"statement {i + 1} needs a 'text'")

    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        ratings = {}
        for item in definition["statements"]:
            value = form.get(f"{prefix}.{item['id']}")
            if value in ("1", "2", "3", "4", "5"):
                ratings[item["id"]] = int(value)
        return {"ratings": ratings}

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        ratings = (answer or {}).get("ratings") or {}
        total = len(definition["statements"])
        rated = sum(1 for item in definition["statements"] if item["id"] in ratings)
        return [] if rated == total else [f"Rate every statement: {rated} of {total} rated."]

    def standards(self, definition: dict[str, Any]) -> Iterator[tuple[Path_, Any]]:
        for i, item in enumerate(definition.get("statements") or []):
            if isinstance(item, dict) and "standard" in item:
                yield ("statements", i, "standard"), item["standard"]


class Quiz(ActivityKind):
    name = "quiz"
    description = "marked multiple-choice questions"
    keys = {"prompt": (False, *TEXT),
            "pass_mark": (False, lambda v: _is_count(v) and v <= 100, "a percentage from 0 to 100"),
            "questions": (True, lambda v: isinstance(v, list) and len(v) > 0, "a list of questions")}
    QUESTION_KEYS = {"id", "text", "options", "multiple", "explanation"}
    OPTION_KEYS = {"text", "correct", "feedback"}

    def validate_more(self, definition: dict[str, Any]) -> Iterator[DefinitionProblem]:
        questions = definition.get("questions")
        if not isinstance(questions, list):
            return
        seen: set[str] = set()
        for i, question in enumerate(questions):
            n, where = i + 1, ("questions", i)
            if not isinstance(question, dict):
                yield DefinitionProblem(where, f"question {n} must have 'text' and 'options'")
                continue
            for key in question:
                if key not in self.QUESTION_KEYS:
                    yield DefinitionProblem(where + (key,), f"question {n}: unknown key '{key}'")
            qid = question_id(question, i)
            if not (isinstance(qid, str) and ID_RE.match(qid)):
                yield DefinitionProblem(where + ("id",),
                                        f"question {n}: 'id' must be lower-case letters, digits and hyphens")
            elif qid in seen:
                yield DefinitionProblem(where + ("id",), f"question id '{qid}' is used twice")
            else:
                seen.add(qid)
            if not _is_text(question.get("text")):
                yield DefinitionProblem(where, f"question {n} needs a 'text'")
            if "multiple" in question and not isinstance(question["multiple"], bool):
                yield DefinitionProblem(where + ("multiple",), f"question {n}: 'multiple' must be true or false")
            options = question.get("options")
            if not isinstance(options, list) or len(options) < 2:
                yield DefinitionProblem(where, f"question {n} needs at least two 'options'")
                continue
            for j, option in enumerate(options):
                owhere = where + ("options", j)
                if not isinstance(option, dict) or not _is_text(option.get("text")):
                    yield DefinitionProblem(owhere, f"question {n}, option {j + 1} needs a 'text'")
                    continue
                for key in option:
                    if key not in self.OPTION_KEYS:
                        yield DefinitionProblem(owhere + (key,), f"question {n}, option {j + 1}: unknown key '{key}'")
                if "correct" in option and not isinstance(option["correct"], bool):
                    yield DefinitionProblem(owhere + ("correct",),
                                            f"question {n}, option {j + 1}: 'correct' must be true or false")
            if not any(isinstance(o, dict) and o.get("correct") is True for o in options):
                yield DefinitionProblem(where, f"question {n} has no correct answer")

    def markdown_fields(self, definition: dict[str, Any]) -> dict[str, str]:
        fields = super().markdown_fields(definition)
        for i, question in enumerate(definition.get("questions") or []):
            qid = question_id(question, i)
            for key in ("text", "explanation"):
                if _is_text(question.get(key)):
                    fields[f"{qid}.{key}"] = question[key]
            for j, option in enumerate(question.get("options") or []):
                for key in ("text", "feedback"):
                    if _is_text(option.get(key)):
                        fields[f"{qid}.{j}.{key}"] = option[key]
        return fields


    def answer_from_form(self, form: FormData, prefix: str, definition: dict[str, Any],
                         previous: dict[str, Any] | None) -> dict[str, Any]:
        """The learner's choices; an attempt's marks stay until the next attempt."""
        choices: dict[str, list[int]] = {}
        for i, question in enumerate(definition["questions"]):
            qid = question_id(question, i)
            picked = sorted({int(v) for v in form.getlist(f"{prefix}.{qid}")
                             if _is_index(v) and int(v) < len(question["options"])})
            if picked:
                choices[qid] = picked if is_multiple(question) else picked[:1]
        answer = dict(previous or {})
        answer["choices"] = choices
        return answer

    def answer_from_codes(self, form: FormData, prefix: str, activity_id: str, definition: dict[str, Any],
                          previous: dict[str, Any] | None, option_key: bytes) -> dict[str, Any]:
        """The learner's choices from a workbook form, whose options carry this
        learner's codes (``shooc.workbooks.quizorder``), as source indexes."""
        decoded = _Fields()
        for i, question in enumerate(definition["questions"]):
            qid = question_id(question, i)
            indexes = quizorder.decode(option_key, activity_id, qid, len(question["options"]),
                                       form.getlist(f"{prefix}.{qid}"))
            decoded.lists[f"{prefix}.{qid}"] = [str(index) for index in indexes]
        return self.answer_from_form(decoded, prefix, definition, previous)

    def option_orders(self, activity_id: str, definition: dict[str, Any],
                      option_key: bytes) -> dict[str, list[tuple[int, str]]]:
        """Each question's (source index, code) pairs in this learner's order, by
        question id: what the workbook page shows."""
        return {question_id(q, i): quizorder.ordered(option_key, activity_id, question_id(q, i), len(q["options"]))
                for i, q in enumerate(definition["questions"])}

    def choice_codes(self, activity_id: str, definition: dict[str, Any], answer: dict[str, Any] | None,
                     option_key: bytes) -> dict[str, list[str]]:
        """The saved choices as the form's fields (codes), by field name suffix (question id)."""
        choices = (answer or {}).get("choices") or {}
        return {question_id(q, i): quizorder.encode(option_key, activity_id, question_id(q, i),
                                                    choices.get(question_id(q, i), []))
                for i, q in enumerate(definition["questions"])}

    def mark(self, answer: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
        """Mark the current choices as an attempt; returns the answer with its result."""
        choices = answer.get("choices") or {}
        correct: dict[str, bool] = {}
        for i, question in enumerate(definition["questions"]):
            qid = question_id(question, i)
            right = [j for j, option in enumerate(question["options"]) if option.get("correct") is True]
            correct[qid] = sorted(choices.get(qid, [])) == right
        score, total = sum(correct.values()), len(correct)
        passed = score * 100 >= pass_mark(definition) * total
        marked = dict(answer)
        marked["attempts"] = int(answer.get("attempts") or 0) + 1
        marked["last_attempt"] = {"choices": choices, "correct": correct, "score": score, "total": total,
                                  "passed": passed}
        marked["passed"] = bool(answer.get("passed")) or passed
        return marked

    def missing(self, answer: dict[str, Any] | None, definition: dict[str, Any]) -> list[str]:
        answer = answer or {}
        if answer.get("passed"):
            return []
        needed = pass_mark(definition)
        if not answer.get("attempts"):
            return [f"Answer the questions and check your answers ({needed}% to pass)."]
        return [f"Try again: {needed}% of the questions right are needed to pass."]


def _is_iso_date(value: Any) -> bool:
    """YYYY-MM-DD and a real day (fromisoformat alone also takes '20261218')."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def pass_mark(definition: dict[str, Any]) -> int:
    value = definition.get("pass_mark")
    return 100 if value is None else int(value)


def is_multiple(question: dict[str, Any]) -> bool:
    """Check boxes when asked for, or when more than one option is correct."""
    return bool(question.get("multiple")) or sum(1 for o in question["options"] if o.get("correct") is True) > 1


def question_id(question: dict[str, Any], index: int) -> Any:
    return question.get("id", f"q{index + 1}")


KINDS: dict[str, ActivityKind] = {
    kind.name: kind() for kind in (Reflection, Quiz, SelfAssessment, SmartGoal, Discussion, PeerDiscussion, Media)
}


def get_kind(name: str) -> ActivityKind | None:
    return KINDS.get(name)


def published_kind(name: str) -> ActivityKind:
    """The kind of a published activity: one the loader accepted, so one of KINDS."""
    kind = KINDS.get(name)
    if kind is None:
        raise LookupError(f"a published activity of unknown kind '{name}'")
    return kind
