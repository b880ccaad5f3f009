"""Word-level changes between two versions of a workbook's text, for the publish
review (issue 17): a leader sees the words that changed, not only "its text or
settings changed".

Decisions: the texts compared are what learners read (the rendered workbook, tags
taken out, its title and summary first), so a change of Markdown that changes
nothing on the page shows nothing; each activity stands as one word, ``[activity
<id>]`` (the activities' own changes are listed apart); paragraphs are kept as "¶".
Unchanged stretches longer than twice ``CONTEXT`` words are cut to ``CONTEXT`` words
either side of a change, so a hunk is a change with its surroundings. difflib (the
standard library's, the algorithm of ``diff``) finds the changes.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any, Literal

CONTEXT = 8
PARAGRAPH = "¶"
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "pre", "figcaption", "dt", "dd"}

Segment = tuple[Literal["same", "added", "removed"], str]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            alt = dict(attrs).get("alt")
            self.words.append(f"[image: {alt}]" if alt else "[image]")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS and self.words and self.words[-1] != PARAGRAPH:
            self.words.append(PARAGRAPH)

    def handle_data(self, data: str) -> None:
        self.words.extend(data.split())


def words(title: str, summary: str, parts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The words learners read in a workbook: its title, summary and body."""
    text = _Text()
    text.words += [*title.split(), PARAGRAPH, *summary.split(), PARAGRAPH]
    for part in parts:
        if "activity" in part:
            text.words += [f"[activity {part['activity']}]", PARAGRAPH]
        else:
            text.feed(part.get("html", ""))
            text.close()
    return [w for i, w in enumerate(text.words) if not (w == PARAGRAPH and i and text.words[i - 1] == PARAGRAPH)]


def hunks(old: list[str], new: list[str], context: int = CONTEXT) -> list[list[Segment]]:
    """The changes from ``old`` to ``new`` as hunks of segments: unchanged words
    around them (at most ``context`` each side), the removed words, the added ones."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    found: list[list[Segment]] = []
    current: list[Segment] = []
    opcodes = matcher.get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            same = old[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            if not first and not last and len(same) <= 2 * context:
                current.append(("same", " ".join(same)))
                continue
            if not first and current:  # the end of the hunk before
                current.append(("same", " ".join(same[:context])))
                found.append(current)
                current = []
            if not last:
                current.append(("same", " ".join(same[-context:])))
            continue
        if i2 > i1:
            current.append(("removed", " ".join(old[i1:i2])))
        if j2 > j1:
            current.append(("added", " ".join(new[j1:j2])))
    if current:
        found.append(current)
    return [[(kind, text) for kind, text in hunk if text] for hunk in found]
