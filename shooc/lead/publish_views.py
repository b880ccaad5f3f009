"""Publishing a course from the web: upload or choose a folder, look, publish or discard (/lead).

Every route is behind the blueprint's leaders-only check; every form carries a CSRF
token. The work is done by ``shooc.workbooks.staging`` (the same loader, diff and
publishing services as ``shooc content publish``); these views parse, call, commit.
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.auth.forms import EmptyForm, filled, select_choices
from shooc.auth.models import User
from shooc.lead import bp, published_courses
from shooc.lead.communications import recordings_on_page
from shooc.lead.forms import FolderForm, PublishForm, UploadForm
from shooc.unit_of_work import commit, get_session, rollback
from shooc.workbooks import staging
from shooc.workbooks.contents import contents
from shooc.workbooks.models import ActivityVersion, ContentUpload, Course, CourseVersion
from shooc.workbooks.publish import PublishResult, find_course


def _content_root() -> str:
    return str(current_app.config["SHOOC_CONTENT_PATH"])


def _upload_or_404(upload_id: int, lock: bool = False) -> ContentUpload:
    upload = staging.get_upload(get_session(), upload_id, lock=lock)
    if upload is None:
        if request.method == "POST":
            flash("That upload is no longer waiting: it was published or discarded meanwhile.", "error")
            abort(redirect(url_for("lead.publish_home")))
        abort(404)
    return upload


def _sentence(message: object) -> str:
    text = str(message)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _home(upload_form: UploadForm | None = None, folder_form: FolderForm | None = None,
          status: int = 200) -> ResponseReturnValue:
    db = get_session()
    courses = published_courses()
    upload_form = upload_form or UploadForm()
    upload_form.course.choices = select_choices(courses, "As named in the zip (its folder, or the zip's own name)")
    folder_form = folder_form or FolderForm()
    folders = staging.course_folders(_content_root())
    folder_form.folder.choices = select_choices([(f, f) for f in folders])
    uploads = staging.staged_uploads(db)
    ids = {u.uploaded_by_id for u in uploads if u.uploaded_by_id}
    names = dict(db.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    published = db.execute(select(Course.slug, CourseVersion.title, CourseVersion.number, CourseVersion.published_at)
                           .join(CourseVersion, CourseVersion.id == Course.current_version_id)
                           .order_by(Course.slug)).all()
    return render_template("lead/publish.html", upload_form=upload_form, folder_form=folder_form, folders=folders,
                           content_root=_content_root(), uploads=uploads, names=names, published=published,
                           max_upload=current_app.config.get("MAX_CONTENT_LENGTH"),
                           limits=(staging.MAX_ENTRIES, staging.MAX_UNCOMPRESSED_BYTES)), status


@bp.route("/publish")
def publish_home() -> ResponseReturnValue:
    return _home()


@bp.route("/publish/upload", methods=["POST"])
def publish_stage_upload() -> ResponseReturnValue:
    form = UploadForm()
    if form.validate_on_submit():
        db = get_session()
        file = form.archive.data
        try:
            upload = staging.stage_upload(db, file.filename or "upload.zip", file.read(), current_user.id,
                                          course_slug=form.course.data or None)
        except staging.StagingError as exc:
            rollback()
            form.archive.errors = [_sentence(exc)]
        else:
            commit()
            return redirect(url_for("lead.publish_review", upload_id=upload.id))
    return _home(upload_form=form, status=422)


@bp.route("/publish/folder", methods=["POST"])
def publish_stage_folder() -> ResponseReturnValue:
    form = FolderForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            upload = staging.stage_folder(db, _content_root(), form.folder.data, current_user.id)
        except staging.StagingError as exc:
            rollback()
            form.folder.errors = [_sentence(exc)]
        else:
            commit()
            return redirect(url_for("lead.publish_review", upload_id=upload.id))
    return _home(folder_form=form, status=422)


def _review(upload: ContentUpload) -> staging.Review:
    return staging.review(get_session(), upload, image_url=lambda image: url_for(
        "lead.publish_asset", upload_id=upload.id, path=image.path))


@bp.route("/publish/<int:upload_id>")
def publish_review(upload_id: int) -> ResponseReturnValue:
    upload = _upload_or_404(upload_id)
    result = _review(upload)
    uploader = get_session().get(User, upload.uploaded_by_id) if upload.uploaded_by_id else None
    seen = result.published.number if result.published else 0
    titles = {}
    if result.published:  # removed workbooks are shown by their title as learners knew it
        titles = {w.slug: w.title for w in result.published.workbooks}
    if result.source:
        titles.update({w.slug: w.title for w in result.source.workbooks})
    return render_template("lead/publish_review.html", upload=upload, review=result, uploader=uploader,
                           publish_form=PublishForm(seen_version=str(seen)), form=EmptyForm(), titles=titles)


@bp.route("/publish/<int:upload_id>/workbooks/<slug>")
def publish_preview(upload_id: int, slug: str) -> ResponseReturnValue:
    upload = _upload_or_404(upload_id)
    result = _review(upload)
    workbook = result.preview(slug) or abort(404)
    source = result.source
    assert source is not None
    activities: dict[str, ActivityVersion] = {a.activity_id: a for a in workbook.activities}
    course = find_course(get_session(), source.slug)  # its webinar recordings stay with the workbook
    placed, recordings = (recordings_on_page(get_session(), course.id, slug,
                                             [a.activity_id for a in workbook.activities if a.kind == "media"])
                          if course else ({}, []))
    # learn/workbook.html, as learners will see it; `staged` switches the banner and links
    return render_template("learn/workbook.html", course=SimpleNamespace(slug=source.slug),
                           version=SimpleNamespace(title=source.title), workbook=workbook, activities=activities,
                           siblings=result.siblings, preview=True, staged=upload, state=None, answers={},
                           missing={}, problem=None, enrolment=None, form=None, recordings=recordings,
                           placed=placed, contents=contents(workbook.body_parts, workbook.title))


@bp.route("/publish/<int:upload_id>/assets/<path:path>")
def publish_asset(upload_id: int, path: str) -> ResponseReturnValue:
    image = staging.staged_image(_upload_or_404(upload_id), path) or abort(404)
    response = Response(image.data, mimetype=image.media_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _published_message(result: PublishResult) -> str:
    if not result.published:
        return (f"No changes: version {result.version.number} of {result.course.slug} is already published "
                "with exactly this content. The upload is removed.")
    replacing = f", replacing version {result.previous_number}" if result.previous_number else ""
    return (f"Published version {result.version.number} of {result.course.slug}{replacing}: "
            f"{staging.describe(result.diff)}. Learners see it now.")


@bp.route("/publish/<int:upload_id>/publish", methods=["POST"])
def publish_publish(upload_id: int) -> ResponseReturnValue:
    form = PublishForm()
    seen = filled(form.seen_version.data) if form.validate_on_submit() else ""
    if not seen.isdigit():
        abort(400)
    db = get_session()
    upload = _upload_or_404(upload_id, lock=True)
    try:
        result = staging.publish_upload(db, upload, current_user, seen_version=int(seen))
    except staging.StagingError as exc:
        rollback()
        flash(_sentence(exc), "error")
        return redirect(url_for("lead.publish_review", upload_id=upload_id))
    commit()
    flash(_published_message(result), "info")
    return redirect(url_for("lead.publish_home"))


@bp.route("/publish/<int:upload_id>/discard", methods=["POST"])
def publish_discard(upload_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    upload = _upload_or_404(upload_id, lock=True)
    name = upload.filename
    staging.discard_upload(db, upload, current_user)
    commit()
    flash(f"Discarded {name}: nothing was published.", "info")
    return redirect(url_for("lead.publish_home"))
