"""``shooc mail send`` and ``shooc reminders send``, for cron, and ``shooc sessions
create``:

    */5 * * * *  shooc mail send          # notification e-mails and digests; whatever else is queued
    0 8 * * *    shooc reminders send     # closing-date and inactivity reminders; live sessions' day-before ones

Both are safe to run twice, or at the same time on several servers: queued mail is
claimed message by message, and reminders already sent this week are not sent again
(see ``shooc.lead.communications``), nor is a live session's day-before reminder
(``shooc.lead.live_sessions``).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from shooc.community import notifications
from shooc.db import utcnow
from shooc.mailqueue import deliver, queue_figures
from shooc.unit_of_work import command_session, get_db
from shooc.urls import site_urls
from shooc.web import mailer

mail_cli = AppGroup("mail", help="E-mail queued for many people (announcements, reminders).")
reminders_cli = AppGroup("reminders", help="Reminders to learners near their close date or inactive, and of "
                         "tomorrow's live sessions.")
sessions_cli = AppGroup("sessions", help="Live sessions (webinars, chats) of a run.")


def _waiting() -> dict[str, int]:
    with command_session() as session:
        return queue_figures(session)


@mail_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Try at most this many messages.")
def mail_send(limit: int | None) -> None:
    """Queue the notification e-mails due (each at once, or the daily digests), then
    deliver the queued e-mail (announcements, reminders, notifications)."""
    mailing = notifications.Mailing(site_urls(current_app.config), current_app.config["SECRET_KEY"])
    with command_session() as session:
        queued = notifications.queue_mail(session, mailing, utcnow().date())
    result = deliver(get_db(), mailer(), limit)
    figures = _waiting()
    click.echo(f"Queued {queued.instant} notification{'' if queued.instant == 1 else 's'} and {queued.digests} "
               f"daily digest{'' if queued.digests == 1 else 's'}. "
               f"Sent {result.sent} e-mail{'' if result.sent == 1 else 's'}, {result.failed} failed; "
               f"{figures['waiting']} waiting, {figures['failed']} given up.")


@reminders_cli.command("send")
@click.option("--closing-days", type=click.IntRange(min=0), default=7, show_default=True,
              help="Remind learners with at most this many days left (today included).")
@click.option("--inactive-days", type=click.IntRange(min=1), default=14, show_default=True,
              help="Remind learners who have done nothing for this many days.")
@click.option("--dry-run", is_flag=True, help="Print who would get what; send and record nothing.")
def reminders_send(closing_days: int, inactive_days: int, dry_run: bool) -> None:
    """E-mail learners whose close date is near or who have been inactive (at most
    once per kind per learner per week), and those with a live session tomorrow
    (once per session), then deliver the queue."""
    from shooc.lead import communications as comms
    from shooc.lead import live_sessions

    links = site_urls(current_app.config)  # on SHOOC_BASE_URL (set it in production)
    with command_session() as session:
        if dry_run:
            due = comms.due_reminders(session, closing_days=closing_days, inactive_days=inactive_days)
            for r in due:
                click.echo(f"{r.kind:<8} {r.email:<40} {r.run_name} · close {r.close_date} "
                           f"({r.days_left} days left) · {links.workbook(r.course_slug, r.workbook.slug)}")
            sessions = live_sessions.due_session_reminders(session, links)
            for s in sessions:
                click.echo(f"session  {s.message.recipient:<40} {s.message.subject}")
            click.echo(comms.ReminderRun(due).summary("Would send") + _of_sessions(len(sessions))
                       + "; nothing sent or recorded (dry run).")
            return
        result = comms.send_reminders(session, links, closing_days=closing_days, inactive_days=inactive_days)
    with command_session() as session:
        sessions_sent = live_sessions.send_session_reminders(session, links)
    delivery = deliver(get_db(), mailer())
    click.echo(f"{result.summary()}{_of_sessions(sessions_sent)}; "
               f"sent {delivery.sent} e-mail{'' if delivery.sent == 1 else 's'}, {delivery.failed} failed.")


def _of_sessions(n: int) -> str:
    """The live sessions' day-before reminders, when there are any."""
    return f" and {n} reminder{'' if n == 1 else 's'} of tomorrow's live sessions" if n else ""


@sessions_cli.command("create")
@click.argument("run_slug", metavar="RUN")
@click.option("--title", required=True, help="The session's title.")
@click.option("--starts", required=True, metavar="ISO-DATETIME",
              help="When it starts, e.g. 2027-03-04T18:00: without an offset, in the run's time zone; "
                   "with one (+01:00, Z), as written.")
@click.option("--minutes", required=True, metavar="N", help="How long it lasts, in minutes.")
@click.option("--join-url", default="", metavar="URL", help="The address to join it (https:// or http://).")
def sessions_create(run_slug: str, title: str, starts: str, minutes: str, join_url: str) -> None:
    """Schedule a live session of a run (its learners are e-mailed and notified); prints its id."""
    from shooc.enrolment.runs import find_run
    from shooc.lead import communications as comms
    from shooc.lead import live_sessions

    links = site_urls(current_app.config)
    with command_session() as session:
        run = find_run(session, run_slug)
        if run is None:
            raise click.ClickException(f"no run {run_slug!r}")
        try:
            live, _ = live_sessions.schedule(session, None, run, title, starts, minutes, links, join_url=join_url)
        except comms.Invalid as exc:
            names = {"starts": "--starts", "minutes": "--minutes", "join_url": "--join-url", "title": "--title"}
            raise click.ClickException("; ".join(f"{names.get(field, field)}: {problem}"
                                                 for field, problem in exc.problems.items())) from None
        session_id = live.id
    deliver(get_db(), mailer())
    click.echo(session_id)
