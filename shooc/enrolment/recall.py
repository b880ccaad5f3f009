"""An earlier answer shown in a later activity (``recall: <workbook>/<activity>`` in
an activity's definition; the loader checks that it names an activity of the course):
the learner's own answer, read-only, above the prompt, or a link to where they give
it (no Flask here)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shooc.enrolment.models import Enrolment, Response
from shooc.workbooks.models import ActivityVersion, WorkbookVersion


@dataclass(frozen=True)
class Recalled:
    activity: ActivityVersion  # the earlier activity, as published now
    workbook_slug: str
    workbook_position: int
    workbook_title: str
    answer: dict[str, Any] | None  # the learner's, or None if they have not given it

    @property
    def answered(self) -> bool:
        if not self.answer:
            return False
        if self.activity.kind in ("reflection", "discussion"):
            return bool((self.answer.get("text") or "").strip())
        if self.activity.kind == "self-assessment":
            return bool(self.answer.get("ratings"))
        return any(str(value).strip() for value in self.answer.values() if isinstance(value, str))


def recalled(session: Session, enrolment: Enrolment | None, workbook: WorkbookVersion) -> dict[str, Recalled]:
    """For each activity of ``workbook`` that recalls another: that activity and the
    learner's answer to it (two queries, whatever the number). A leader's preview
    (no enrolment) gets the activities without answers."""
    wanted: dict[str, tuple[str, str]] = {}
    for activity in workbook.activities:
        target = activity.definition.get("recall")
        if isinstance(target, str) and "/" in target:
            slug, _, activity_id = target.partition("/")
            wanted[activity.activity_id] = (slug, activity_id)
    if not wanted:
        return {}
    pairs = set(wanted.values())
    found = {(w.slug, a.activity_id): (w, a) for w, a in session.execute(
        select(WorkbookVersion, ActivityVersion).join(ActivityVersion.workbook_version)
        .where(WorkbookVersion.course_version_id == workbook.course_version_id,
               tuple_(WorkbookVersion.slug, ActivityVersion.activity_id).in_(list(pairs))))}
    answers: dict[tuple[str, str], dict[str, Any]] = {}
    if enrolment is not None:
        answers = {(r.workbook_slug, r.activity_id): r.answer for r in session.scalars(
            select(Response).where(Response.enrolment_id == enrolment.id,
                                   tuple_(Response.workbook_slug, Response.activity_id).in_(list(pairs))))}
    out = {}
    for activity_id, key in wanted.items():
        if key in found:  # a version published before the loader checked recalls may name nothing
            earlier_workbook, earlier = found[key]
            out[activity_id] = Recalled(earlier, earlier_workbook.slug, earlier_workbook.position,
                                        earlier_workbook.title, answers.get(key))
    return out
