"""Public pages of the content: catalogue, course page, workbooks, images."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shooc.auth.forms import EmptyForm
from shooc.db import get_session
from shooc.enrolment.rules import today_in
from shooc.enrolment.services import enrolment_for, open_runs, upcoming_runs
from shooc.workbooks.models import Asset, Course, CourseVersion

bp = Blueprint("workbooks", __name__)


def published_course_or_404(slug: str) -> Course:
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
    today = today_in()
    runs = {c.id: open_runs(session, c, today) for c in courses}
    return render_template("catalogue/index.html", courses=courses, runs=runs)


@bp.route("/courses/<course_slug>")
def course_page(course_slug: str):  # type: ignore[no-untyped-def]
    session = get_session()
    course = published_course_or_404(course_slug)
    version = session.scalar(select(CourseVersion).where(CourseVersion.id == course.current_version_id)
                             .options(selectinload(CourseVersion.workbooks)))
    today = today_in()
    enrolment = enrolment_for(session, current_user.id, course) if current_user.is_authenticated else None
    return render_template("catalogue/course.html", course=course, version=version, enrolment=enrolment,
                           open_runs=open_runs(session, course, today),
                           upcoming_runs=upcoming_runs(session, course, today), today=today, form=EmptyForm())


@bp.route("/privacy")
def privacy():  # type: ignore[no-untyped-def]
    return render_template("catalogue/privacy.html")


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
