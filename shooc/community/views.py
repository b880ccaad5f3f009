"""The discussions of a run and a person's notifications (the rules:
shooc/community/services.py and notifications.py).

Who sees what: a learner the discussions of the run they are enrolled in; the course
team (leaders, admins) every run's, choosing the run with ``?run=<slug>`` (default:
the course's latest run); evaluators and anonymous visitors none (403, or the login
page). A post of another run is a 404, as if it did not exist.
"""
from __future__ import annotations

import secrets
import threading

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from shooc.auth.forms import EmptyForm
from shooc.auth.models import Role, User
from shooc.community import notifications
from shooc.community import services as community
from shooc.community.blueprint import bp
from shooc.community.forms import EditForm, PostForm, ReasonForm, ReplyForm
from shooc.community.models import Post
from shooc.enrolment.models import Run
from shooc.unit_of_work import commit, get_session, rollback, write_now
from shooc.web import csrf, int_arg, published_course_or_404
from shooc.workbooks import current, published
from shooc.workbooks.models import Course


def _reader(course: Course) -> community.Member:
    """This person in the discussions of the course's run: their own run, or the one
    the course team chose with ``?run=<slug>`` (default: the course's latest)."""
    try:
        # the User itself, not Flask-Login's proxy: a page reads ``reader.user`` for each of its posts
        found = community.course_member(get_session(), current_user._get_current_object(), course.id,
                                        request.args.get("run") or None)
    except community.NotFound:
        abort(404)
    if found is None:
        abort(403)
    return found


def _post_links() -> dict[str, Markup]:
    """The addresses of a post's pages and forms, as prefixes to which _post.html adds
    the post's id (and the action): built once per page rather than by five to ten
    ``url_for`` per post (a third of a page of 80 posts). tests/test_community.py
    checks them against ``url_for`` for every action. Escaped once here (Markup), so
    that the page does not escape them again for each use."""
    links = {"post": url_for("community.post_page", post_id=0), "lead": url_for("community.hide", post_id=0)}
    assert links["post"].endswith("/0") and links["lead"].endswith("/0/hide"), links
    return {"post": escape(links["post"][:-1]), "lead": escape(links["lead"][:-len("0/hide")])}


#: Posts as _post.html's post_view drew them, by the arguments it was given (the post's
#: row, its author, state, mark and editability for this reader; whether the reader wrote
#: it or is of the course team; the address prefixes), with the page's CSRF field left as
#: _CSRF_SLOT. Drawing a page's 80 posts was half of the page's time; most readers of a
#: discussion see its posts drawn alike, so each is drawn once per process and kept. Any
#: change to a post (its text, marks, state, a name) makes another key, never a stale
#: page; old keys are dropped oldest first past FRAGMENTS_KEPT (a post's row and its
#: drawing: 2-3 kB for most, some 14 kB at MAX_POST; a few MB a process, 30 at most).
_fragments: dict[tuple[object, ...], str] = {}
_fragments_lock = threading.Lock()
FRAGMENTS_KEPT = 2_048  # 25 pages of 80 posts
_CSRF_SLOT = Markup(f"<!-- csrf {secrets.token_hex(16)} -->")


@bp.app_template_global()
def post_html(item: community.Shown, reader: community.Member, csrf: Markup, links: dict[str, Markup]) -> Markup:
    """One post of a discussion or a thread as _post.html's post_view draws it."""
    post = item.post
    key = (post, item.author, item.state, item.marked_helpful, item.editable, post.author_id == reader.user.id,
           reader.course_team, links["post"], links["lead"])
    html = _fragments.get(key)
    if html is None:
        post_view = current_app.jinja_env.get_template("community/_post.html").module.post_view  # type: ignore[attr-defined]
        _, author, state, marked, editable, own, course_team, post_prefix, lead_prefix = key
        html = str(post_view(community.Shown(post, author, state, marked, editable), own, course_team, _CSRF_SLOT,
                             post_prefix, lead_prefix))
        if current_app.jinja_env.auto_reload:
            return Markup(html.replace(_CSRF_SLOT, csrf))  # in development a kept post would outlive its template
        with _fragments_lock:
            _fragments[key] = html
            while len(_fragments) > FRAGMENTS_KEPT:
                del _fragments[next(iter(_fragments))]
    return Markup(html.replace(_CSRF_SLOT, csrf))


def _discussion(course_slug: str, workbook_slug: str | None) -> ResponseReturnValue:
    course = published_course_or_404(course_slug)
    if current_user.role is Role.evaluator:
        abort(403)  # figures, never posts
    db = get_session()
    workbook = None
    if workbook_slug is not None:
        workbook = published.workbook(db, course.current_version_id, workbook_slug) or abort(404)
    reader = _reader(course)
    run = reader.run
    form = PostForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            parent = _parent(db, form.parent.data)
            post = community.write_post(db, reader, workbook_slug, form.body.data or "", parent=parent,
                                        activity_id=_prompt(workbook, form.activity.data))
        except (community.CommunityError, community.NotFound) as exc:
            rollback()
            problem, status = str(exc), 422
        else:
            post_id, thread_id = post.id, post.parent_id or post.id
            commit()
            flash("Your reply is posted." if thread_id != post_id else "Your post is up.", "info")
            return redirect(url_for("community.post_page", post_id=thread_id, _anchor=f"post-{post_id}"))
    elif request.method == "POST":
        problem, status = "This form had been open too long: press Post again.", 400
    sort = request.args.get("sort") or "newest"
    sort = sort if sort in community.SORTS else "newest"
    page = community.threads(db, reader, workbook_slug, sort, request.args.get("page", 1, type=int_arg) or 1)
    version = published.version(db, course.current_version_id)  # kept per process: its title with no query
    return render_template("community/discussion.html", course=course, course_title=version.title if version else "",
                           workbook=workbook, run=run, reader=reader, links=_post_links(),
                           page=page, sort=sort, form=form, problem=problem,
                           action_form=EmptyForm(), edit_minutes=community.EDIT_MINUTES), status


def _parent(db, value: str | None) -> Post | None:  # type: ignore[no-untyped-def]
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise community.NotFound("no such post")
    return db.get(Post, int(value)) or _missing()


def _missing() -> Post:
    raise community.NotFound("That post is no longer there to reply to.")


def _prompt(workbook, activity_id: str | None) -> str | None:  # type: ignore[no-untyped-def]
    """A peer-discussion prompt of this workbook that the post answers, or None."""
    if not activity_id or workbook is None:
        return None
    if not any(a.activity_id == activity_id and a.kind == "peer-discussion" for a in workbook.activities):
        raise community.CommunityError("That prompt is not in this workbook.")
    return activity_id


@bp.route("/courses/<course_slug>/workbooks/<workbook_slug>/discussion", methods=["GET", "POST"])
@login_required
def discussion(course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    return _discussion(course_slug, workbook_slug)


@bp.route("/courses/<course_slug>/introductions", methods=["GET", "POST"])
@login_required
def introductions(course_slug: str) -> ResponseReturnValue:
    return _discussion(course_slug, None)


@bp.route("/courses/<course_slug>/workbooks/<workbook_slug>/share", methods=["POST"])
@login_required
def share(course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    """Share one's own submitted reflection (field ``activity``) with the run."""
    course = published_course_or_404(course_slug)
    if current_user.role is not Role.learner:
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    reader = _reader(course)
    if reader.course_team:
        abort(403)  # a course's own leader (LTI) is no participant: no reflection of theirs to share
    try:
        post = community.share_reflection(get_session(), reader, workbook_slug, request.form.get("activity") or "")
    except community.NotFound:
        abort(404)
    except community.CommunityError as exc:
        rollback()
        flash(str(exc), "error")
        return redirect(url_for("learn.workbook", course_slug=course.slug, workbook_slug=workbook_slug))
    post_id = post.id
    commit()
    flash("Your reflection is shared with your run. Delete the post to take it back.", "info")
    return redirect(url_for("community.post_page", post_id=post_id))


# One post and its thread ------------------------------------------------------------

def _visible_post(post_id: int) -> tuple[Post, community.Member]:
    if current_user.role is Role.evaluator:
        abort(403)
    db = get_session()
    post = db.get(Post, post_id) or abort(404)
    reader = community.member(db, current_user._get_current_object(), db.get_one(Run, post.run_id))
    if reader is None or not community.visible_to(reader, post):
        abort(404)  # another run's post does not exist, as far as this person knows
    return post, reader


def _where(post: Post) -> tuple[Course, str | None]:
    run = get_session().get_one(Run, post.run_id)
    return run.course, post.workbook_slug


@bp.route("/discussion/posts/<int:post_id>")
@login_required
def post_page(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    if post.parent_id is not None:
        return redirect(url_for("community.post_page", post_id=post.parent_id, _anchor=f"post-{post.id}"))
    db = get_session()
    thread, replies = community.thread_page(db, reader, post, request.args.get("page", 1, type=int_arg) or 1)
    course, workbook_slug = _where(post)
    workbook = published.workbook(db, course.current_version_id, workbook_slug) if workbook_slug else None
    return render_template("community/thread.html", thread=thread, replies=replies, reader=reader, course=course,
                           course_title=current.title(db, course),
                           workbook=workbook, run=reader.run, reply_form=ReplyForm(), action_form=EmptyForm(),
                           links=_post_links(),
                           following=community.is_following(db, current_user, post),
                           edit_minutes=community.EDIT_MINUTES)


def _back(post: Post) -> ResponseReturnValue:
    thread_id = post.parent_id or post.id
    return redirect(url_for("community.post_page", post_id=thread_id, _anchor=f"post-{post.id}"))


def _refused(exc: Exception, post: Post) -> ResponseReturnValue:
    rollback()
    flash(str(exc), "error")
    return _back(post)


@bp.route("/discussion/posts/<int:post_id>/helpful", methods=["POST"])
@login_required
def helpful(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        marked = community.toggle_helpful(get_session(), reader, post)
    except community.CommunityError as exc:
        return _refused(exc, post)
    commit()
    flash("Marked helpful: thank you." if marked else "Your helpful mark is taken back.", "info")
    return _back(post)


@bp.route("/discussion/posts/<int:post_id>/follow", methods=["POST"])
@login_required
def follow(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    thread = community.thread_of(db, post)
    if community.is_following(db, current_user, thread):
        community.unfollow(db, current_user, thread)
        message = "You no longer follow this thread."
    else:
        community.follow(db, current_user, thread)
        message = "You follow this thread: you are told of every reply."
    commit()
    flash(message, "info")
    return _back(post)


@bp.route("/discussion/posts/<int:post_id>/report", methods=["GET", "POST"])
@login_required
def report(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    form = ReasonForm()
    problem = None
    if form.validate_on_submit():
        try:
            community.report_post(get_session(), reader, post, form.reason.data or "")
        except community.CommunityError as exc:
            rollback()
            problem = str(exc)
        else:
            commit()
            flash("Thank you: the course team will look at this post.", "info")
            return _back(post)
    shown = community.shown_post(get_session(), reader, post)
    return render_template("community/report.html", post=post, shown=shown, form=form, problem=problem,
                           run=reader.run), 422 if problem else 200


@bp.route("/discussion/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    if not community.can_edit(current_user, post):
        flash(f"Only its author can edit a post, for {community.EDIT_MINUTES} minutes after posting it.", "error")
        return _back(post)
    form = EditForm(data={"body": post.body} if request.method == "GET" else None)
    problem = None
    if form.validate_on_submit():
        try:
            community.edit_post(get_session(), reader, post, form.body.data or "")
        except community.CommunityError as exc:
            rollback()
            problem = str(exc)
        else:
            commit()
            flash("Your post is changed.", "info")
            return _back(post)
    return render_template("community/edit.html", post=post, form=form, problem=problem,
                           run=reader.run), 422 if problem else 200


@bp.route("/discussion/posts/<int:post_id>/delete", methods=["POST"])
@login_required
def delete(post_id: int) -> ResponseReturnValue:
    post, reader = _visible_post(post_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        community.delete_post(get_session(), reader, post)
    except community.CommunityError as exc:
        return _refused(exc, post)
    commit()
    flash("Your post is deleted: its text is gone, its replies stay.", "info")
    return _back(post)


# Notifications ----------------------------------------------------------------------

@bp.route("/notifications")
@login_required
def notifications_page() -> ResponseReturnValue:
    db = get_session()
    items, pages = notifications.latest(db, current_user.id, request.args.get("page", 1, type=int_arg) or 1)
    unread = {n.id for n in items if n.read_at is None}
    if unread:
        with write_now() as session:
            notifications.mark_read(session, current_user.id, items)
        g.pop("unread_notifications", None)  # the header counts again, after these
    return render_template("community/notifications.html", items=items, unread=unread, pages=pages,
                           page=request.args.get("page", 1, type=int_arg) or 1, kinds=notifications.KINDS)


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the link's token is the proof (RFC 8058: a mail client posts it with no cookie)
def unsubscribe(token: str) -> ResponseReturnValue:
    db = get_session()
    user: User | None = notifications.user_for_unsubscribe(db, current_app.config["SECRET_KEY"], token)
    if user is None:
        abort(404)
    if request.method == "POST":
        user.notification_email = "never"
        commit()
        return render_template("community/unsubscribe.html", done=True, token=token)
    return render_template("community/unsubscribe.html", done=user.notification_email == "never", token=token)


@bp.app_context_processor
def unread_notifications() -> dict[str, object]:
    """The header's count, for whoever is logged in (one query)."""
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" in g:  # loaded with the person (shooc.web._load_user)
            return int(g.unread_notifications)
        return notifications.unread_count(get_session(), current_user.id)

    return {"unread_notifications": count}
