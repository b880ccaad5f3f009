"""Account operations over a session; no Flask request state here.

Decision (issue 15): a new password is judged by **zxcvbn's scorer**
(``zxcvbn(password, user_inputs=[email, name])``), not only looked up in its word
list, and must score at least ``MIN_PASSWORD_SCORE`` (3 of 4: "safely unguessable",
about 10^8 guesses and more). zxcvbn had been installed for its list of the 30,000
most used passwords alone; its scorer refuses all of those too (each scores 0 or 1),
and besides them keyboard walks, repeats, dates, l33t spellings and passwords built
from the person's own e-mail address or name, and it says why in words a person can
act on: the form shows its warning and suggestions. A few long passphrases
("correct horse battery staple") and ``generate_password()``'s random ones score 4.
Schools' own favourites (``SCHOOL_PASSWORDS``) are still refused by name, whatever
they score. zxcvbn's time grows with the length (tens of milliseconds at 72
characters, about a scrypt hash's cost, and it refuses longer input), so it sees the
first ``SCORED_LENGTH`` characters only: a longer password is at least as strong as
its beginning.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import CursorResult, delete, null, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from shooc.auth.models import (
    JOB_ROLES,
    MENTORING_EXPERIENCE,
    NAME_SHOWN,
    NOTIFICATION_EMAIL,
    Role,
    User,
    new_session_token,
)
from shooc.db import utcnow
from shooc.urls import SiteUrls

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
MIN_PASSWORD_SCORE = 3  # zxcvbn's score, 0 to 4
SCORED_LENGTH = 72  # the characters zxcvbn is given (its own maximum)
RESET_LINK_HOURS = 2
CONFIRM_LINK_HOURS = 72
LOGIN_LINK_MINUTES = 15  # the e-mailed link that logs in without the password (shooc/auth/limits.py)
# Long enough but guessed first by anyone who tries at a school (zxcvbn's scorer
# knows the public lists).
SCHOOL_PASSWORDS = {
    "1234567890", "12345678910", "123456789a", "qwertyuiop", "password12", "password123",
    "password1234", "1q2w3e4r5t", "qwerty1234", "qwerty12345", "iloveyou12", "abcdefghij",
    "1qaz2wsx3edc", "passw0rd123", "letmein123", "welcome123", "football123", "0987654321",
    "1111111111", "0000000000", "aaaaaaaaaa", "teacher123", "school1234", "mentoring1",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(f"'{email}' is not an e-mail address")
    return email


#: How passwords are hashed: Werkzeug's scrypt (memory-hard, about 80 ms a hash). The
#: test suite alone lowers it for speed (tests/conftest.py), except in the tests that
#: compare timings or check the method, which restore this one.
PASSWORD_HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, PASSWORD_HASH_METHOD)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why a new password will not do, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if lowered in SCHOOL_PASSWORDS:
        return "that password is one of the first that anyone would try: choose another"
    if email and lowered == email.lower() or name and lowered == name.strip().lower():
        return "the password must not be your e-mail address or your name"
    if len(set(password)) < 4:
        return "that password would be easy to guess: it has fewer than 4 different characters"
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=_own_words(email, name), max_length=SCORED_LENGTH)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    return _guessable(result["feedback"]["warning"], result["feedback"]["suggestions"])


def _own_words(email: str, name: str) -> list[str]:
    """What zxcvbn should count as the person's own words: the address and the name
    whole, the address's part before the @, and each word of either."""
    local = email.partition("@")[0]
    return list(dict.fromkeys(word.lower() for word in [email, name.strip(), local, *re.split(r"[\W_]+", local),
                                                           *name.split()] if word))


def _guessable(warning: str, suggestions: list[str]) -> str:
    """zxcvbn's feedback as one sentence and what follows it (the form adds the
    last full stop)."""
    said = "that password would be easy to guess"
    if warning:
        said += ": " + warning[0].lower() + warning[1:].rstrip(".")
    return ". ".join([said, *(s.rstrip(".") for s in suggestions)])


def create_user(session: Session, email: str, name: str, role: Role | str,
                password: str, organisation: str | None = None, verified: bool = True,
                **profile: Any) -> User:
    """An account. Accounts made by administrators (CLI) count as verified; people
    who register confirm their address first."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise AccountError("a name is required")
    problem = password_problem(password, email, name)
    if problem:
        raise AccountError(problem)
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role '{role}'") from None
    if find_user(session, email) is not None:
        raise AccountError(f"an account for {email} already exists")
    user = User(email=email, name=name, role=role, password_hash=hash_password(password),
                organisation=organisation, email_verified_at=utcnow() if verified else None)
    update_profile(user, **profile)
    session.add(user)
    session.flush()
    return user


def update_profile(user: User, **profile: Any) -> None:
    for key, value in profile.items():
        if key == "job_role" and value not in JOB_ROLES and value is not None:
            raise AccountError(f"unknown role in school '{value}'")
        if key == "mentoring_experience" and value not in MENTORING_EXPERIENCE and value is not None:
            raise AccountError(f"unknown mentoring experience '{value}'")
        if key == "name_shown" and value not in NAME_SHOWN:
            raise AccountError(f"unknown way to show a name '{value}'")
        if key == "notification_email" and value not in NOTIFICATION_EMAIL:
            raise AccountError(f"unknown notification e-mail choice '{value}'")
        if key not in {"name", "organisation", "job_role", "mentoring_experience", "email_opt_in", "name_shown",
                       "notification_email"}:
            raise TypeError(f"not a profile field: {key}")
        setattr(user, key, value.strip() if isinstance(value, str) else value)


def set_password(session: Session, user: User, password: str) -> int:
    """A new password; every existing login of the account ends and every API token
    is revoked (shooc/api/tokens.py says why): how many tokens were."""
    from shooc.api.tokens import revoke_every_token

    problem = password_problem(password, user.email, user.name)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    session.flush()
    return revoke_every_token(session, user, "the password was changed")


def disable_account(session: Session, user: User, by: User | None) -> None:
    """An admin stops an account: it can no longer log in (by password or e-mailed
    link), its sessions end and its API tokens are revoked. Nothing it wrote goes."""
    from shooc.api.tokens import revoke_every_token
    from shooc.audit import audit

    if user.disabled_at is not None:
        return
    user.disabled_at = utcnow()
    user.session_token = new_session_token()
    revoke_every_token(session, user, "the account was disabled")
    audit(session, by, "user.disable", f"Disabled the account of user {user.id}", user_id=user.id)
    session.flush()


def enable_account(session: Session, user: User, by: User | None) -> None:
    """Let a disabled account log in again (its revoked API tokens stay revoked)."""
    from shooc.audit import audit

    if user.disabled_at is None:
        return
    user.disabled_at = None
    audit(session, by, "user.enable", f"Enabled the account of user {user.id}", user_id=user.id)
    session.flush()


def end_sessions(session: Session, user: User) -> None:
    """Log the account out everywhere (the login cookie carries the session token)."""
    user.session_token = new_session_token()
    session.flush()


@dataclass
class Registration:
    """What registering did: a new account, or nothing because one exists (the
    person is told the same either way, so no one learns who has an account)."""

    user: User
    created: bool


def register(session: Session, email: str, name: str, password: str, consent: bool,
             **profile: Any) -> Registration:
    """Register, or do nothing if the address has a confirmed account. Every path does
    the same work, so that how long the answer takes does not tell which addresses
    have accounts (issue 14: a confirmed address answered in a tenth of the time):
    one password hash (most of the time), one row written and, by the caller, one
    e-mail rendered and sent the same way."""
    if not consent:
        raise AccountError("please agree to the privacy notice to register")
    existing = find_user(session, email)
    if existing is not None and existing.email_verified_at is not None:
        hash_password(password)  # the hash a new account's password costs, thrown away
        # ... and the write a new account makes: the owner's row, rewritten unchanged
        session.execute(update(User).where(User.id == existing.id).values(email=User.email))
        return Registration(existing, created=False)
    if existing is not None:
        # Registered but never confirmed: whoever registers last sets the password,
        # and only the link sent now can confirm it. Someone who registered another
        # person's address first cannot keep the account when its owner arrives.
        problem = password_problem(password, existing.email, name)
        if problem:
            raise AccountError(problem)
        existing.password_hash = hash_password(password)
        existing.session_token = new_session_token()
        existing.name = name.strip()
        update_profile(existing, **profile)
        existing.consented_at = utcnow()
        session.flush()
        return Registration(existing, created=True)
    user = create_user(session, email, name, Role.learner, password, verified=False, **profile)
    user.consented_at = utcnow()
    session.flush()
    return Registration(user, created=True)


# Signed links: e-mail confirmation and password reset -----------------------------

class LinkError(ValueError):
    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"shooc-{purpose}")


def _fingerprint(user: User, purpose: str) -> str:
    """Changes when the link must stop working: a reset link once the password has
    changed, so it works once; a confirmation link once the address is confirmed, or
    once someone registers the address again (the newest registration's link is the
    only one that works); a login link once the account has logged in (by that link
    or any other way) or its password has changed, so it works once."""
    if purpose == "reset":
        basis = f"{user.email}|{user.password_hash}"
    elif purpose == "login":
        last = user.last_login_at.isoformat() if user.last_login_at is not None else "never"
        basis = f"{user.email}|{user.email_verified_at is not None}|{user.password_hash}|{last}"
    else:
        basis = f"{user.email}|{user.email_verified_at is not None}|{user.password_hash}"
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


def make_link_token(secret_key: str, purpose: str, user: User) -> str:
    return _serializer(secret_key, purpose).dumps([user.id, _fingerprint(user, purpose)])


def read_link_token(session: Session, secret_key: str, purpose: str, token: str, max_hours: float) -> User:
    try:
        user_id, fingerprint = _serializer(secret_key, purpose).loads(token, max_age=round(max_hours * 3600))
    except SignatureExpired:
        raise LinkError("This link has expired.", expired=True) from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("This link is not valid: it may have been copied incompletely.") from None
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is not None and not user.is_active:  # whatever the link: it is the account that is refused
        raise LinkError(DISABLED_MESSAGE)
    if user is None or not hmac.compare_digest(_fingerprint(user, purpose), str(fingerprint)):
        raise LinkError("This link has already been used.")
    return user


def use_login_link(session: Session, user: User) -> bool:
    """Use up a login link read for ``user`` (read_link_token): True once, False if
    it has been used meanwhile. The account's last login moves on only where it is
    still the one the link was made after, in one UPDATE: of two requests with the
    same link at the same moment, one logs in (PostgreSQL re-reads the row once the
    other's transaction ends; SQLite runs one write at a time)."""
    same_login = (User.last_login_at.is_(None) if user.last_login_at is None
                  else User.last_login_at == user.last_login_at)
    result = session.execute(
        update(User).where(User.id == user.id, User.password_hash == user.password_hash, same_login)
        .values(last_login_at=utcnow()).execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)  # what an UPDATE gives, typed as any Result
    session.expire(user, ["last_login_at"])
    return bool(result.rowcount == 1)


def confirm_email(session: Session, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.flush()


def reset_password(session: Session, user: User, password: str) -> int:
    revoked = set_password(session, user, password)
    confirm_email(session, user)  # the link reached them: the address is theirs
    return revoked


# The learner's own data -----------------------------------------------------------

def export_data(session: Session, user: User, urls: SiteUrls | None = None) -> dict[str, Any]:
    """Everything shooc keeps about a person, as they may download it (JSON):
    docs/formats.md#personal-data-download. ``urls`` builds the badges' and
    certificates' addresses (SHOOC_BASE_URL's, or the request's origin); without it
    they are paths (/badges/assertions/<id>)."""
    from shooc.api.models import ApiToken
    from shooc.badges.models import BadgeAssertion, Certificate
    from shooc.community.services import posts_for_export
    from shooc.enrolment.models import Enrolment, Response, Submission, SubmissionReturn
    from shooc.enrolment.self_assessment import for_export as self_assessment_export
    from shooc.evaluate.models import Evaluation
    from shooc.lead.models import WorkbookFeedback

    urls = urls or SiteUrls("")

    enrolments = []
    for enrolment in session.scalars(select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.id)):
        responses = session.scalars(select(Response).where(Response.enrolment_id == enrolment.id)
                                    .order_by(Response.workbook_slug, Response.activity_id)).all()
        submissions = session.scalars(select(Submission).where(Submission.enrolment_id == enrolment.id)
                                      .order_by(Submission.submitted_at)).all()
        evaluation = session.scalar(select(Evaluation).where(Evaluation.enrolment_id == enrolment.id))
        returns = session.scalars(select(SubmissionReturn).where(SubmissionReturn.enrolment_id == enrolment.id)
                                  .order_by(SubmissionReturn.returned_at, SubmissionReturn.id)).all()
        badges = session.scalars(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id)
                                 .order_by(BadgeAssertion.issued_on, BadgeAssertion.id)).all()
        certificates = session.scalars(select(Certificate).where(Certificate.enrolment_id == enrolment.id)
                                       .order_by(Certificate.issued_on, Certificate.code)).all()
        feedback = session.scalars(select(WorkbookFeedback).where(WorkbookFeedback.enrolment_id == enrolment.id)
                                   .order_by(WorkbookFeedback.workbook_slug)).all()
        enrolments.append({
            "course": enrolment.run.course.slug, "run": enrolment.run.slug, "run_name": enrolment.run.name,
            "enrolled_on": enrolment.enrolled_on.isoformat(), "close_date": enrolment.close_date.isoformat(),
            "withdrawn_at": _iso(enrolment.withdrawn_at),
            "answers": [{"workbook": r.workbook_slug, "activity": r.activity_id, "answer": r.answer,
                         "saved_at": _iso(r.updated_at)} for r in responses],
            "submissions": [{"workbook": s.workbook_slug, "submitted_at": _iso(s.submitted_at),
                             "course_version": s.course_version_number} for s in submissions],
            "handed_back": [{"workbook": r.workbook_slug, "submitted_at": _iso(r.submitted_at),
                             "returned_at": _iso(r.returned_at), "reason": r.reason, "returned_by": r.returned_by_name}
                            for r in returns],
            "feedback": [{"workbook": f.workbook_slug, "text": f.text, "by": f.author_name,
                          "updated_at": _iso(f.updated_at)} for f in feedback],
            "badges": [{"workbook": b.workbook_slug, "assertion": urls.assertion(b.id),
                        "image": urls.assertion(b.id) + ".png", "issued_on": _iso(b.issued_on),
                        "revoked_at": _iso(b.revoked_at), "revocation_reason": b.revocation_reason,
                        "evidence_activity": b.evidence_activity_id} for b in badges],
            "certificates": [{"code": _printed_code(c.code), "url": urls.certificate(c.code),
                              "pdf": urls.certificate(c.code) + ".pdf", "holder_name": c.holder_name,
                              "issued_on": _iso(c.issued_on), "revoked_at": _iso(c.revoked_at),
                              "revocation_reason": c.revocation_reason} for c in certificates],
            "name_on_public_pages": enrolment.show_name,
            "self_assessment": self_assessment_export(session, enrolment.id),
            "evaluation": None if evaluation is None else {
                "overall_effect": evaluation.overall_effect.value if evaluation.overall_effect else None,
                "objective_ratings": evaluation.objective_ratings, "comments": evaluation.comments,
                "submitted_at": _iso(evaluation.submitted_at), "updated_at": _iso(evaluation.updated_at)},
        })
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    return {
        "exported_at": _iso(utcnow()),
        "account": {"email": user.email, "name": user.name, "role": user.role.value,
                    "organisation": user.organisation, "job_role": user.job_role,
                    "mentoring_experience": user.mentoring_experience, "email_opt_in": user.email_opt_in,
                    "registered_at": _iso(user.created_at), "consented_to_privacy_notice_at": _iso(user.consented_at),
                    "email_confirmed_at": _iso(user.email_verified_at), "last_login_at": _iso(user.last_login_at),
                    "name_shown": user.name_shown, "notification_email": user.notification_email},
        "enrolments": enrolments,
        "posts": posts_for_export(session, user.id),
        "api_tokens": [{"name": t.name, "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at),
                        "revoked_at": _iso(t.revoked_at)} for t in tokens],
    }


def _printed_code(code: str) -> str:
    """A certificate's code as printed, XXXX-XXXX-XXXX (shooc.badges.services.format_code)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def delete_account(session: Session, user: User) -> None:
    """Erase a person: account, profile, every answer and the text of every post.
    Their enrolments and submissions stay as anonymous rows so that a run's figures
    do not change; their posts' places stay, so that others' replies keep theirs."""
    from shooc.community.services import erase_authors_posts
    from shooc.enrolment.models import Enrolment, Response, Submission

    erase_authors_posts(session, user.id)
    enrolment_ids = select(Enrolment.id).where(Enrolment.user_id == user.id).scalar_subquery()
    session.execute(delete(Response).where(Response.enrolment_id.in_(enrolment_ids)))
    session.execute(update(Submission).where(Submission.enrolment_id.in_(enrolment_ids)).values(answers=null()))
    from shooc.badges.models import BadgeAssertion, Certificate
    from shooc.lead.models import WorkbookFeedback

    session.execute(delete(WorkbookFeedback).where(WorkbookFeedback.enrolment_id.in_(enrolment_ids)))
    from shooc.evaluate.models import Evaluation

    # their own words go; their ratings stay in the run's figures, without a name
    session.execute(update(Evaluation).where(Evaluation.enrolment_id.in_(enrolment_ids)).values(comments=None))

    session.execute(update(Certificate).where(Certificate.enrolment_id.in_(enrolment_ids))
                    .values(holder_name=None, pdf=None))
    session.execute(update(BadgeAssertion).where(BadgeAssertion.enrolment_id.in_(enrolment_ids))
                    .values(evidence_activity_id=None))
    session.execute(update(Enrolment).where(Enrolment.user_id == user.id).values(user_id=None))
    session.delete(user)
    session.flush()


#: What a disabled account is told when its password or a link of its own is right.
DISABLED_MESSAGE = "This account has been disabled. Please ask the course team if you think this is a mistake."


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None:
        # Spend the same time as a real check, so a reply's timing does not tell
        # which e-mail addresses have accounts.
        check_password_hash(_dummy_hash(PASSWORD_HASH_METHOD), password)
        return None
    return user if check_password(user, password) else None


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a real password", method)
