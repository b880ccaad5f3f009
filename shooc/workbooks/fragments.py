"""The HTML of a published activity that is the same for every learner, rendered once
per process and activity version, with slots for what is each learner's own.

Why (issue 21): two thirds of the workbook page's time went on rendering its
activities' macros, most of it a self-assessment's grid (statements × ratings, each
cell escaping its statement and label again) and a quiz's options (a loop context,
attribute look-ups and escaping per option), although only a ``checked``, an option's
code and order, and the marks of an attempt differ between learners. A published
``ActivityVersion`` never changes (publishing makes new rows), so its fixed HTML is
rendered once from templates/learn/_activity_fixed.html with a marker where a
learner's value goes, cut into a ``Fragment`` at the markers, and kept (in
``published.kept``, emptied with the published versions). Each request fills the
slots: joining strings, no template.

What stays per learner, filled on each request: the options' order and codes
(shooc/workbooks/quizorder.py: the learner's own shuffle), which are checked, an
attempt's marks and feedback, the ratings chosen. Everything else the activity macro
shows per learner (answers, revisions, states, errors) is still rendered by
learn/_activity.html around these parts. An activity not yet published (a leader's
preview of an upload: no id) is rendered the same way, without keeping anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask import current_app
from markupsafe import Markup, escape

from shooc.workbooks import published

MARK = "\x00"  # never in published HTML: the request filter refuses NUL, the loader's sanitiser drops it
FIXED_TEMPLATE = "learn/_activity_fixed.html"
DEFAULT_SCALE = 5  # ratings of a self-assessment without a scale of its own (the template's five labels)


@dataclass(frozen=True, slots=True)
class Fragment:
    """Fixed HTML cut at its slots: ``pieces`` alternate fixed text (even indexes) and
    slot names (odd indexes)."""

    pieces: tuple[str, ...]

    @classmethod
    def render(cls, macro: Callable[..., Any], *args: Any) -> Fragment:
        html = str(macro(*args, lambda name: Markup(f"{MARK}{name}{MARK}")))
        pieces = tuple(html.split(MARK))
        if len(pieces) % 2 != 1:
            raise ValueError("a fragment's fixed HTML holds a NUL character")
        return cls(pieces)

    @classmethod
    def fixed(cls, macro: Callable[..., Any], *args: Any) -> str:
        """A macro's output that has no slots."""
        return str(macro(*args))

    def fill(self, values: Mapping[str, str]) -> str:
        out = list(self.pieces)
        out[1::2] = [values.get(name, "") for name in self.pieces[1::2]]
        return "".join(out)


@dataclass(frozen=True, slots=True)
class QuestionParts:
    qid: str
    question: Fragment  # slots: mark-class, options, mark
    options: tuple[Fragment, ...]  # by source index; slots: code, checked, feedback
    feedback: tuple[str, ...]  # by source index: the option's feedback block, or ""
    right: str  # the question's mark block after a right answer
    wrong: str

    def html(self, order: list[tuple[int, str]] | None, chosen: list[int], attempt: Mapping[str, Any] | None) -> str:
        """The question as one learner sees it: ``order`` their (source index, code)
        pairs (None: the source order, indexes as values, for the course team)."""
        marked = bool(attempt) and self.qid in attempt["correct"]  # type: ignore[index]
        tried = (attempt["choices"].get(self.qid) or []) if marked else []  # type: ignore[index]
        pairs = order if order is not None else [(j, str(j)) for j in range(len(self.options))]
        options = "".join(self.options[j].fill({
            "code": str(escape(code)), "checked": "checked" if j in chosen else "",
            "feedback": self.feedback[j] if marked and j in tried else ""}) for j, code in pairs)
        right = marked and attempt["correct"][self.qid]  # type: ignore[index]
        return self.question.fill({"mark-class": (" right" if right else " wrong") if marked else "",
                                   "options": options, "mark": (self.right if right else self.wrong) if marked else ""})


@dataclass(frozen=True, slots=True)
class ActivityParts:
    """One activity's fixed HTML: its prompt and guidance (tables in scrolling
    regions), a self-assessment's grid, a quiz's questions."""

    prompt: Markup
    guidance: Markup
    rating_table: Fragment | None
    scale_size: int  # a self-assessment's ratings, 1 to scale_size
    questions: tuple[QuestionParts, ...]

    def ratings_html(self, ratings: Mapping[str, Any]) -> Markup:
        assert self.rating_table is not None
        checked = {f"{statement}:{n}": "checked" for statement, value in ratings.items()
                   for n in range(1, self.scale_size + 1) if value == n}
        return Markup(self.rating_table.fill(checked))

    def questions_html(self, options: Mapping[str, list[tuple[int, str]]] | None, choices: Mapping[str, Any],
                       attempt: Mapping[str, Any] | None) -> Markup:
        """The quiz's questions: ``options`` the learner's order of each question's
        options (None or empty: the source order), ``choices`` their chosen source
        indexes, ``attempt`` their last marked attempt."""
        return Markup("".join(q.html(options.get(q.qid) if options else None, choices.get(q.qid) or [], attempt)
                              for q in self.questions))


def body_html(workbook: Any) -> tuple[Markup | None, ...]:
    """A workbook's text between its activities, by body part (None for an activity's
    place), its tables in scrolling regions: kept per process when it is published."""
    def build() -> tuple[Markup | None, ...]:
        from shooc.workbooks.render import scrolling_tables

        return tuple(scrolling_tables(part["html"]) if "html" in part else None for part in workbook.body_parts)

    if workbook.id is None:
        return build()
    return published.kept(("body-html", workbook.id), build)


DONE_MARK = ' <span class="contents-mark">done</span>'
REQUIRED_MARK = ' <span class="contents-mark">required</span>'


def contents_html(workbook: Any, sections: Any, activities: Mapping[str, Any], state: Any) -> Markup:
    """A workbook's contents: its sections and activities, kept per published workbook
    version; each activity's class and mark (done for this learner, else required or
    optional) filled in. ``state``: the learner's WorkbookState, or None (a preview)."""
    def build() -> Fragment:
        macros: Any = current_app.jinja_env.get_template(FIXED_TEMPLATE).module
        return Fragment.render(macros.contents_nav, sections, activities)

    fragment = build() if workbook.id is None else published.kept(("contents", workbook.id), build)
    values = {}
    for activity_id, activity in activities.items():
        saved = state.activities[activity_id] if state else None
        done = saved is not None and saved.started and saved.complete
        values[f"class:{activity_id}"] = "done" if done else ("required" if activity.required else "optional")
        values[f"mark:{activity_id}"] = DONE_MARK if done else (REQUIRED_MARK if activity.required else "")
    return Markup(fragment.fill(values))


def activity_parts(activity: Any) -> ActivityParts:
    """The fixed parts of ``activity`` (an ActivityVersion), kept per process when it
    is published."""
    if activity.id is None:
        return _build(activity)
    return published.kept(("activity-parts", activity.id), lambda: _build(activity))


def _build(activity: Any) -> ActivityParts:
    from shooc.workbooks.render import scrolling_tables

    macros: Any = current_app.jinja_env.get_template(FIXED_TEMPLATE).module
    rendered, definition = activity.rendered, activity.definition
    questions: list[QuestionParts] = []
    if activity.kind == "quiz":
        for index, q in enumerate(definition["questions"], start=1):
            qid = q.get("id") or f"q{index}"  # as the template names it
            count = len(q["options"])
            questions.append(QuestionParts(
                qid, Fragment.render(macros.quiz_question, activity, q, index),
                tuple(Fragment.render(macros.quiz_option, activity, q, index, j) for j in range(count)),
                tuple(Fragment.fixed(macros.quiz_option_feedback, activity, qid, j)
                      if rendered.get(f"{qid}.{j}.feedback") else "" for j in range(count)),
                Fragment.fixed(macros.quiz_mark, activity, qid, True),
                Fragment.fixed(macros.quiz_mark, activity, qid, False)))
    return ActivityParts(
        prompt=scrolling_tables(rendered["prompt"]) if rendered.get("prompt") else Markup(""),
        guidance=scrolling_tables(rendered["guidance"]) if rendered.get("guidance") else Markup(""),
        rating_table=Fragment.render(macros.rating_table, activity) if activity.kind == "self-assessment" else None,
        scale_size=(len(definition.get("scale") or []) or DEFAULT_SCALE) if activity.kind == "self-assessment" else 0,
        questions=tuple(questions))
