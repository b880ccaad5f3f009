"""A learner's portfolio: their own answers, the course team's feedback, their badges
and certificate, gathered for one enrolment (no Flask here); rendered to PDF by
``shooc.badges.portfolio_pdf``.

Decisions (issue 18):
- **Whose**: the enrolment's own learner only (the view answers 404 to anyone else,
  as for every enrolment page). The course team reads the same work on the
  participant's page; a portfolio is evidence the learner carries away.
- **What**: every workbook of the course's current version, in order, with every
  activity the learner answered, read the way a person reads it, not as stored:
  reflections and discussion notes as paragraphs, a quiz as its result (score, pass
  mark, attempts) and each question with the learner's choice, a self-assessment as
  each statement's rating with its label and the whole scale, a SMART goal's five
  parts and date, a peer discussion as the learner's post, a recording as watched or
  not. Answers come from the learner's saved answers (``responses``), which are the
  submitted ones once a workbook is submitted and stay after a hand-back.
- **Not** included: others' posts, anything the learner has not written or earned.
- **How my confidence changed** (issue 19): their own ratings against the course's
  standards before and after the course (shooc/enrolment/self_assessment.py), per
  standard, when they gave either.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.badges.models import BadgeAssertion, Certificate
from shooc.badges.services import format_code, issuing_institution, latest_certificate
from shooc.community.models import Post
from shooc.enrolment import self_assessment as self_assessments
from shooc.enrolment.models import Enrolment, Response, Submission, SubmissionReturn
from shooc.lead.models import WorkbookFeedback
from shooc.urls import SiteUrls
from shooc.workbooks import current
from shooc.workbooks.activities import DEFAULT_SCALE, SmartGoal, pass_mark, question_id
from shooc.workbooks.models import ActivityVersion

DEFAULT_BRAND_COLOUR = "#1f5f8b"  # the site's accent (shooc.css --accent) until SHOOC_BRAND_COLOUR is set


@dataclass(frozen=True)
class Answer:
    """One activity as the portfolio prints it: a title, its kind in words, and
    lines: ("text", paragraph), ("field", label, value) or ("note", text)."""

    title: str
    kind: str
    lines: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class BadgeLine:
    name: str
    issued_on: dt.date
    url: str
    revoked: bool


@dataclass(frozen=True)
class WorkbookPart:
    position: int
    title: str
    status: str  # "submitted on 3 May 2026", "in progress", "not started", "handed back ..."
    answers: tuple[Answer, ...]
    feedback: str | None
    feedback_by: str | None
    badge: BadgeLine | None


@dataclass(frozen=True)
class ConfidenceLine:
    """One standard's rating before and after, in words ("3 Fairly confident"), or None."""

    standard: str
    before: str | None
    after: str | None
    change: int | None


@dataclass(frozen=True)
class Portfolio:
    holder: str
    course_title: str
    run_name: str
    institution: str
    brand_colour: str
    made_on: dt.date
    workbooks: tuple[WorkbookPart, ...]
    certificate_code: str | None = None
    certificate_url: str | None = None
    certificate_revoked: bool = False
    badges: tuple[BadgeLine, ...] = field(default=())
    confidence: tuple[ConfidenceLine, ...] = field(default=())


def _date(value: dt.datetime | dt.date) -> str:
    return f"{value:%-d %B %Y}"


def portfolio(session: Session, enrolment: Enrolment, urls: SiteUrls, config: Any,
              today: dt.date | None = None) -> Portfolio:
    """Everything the portfolio prints for ``enrolment``. ``config`` is a mapping of
    the settings (the app's config), for the institution's name and brand colour."""
    run = enrolment.run
    course = run.course
    meta = current.meta(session, course)
    institution = issuing_institution(config.get("SHOOC_INSTITUTION_NAME"), meta)
    responses: dict[tuple[str, str], dict[str, Any]] = {
        (r.workbook_slug, r.activity_id): r.answer
        for r in session.scalars(select(Response).where(Response.enrolment_id == enrolment.id))}
    submissions = {s.workbook_slug: s for s in session.scalars(
        select(Submission).where(Submission.enrolment_id == enrolment.id))}
    returns = {r.workbook_slug: r for r in session.scalars(
        select(SubmissionReturn).where(SubmissionReturn.enrolment_id == enrolment.id)
        .order_by(SubmissionReturn.returned_at))}
    feedback = {f.workbook_slug: f for f in session.scalars(
        select(WorkbookFeedback).where(WorkbookFeedback.enrolment_id == enrolment.id))}
    assertions = session.scalars(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id)
                                 .order_by(BadgeAssertion.issued_on)).all()
    posts = {p.id: p for p in session.scalars(select(Post).where(
        Post.run_id == run.id, Post.author_id == enrolment.user_id, Post.deleted_at.is_(None)))}

    parts = []
    badge_lines = []
    for workbook in current.workbooks(session, course, with_activities=True):
        badge = None
        # the valid badge, else the last one (revoked)
        mine = [a for a in assertions if a.workbook_slug == workbook.slug]
        chosen = next((a for a in reversed(mine) if not a.revoked), mine[-1] if mine else None)
        if chosen is not None:
            badge = BadgeLine(workbook.badge["name"], chosen.issued_on.date(), urls.assertion(chosen.id),
                              chosen.revoked)
            badge_lines.append(badge)
        submission = submissions.get(workbook.slug)
        handed_back = returns.get(workbook.slug)
        answers = tuple(a for a in (_answer(activity, responses.get((workbook.slug, activity.activity_id)), posts)
                                    for activity in workbook.activities) if a is not None)
        if submission is not None:
            status = f"Submitted on {_date(submission.submitted_at)}"
        elif handed_back is not None:
            status = f"Handed back on {_date(handed_back.returned_at)}: {handed_back.reason}"
        else:
            status = "In progress" if answers else "Not started"
        note = feedback.get(workbook.slug)
        parts.append(WorkbookPart(workbook.position, workbook.title, status, answers,
                                  note.text if note else None, note.author_name if note else None, badge))
    confidence = _confidence(session, enrolment, meta)
    certificate: Certificate | None = latest_certificate(session, enrolment.id)
    user = enrolment.user
    return Portfolio(
        holder=user.name if user else "", course_title=current.title(session, course) or course.slug,
        run_name=run.name, institution=institution,
        brand_colour=config.get("SHOOC_BRAND_COLOUR") or DEFAULT_BRAND_COLOUR,
        made_on=today or run.today(), workbooks=tuple(parts),
        certificate_code=format_code(certificate.code) if certificate else None,
        certificate_url=urls.certificate(certificate.code) if certificate else None,
        certificate_revoked=bool(certificate and certificate.revoked), badges=tuple(badge_lines),
        confidence=confidence)


def _confidence(session: Session, enrolment: Enrolment, meta: dict[str, Any]) -> tuple[ConfidenceLine, ...]:
    """The learner's self-assessment before and after, per standard (none if neither given)."""
    state = self_assessments.state_of(session, enrolment.id)
    if not state.ratings:
        return ()

    def words(rating: int | None) -> str | None:
        return f"{rating} of 5: {self_assessments.SCALE[rating - 1]}" if rating else None

    return tuple(ConfidenceLine(f"{row['standard'].code} {row['standard'].name}", words(row["before"]),
                                words(row["after"]), row["change"])
                 for row in state.change(self_assessments.standards(meta)))


def _title(activity: ActivityVersion) -> str:
    return activity.title or activity.activity_id.replace("-", " ").capitalize()


def _paragraphs(text: str) -> list[tuple[str, ...]]:
    return [("text", block.strip()) for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]


def _answer(activity: ActivityVersion, answer: dict[str, Any] | None, posts: dict[int, Post]) -> Answer | None:
    """How one answered activity reads; None if the learner has not answered it."""
    if not answer:
        return None
    definition = activity.definition
    kind = activity.kind
    lines: list[tuple[str, ...]] = []
    if kind in ("reflection", "discussion"):
        if not (answer.get("text") or "").strip():
            return None
        lines = _paragraphs(answer["text"])
        label = "Reflection" if kind == "reflection" else "Notes of a discussion"
    elif kind == "quiz":
        if not answer.get("attempts"):
            return None
        label = "Quiz"
        last = answer.get("last_attempt") or {}
        attempts = int(answer.get("attempts") or 0)
        lines.append(("field", "Result", f"{'Passed' if answer.get('passed') else 'Not passed yet'}: "
                      f"{last.get('score', 0)} of {last.get('total', 0)} right on the last attempt "
                      f"(pass mark {pass_mark(definition)}%; {attempts} attempt{'s' if attempts != 1 else ''})"))
        choices, correct = last.get("choices") or {}, last.get("correct") or {}
        for i, question in enumerate(definition.get("questions") or []):
            qid = question_id(question, i)
            options = question.get("options") or []
            picked = [options[j]["text"] for j in choices.get(qid, []) if isinstance(j, int) and j < len(options)]
            mark = "right" if correct.get(qid) else "not right"
            lines.append(("field", f"{i + 1}. {question.get('text', '')}",
                          f"{'; '.join(picked) or '(no answer)'} ({mark})"))
    elif kind == "self-assessment":
        ratings = answer.get("ratings") or {}
        if not ratings:
            return None
        label = "Self-assessment"
        scale = definition.get("scale") or DEFAULT_SCALE
        lines.append(("note", "Scale: " + ", ".join(f"{n} {name}" for n, name in enumerate(scale, 1))))
        for item in definition.get("statements") or []:
            value = ratings.get(item["id"])
            shown = f"{value} of 5: {scale[value - 1]}" if isinstance(value, int) and 1 <= value <= 5 else "not rated"
            standard = f" ({item['standard']})" if item.get("standard") else ""
            lines.append(("field", item["text"] + standard, shown))
    elif kind == "smart-goal":
        if not any((answer.get(key) or "").strip() for key in (*SmartGoal.FIELDS, "target_date")):
            return None
        label = "SMART goal"
        for key, name in SmartGoal.FIELDS.items():
            lines.append(("field", name, answer.get(key) or "(not written)"))
        target = answer.get("target_date") or ""
        try:
            target = _date(dt.date.fromisoformat(target))
        except ValueError:
            target = target or "(none)"
        lines.append(("field", "Target date", target))
    elif kind == "peer-discussion":
        if not answer.get("posted"):
            return None
        label = "Discussion with the run's participants"
        post_id = answer.get("post_id")
        post = posts.get(post_id) if isinstance(post_id, int) else None
        if post is not None and post.body.strip():
            lines.append(("note", f"Posted on {_date(post.created_at)}"))
            lines.extend(_paragraphs(post.body))
        else:
            lines.append(("note", "Posted to the workbook's discussion (the post is no longer there)."))
    elif kind == "media":
        if not answer.get("watched"):
            return None
        label = "Recording"
        lines.append(("field", "Watched or read the transcript", "Yes"))
        if definition.get("url"):
            lines.append(("field", "Address", definition["url"]))
    else:
        return None
    return Answer(_title(activity), label, tuple(lines))
