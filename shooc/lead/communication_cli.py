"""``shooc mail send`` and ``shooc reminders send``."""
from __future__ import annotations

from flask.cli import AppGroup

mail_cli = AppGroup("mail", help="E-mail queued for many people (announcements, reminders).")
reminders_cli = AppGroup("reminders", help="Reminders to learners near their close date or inactive.")
