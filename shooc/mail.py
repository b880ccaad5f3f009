"""E-mail: through SMTP when SHOOC_SMTP_HOST is set; otherwise each message is
written to the instance folder's outbox/ as an .eml file (demos and tests read it)."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

MAIL_SETTINGS: dict[str, Any] = {
    "SHOOC_SMTP_HOST": None,
    "SHOOC_SMTP_PORT": 587,
    "SHOOC_SMTP_USERNAME": None,
    "SHOOC_SMTP_PASSWORD": None,
    "SHOOC_SMTP_SECURITY": "starttls",  # starttls, ssl or none
    "SHOOC_MAIL_FROM": "shooc <no-reply@localhost>",
}


class MailError(RuntimeError):
    pass


@dataclass(frozen=True)
class Mailer:
    sender: str
    outbox: Path
    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    security: str = "starttls"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: str) -> Mailer:
        return cls(sender=config["SHOOC_MAIL_FROM"], outbox=Path(instance_path) / "outbox",
                   host=config["SHOOC_SMTP_HOST"] or None, port=int(config["SHOOC_SMTP_PORT"]),
                   username=config["SHOOC_SMTP_USERNAME"] or None, password=config["SHOOC_SMTP_PASSWORD"] or None,
                   security=str(config["SHOOC_SMTP_SECURITY"]).lower())

    @property
    def uses_outbox(self) -> bool:
        return self.host is None

    def send(self, to: str, subject: str, body: str, html: str | None = None,
             headers: Mapping[str, str] | None = None) -> None:
        """Plain text, with an HTML alternative if ``html`` is given; ``headers`` are
        added as they are (List-Unsubscribe, RFC 8058)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = dt.datetime.now(dt.timezone.utc)
        message["Message-ID"] = make_msgid(domain="shooc")
        for name, value in (headers or {}).items():
            message[name] = value
        # 8bit, not quoted-printable: links stay whole for people who open an
        # outbox file in an editor (every current mail server takes 8BITMIME).
        message.set_content(body, cte="8bit")
        if html is not None:
            message.add_alternative(html, subtype="html", cte="8bit")
        if self.host is None:  # uses_outbox
            self.outbox.mkdir(parents=True, exist_ok=True)
            name = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
            (self.outbox / name).write_bytes(bytes(message))
            return
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=20,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=20)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("sending mail to %s failed: %s", to, exc)
            raise MailError(f"the mail server did not take the message: {exc}") from exc
