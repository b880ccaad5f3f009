"""The course team's moderation of a run's discussions (/lead/...): the queue of
reported and hidden posts, hiding and restoring, locking, pinning, muting. Each
action takes a reason and is audited (shooc/community/services.py)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from shooc.community import services as community
from shooc.community.blueprint import bp
from shooc.community.forms import ReasonForm
from shooc.community.models import Post
from shooc.enrolment.models import Enrolment, Run
from shooc.unit_of_work import commit, get_session, rollback
from shooc.web import course_of_run, course_team_of, int_arg, run_or_404


def _course_of_post(post_id: int, **_: object) -> int | None:
    return get_session().scalar(select(Run.course_id).join(Post, Post.run_id == Run.id).where(Post.id == post_id))


#: The run's course's team only (shooc.course_team): by the address's run, or post.
run_team = course_team_of(course_of_run)
post_team = course_team_of(_course_of_post)


@bp.route("/lead/runs/<slug>/moderation")
@run_team
def moderation(slug: str) -> ResponseReturnValue:
    run = run_or_404(slug)
    queued, page = community.moderation_queue(get_session(), run, request.args.get("page", 1, type=int_arg) or 1)
    return render_template("community/moderation.html", run=run, queued=queued, page=page, form=ReasonForm(),
                           muted=community.muted_participants(get_session(), run))


def _post(post_id: int) -> Post:
    return get_session().get(Post, post_id) or abort(404)


def _with_reason(action, done: str, back: str) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    """A moderation action given the form's reason; a refusal (no reason) says why."""
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(form.reason.data or "")
    except community.CommunityError as exc:
        rollback()
        flash(str(exc), "error")
    else:
        commit()
        flash(done, "info")
    return redirect(back)


def _act(post_id: int, action, done: str) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    """An action on a post, then back to the queue it was taken from, or to the post."""
    post = _post(post_id)
    if request.form.get("back") == "queue":  # acted from the moderation queue: back to it
        back = url_for("community.moderation", slug=get_session().get_one(Run, post.run_id).slug)
    else:
        back = url_for("community.post_page", post_id=post.parent_id or post.id, _anchor=f"post-{post.id}")
    return _with_reason(lambda reason: action(post, reason), done, back)


@bp.route("/lead/posts/<int:post_id>/hide", methods=["POST"])
@post_team
def hide(post_id: int) -> ResponseReturnValue:
    return _act(post_id, lambda post, reason: community.hide_post(get_session(), current_user, post, reason),
                "The post is hidden: participants see “hidden by the course team”.")


@bp.route("/lead/posts/<int:post_id>/restore", methods=["POST"])
@post_team
def restore(post_id: int) -> ResponseReturnValue:
    return _act(post_id, lambda post, reason: community.restore_post(get_session(), current_user, post, reason),
                "The post is shown again.")


@bp.route("/lead/posts/<int:post_id>/lock", methods=["POST"])
@post_team
def lock(post_id: int) -> ResponseReturnValue:
    locked = request.form.get("locked", "1") == "1"
    return _act(post_id, lambda post, reason: community.set_locked(get_session(), current_user, post, locked, reason),
                "The thread is locked: it takes no more replies." if locked else "The thread takes replies again.")


@bp.route("/lead/posts/<int:post_id>/pin", methods=["POST"])
@post_team
def pin(post_id: int) -> ResponseReturnValue:
    pinned = request.form.get("pinned", "1") == "1"
    return _act(post_id, lambda post, reason: community.set_pinned(get_session(), current_user, post, pinned, reason),
                "The thread is pinned to the top of its discussion." if pinned else "The thread is no longer pinned.")


@bp.route("/lead/posts/<int:post_id>/mute", methods=["POST"])
@post_team
def mute(post_id: int) -> ResponseReturnValue:
    """Mute (or unmute, ``muted=0``) the post's author in its run."""
    muted = request.form.get("muted", "1") == "1"
    db = get_session()
    post = _post(post_id)
    enrolment = db.scalar(select(Enrolment).where(Enrolment.user_id == post.author_id,
                                                  Enrolment.run_id == post.run_id)) if post.author_id else None
    if enrolment is None:
        abort(404)  # the course team's own posts, or a deleted account's: nobody to mute
    return _act(post_id, lambda post, reason: community.set_muted(db, current_user, enrolment, muted, reason),
                "The author is muted in this run: they can read but not post." if muted
                else "The author can post again.")


@bp.route("/lead/runs/<slug>/muted/<int:user_id>", methods=["POST"])
@run_team
def unmute(slug: str, user_id: int) -> ResponseReturnValue:
    """Let a muted participant post again, from the moderation page's list (field
    ``reason``, audited like the mute)."""
    run = run_or_404(slug)
    db = get_session()
    enrolment = db.scalar(select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.run_id == run.id))
    if enrolment is None:
        abort(404)
    return _with_reason(lambda reason: community.set_muted(db, current_user, enrolment, False, reason),
                        "The participant can post again.",
                        url_for("community.moderation", slug=run.slug, _anchor="muted"))
