"""Who leads which course, over a session (no Flask here).

Decision (issue 20): a leader or an admin, a site-wide role, leads every course.
Anybody else leads the courses an LTI platform made them an instructor of
(``lti_course_leaders``, granted at launch): the course team's pages of those
courses' runs (participants, feedback, returns, the review queue, announcements,
messages, live sessions, records imports, moderation, editing and opening runs),
the course's recordings, and revoking its badges; never another course's, and
nothing site-wide (publishing content, which may hold any course; the audit log;
people and platforms). A grant is read from the database on every request, so one
withdrawn is refused on the very next.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shooc.auth.models import User
from shooc.lti.models import LtiCourseLeader


def leads_every_course(user: User) -> bool:
    return user.is_leader


def led_course_ids(session: Session, user: User) -> frozenset[int] | None:
    """The courses ``user`` leads: None for every course (a site-wide role), else the
    ones granted through LTI (empty for a learner or an evaluator)."""
    if leads_every_course(user):
        return None
    return frozenset(session.scalars(select(LtiCourseLeader.course_id).where(LtiCourseLeader.user_id == user.id)))


def leads_course(session: Session, user: User, course_id: int) -> bool:
    if leads_every_course(user):
        return True
    return session.scalar(select(LtiCourseLeader.id).where(LtiCourseLeader.user_id == user.id,
                                                           LtiCourseLeader.course_id == course_id)) is not None


def grant(session: Session, user: User, course_id: int, platform_id: int) -> None:
    """Make ``user`` a leader of one course (an LTI platform's instructor launched it)."""
    if session.scalar(select(LtiCourseLeader.id).where(LtiCourseLeader.user_id == user.id,
                                                       LtiCourseLeader.course_id == course_id)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(LtiCourseLeader(user_id=user.id, course_id=course_id, platform_id=platform_id))
    except IntegrityError:
        pass  # granted by a launch in another tab at the same moment

