"""The community's forms: Flask-WTF for the CSRF token. Lengths and the rest are the
services' to check (shooc/community/services.py), so that a refusal shows the text
typed again with the reason."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField

from shooc.community.services import MAX_POST, MAX_REASON


class PostForm(FlaskForm):
    body = TextAreaField("Your post", render_kw={"rows": 5, "maxlength": MAX_POST})
    parent = HiddenField()  # a post's id: a reply to its thread
    activity = HiddenField()  # a peer-discussion prompt's id: the post answers it


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", render_kw={"rows": 3, "maxlength": MAX_POST})
    parent = HiddenField()


class EditForm(FlaskForm):
    body = TextAreaField("Your post", render_kw={"rows": 6, "maxlength": MAX_POST})


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", render_kw={"rows": 3, "maxlength": MAX_REASON})
