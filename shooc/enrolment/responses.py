"""A learner's answer to one activity, saved (no Flask here): the one writer of
``responses``, shared by the workbook page (shooc/enrolment/answers.py) and the
carrying over of a returning learner's drafts (shooc/enrolment/services.py), which
answers imports: here, so that neither imports the other back."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Response
from shooc.evaluate import counters


def save_answer(session: Session, enrolment: Enrolment, workbook_slug: str, activity_id: str,
                answer: dict[str, Any], workbook_version_id: int | None = None) -> Response:
    """Store a learner's answer to one activity, keyed by workbook slug and activity id."""
    where = (Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug,
             Response.activity_id == activity_id)
    today = enrolment.run.today()
    if enrolment.started_on is None:
        # Conditional, so that of two requests that both saw no start, one counts it.
        if session.execute(update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.started_on.is_(None))
                           .values(started_on=today).returning(Enrolment.id)).first() is not None:
            counters.started(session, enrolment, today)
        set_committed_value(enrolment, "started_on", session.scalar(
            select(Enrolment.started_on).where(Enrolment.id == enrolment.id)))
    response = session.scalar(select(Response).where(*where))
    if response is None:
        counters.workbook_started(session, enrolment, workbook_slug, today)
        response = Response(enrolment_id=enrolment.id, workbook_slug=workbook_slug, activity_id=activity_id,
                            answer=answer, workbook_version_id=workbook_version_id)
        try:
            with session.begin_nested():
                session.add(response)
            return response
        except IntegrityError:  # the same draft saved from another tab at the same moment
            response = session.scalars(select(Response).where(*where)).one()
    response.answer = answer
    response.workbook_version_id = workbook_version_id
    response.revision = Response.revision + 1  # in SQL: right under concurrency too
    response.updated_at = utcnow()
    session.flush()
    session.refresh(response, ["revision"])
    return response
