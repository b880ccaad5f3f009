"""Choosing quiz options as a learner does: by their text on the page, whatever
order and codes the page gives them (shooc/workbooks/quizorder.py)."""
from __future__ import annotations

import re
from html import unescape
from typing import Any

from shooc.workbooks.activities import Quiz, question_id
from shooc.workbooks.render import render_fields

_OPTION_RE = re.compile(r'<input type="(?:radio|checkbox)" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"[^>]*>'
                        r"\s*(?P<label>.*?)</label>", re.S)


def page_options(html: str, activity_id: str) -> dict[str, list[tuple[str, str]]]:
    """(value, label HTML) of each option on the page, in the page's order, by question id."""
    found: dict[str, list[tuple[str, str]]] = {}
    prefix = f"a.{activity_id}."
    for match in _OPTION_RE.finditer(html):
        if match.group("name").startswith(prefix):
            found.setdefault(match.group("name")[len(prefix):], []).append(
                (unescape(match.group("value")), match.group("label").strip()))
    return found


def option_texts(definition: dict[str, Any]) -> dict[str, list[str]]:
    """Each question's options as rendered (what the page's labels hold), in source order."""
    rendered = render_fields(Quiz().markdown_fields(definition))
    return {question_id(q, i): [rendered[f"{question_id(q, i)}.{j}.text"] for j in range(len(q["options"]))]
            for i, q in enumerate(definition["questions"])}


def choose(html: str, activity_id: str, definition: dict[str, Any], right: bool = True) -> dict[str, list[str]]:
    """The form fields that choose the right options of every question (or one wrong
    option each), found by their text on ``html``."""
    on_page = page_options(html, activity_id)
    texts = option_texts(definition)
    fields = {}
    for i, question in enumerate(definition["questions"]):
        qid = question_id(question, i)
        value_of = {label: value for value, label in on_page[qid]}
        wanted = [j for j, o in enumerate(question["options"]) if bool(o.get("correct")) == right]
        fields[f"a.{activity_id}.{qid}"] = [value_of[texts[qid][j]] for j in (wanted if right else wanted[:1])]
    return fields


def codes(html: str, activity_id: str, definition: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Each option's value on ``html`` by question id and source index (found by its text)."""
    on_page = page_options(html, activity_id)
    texts = option_texts(definition)
    return {qid: {texts[qid].index(label): value for value, label in options} for qid, options in on_page.items()}
