"""Personal API tokens (no Flask here): created and revoked by their owner, shown
once, stored only as their SHA-256.

A token is ``shooc_`` followed by 43 characters of ``secrets.token_urlsafe(32)``
(256 random bits). The database keeps its SHA-256 (hex) and its first
``PREFIX_LENGTH`` characters, which tell a person's tokens apart on the account
page and say nothing useful about the rest. A plain hash is enough for a secret of
256 random bits (no dictionary to try, unlike a password), and it lets a request
find its token by an indexed equality on the hash; the match is then confirmed with
``hmac.compare_digest``.

Who may hold tokens: evaluators, leaders and admins (``API_ROLES``). The account
page offers tokens only to them; the API checks the owner's role on every request,
not only when the token was made, so the token of a person whose role is now
learner is refused (403).

Creating and revoking a token is written to the audit log (never the token itself).

A token is a password's equal, so it goes when a password would stop working
(issue 14): a new password (changed, or reset through the e-mailed link) revokes
every token of the account, as it ends every session, since changing a password is
what a person does who fears someone else has it; disabling the account revokes
them too, and while an account is disabled no token of it is accepted. Enabling it
again brings none back: its owner makes new ones.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.api.models import ApiToken
from shooc.auth.models import Role, User
from shooc.db import utcnow

TOKEN_PREFIX = "shooc_"
PREFIX_LENGTH = 12  # "shooc_" and six random characters
MAX_TOKEN_LENGTH = 200  # anything longer is not a token of ours: refused without a query
MAX_NAME_LENGTH = 100
API_ROLES = (Role.evaluator, Role.leader, Role.admin)
#: last_used_at is brought up to date at most this often, so reads do not write every time.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be created; the message says why."""


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def may_hold_tokens(user: User) -> bool:
    return user.role in API_ROLES


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row (hash and prefix only) and the plaintext,
    which the caller shows once and never stores."""
    from shooc.audit import audit

    name = " ".join((name or "").split())
    if not name:
        raise TokenError("give the token a name, such as the script that will use it")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"a token's name has at most {MAX_NAME_LENGTH} characters")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext),
                     prefix=plaintext[:PREFIX_LENGTH], created_at=utcnow())
    session.add(token)
    session.flush()
    audit(session, user, "api-token.create", f"Created API token {token.prefix}… ({name})",
          token_id=token.id, prefix=token.prefix)
    return token, plaintext


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A person's tokens, newest first, revoked ones included (marked by revoked_at)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s own tokens; None if they have no token of that id
    (someone else's token is as unknown as a token that does not exist). Revoking a
    revoked token changes nothing."""
    from shooc.audit import audit

    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit(session, user, "api-token.revoke", f"Revoked API token {token.prefix}… ({token.name})",
              token_id=token.id, prefix=token.prefix)
    return token


def revoke_every_token(session: Session, user: User, reason: str) -> int:
    """Revoke all of ``user``'s live tokens (a new password, a disabled account):
    how many there were. Each is audited with the reason."""
    from shooc.audit import audit

    live = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = utcnow()
        audit(session, user, "api-token.revoke", f"Revoked API token {token.prefix}… ({token.name}): {reason}",
              token_id=token.id, prefix=token.prefix, reason=reason)
    session.flush()
    return len(live)


def find_token(session: Session, plaintext: str | None) -> ApiToken | None:
    """The live token whose plaintext this is (read only): not revoked, its owner
    still there and active. None for anything else."""
    if not plaintext or len(plaintext) > MAX_TOKEN_LENGTH or not plaintext.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(plaintext)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by the hash of what was sent, which tells an attacker nothing
    # about any stored token; the comparison itself is in constant time.
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    owner = session.get(User, token.user_id)
    if owner is None or not owner.is_active:
        return None
    return token


def needs_touch(token: ApiToken, now: dt.datetime | None = None) -> bool:
    """Whether last_used_at is old enough to be written again."""
    now = now or utcnow()
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL


def authenticate_token(session: Session, plaintext: str | None, now: dt.datetime | None = None) -> User | None:
    """The owner of a live token, or None. Notes when the token was used (at most
    once a ``TOUCH_INTERVAL``; flushed, for the caller to commit). The caller checks
    the role (``may_hold_tokens``)."""
    token = find_token(session, plaintext)
    if token is None:
        return None
    now = now or utcnow()
    if needs_touch(token, now):
        token.last_used_at = now
        session.flush()
    return session.get(User, token.user_id)
