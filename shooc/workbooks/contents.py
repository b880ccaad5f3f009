"""A workbook's contents list: its sections (the Markdown's level-2 headings) and,
under each, the activities placed in it (no Flask here).

Read from the HTML rendered at publish time (``body_parts``), whose headings carry
the ids Markdown's toc extension gave them (prefixed, shooc/workbooks/render.py), so
that the list's links reach them. Level-3 headings are left out: the list is for
finding one's place, and the shipped course's workbooks have a dozen sections each.
Activities before the first section go under the workbook's own title."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

_HEADING = re.compile(r'<h([12]) id="([^"]+)">(.*?)</h\1>', re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Section:
    anchor: str  # the id on the page
    title: str  # plain text
    activities: list[str] = field(default_factory=list)  # activity ids, in page order


def contents(body_parts: list[dict[str, Any]], title: str) -> list[Section]:
    """The sections of a workbook in page order, each with its activities' ids."""
    sections: list[Section] = []
    for part in body_parts:
        if "html" in part:
            for level, anchor, inner in _HEADING.findall(part["html"]):
                text = " ".join(unescape(_TAG.sub("", inner)).split())
                if level == "1":
                    if not sections:
                        sections.append(Section(anchor, text or title))
                    continue
                sections.append(Section(anchor, text))
        elif "activity" in part:
            if not sections:
                sections.append(Section("", title))  # no heading yet: the top of the workbook
            sections[-1].activities.append(part["activity"])
    return [s for s in sections if s.anchor or s.activities]
