"""The course team's area, /lead: runs, participants, one learner, extensions,
feedback, the audit log (views.py); publishing content (publish_views.py); records
imports (import_views.py); announcements and recordings (communication_views.py); live sessions
(session_views.py).

This package holds what all of them share: the blueprint ``bp``, whose every view
is for the course team (leaders and admins; a course's LTI instructors for that
course's pages only: shooc.course_team), and the helpers they use. Each view module adds its
routes to ``bp`` and imports nothing of its siblings; ``shooc.create_app`` imports
them (``VIEW_MODULES``) and registers ``bp``.
"""
from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, g, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc import course_team
from shooc.enrolment.models import Run
from shooc.lead.models import RecordImport
from shooc.unit_of_work import get_session
from shooc.web import course_of_run, course_of_slug, course_team_gate
from shooc.workbooks.models import Course, CourseVersion

#: The modules that add routes to ``bp`` (imported by create_app, in this order).
VIEW_MODULES = ("shooc.lead.views", "shooc.lead.publish_views", "shooc.lead.import_views",
                "shooc.lead.communication_views", "shooc.lead.session_views")

bp = Blueprint("lead", __name__, url_prefix="/lead")


#: The views of no one course that a course's own leaders (LTI instructors) may
#: open: each shows, and offers, only the courses they lead.
ACROSS_LED_COURSES = frozenset({"lead.home", "lead.new_run"})


@bp.before_request
def _course_team_only() -> ResponseReturnValue | None:
    """Every view of this blueprint: anonymous people log in; leaders and admins pass;
    a course's own leaders pass for that course's pages (the course named by the
    address's run, course or import) and for ACROSS_LED_COURSES; others get 403."""
    if not current_user.is_authenticated or course_team.leads_every_course(current_user):
        return course_team_gate(None)
    if request.endpoint in ACROSS_LED_COURSES:
        if not led_course_ids():
            abort(403)
        return None
    return course_team_gate(_course_of_address(request.view_args or {}))


def _course_of_address(args: dict[str, Any]) -> int | None:
    if "slug" in args:
        return course_of_run(args["slug"])
    if "course_slug" in args:
        return course_of_slug(args["course_slug"])
    if "import_id" in args:
        return get_session().scalar(select(Run.course_id).join(RecordImport, RecordImport.run_id == Run.id)
                                    .where(RecordImport.id == args["import_id"]))
    return None  # publishing, the audit log: site-wide


def led_course_ids() -> frozenset[int] | None:
    """The courses the current user leads (None: every course), once per request."""
    if "led_course_ids" not in g:
        g.led_course_ids = course_team.led_course_ids(get_session(), current_user)
    return cast("frozenset[int] | None", g.led_course_ids)


def published_courses() -> list[tuple[str, str]]:
    """(slug, title) of every course with a published version that the current user
    leads, by slug."""
    query = select(Course.slug, CourseVersion.title).join(
        CourseVersion, CourseVersion.id == Course.current_version_id).order_by(Course.slug)
    led = led_course_ids()
    if led is not None:
        query = query.where(Course.id.in_(led))
    rows = get_session().execute(query).all()
    return [(slug, title) for slug, title in rows]
