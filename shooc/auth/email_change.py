"""Changing an account's e-mail address (no Flask here): asked for on the account
page with the password, confirmed by a link sent to the new address.

Decisions (issue 18):

- **The old address stays until the new one is confirmed.** Asking stores the new
  address as ``User.pending_email``; logging in, links and e-mails keep using
  ``email`` until the link e-mailed to the new address is used. The link is signed
  (itsdangerous, its own salt), names the account and the address, and works for
  ``LINK_HOURS`` while that address is still the pending one: asking again for
  another address, or cancelling, makes every earlier link useless, and using it
  once ends it (the address is no longer pending). Opening it (a GET, as mail
  scanners do) changes nothing; its page's button (a POST with its CSRF token)
  makes the change, and never for someone else logged in in that browser (409).
- **The password is asked for** (OWASP's Authentication Cheat Sheet: re-authenticate
  before changing the address a reset link goes to): a session left open on a
  shared computer cannot hand the account over.
- **The old address is told** twice, by a notice that needs no action: when a change
  is asked for (with the address asked for, so the owner can cancel it and change
  their password if it was not them) and when it takes effect.
- **An address already in use is refused without saying so.** The page answers as
  for any address ("we sent a link to ..."), and the same amount of mail goes out:
  the new address receives either the confirmation link or, if it already has an
  account, a message saying so to its owner (as registering does: shooc/auth/services.py
  ``register``). Using a link whose address has been taken meanwhile changes nothing.
- **Badges follow the person: they are re-hashed.** A badge's recipient is
  ``sha256(lower-cased e-mail + salt)`` (Open Badges 2.0 hosted verification). People
  change their address mostly because they lose the old one (a teacher leaves a
  school), and then a backpack or an employer can check the badge only against the
  address the person has now. So when the change takes effect every assertion of the
  account's enrolments gets a new salt and the new address's hash: the hosted
  assertions (and any baked image downloaded from then on, which is baked from them)
  verify for the new address and no longer for the old one. A badge already imported
  into a backpack under the old address fails its next re-verification there and is
  added again under the new one; its URL, dates and evidence do not change.
  Certificates name the holder, not an address, and are unchanged.
  (tests/test_email_change.py checks this with 1EdTech's validator.)
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.auth.models import User
from shooc.auth.services import (
    DISABLED_MESSAGE,
    AccountError,
    LinkError,
    check_password,
    find_user,
    normalise_email,
)
from shooc.badges.models import BadgeAssertion
from shooc.badges.services import recipient_identity
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment

LINK_HOURS = 24
PURPOSE = "email-change"


@dataclass(frozen=True)
class ChangeAsked:
    """What the view sends: the link to the new address, or (``taken``) the message
    that the address already has an account; and the notice to the old one."""

    user: User
    new_email: str
    old_email: str
    taken: bool


def ask(session: Session, user: User, new_email: str, password: str) -> ChangeAsked:
    """Ask for ``user``'s address to become ``new_email`` (refused: AccountError)."""
    if not check_password(user, password):
        raise AccountError("that is not your password")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise AccountError("that is already your account's address")
    existing = find_user(session, new_email)
    user.pending_email = new_email
    user.pending_email_at = utcnow()
    session.flush()
    return ChangeAsked(user, new_email, user.email, taken=existing is not None and existing.id != user.id)


def cancel(session: Session, user: User) -> None:
    """Forget the pending address: its link no longer works."""
    user.pending_email = None
    user.pending_email_at = None
    session.flush()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"shooc-{PURPOSE}")


def _fingerprint(user: User) -> str:
    """Changes when the link must stop working: another address asked for (or the
    same one asked again), the change cancelled or made, the address changed."""
    asked = user.pending_email_at.isoformat() if user.pending_email_at else "never"
    return hashlib.sha256(f"{user.email}|{user.pending_email}|{asked}".encode()).hexdigest()[:20]


def make_link_token(secret_key: str, user: User) -> str:
    if not user.pending_email:
        raise ValueError("no address is waiting for confirmation")
    return _serializer(secret_key).dumps([user.id, user.pending_email, _fingerprint(user)])


def read_link_token(session: Session, secret_key: str, token: str) -> tuple[User, str]:
    """The account and the new address a link is for, or LinkError saying why not."""
    try:
        user_id, email, fingerprint = _serializer(secret_key).loads(token, max_age=LINK_HOURS * 3600)
    except SignatureExpired:
        raise LinkError("This link has expired: ask for the change again on your account page.",
                        expired=True) from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("This link is not valid: it may have been copied incompletely.") from None
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is not None and not user.is_active:
        raise LinkError(DISABLED_MESSAGE)
    if (user is None or user.pending_email != email
            or not hmac.compare_digest(_fingerprint(user), str(fingerprint))):
        raise LinkError("This link has already been used, or a newer one has been sent: the newest link works.")
    return user, str(email)


def confirm(session: Session, user: User, email: str) -> str:
    """Make the pending address the account's; returns the old one. Re-hashes the
    account's badges for the new address (see the module's decisions)."""
    if user.pending_email != email:
        raise LinkError("This link has already been used, or a newer one has been sent: the newest link works.")
    existing = find_user(session, email)
    if existing is not None and existing.id != user.id:
        cancel(session, user)
        raise LinkError("That address now belongs to another account, so this one keeps its address.")
    old = user.email
    user.email = email
    user.email_verified_at = utcnow()  # the link reached the new address: it is theirs
    user.pending_email = None
    user.pending_email_at = None
    assertions = session.scalars(select(BadgeAssertion).join(Enrolment, BadgeAssertion.enrolment_id == Enrolment.id)
                                 .where(Enrolment.user_id == user.id))
    for assertion in assertions:
        assertion.salt = secrets.token_hex(8)
        assertion.recipient_identity = recipient_identity(email, assertion.salt)
    session.flush()
    return old
