"""A run's discussions: posting, replying, helpful marks, follows, reports and the
course team's moderation (no Flask here; the caller commits).

Decisions (issue 16), for course teams:

- **Who.** A discussion belongs to a run: each workbook has one, and the run has one
  more for introductions (course-wide: about no workbook; still the run's, because
  posts are seen only by the people enrolled in that run and the course team).
  Evaluators see figures, never posts. A learner who withdrew, or whose close date
  has passed, reads and cannot write (like the rest of their work); a muted
  participant reads and cannot write.
- **Threads are one level deep**, as on FutureLearn: a post starts a thread, and a
  reply answers its first post (a reply to a reply joins the same thread). Replies
  show oldest first; threads newest or most helpful first, pinned ones on top, in
  pages of ``PAGE_SIZE``.
- **Bounds.** A post is at most ``MAX_POST`` characters; a person posts at most
  ``PER_MINUTE`` times a minute and ``PER_DAY`` a day in all (counted in the database,
  so on every server alike). A refusal says why, and the page keeps the text.
- **Editing** one's own post is possible for ``EDIT_MINUTES`` after posting; the post
  is then marked "edited". **Deleting** one's own post empties its text (its replies
  stay, under "This post was deleted"); so does deleting the account.
- **Names** are shown as the person chose on their account: their name, or their
  first name and the initial of their last (``shown_name``). Posts by leaders and
  admins are marked "Course team".
- **Moderation.** Any participant may report a post, once, with a reason. Hiding a
  post (a soft delete: participants see "hidden by the course team"), restoring it,
  locking and unlocking a thread, pinning and unpinning, muting and unmuting a
  participant each take a reason and are audited. Hiding or restoring a post
  resolves its reports.
- **Counts** kept on the post (helpful marks, replies shown, open reports), so that
  a page of threads costs the same few queries at 20,000 posts as at 20.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, aliased, contains_eager

from shooc.audit import audit
from shooc.auth.models import Role, User
from shooc.community import notifications
from shooc.community.models import Follow, Helpful, Mute, Notification, Post, Report
from shooc.course_team import leads_course, leads_every_course
from shooc.db import utcnow
from shooc.enrolment import answers
from shooc.enrolment.models import Enrolment, Response, Run
from shooc.evaluate import counters
from shooc.workbooks import current
from shooc.workbooks.render import render_participant_text

MAX_POST = 5_000
MAX_REASON = 1_000
PER_MINUTE = 5
PER_DAY = 100
EDIT_MINUTES = 30
PAGE_SIZE = 20
REPLY_PAGE_SIZE = 50
REPLIES_SHOWN = 3  # under each thread on a discussion's page: its latest replies
SORTS = ("newest", "helpful")


class CommunityError(ValueError):
    """What a participant or the course team is told when an action is refused."""


class NotFound(LookupError):
    """No such post, or not one this person may see (both look alike to them)."""


# Who may read and write -------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """A person in a run's discussions: a participant (``enrolment``) or the course team."""

    user: User
    run: Run
    enrolment: Enrolment | None
    muted: bool = False

    @property
    def course_team(self) -> bool:
        return self.enrolment is None  # member() gives no enrolment only to the course's team

    @property
    def read_only_reason(self) -> str:
        """Why this person cannot post here now ("" if they can)."""
        if self.course_team:
            return ""
        enrolment = self.enrolment
        assert enrolment is not None
        if self.muted:
            return "The course team has muted you in this run: you can read its discussions but not post."
        if enrolment.withdrawn_at is not None:
            return "You have withdrawn from this run: its discussions can be read but not added to."
        if self.run.today() > enrolment.close_date:
            return (f"Your time on this run ended on {enrolment.close_date:%-d %B %Y}: its discussions can "
                    "still be read.")
        return ""

    @property
    def can_post(self) -> bool:
        return not self.read_only_reason


def member(session: Session, user: User, run: Run) -> Member | None:
    """The person as a member of ``run``'s discussions, or None if they may not see them."""
    if leads_every_course(user):
        return Member(user, run, None)
    if user.role is not Role.learner:
        return None  # evaluators see figures, never posts
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.run_id == run.id))
    if enrolment is None:
        # Not a participant: the course's own leaders (LTI instructors) are its team.
        return Member(user, run, None) if leads_course(session, user, run.course_id) else None
    muted = session.get(Mute, (run.id, user.id)) is not None
    return Member(user, run, enrolment, muted)


#: A learner's latest enrolment in a course, its run and whether they are muted in it:
#: built once (course_member reads it on every page of the discussions).
_PARTICIPANT_IN_COURSE = (
    select(Enrolment, Mute.user_id).join(Enrolment.run)
    .outerjoin(Mute, (Mute.run_id == Enrolment.run_id) & (Mute.user_id == Enrolment.user_id))
    .where(Enrolment.user_id == bindparam("user_id"), Run.course_id == bindparam("course_id"))
    .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())
    .options(contains_eager(Enrolment.run)).limit(1))


def course_member(session: Session, user: User, course_id: int, run_slug: str | None = None) -> Member | None:
    """The person as a member of the discussions of a course's run, or None if they
    may not see them: a participant in the run they joined last (in one statement,
    with whether they are muted); the course team in the run ``run_slug`` (default:
    the latest). NotFound: no such run (the course team's choice)."""
    if not leads_every_course(user):
        if user.role is not Role.learner:
            return None  # evaluators see figures, never posts
        found = session.execute(_PARTICIPANT_IN_COURSE, {"user_id": user.id, "course_id": course_id}).first()
        if found is not None:
            enrolment, muted = found
            return Member(user, enrolment.run, enrolment, muted is not None)
        if not leads_course(session, user, course_id):
            return None  # the course's own leaders (LTI instructors) are its team
    query = select(Run).where(Run.course_id == course_id)
    run = session.scalar(query.where(Run.slug == run_slug) if run_slug else
                         query.order_by(Run.opens_on.desc(), Run.id.desc()).limit(1))
    if run is None:
        raise NotFound("no such run")
    return Member(user, run, None)


def shown_name(user: User | None) -> str:
    """A person's name as they chose others see it; a deleted account's is gone."""
    if user is None:
        return "Deleted account"
    return _name_as_shown(user.name, user.name_shown)


def _name_as_shown(name: str, name_shown: str) -> str:
    """``shown_name`` from a user's two columns (the pages read them as a post's row)."""
    if name_shown == "short":
        parts = name.split()
        if len(parts) > 1:
            return f"{parts[0]} {parts[-1][0]}."
    return name


# Writing ----------------------------------------------------------------------------

def _check_text(body: str, limit: int = MAX_POST, what: str = "post") -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise CommunityError(f"Write something in your {what} first.")
    if len(body) > limit:
        raise CommunityError(f"Your {what} is {len(body):,} characters long: keep it to {limit:,}.")
    return body


def _check_rate(session: Session, user: User) -> None:
    now = utcnow()
    recent = session.execute(select(
        func.count().filter(Post.created_at > now - dt.timedelta(minutes=1)),
        func.count()).where(Post.author_id == user.id, Post.created_at > now - dt.timedelta(days=1))).one()
    if recent[0] >= PER_MINUTE:
        raise CommunityError(f"You have posted {PER_MINUTE} times in the last minute: wait a moment, then post "
                             "again (your text is kept below).")
    if recent[1] >= PER_DAY:
        raise CommunityError(f"You have posted {PER_DAY} times today, the most in one day: post again tomorrow "
                             "(your text is kept below).")


def _require_can_post(author: Member) -> None:
    reason = author.read_only_reason
    if reason:
        raise CommunityError(reason)


def thread_of(session: Session, post: Post) -> Post:
    return post if post.parent_id is None else session.get_one(Post, post.parent_id)


def write_post(session: Session, author: Member, workbook_slug: str | None, body: str,
               parent: Post | None = None, activity_id: str | None = None) -> Post:
    """A new thread in the discussion of ``workbook_slug`` (None: introductions), or a
    reply to ``parent``'s thread, whose followers are told. The author then follows
    the thread."""
    _require_can_post(author)
    body = _check_text(body)
    _check_rate(session, author.user)
    thread = None
    if parent is not None:
        thread = thread_of(session, parent)
        if thread.run_id != author.run.id or thread.workbook_slug != workbook_slug:
            raise NotFound("no such post in this discussion")
        if thread.deleted_at is not None or thread.hidden_at is not None:
            raise CommunityError("That post is no longer there to reply to.")
        if thread.locked_at is not None:
            raise CommunityError("The course team has locked this thread: it takes no more replies.")
    post = Post(run_id=author.run.id, workbook_slug=workbook_slug, parent_id=thread.id if thread else None,
                activity_id=None if thread else activity_id, author_id=author.user.id,
                by_course_team=author.course_team, body=body, body_html="", helpful_count=0, reply_count=0,
                open_reports=0)
    session.add(post)
    session.flush()
    post.body_html = render_participant_text(body, f"p{post.id}")
    if thread is not None:
        session.execute(update(Post).where(Post.id == thread.id).values(reply_count=Post.reply_count + 1))
    _posted(session, author, post)
    if post.activity_id and author.enrolment is not None:
        _answered(session, author.enrolment, workbook_slug, post)
    if thread is not None:
        notifications.notify(session, followers(session, thread), notifications.Event(
            "reply", f"{shown_name(author.user)} replied in a thread you follow", f"/discussion/posts/{thread.id}"
            f"#post-{post.id}", _excerpt(body)), actor_id=author.user.id)
    follow(session, author.user, thread or post)
    if author.enrolment is not None:
        author.enrolment.last_activity_at = utcnow()
    session.flush()
    return post


def _posted(session: Session, author: Member, post: Post) -> None:
    """The run's statistics count the post, and the author's first (shooc.evaluate.counters)."""
    counters.post_shown(session, post, 1)
    if author.enrolment is not None and not author.course_team:
        counters.posted(session, author.enrolment)


def _answered(session: Session, enrolment: Enrolment, workbook_slug: str | None, post: Post) -> None:
    """A post answering a peer-discussion prompt completes that activity of the
    learner's workbook, unless the workbook was submitted (its answers are kept as
    they were)."""
    assert workbook_slug is not None and post.activity_id is not None
    if answers.find_submission(session, enrolment, workbook_slug) is not None:
        return
    version = next((w for w in current.workbooks(session, enrolment.run.course) if w.slug == workbook_slug), None)
    answers.save_answer(session, enrolment, workbook_slug, post.activity_id, {"posted": True, "post_id": post.id},
                        version.id if version else None)


def _excerpt(body: str, length: int = 160) -> str:
    text = " ".join(body.split())
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def share_reflection(session: Session, author: Member, workbook_slug: str, activity_id: str) -> Post:
    """A learner's own reflection, from a workbook they submitted, shared as a thread of
    its discussion (opt-in, one answer at a time; deleting the post takes it back)."""
    _require_can_post(author)
    enrolment = author.enrolment
    if enrolment is None:
        raise CommunityError("Only participants share their reflections.")
    workbook = next((w for w in current.workbooks(session, author.run.course, with_activities=True)
                     if w.slug == workbook_slug), None)
    activity = next((a for a in workbook.activities if a.activity_id == activity_id), None) if workbook else None
    if activity is None or activity.kind != "reflection":
        raise NotFound("no such reflection in this workbook")
    if answers.find_submission(session, enrolment, workbook_slug) is None:
        raise CommunityError("Share a reflection once you have submitted its workbook.")
    response = answers.answers_for(session, enrolment, workbook_slug).get(activity_id)
    text = ((response.answer or {}).get("text") or "").strip() if response else ""
    if response is None or not text:
        raise CommunityError("There is nothing written in this reflection to share.")
    if session.scalar(select(Post.id).where(Post.shared_response_id == response.id, Post.deleted_at.is_(None))):
        raise CommunityError("You have shared this reflection already.")
    _check_rate(session, author.user)
    post = Post(run_id=author.run.id, workbook_slug=workbook_slug, parent_id=None, activity_id=None,
                shared_response_id=response.id, author_id=author.user.id, by_course_team=False,
                body=text, body_html="", helpful_count=0, reply_count=0, open_reports=0)
    session.add(post)
    session.flush()
    post.body_html = render_participant_text(text, f"p{post.id}")
    _posted(session, author, post)
    follow(session, author.user, post)
    session.flush()
    return post


def shared_reflections(session: Session, enrolment: Enrolment, workbook_slug: str) -> dict[str, int]:
    """activity id → the post sharing it, for a learner's workbook."""
    rows = session.execute(select(Response.activity_id, Post.id).join(Post, Post.shared_response_id == Response.id)
                           .where(Response.enrolment_id == enrolment.id, Response.workbook_slug == workbook_slug,
                                  Post.deleted_at.is_(None), Post.author_id == enrolment.user_id)).all()
    return {activity_id: post_id for activity_id, post_id in rows}


def _require_own(user: User, post: Post) -> None:
    if post.author_id != user.id:
        raise CommunityError("Only its author can change a post.")
    if post.deleted_at is not None:
        raise CommunityError("This post was deleted.")
    if post.hidden_at is not None:
        raise CommunityError("The course team has hidden this post.")


def can_edit(user: User, post: Post | PostRow, now: dt.datetime | None = None) -> bool:
    return (post.author_id == user.id and post.deleted_at is None and post.hidden_at is None
            and (now or utcnow()) - post.created_at <= dt.timedelta(minutes=EDIT_MINUTES))


def edit_post(session: Session, author: Member, post: Post, body: str) -> Post:
    _require_own(author.user, post)
    _require_can_post(author)
    if not can_edit(author.user, post):
        raise CommunityError(f"A post can be edited for {EDIT_MINUTES} minutes after it was posted.")
    post.body = _check_text(body)
    post.body_html = render_participant_text(post.body, f"p{post.id}")
    post.edited_at = utcnow()
    session.flush()
    return post


def delete_post(session: Session, author: Member, post: Post) -> None:
    """The author's own: its text goes, its place (and its replies) stay."""
    _require_own(author.user, post)
    _erase(session, post)
    session.flush()


def _forget_notifications(session: Session, post: Post) -> None:
    """A post hidden or deleted: the notifications of it go too (they quote it)."""
    session.execute(delete(Notification).where(Notification.path.endswith(f"#post-{post.id}")))


def _erase(session: Session, post: Post) -> None:
    if post.deleted_at is None and post.hidden_at is None:
        counters.post_shown(session, post, -1)
        if post.parent_id is not None:
            session.execute(update(Post).where(Post.id == post.parent_id).values(reply_count=Post.reply_count - 1))
    post.body, post.body_html, post.deleted_at = "", "", post.deleted_at or utcnow()
    post.shared_response_id = None  # a shared reflection, taken back: the answer itself stays the learner's
    _forget_notifications(session, post)


def erase_authors_posts(session: Session, user_id: int) -> int:
    """An account being deleted: every post of theirs loses its text (the threads keep
    their shape, shown as by a deleted account). Returns how many."""
    posts = session.scalars(select(Post).where(Post.author_id == user_id, Post.deleted_at.is_(None))).all()
    for post in posts:
        _erase(session, post)
    session.flush()
    return len(posts)


def toggle_helpful(session: Session, reader: Member, post: Post) -> bool:
    """Mark a post helpful, or take the mark back; returns whether it is marked now."""
    if post.author_id == reader.user.id:
        raise CommunityError("You cannot mark your own post helpful.")
    if post.deleted_at is not None or post.hidden_at is not None:
        raise CommunityError("That post is no longer there.")
    if session.get(Helpful, (post.id, reader.user.id)) is not None:
        session.execute(delete(Helpful).where(Helpful.post_id == post.id, Helpful.user_id == reader.user.id))
        session.execute(update(Post).where(Post.id == post.id).values(helpful_count=Post.helpful_count - 1))
        marked = False
    else:
        session.add(Helpful(post_id=post.id, user_id=reader.user.id))
        session.execute(update(Post).where(Post.id == post.id).values(helpful_count=Post.helpful_count + 1))
        marked = True
    session.flush()
    session.refresh(post, ["helpful_count"])
    return marked


def follow(session: Session, user: User, thread: Post) -> None:
    if session.get(Follow, (thread.id, user.id)) is None:
        session.add(Follow(post_id=thread.id, user_id=user.id))
        session.flush()


def unfollow(session: Session, user: User, thread: Post) -> None:
    session.execute(delete(Follow).where(Follow.post_id == thread.id, Follow.user_id == user.id))


def followers(session: Session, thread: Post) -> list[int]:
    return list(session.scalars(select(Follow.user_id).where(Follow.post_id == thread.id)))


def report_post(session: Session, reporter: Member, post: Post, reason: str) -> Report:
    reason = _check_text(reason, MAX_REASON, "reason")
    if post.author_id == reporter.user.id:
        raise CommunityError("You cannot report your own post: delete it instead.")
    if post.deleted_at is not None:
        raise CommunityError("That post was deleted.")
    already = session.scalar(select(Report).where(Report.post_id == post.id, Report.reporter_id == reporter.user.id,
                                                  Report.resolved_at.is_(None)))
    if already is not None:
        raise CommunityError("You have reported this post already; the course team will look at it.")
    report = Report(post_id=post.id, reporter_id=reporter.user.id, reason=reason)
    session.add(report)
    session.execute(update(Post).where(Post.id == post.id).values(open_reports=Post.open_reports + 1))
    session.flush()
    return report


# The course team ----------------------------------------------------------------------

def _reason(reason: str) -> str:
    return _check_text(reason, MAX_REASON, "reason")


def _resolve_reports(session: Session, actor: User, post: Post) -> None:
    session.execute(update(Report).where(Report.post_id == post.id, Report.resolved_at.is_(None))
                    .values(resolved_at=utcnow(), resolved_by_id=actor.id))
    post.open_reports = 0


def hide_post(session: Session, actor: User, post: Post, reason: str) -> None:
    reason = _reason(reason)
    if post.hidden_at is not None:
        raise CommunityError("This post is hidden already.")
    if post.deleted_at is None:
        counters.post_shown(session, post, -1)
        if post.parent_id is not None:
            session.execute(update(Post).where(Post.id == post.parent_id).values(reply_count=Post.reply_count - 1))
    post.hidden_at, post.hidden_by_id, post.hidden_reason = utcnow(), actor.id, reason
    _resolve_reports(session, actor, post)
    _forget_notifications(session, post)
    audit(session, actor, "post.hide", f"Hid post {post.id}: {reason}", run=_run(session, post), reason=reason,
          post=post.id)
    session.flush()


def restore_post(session: Session, actor: User, post: Post, reason: str) -> None:
    reason = _reason(reason)
    if post.hidden_at is None:
        raise CommunityError("This post is not hidden.")
    if post.deleted_at is None:
        counters.post_shown(session, post, 1)
        if post.parent_id is not None:
            session.execute(update(Post).where(Post.id == post.parent_id).values(reply_count=Post.reply_count + 1))
    post.hidden_at, post.hidden_by_id, post.hidden_reason = None, None, None
    _resolve_reports(session, actor, post)
    audit(session, actor, "post.restore", f"Restored post {post.id}: {reason}", run=_run(session, post),
          reason=reason, post=post.id)
    session.flush()


def set_locked(session: Session, actor: User, thread: Post, locked: bool, reason: str) -> None:
    reason = _reason(reason)
    thread = thread_of(session, thread)
    thread.locked_at = utcnow() if locked else None
    _audit_thread(session, actor, thread, "lock" if locked else "unlock", "ed", reason)


def set_pinned(session: Session, actor: User, thread: Post, pinned: bool, reason: str) -> None:
    reason = _reason(reason)
    if thread.parent_id is not None:
        raise CommunityError("Only a thread's first post can be pinned.")
    thread.pinned_at = utcnow() if pinned else None
    _audit_thread(session, actor, thread, "pin" if pinned else "unpin", "ned", reason)


def _audit_thread(session: Session, actor: User, thread: Post, action: str, past: str, reason: str) -> None:
    audit(session, actor, f"post.{action}", f"{action.title()}{past} thread {thread.id}: {reason}",
          run=_run(session, thread), reason=reason, post=thread.id)
    session.flush()


def set_muted(session: Session, actor: User, enrolment: Enrolment, muted: bool, reason: str) -> None:
    """Mute a participant in their run (they read, cannot post), or unmute them. The
    audit log names the enrolment, never the person (shooc/audit.py)."""
    reason = _reason(reason)
    if enrolment.user_id is None:
        raise CommunityError("This account was deleted.")
    existing = session.get(Mute, (enrolment.run_id, enrolment.user_id))
    if muted and existing is None:
        session.add(Mute(run_id=enrolment.run_id, user_id=enrolment.user_id, reason=reason, muted_by_id=actor.id))
    elif not muted and existing is not None:
        session.delete(existing)
    else:
        raise CommunityError(f"This participant is {'muted' if muted else 'not muted'} already.")
    action = "mute" if muted else "unmute"
    audit(session, actor, f"participant.{action}", f"{action.title()}d in the run's discussions: {reason}",
          enrolment=enrolment, reason=reason)
    session.flush()


@dataclass
class Muted:
    mute: Mute
    name: str
    muted_by: str


def muted_participants(session: Session, run: Run) -> list[Muted]:
    """Who is muted in a run, longest muted first, with who muted them: one query
    (a run's mutes are few; the moderation page lists them all, to unmute)."""
    by = aliased(User)
    rows = session.execute(select(Mute, User, by).join(User, User.id == Mute.user_id)
                           .outerjoin(by, by.id == Mute.muted_by_id)
                           .where(Mute.run_id == run.id).order_by(Mute.created_at, Mute.user_id))
    return [Muted(mute, shown_name(user), shown_name(muter) if muter else "a former member of the course team")
            for mute, user, muter in rows]


def _run(session: Session, post: Post) -> Run:
    return session.get_one(Run, post.run_id)


# Reading ----------------------------------------------------------------------------
#
# The pages read posts as Core rows into the small frozen dataclasses below, not as
# ORM instances (issue 21): a page of 20 threads with their latest replies is some
# 80 posts, and building, identity-mapping and then reading that many instances cost
# more than the statements that fetch them. Each row comes with its author's name
# and this reader's helpful mark joined in, so that a page of posts is one statement.


@dataclass(frozen=True)
class PostRow:
    """The columns of a post that the pages show (read-only; change a ``Post``)."""

    id: int
    parent_id: int | None
    author_id: int | None
    by_course_team: bool
    body_html: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None
    hidden_at: dt.datetime | None
    hidden_reason: str | None
    pinned_at: dt.datetime | None
    locked_at: dt.datetime | None
    shared_response_id: int | None
    activity_id: str | None
    helpful_count: int
    reply_count: int


_POST_COLUMNS = tuple(getattr(Post, name) for name in PostRow.__dataclass_fields__)


@dataclass(frozen=True)
class Shown:
    """A post as a page shows it, with what this reader may do with it."""

    post: PostRow
    author: str
    state: str  # "shown", "hidden" or "deleted" (_state; _post.html asks up to five times a post)
    marked_helpful: bool = False
    editable: bool = False  # by this reader, now
    replies: tuple[Shown, ...] = ()


def _state(post: PostRow) -> str:
    if post.hidden_at is not None:
        return "hidden"
    if post.deleted_at is not None:
        return "deleted"
    return "shown"


@dataclass(frozen=True)
class Page:
    items: list[Shown]
    number: int
    pages: int
    total: int


def _page_bounds(total: int, number: int, size: int) -> tuple[int, int]:
    """The page asked for, kept within the pages there are (at least one), and their count."""
    pages = max(1, math.ceil(total / size))
    return min(max(1, number), pages), pages


def _visible(reader: Member) -> Any:
    """Hidden posts are seen by the course team (marked), by nobody else."""
    return True if reader.course_team else Post.hidden_at.is_(None)


def _shown_rows(reader: Member, rows: Any) -> list[Shown]:
    """``_select_shown``'s rows as the posts a page shows this reader."""
    now = utcnow()
    shown = []
    for row in rows:
        post = PostRow(*row[:len(_POST_COLUMNS)])
        name, name_shown, marked = row[len(_POST_COLUMNS):len(_POST_COLUMNS) + 3]
        author = _name_as_shown(name, name_shown) if post.author_id is not None and name is not None \
            else "Deleted account"
        shown.append(Shown(post, author, _state(post), bool(marked), can_edit(reader.user, post, now)))
    return shown


def _select_shown(*columns: Any) -> Any:
    """A statement reading posts as ``_shown_rows`` takes them (add a FROM's conditions;
    bind ``reader_id``): the post's columns, its author's name and whether this reader
    marked it helpful."""
    # Each a subquery of the post's row, not a join: PostgreSQL then reads a page of
    # posts in the index's order and looks up only its authors (an outer join to users
    # made it merge the discussion's 4,000 threads with 100,000 users: 38 ms, not 1)
    marked = select(Helpful.post_id).where(Helpful.post_id == Post.id,
                                           Helpful.user_id == bindparam("reader_id")).exists()
    author = select(User.name).where(User.id == Post.author_id).scalar_subquery()
    name_shown = select(User.name_shown).where(User.id == Post.author_id).scalar_subquery()
    return select(*_POST_COLUMNS, author, name_shown, marked, *columns)


@functools.cache
def _threads_statements(course_team: bool, introductions: bool) -> dict[str, Any]:
    """The statements of ``threads``, built once per kind of reader and discussion
    (building them, and their cache keys, was a tenth of the page): bind ``run_id``,
    ``workbook_slug``, ``reader_id``, ``size``, ``offset`` and ``thread_ids``."""
    visible = () if course_team else (Post.hidden_at.is_(None),)  # _visible: the course team sees hidden posts
    where = (Post.run_id == bindparam("run_id"), Post.parent_id.is_(None), *visible,
             Post.workbook_slug.is_(None) if introductions else Post.workbook_slug == bindparam("workbook_slug"))

    def page(order: tuple[Any, ...], *conditions: Any) -> Any:
        """A page of threads: their ids read in ``order`` (from the index), then their rows
        with authors and marks for those ids alone (however the database plans it)."""
        ids = (select(Post.id).where(*where, *conditions).order_by(*order)
               .limit(bindparam("size", type_=Integer)).offset(bindparam("offset", type_=Integer)).subquery())
        return _select_shown().join(ids, ids.c.id == Post.id).order_by(*order)

    ranked = (select(Post.id, func.row_number().over(partition_by=Post.parent_id,
                                                     order_by=(Post.created_at.desc(), Post.id.desc())).label("n"))
              .where(Post.parent_id.in_(bindparam("thread_ids", expanding=True)), *visible).subquery())
    return {
        "count": select(func.count(), func.count().filter(Post.pinned_at.is_not(None))).where(*where),
        # Pinned threads first, then the others, each read in its index's order (one
        # ORDER BY over both would sort every thread of the discussion for each page)
        "pinned": page((Post.pinned_at.desc(), Post.id.desc()), Post.pinned_at.is_not(None)),
        "newest": page((Post.created_at.desc(), Post.id.desc()), Post.pinned_at.is_(None)),
        "helpful": page((Post.helpful_count.desc(), Post.created_at.desc(), Post.id.desc()), Post.pinned_at.is_(None)),
        # the last REPLIES_SHOWN replies of each thread, oldest first
        "replies": (_select_shown().join(ranked, ranked.c.id == Post.id).where(ranked.c.n <= REPLIES_SHOWN)
                    .order_by(Post.created_at, Post.id)),
    }


def threads(session: Session, reader: Member, workbook_slug: str | None, sort: str = "newest",
            number: int = 1, size: int = PAGE_SIZE) -> Page:
    """A page of a discussion's threads, pinned first, each with its latest replies:
    at most four statements whatever the discussion's size (the count, the pinned
    threads of the page if any, the others if any room is left, their replies)."""
    statements = _threads_statements(reader.course_team, workbook_slug is None)
    values: dict[str, Any] = {"run_id": reader.run.id, "workbook_slug": workbook_slug, "reader_id": reader.user.id}
    total, pinned = session.execute(statements["count"], values).one()
    number, pages = _page_bounds(total, number, size)
    offset = (number - 1) * size
    page: list[Shown] = []
    if pinned > offset:
        page = _shown_rows(reader, session.execute(statements["pinned"], {
            **values, "size": min(size, pinned - offset), "offset": offset}))
    if len(page) < size and total > pinned:
        page += _shown_rows(reader, session.execute(statements["helpful" if sort == "helpful" else "newest"], {
            **values, "size": size - len(page), "offset": max(0, offset - pinned)}))
    replies = _latest_replies(session, reader, statements["replies"], [item.post.id for item in page])
    return Page([replace(item, replies=replies.get(item.post.id, ())) for item in page], number, pages, total)


def _latest_replies(session: Session, reader: Member, statement: Any,
                    thread_ids: list[int]) -> dict[int, tuple[Shown, ...]]:
    """The last REPLIES_SHOWN replies of each thread, oldest first, in one statement."""
    if not thread_ids:
        return {}
    found: dict[int, list[Shown]] = {}
    for reply in _shown_rows(reader, session.execute(statement, {"thread_ids": thread_ids,
                                                                 "reader_id": reader.user.id})):
        assert reply.post.parent_id is not None
        found.setdefault(reply.post.parent_id, []).append(reply)
    return {thread_id: tuple(replies) for thread_id, replies in found.items()}


def find_post(session: Session, post_id: int) -> Post:
    return session.get(Post, post_id) or _not_found()


def _not_found() -> Post:
    raise NotFound("no such post")


def visible_to(reader: Member, post: Post) -> bool:
    return post.run_id == reader.run.id and (reader.course_team or post.hidden_at is None)


def shown_post(session: Session, reader: Member, post: Post) -> Shown:
    return _shown_rows(reader, session.execute(_select_shown().where(Post.id == post.id),
                                               {"reader_id": reader.user.id}))[0]


def thread_page(session: Session, reader: Member, thread: Post, number: int = 1,
                size: int = REPLY_PAGE_SIZE) -> tuple[Shown, Page]:
    """A thread's first post and a page of its replies, oldest first."""
    where = (Post.parent_id == thread.id, _visible(reader))
    total = session.scalar(select(func.count()).select_from(Post).where(*where)) or 0
    number, pages = _page_bounds(total, number, size)
    replies = _shown_rows(reader, session.execute(_select_shown().where(*where).order_by(Post.created_at, Post.id)
                                                  .limit(size).offset((number - 1) * size),
                                                  {"reader_id": reader.user.id}))
    return shown_post(session, reader, thread), Page(replies, number, pages, total)


def is_following(session: Session, user: User, thread: Post) -> bool:
    return session.get(Follow, (thread.id, user.id)) is not None


@dataclass
class Queued:
    post: Post
    author: str
    reports: list[tuple[str, Report]]  # (reporter's name, report)


def moderation_queue(session: Session, run: Run, number: int = 1, size: int = PAGE_SIZE) -> tuple[list[Queued], Page]:
    """A run's posts with open reports (most reported first) and its hidden posts
    (latest first), a page at a time, each with its open reports: bounded queries."""
    reported = (Post.run_id == run.id, Post.open_reports > 0, Post.hidden_at.is_(None))
    hidden = (Post.run_id == run.id, Post.hidden_at.is_not(None))
    n_reported, n_hidden = session.execute(select(
        select(func.count()).select_from(Post).where(*reported).scalar_subquery(),
        select(func.count()).select_from(Post).where(*hidden).scalar_subquery())).one()
    total = n_reported + n_hidden
    number, pages = _page_bounds(total, number, size)
    offset = (number - 1) * size  # the reported posts, then the hidden ones, each read in its index's order
    posts = list(session.scalars(select(Post).where(*reported).order_by(Post.open_reports.desc(), Post.id.desc())
                                 .limit(max(0, min(size, n_reported - offset))).offset(min(offset, n_reported))))
    posts += session.scalars(select(Post).where(*hidden).order_by(Post.hidden_at.desc(), Post.id.desc())
                             .limit(size - len(posts)).offset(max(0, offset - n_reported)))
    reports = list(session.scalars(select(Report).where(
        Report.post_id.in_([p.id for p in posts]), Report.resolved_at.is_(None)).order_by(Report.id))) if posts else []
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(
        {p.author_id for p in posts if p.author_id} | {r.reporter_id for r in reports if r.reporter_id})))}
    queued = [Queued(p, shown_name(people.get(p.author_id)) if p.author_id else "Deleted account",
                     [(shown_name(people.get(r.reporter_id)) if r.reporter_id else "Deleted account", r)
                      for r in reports if r.post_id == p.id]) for p in posts]
    return queued, Page([], number, pages, total)


def posts_for_export(session: Session, user_id: int) -> list[dict[str, Any]]:
    """A person's own posts, for their data download."""
    rows = session.execute(select(Post, Run.slug).join(Run, Run.id == Post.run_id)
                           .where(Post.author_id == user_id).order_by(Post.created_at, Post.id)).all()
    return [{"run": slug, "workbook": p.workbook_slug, "reply_to": p.parent_id, "id": p.id, "text": p.body,
             "posted_at": p.created_at.isoformat(), "edited_at": p.edited_at.isoformat() if p.edited_at else None,
             "deleted": p.deleted_at is not None, "hidden_by_course_team": p.hidden_at is not None}
            for p, slug in rows]


# Figures, for evaluators -----------------------------------------------------------------

def figures(tally: dict[str, int], registered: int, completed_all: int) -> dict[str, Any]:
    """The run's discussions in numbers (the stats JSON's ``community``), from its
    counters (shooc.evaluate.counters, the ``community`` tally): posts and replies
    shown (not deleted or hidden), participants who have posted (contributors, even if
    their post later went), shared reflections; and the reference course's own
    question, whether those who took part completed more often than those who did
    not. The two rates compare groups of people, so each group needs at least five
    (shooc.evaluate.disclosure): below that both are left out and ``withheld`` is
    true. Course-team posts count as posts, not as contributors."""
    from shooc.evaluate.disclosure import withheld

    contributors = tally.get("contributors", 0)
    contributors_completed = tally.get("contributors_completed", 0)
    others = registered - contributors
    result: dict[str, Any] = {"posts": tally.get("posts", 0), "replies": tally.get("replies", 0),
                              "contributors": contributors, "shared_reflections": tally.get("shared_reflections", 0)}
    if withheld(contributors) or withheld(others):
        return {**result, "withheld": True}
    return {**result, "withheld": False,
            "completion_rate_contributors": round(contributors_completed / contributors, 4),
            "completion_rate_others": round((completed_all - contributors_completed) / others, 4)}
