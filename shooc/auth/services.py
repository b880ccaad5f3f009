"""Account operations over a session; no Flask request state here."""
from __future__ import annotations

import functools
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from shooc.auth.models import Role, User

MIN_PASSWORD_LENGTH = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(f"'{email}' is not an e-mail address")
    return email


def hash_password(password: str) -> str:
    # Werkzeug's default is scrypt, a memory-hard KDF.
    return generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(session: Session, email: str, name: str, role: Role | str,
                password: str, organisation: str | None = None) -> User:
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise AccountError("a name is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role '{role}'") from None
    if find_user(session, email) is not None:
        raise AccountError(f"an account for {email} already exists")
    user = User(email=email, name=name, role=role, password_hash=hash_password(password),
                organisation=organisation)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None:
        # Spend the same time as a real check, so a reply's timing does not tell
        # which e-mail addresses have accounts.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password(user, password) else None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password")
