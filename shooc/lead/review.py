"""The course team reviewing submitted work, over a session (no Flask here; the
caller commits): a run's review queue, feedback on a workbook and whether its
learner has read it, and a workbook handed back.

Decisions (issue 17):

- **Handing back** needs a reason (the learner reads it) and a learner who can submit
  again: not withdrawn, their close date not past (extend it first), the account not
  deleted. The submission is deleted, the learner's answers stay (they are the
  ``responses``: the workbook opens with them), its badge is revoked with the
  reason, and so is the certificate if there was one; what remains of the submission
  is a ``SubmissionReturn`` (shooc/enrolment/models.py). Submitting again issues a
  new badge, and a new certificate once every workbook is in again.
- **Feedback is unread** from when it is written or changed until the learner next
  opens the workbook's page; the dashboard marks those workbooks.
- **The queue** is a run's submissions newest first, filtered by workbook and by
  "no feedback yet", a page at a time.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shooc.audit import audit
from shooc.auth.models import User
from shooc.badges.models import BadgeAssertion
from shooc.badges.services import revoke_with_certificate
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment.answers import find_submission
from shooc.enrolment.models import Enrolment, Run, Submission, SubmissionReturn
from shooc.enrolment.services import course_workbook_slugs
from shooc.evaluate import counters
from shooc.lead.models import WorkbookFeedback
from shooc.lead.services import LeadError
from shooc.workbooks import current

PAGE_SIZE = 20  # each with its two forms: 50 made the page 130 KB and twice the moderation queue's time
LONGEST_FEEDBACK = 20_000
LONGEST_REASON = 2_000  # as the form (shooc/lead/forms.py ReasonForm)


# Feedback ------------------------------------------------------------------------

def feedback_for(session: Session, enrolment: Enrolment) -> dict[str, WorkbookFeedback]:
    return {f.workbook_slug: f for f in session.scalars(
        select(WorkbookFeedback).where(WorkbookFeedback.enrolment_id == enrolment.id))}


def give_feedback(session: Session, actor: User, enrolment: Enrolment, workbook_slug: str, text: str) -> None:
    """Write, change or (with no text) remove the feedback on a learner's workbook."""
    text = text.strip()
    course = enrolment.run.course
    if workbook_slug not in current.workbook_slugs(session, course):
        raise LeadError("the course has no such workbook")
    title = current.workbook_title(session, course, workbook_slug)
    existing = session.scalar(select(WorkbookFeedback).where(
        WorkbookFeedback.enrolment_id == enrolment.id, WorkbookFeedback.workbook_slug == workbook_slug))
    if not text:
        if existing is not None:
            session.delete(existing)
            audit(session, actor, "feedback.remove", f"Removed the feedback on {title}", enrolment=enrolment,
                  workbook=workbook_slug)
        session.flush()
        return
    if len(text) > LONGEST_FEEDBACK:
        raise LeadError(f"feedback is limited to {LONGEST_FEEDBACK:,} characters")
    if existing is None:
        session.add(WorkbookFeedback(enrolment_id=enrolment.id, workbook_slug=workbook_slug, text=text,
                                     author_id=actor.id, author_name=actor.name))
    elif existing.text != text:
        existing.text, existing.author_id, existing.author_name, existing.read_at = text, actor.id, actor.name, None
    else:
        return  # saved again unchanged: nobody is told twice
    notify(session, [enrolment.user_id], Event(
        "feedback", f"The course team gave you feedback on {title}",
        f"/courses/{course.slug}/workbooks/{workbook_slug}#feedback-heading", text[:160]), actor_id=actor.id)
    audit(session, actor, "feedback.give", f"Feedback on {title}", enrolment=enrolment, workbook=workbook_slug)
    session.flush()


def feedback_seen(session: Session, enrolment: Enrolment, workbook_slug: str) -> None:
    """The learner opened the workbook: its feedback is read (one UPDATE, usually of nothing)."""
    session.execute(update(WorkbookFeedback).where(
        WorkbookFeedback.enrolment_id == enrolment.id, WorkbookFeedback.workbook_slug == workbook_slug,
        WorkbookFeedback.read_at.is_(None)).values(
            read_at=utcnow(),
            # reading is not a change of the feedback: its date (shown under it) stays
            updated_at=WorkbookFeedback.updated_at))


# Handing back --------------------------------------------------------------------

def return_workbook(session: Session, actor: User | None, enrolment: Enrolment, workbook_slug: str,
                    reason: str) -> SubmissionReturn:
    """Hand a submitted workbook back to its learner (``actor`` None: the command line)."""
    reason = reason.strip()
    if not reason:
        raise LeadError("give a reason: the learner reads it, and it is kept in the audit log")
    if len(reason) > LONGEST_REASON:
        raise LeadError(f"a reason is limited to {LONGEST_REASON:,} characters")
    run = enrolment.run
    title = current.workbook_title(session, run.course, workbook_slug)
    # The enrolment's row lock first, as a submission takes it: a hand-back and a
    # submission of the same learner never interleave.
    session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())
    submission = find_submission(session, enrolment, workbook_slug)
    if submission is None:
        raise LeadError(f"{title} is not submitted: there is nothing to hand back")
    if enrolment.user_id is None:
        raise LeadError("the learner deleted their account: nobody could submit it again")
    if enrolment.withdrawn_at is not None:
        raise LeadError("the learner withdrew from the run: they could not submit it again "
                        "(revoke its badge on the badge's page instead)")
    if run.today() > enrolment.close_date:
        raise LeadError(f"the learner's close date ({enrolment.close_date:%-d %B %Y}) has passed: extend it first, "
                        "so that they can submit the workbook again")
    slugs = course_workbook_slugs(session, run)
    done = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.enrolment_id == enrolment.id, Submission.workbook_slug.in_(slugs))) or 0
    had_finished = bool(slugs) and workbook_slug in slugs and done == len(slugs)
    assertion = session.scalar(select(BadgeAssertion).where(BadgeAssertion.submission_id == submission.id))
    certificate = revoke_with_certificate(session, assertion, f"The workbook was handed back: {reason}") \
        if assertion is not None else None
    returned = SubmissionReturn(enrolment_id=enrolment.id, workbook_slug=workbook_slug,
                                submitted_at=submission.submitted_at, reason=reason,
                                returned_by_id=actor.id if actor else None,
                                returned_by_name=actor.name if actor else "the course team")
    session.add(returned)
    counters.submission_returned(session, enrolment, workbook_slug,
                                 counters.local_day(run, submission.submitted_at), had_finished)
    enrolment.submitted_count = Enrolment.submitted_count - 1  # in SQL, as submitting adds it
    session.delete(submission)
    session.flush()
    notify(session, [enrolment.user_id], Event(
        "returned", f"The course team handed back {title}: change your answers and submit it again",
        f"/courses/{run.course.slug}/workbooks/{workbook_slug}", reason))
    taken = [w for w, held in (("its badge", assertion), ("the certificate", certificate)) if held is not None]
    audit(session, actor, "submission.return", f"Handed back {title}"
          + (f" (revoked {' and '.join(taken)})" if taken else ""), enrolment=enrolment, reason=reason,
          workbook=workbook_slug, submitted_at=submission.submitted_at.isoformat())
    return returned


# The review queue ----------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    submission_id: int
    enrolment_id: int
    name: str | None  # None: the account was deleted
    email: str | None
    workbook_slug: str
    submitted_at: dt.datetime
    feedback: WorkbookFeedback | None  # None: nobody has written feedback on it yet


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int | None  # None: not counted (those without feedback: see review_queue)
    page: int
    more: bool  # a page after this one


def review_queue(session: Session, run: Run, workbook_slug: str = "", without_feedback: bool = False,
                 page: int = 1, page_size: int = PAGE_SIZE) -> QueuePage:
    """A run's submissions, newest first (filtered by workbook, and to those without feedback).

    At any size of run a page walks an index of ``submissions`` backwards (the run's,
    or the run's workbook's) and the total counts that index's entries. Those without
    feedback are not counted: that would look up every submission's feedback (bench:
    75 ms at 33,000 participants, more than the rest of the page), so their pages
    only say whether another follows."""
    feedback_joined = (WorkbookFeedback.enrolment_id == Submission.enrolment_id) & (
        WorkbookFeedback.workbook_slug == Submission.workbook_slug)
    conditions = [Submission.run_id == run.id]
    if workbook_slug:
        conditions.append(Submission.workbook_slug == workbook_slug)
    total = None
    page = max(1, page)
    if without_feedback:
        conditions.append(~select(WorkbookFeedback.id).where(feedback_joined).correlate(Submission).exists())
    else:
        total = session.scalar(select(func.count()).select_from(Submission).where(*conditions)) or 0
        page = min(page, max(1, -(-total // page_size)))
    # The page's submissions first (the index walk, no join for the rows skipped), then
    # their people and feedback.
    page_ids = list(session.scalars(select(Submission.id).where(*conditions).order_by(
        Submission.submitted_at.desc(), Submission.id.desc()).limit(page_size + 1).offset((page - 1) * page_size)))
    more, page_ids = len(page_ids) > page_size, page_ids[:page_size]
    found = {r[0]: r for r in session.execute(
        select(Submission.id, Submission.enrolment_id, User.name, User.email, Submission.workbook_slug,
               Submission.submitted_at, WorkbookFeedback)
        .select_from(Submission).join(Enrolment, Submission.enrolment_id == Enrolment.id)
        .outerjoin(User, Enrolment.user_id == User.id).outerjoin(WorkbookFeedback, feedback_joined)
        .where(Submission.id.in_(page_ids)))} if page_ids else {}
    return QueuePage([QueueRow(*found[i]) for i in page_ids], total, page, more)
