"""The course team's area, /lead: runs, participants, one learner, extensions,
feedback, the audit log (views.py); publishing content (publish_views.py); records
imports (import_views.py); announcements and recordings (communication_views.py); live sessions
(session_views.py).

This package holds what all of them share: the blueprint ``bp``, whose every view
is for leaders and admins only, and the helpers they use. Each view module adds its
routes to ``bp`` and imports nothing of its siblings; ``shooc.create_app`` imports
them (``VIEW_MODULES``) and registers ``bp``.
"""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from shooc.auth.models import Role
from shooc.unit_of_work import get_session
from shooc.web import roles_required
from shooc.workbooks.models import Course, CourseVersion

#: The modules that add routes to ``bp`` (imported by create_app, in this order).
VIEW_MODULES = ("shooc.lead.views", "shooc.lead.publish_views", "shooc.lead.import_views",
                "shooc.lead.communication_views", "shooc.lead.session_views")

bp = Blueprint("lead", __name__, url_prefix="/lead")


@bp.before_request
@roles_required(Role.leader, Role.admin)
def _leaders_only() -> None:
    """Every view of this blueprint: anonymous people log in, others get 403."""


def published_courses() -> list[tuple[str, str]]:
    """(slug, title) of every course with a published version, by slug."""
    rows = get_session().execute(select(Course.slug, CourseVersion.title).join(
        CourseVersion, CourseVersion.id == Course.current_version_id).order_by(Course.slug)).all()
    return [(slug, title) for slug, title in rows]
