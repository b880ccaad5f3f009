"""Word-level changes of a workbook's text (shooc/workbooks/textdiff.py)."""
from __future__ import annotations

from shooc.workbooks.textdiff import PARAGRAPH, hunks, words


def test_words_are_what_learners_read_with_paragraphs_activities_and_images() -> None:
    assert words("T", "S", [{"html": "<p>A <em>b</em> &amp; c.</p><ul><li>d</li></ul>"}, {"activity": "x"},
                            {"html": '<p><img alt="A dot" src="/a.png"></p>'}]) == [
        "T", PARAGRAPH, "S", PARAGRAPH, "A", "b", "&", "c.", PARAGRAPH, "d", PARAGRAPH, "[activity x]", PARAGRAPH,
        "[image: A dot]", PARAGRAPH]


def test_a_change_keeps_a_little_context_and_far_changes_are_hunks_of_their_own() -> None:
    old = [f"w{n}" for n in range(100)]
    new = old[:10] + ["NEW"] + old[11:90] + old[91:]
    found = hunks(old, new, context=3)
    assert found == [[("same", "w7 w8 w9"), ("removed", "w10"), ("added", "NEW"), ("same", "w11 w12 w13")],
                     [("same", "w87 w88 w89"), ("removed", "w90"), ("same", "w91 w92 w93")]]
    assert hunks(old, old) == []


def test_a_change_at_the_very_start_or_end_has_context_on_one_side() -> None:
    assert hunks(["a", "b", "c"], ["z", "b", "c"], context=1) == [[("removed", "a"), ("added", "z"), ("same", "b")]]
    assert hunks(["a", "b", "c"], ["a", "b"], context=1) == [[("same", "b"), ("removed", "c")]]
