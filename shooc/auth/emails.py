"""The account e-mails that more than one page sends (registering and an admin's
"resend the confirmation" both send the confirmation link)."""
from __future__ import annotations

import logging

from flask import current_app, render_template

from shooc import mail_layout
from shooc.auth import services
from shooc.auth.models import User
from shooc.mail import MailError
from shooc.web import external_url, mailer, site_urls

log = logging.getLogger(__name__)


def send(to: str, subject: str, template: str, **context: object) -> None:
    """Send a message, its plain text and the same in the branded HTML layout (as
    every queued e-mail: shooc/mail_layout.py); a mail server that fails is logged,
    never shown, so that no answer differs between addresses with and without an account."""
    text = render_template(template, **context)
    try:
        mailer().send(to, subject, text, html=mail_layout.text_html(text, site_urls(), subject))
    except MailError:
        log.exception("could not send %r", subject)


def send_confirmation(user: User) -> None:
    token = services.make_link_token(current_app.config["SECRET_KEY"], "confirm", user)
    send(user.email, "Confirm your e-mail address for shooc", "auth/email/confirm.txt", user=user,
         link=external_url("auth.confirm", token=token), hours=services.CONFIRM_LINK_HOURS)


