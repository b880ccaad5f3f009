"""Public pages of the content: catalogue, course page, workbooks, images."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from shooc.auth.forms import EmptyForm
from shooc.enrolment.models import Run
from shooc.enrolment.rules import today_in
from shooc.enrolment.runs import open_runs, upcoming_runs
from shooc.enrolment.services import enrolment_for
from shooc.kept import KeptForSeconds
from shooc.unit_of_work import get_session
from shooc.web import published_course_or_404
from shooc.workbooks import published
from shooc.workbooks.models import Asset, Course, CourseVersion

bp = Blueprint("workbooks", __name__)


class AnonymousPages(KeptForSeconds[tuple[str, Any], bytes]):
    """Public course pages as every anonymous visitor sees them, kept for a few
    seconds in each process: the page that 100,000 people open after the course's
    e-mail goes out is then made a few times a minute instead of thousands of times
    a second. Publishing a course or changing a run in this process empties it at
    once (a session event below); another server shows the change within
    ``SECONDS``. Keyed by the day too, as the page says which runs are open today."""

    SECONDS = 5.0

    def __init__(self) -> None:
        super().__init__(self.SECONDS)


anonymous_pages = AnonymousPages()


@event.listens_for(Session, "after_flush")
def _forget_changed_pages(db: Session, _context: Any) -> None:
    for obj in (*db.new, *db.dirty, *db.deleted):
        if isinstance(obj, (Course, CourseVersion, Run)):
            anonymous_pages.clear()
            return


@bp.route("/")
def catalogue() -> ResponseReturnValue:
    db = get_session()
    courses = db.scalars(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.slug)
        .options(selectinload(Course.current_version).selectinload(CourseVersion.workbooks))).all()
    today = today_in()
    runs = {c.id: open_runs(db, c, today) for c in courses}
    return render_template("catalogue/index.html", courses=courses, runs=runs)


@bp.route("/courses/<course_slug>")
def course_page(course_slug: str) -> ResponseReturnValue:
    today = today_in()
    # The same page for every anonymous visitor, unless a message waits for them.
    shared = not current_user.is_authenticated and "_flashes" not in session
    if shared:
        body = anonymous_pages.get((course_slug, today))
        if body is not None:
            return Response(body, mimetype="text/html")
    db = get_session()
    course = published_course_or_404(course_slug)
    version = published.version(db, course.current_version_id)
    enrolment = enrolment_for(db, current_user.id, course) if current_user.is_authenticated else None
    page = render_template("catalogue/course.html", course=course, version=version, enrolment=enrolment,
                           open_runs=open_runs(db, course, today), upcoming_runs=upcoming_runs(db, course, today),
                           today=today, form=EmptyForm() if current_user.is_authenticated else None)
    if shared:
        anonymous_pages.put((course_slug, today), page.encode())
    return page


@bp.route("/privacy")
def privacy() -> ResponseReturnValue:
    return render_template("catalogue/privacy.html")


@bp.route("/assets/<sha256>.<ext>")
def asset(sha256: str, ext: str) -> ResponseReturnValue:
    found = get_session().get(Asset, sha256) if len(sha256) == 64 else None
    if found is None:
        abort(404)
    response = Response(found.data, mimetype=found.media_type)
    # Addressed by content: it can never change, so browsers may keep it for ever.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.set_etag(sha256)
    return response.make_conditional(request)


@bp.route("/courses/<course_slug>/files/<name>")
def course_file(course_slug: str, name: str) -> ResponseReturnValue:
    """A file the course ships (a template: PDF, DOCX, ODT), as published with the
    current version. Public, as the course page is: templates are harmless, and a
    course page that offers them is useful before enrolling. Always a download
    (``attachment``, under its own name), its type as the loader checked it, never
    sniffed; cached as the course's pages may be (the name stays, the content changes
    with a new version: revalidated by its hash, never ``immutable``)."""
    db = get_session()
    course = published_course_or_404(course_slug)
    version = published.version(db, course.current_version_id) or abort(404)
    found = (version.meta.get("files") or {}).get(name)
    # Read from the database each time, not kept in the process as badge images are:
    # a few downloads of files of up to 5 MB.
    asset = db.get(Asset, found["sha256"]) if found else None
    if found is None or asset is None:
        abort(404)
    response = Response(asset.data, mimetype=found["media_type"])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.set_etag(found["sha256"])
    return response.make_conditional(request)


@bp.route("/courses/<course_slug>/glossary")
def glossary(course_slug: str) -> ResponseReturnValue:
    """The course's glossary (glossary.md, published with the version): public, as
    the course page is, since workbooks link their terms to it."""
    db = get_session()
    course = published_course_or_404(course_slug)
    version = published.version(db, course.current_version_id) or abort(404)
    terms = version.meta.get("glossary")
    if not terms:
        abort(404)
    return render_template("catalogue/glossary.html", course=course, version=version, glossary=terms)
