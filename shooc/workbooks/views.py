"""Public pages of the content: catalogue, course page, workbooks, images."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shooc.db import get_session
from shooc.enrolment.services import is_enrolled, open_runs, upcoming_runs
from shooc.web import login_manager
from shooc.workbooks.models import Asset, Course, CourseVersion, WorkbookVersion

bp = Blueprint("workbooks", __name__)


def _published_course(slug: str) -> Course:
    course = get_session().scalar(select(Course).where(Course.slug == slug)
                                  .options(selectinload(Course.current_version)))
    if course is None or course.current_version is None:
        abort(404)
    return course


@bp.route("/")
def catalogue():  # type: ignore[no-untyped-def]
    session = get_session()
    courses = session.scalars(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.slug)
        .options(selectinload(Course.current_version).selectinload(CourseVersion.workbooks))).all()
    today = dt.date.today()
    runs = {c.id: open_runs(session, c, today) for c in courses}
    return render_template("catalogue/index.html", courses=courses, runs=runs)


@bp.route("/courses/<course_slug>")
def course_page(course_slug: str):  # type: ignore[no-untyped-def]
    session = get_session()
    course = _published_course(course_slug)
    version = session.scalar(select(CourseVersion).where(CourseVersion.id == course.current_version_id)
                             .options(selectinload(CourseVersion.workbooks)))
    today = dt.date.today()
    return render_template("catalogue/course.html", course=course, version=version,
                           open_runs=open_runs(session, course, today),
                           upcoming_runs=upcoming_runs(session, course, today), today=today)


@bp.route("/courses/<course_slug>/workbooks/<workbook_slug>")
def workbook(course_slug: str, workbook_slug: str):  # type: ignore[no-untyped-def]
    """A workbook, for learners enrolled in the course; leaders see it as a preview,
    of the current version or, with ``?version=N``, of any earlier one."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    session = get_session()
    course = _published_course(course_slug)
    preview = current_user.is_leader
    if not preview and not is_enrolled(session, current_user.id, course):
        abort(403)
    version = course.current_version
    requested = request.args.get("version", type=int)
    if preview and requested is not None:
        version = session.scalar(select(CourseVersion).where(
            CourseVersion.course_id == course.id, CourseVersion.number == requested)) or abort(404)
    workbook = session.scalar(
        select(WorkbookVersion).where(WorkbookVersion.course_version_id == version.id,
                                      WorkbookVersion.slug == workbook_slug)
        .options(selectinload(WorkbookVersion.activities))) or abort(404)
    siblings = session.execute(
        select(WorkbookVersion.position, WorkbookVersion.slug, WorkbookVersion.title)
        .where(WorkbookVersion.course_version_id == version.id).order_by(WorkbookVersion.position)).all()
    return render_template("learn/workbook.html", course=course, version=version, workbook=workbook,
                           activities={a.activity_id: a for a in workbook.activities},
                           siblings=siblings, preview=preview)


@bp.route("/assets/<sha256>.<ext>")
def asset(sha256: str, ext: str):  # type: ignore[no-untyped-def]
    found = get_session().get(Asset, sha256) if len(sha256) == 64 else None
    if found is None:
        abort(404)
    response = Response(found.data, mimetype=found.media_type)
    # Addressed by content: it can never change, so browsers may keep it for ever.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.set_etag(sha256)
    return response.make_conditional(request)
