"""What shooc does as an LTI 1.3 tool, over a SQLAlchemy session (no Flask).

Decisions (issue 20):

- **Accounts.** A launch's ``(iss, sub)`` names one account for good
  (``lti_identities``). The first launch links an existing account only when the
  platform sends an e-mail address AND a shooc account with that address has
  *confirmed* it: a platform's say-so about an address is not a proof that the
  person launching owns the shooc account, but two parties having both checked it
  is as good as our own confirmation. Otherwise it makes a new account with no
  password (it logs in through the platform; "forgot my password" gives it one),
  with the platform's address if no account has it (left unconfirmed), else a
  placeholder address under ``.invalid`` that can never receive mail.
- **Roles.** A platform's Instructor or Administrator (context or institution role)
  gets ``lti_course_leaders`` for the launched course: they lead that course (its
  LTI pages, deep linking and the roster, and its runs' course team pages under
  ``/lead``: see ``shooc.course_team``), never a site-wide role, so another course's
  pages, publishing, the audit log and ``/admin`` still refuse them. Learners are enrolled in the course's open
  run (the first by opening date); with no open run the launch still lands, on the
  course page, which says when the next opens.
- **Scores.** A submitted workbook scores 1 of 1 (shooc's workbooks are completed,
  not marked) on the line item of the link launched for that workbook, else on one
  line item per workbook under the course's link (found by ``resourceId`` = the
  workbook's slug, created if missing). The certificate posts the course's
  completion (1 of 1) on the course link's own line item, else on a line item
  ``resourceId`` = ``course``. Each score is a row of ``lti_scores`` written in the
  submission's transaction, so nothing is lost; the ``lti.scores`` job sends every
  pending row; what a platform refuses or cannot take now stays pending, and the job
  queues its successor, which ``shooc jobs recover`` (cron) starts once it is stale.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from shooc import course_team, jobs, signing_keys
from shooc.auth.models import Role, User
from shooc.auth.services import normalise_email
from shooc.badges.services import valid_certificate
from shooc.db import Database, utcnow
from shooc.enrolment.answers import workbook_submitted
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.enrolment.runs import open_runs
from shooc.enrolment.services import EnrolmentError, enrol
from shooc.lti import protocol
from shooc.lti.models import (
    LtiAccessToken,
    LtiHandoff,
    LtiIdentity,
    LtiLink,
    LtiNonce,
    LtiPlatform,
    LtiScore,
)
from shooc.lti.protocol import CLAIM, LaunchRefused
from shooc.urls import SiteUrls
from shooc.workbooks import current
from shooc.workbooks.models import Course, CourseVersion

log = logging.getLogger(__name__)

LOGIN_MINUTES = 10  # from login initiation to launch
HANDOFF_MINUTES = 5
JWKS_REFRESH = dt.timedelta(hours=24)
SCORES_JOB = "lti.scores"
MAX_SCORE_ATTEMPTS = 100  # at one try per stale period: days of a platform being down
WORKBOOK_TAG = "shooc-workbook"
COURSE_RESOURCE = "course"


class RegistrationError(ValueError):
    """A platform's registration that will not do; the message says why."""


# Platforms ------------------------------------------------------------------------

@dataclass(frozen=True)
class PlatformFields:
    issuer: str
    client_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    deployment_ids: str
    course_slug: str | None = None


def _checked(session: Session, fields: PlatformFields) -> tuple[dict[str, Any], Course | None]:
    values: dict[str, Any] = {}
    for name in ("issuer", "auth_url", "token_url", "jwks_url"):
        value = getattr(fields, name).strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistrationError(f"{name.replace('_', ' ')} must be an http(s) URL, not '{value}'")
        values[name] = value
    values["client_id"] = fields.client_id.strip()
    if not values["client_id"]:
        raise RegistrationError("the client id is required")
    deployments = fields.deployment_ids.replace(",", " ").split()
    if not deployments:
        raise RegistrationError("at least one deployment id is required")
    values["deployment_ids"] = " ".join(dict.fromkeys(deployments))
    course = None
    if fields.course_slug:
        course = session.scalar(select(Course).where(Course.slug == fields.course_slug.strip()))
        if course is None:
            raise RegistrationError(f"there is no course '{fields.course_slug}'")
    return values, course


def register_platform(session: Session, fields: PlatformFields) -> LtiPlatform:
    values, course = _checked(session, fields)
    if session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == values["issuer"],
                                                LtiPlatform.client_id == values["client_id"])):
        raise RegistrationError(f"{values['issuer']} is already registered with client id {values['client_id']}")
    platform = LtiPlatform(**values, course_id=course.id if course else None, active=True)
    session.add(platform)
    session.flush()
    return platform


def update_platform(session: Session, platform: LtiPlatform, fields: PlatformFields, active: bool) -> None:
    values, course = _checked(session, fields)
    clash = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == values["issuer"],
                                                     LtiPlatform.client_id == values["client_id"],
                                                     LtiPlatform.id != platform.id))
    if clash is not None:
        raise RegistrationError(f"{values['issuer']} is already registered with client id {values['client_id']}")
    if values["jwks_url"] != platform.jwks_url:
        platform.jwks, platform.jwks_fetched_at = None, None
    for name, value in values.items():
        setattr(platform, name, value)
    platform.course_id = course.id if course else None
    platform.active = active
    session.flush()


def platforms(session: Session) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).order_by(LtiPlatform.issuer, LtiPlatform.client_id)))


@dataclass(frozen=True)
class ScoreQueue:
    """A platform's grade passback, for its admin: scores sent, scores waiting (the
    platform was down or refused them; the ``lti.scores`` job tries again), and the
    oldest waiting one's age and last error."""

    sent: int = 0
    waiting: int = 0
    oldest_waiting: dt.datetime | None = None
    last_error: str | None = None


def score_queues(session: Session) -> dict[int, ScoreQueue]:
    """Each platform's ScoreQueue (platforms with no score yet are left out)."""
    rows = session.execute(
        select(LtiLink.platform_id, func.count(LtiScore.sent_at), func.count() - func.count(LtiScore.sent_at),
               func.min(case((LtiScore.sent_at.is_(None), LtiScore.created_at))))
        .join(LtiLink, LtiLink.id == LtiScore.link_id).group_by(LtiLink.platform_id)).all()
    errors = dict(session.execute(
        select(LtiLink.platform_id, LtiScore.last_error).join(LtiLink, LtiLink.id == LtiScore.link_id)
        .where(LtiScore.sent_at.is_(None), LtiScore.last_error.is_not(None))
        .order_by(LtiScore.id)).all())  # the newest error of each platform wins
    return {platform_id: ScoreQueue(sent, waiting, oldest, errors.get(platform_id))
            for platform_id, sent, waiting, oldest in rows}


def find_platform(session: Session, issuer: str, client_id: str | None, strict: bool = True) -> LtiPlatform:
    """The active platform of that issuer; of its client id too when given (``strict``)
    or when the issuer is registered more than once (a launch: its audience is checked
    once the token is verified)."""
    found = list(session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                           LtiPlatform.active.is_(True))))
    if client_id and (strict or len(found) > 1):
        found = [platform for platform in found if platform.client_id == client_id]
    if not found:
        raise LaunchRefused(f"no active platform is registered with issuer {issuer!r}"
                            + (f" and client id {client_id!r}" if client_id else ""))
    if len(found) > 1:
        raise LaunchRefused(f"{issuer!r} is registered more than once: the platform must send its client_id")
    return found[0]


def platform_origins(platform: LtiPlatform) -> list[str]:
    """Where the platform's pages are served: what may frame shooc after its launch."""
    return list(dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, (platform.issuer, platform.auth_url))))


# Login initiation and launch ------------------------------------------------------

@dataclass(frozen=True)
class Login:
    redirect_url: str
    state: str


def begin_login(session: Session, params: Mapping[str, str], redirect_uri: str) -> Login:
    """OIDC third-party login initiation: the platform's auth URL to send the browser
    to, with a state (also the browser's cookie) and a single-use nonce."""
    for name in ("iss", "login_hint", "target_link_uri"):
        if not params.get(name):
            raise LaunchRefused(f"the login initiation has no {name}")
    platform = find_platform(session, params["iss"], params.get("client_id"))
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in platform.deployments:
        raise LaunchRefused("the login's deployment id is not registered for this platform")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session.execute(delete(LtiNonce).where(LtiNonce.expires_at < utcnow()))  # the expired, unused ones
    session.add(LtiNonce(value=nonce, state=state, platform_id=platform.id,
                         expires_at=utcnow() + dt.timedelta(minutes=LOGIN_MINUTES)))
    session.flush()
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": redirect_uri, "login_hint": params["login_hint"],
             "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    return Login(protocol.with_query(platform.auth_url, **query), state)


def platform_keys(session: Session, platform: LtiPlatform, kid: str | None) -> dict[str, Any]:
    """The platform's JWKS: as cached, fetched again when a day old or when it lacks the
    token's key (a platform that rotated its keys)."""
    fresh = platform.jwks_fetched_at and utcnow() - platform.jwks_fetched_at < JWKS_REFRESH
    if platform.jwks and fresh and protocol.has_key(platform.jwks, kid):
        return platform.jwks
    try:
        platform.jwks = protocol.fetch_jwks(platform.jwks_url)
        platform.jwks_fetched_at = utcnow()
    except protocol.PlatformUnreachable as error:
        if not platform.jwks:
            raise LaunchRefused(f"the platform's keys could not be fetched: {error}") from None
        log.warning("platform %s: keys not refreshed, using the cached ones: %s", platform.issuer, error)
    return platform.jwks or {"keys": []}


@dataclass(frozen=True)
class Launch:
    user: User
    platform: LtiPlatform
    course: Course
    claims: dict[str, Any]
    instructor: bool
    target: str  # a path of this site
    new_account: bool


def _use_nonce(session: Session, platform: LtiPlatform, state: str) -> Callable[[Any], bool]:
    def use(nonce: Any) -> bool:
        if not isinstance(nonce, str):
            return False
        # One UPDATE that only one launch can win: a replayed id_token finds it used.
        result = session.execute(update(LtiNonce).where(
            LtiNonce.value == nonce, LtiNonce.platform_id == platform.id, LtiNonce.state == state,
            LtiNonce.used_at.is_(None), LtiNonce.expires_at >= utcnow()).values(used_at=utcnow()))
        return result.rowcount == 1  # type: ignore[attr-defined]
    return use


def verify_launch(session: Session, id_token: str, state: str) -> tuple[LtiPlatform, dict[str, Any]]:
    """The platform and the verified claims of a launch (LaunchRefused says why not)."""
    if not id_token:
        raise LaunchRefused("the launch has no id_token")
    if not state:
        raise LaunchRefused("the launch has no state")
    header, unverified = protocol.unverified_header_and_claims(id_token)
    aud = unverified.get("aud")
    client_id = unverified.get("azp") or (aud if isinstance(aud, str) else (aud or [None])[0])
    platform = find_platform(session, str(unverified.get("iss") or ""), client_id, strict=False)
    jwks = platform_keys(session, platform, header.get("kid"))
    claims = protocol.verify_launch(id_token, jwks, protocol.Expected(
        platform.issuer, platform.client_id, tuple(platform.deployments), _use_nonce(session, platform, state)))
    return platform, claims


def _course_of(session: Session, platform: LtiPlatform, claims: Mapping[str, Any]) -> tuple[Course, str | None]:
    custom = claims.get(CLAIM + "custom") or {}
    slug = custom.get("course") if isinstance(custom, dict) else None
    course = session.scalar(select(Course).where(Course.slug == slug)) if slug else platform.course
    if course is None:
        raise LaunchRefused("the launch names no course of this site (custom parameter course=<slug>), "
                            "and the platform was registered without one")
    workbook = custom.get("workbook") if isinstance(custom, dict) else None
    if workbook and workbook not in current.workbook_slugs(session, course):
        workbook = None
    return course, workbook


def _account(session: Session, platform: LtiPlatform, claims: Mapping[str, Any]) -> tuple[User, bool]:
    subject = str(claims["sub"])
    identity = session.scalar(select(LtiIdentity).where(LtiIdentity.platform_id == platform.id,
                                                        LtiIdentity.subject == subject))
    if identity is not None:
        user = session.get_one(User, identity.user_id)
        if user.disabled_at is not None:
            raise LaunchRefused("this account is disabled on this site")
        return user, False
    email = None
    try:
        email = normalise_email(str(claims["email"])) if claims.get("email") else None
    except ValueError:
        email = None
    existing = session.scalar(select(User).where(User.email == email)) if email else None
    new = existing is None or existing.email_verified_at is None
    if not new and existing is not None:
        user = existing
    else:
        if existing is not None or email is None:
            email = f"lti-{hashlib.sha256(f'{platform.id}:{subject}'.encode()).hexdigest()[:24]}@lti.invalid"
        name = (claims.get("name") or " ".join(filter(None, (claims.get("given_name"), claims.get("family_name"))))
                or "LTI user").strip()[:200]
        # No password: "!" is no hash of anything, so no password logs in until one is chosen.
        user = User(email=email, name=name, role=Role.learner, password_hash="!")
        session.add(user)
        session.flush()
    if user.disabled_at is not None:
        raise LaunchRefused("this account is disabled on this site")
    session.add(LtiIdentity(platform_id=platform.id, subject=subject, user_id=user.id))
    session.flush()
    return user, new


def _remember_link(session: Session, platform: LtiPlatform, user: User, course: Course, workbook: str | None,
                   claims: Mapping[str, Any]) -> None:
    link_id = (claims.get(CLAIM + "resource_link") or {}).get("id")
    if not link_id:
        return
    ags = claims.get(protocol.AGS_CLAIM) or {}
    nrps = claims.get(protocol.NRPS_CLAIM) or {}
    link = session.scalar(select(LtiLink).where(LtiLink.platform_id == platform.id, LtiLink.user_id == user.id,
                                                LtiLink.course_id == course.id, LtiLink.resource_link_id == link_id))
    if link is None:
        link = LtiLink(platform_id=platform.id, user_id=user.id, course_id=course.id, resource_link_id=link_id)
        session.add(link)
    link.subject = str(claims["sub"])
    link.context_id = (claims.get(CLAIM + "context") or {}).get("id")
    link.workbook_slug = workbook
    link.lineitem_url = ags.get("lineitem")
    link.lineitems_url = ags.get("lineitems")
    link.ags_scopes = " ".join(ags.get("scope") or [])
    link.memberships_url = nrps.get("context_memberships_url")
    link.launched_at = utcnow()
    session.flush()


def launch(session: Session, platform: LtiPlatform, claims: dict[str, Any], site: SiteUrls) -> Launch:
    """What a verified launch does: the account, the role, the enrolment, the link."""
    course, workbook = _course_of(session, platform, claims)
    user, new = _account(session, platform, claims)
    instructor = protocol.is_instructor(claims)
    if instructor:
        course_team.grant(session, user, course.id, platform.id)
    else:
        runs = open_runs(session, course, dt.date.today())
        if runs:
            try:
                enrol(session, runs[0], user.id)
            except EnrolmentError as error:  # full: the course page says so
                log.info("LTI launch of %s: not enrolled: %s", course.slug, error)
    _remember_link(session, platform, user, course, workbook, claims)
    user.last_login_at = utcnow()
    target = site.workbook(course.slug, workbook) if workbook else site.course(course.slug)
    if claims.get(CLAIM + "message_type") == "LtiDeepLinkingRequest":
        if not instructor:
            raise LaunchRefused("only the platform's instructors may add shooc's content (deep linking)")
        target = site.lti_deep_linking
    target = urlsplit(target).path
    return Launch(user, platform, course, claims, instructor, target, new)


# The one-time handoff to a new window ---------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_handoff(session: Session, user: User, target: str) -> str:
    token = secrets.token_urlsafe(24)
    session.add(LtiHandoff(token_hash=_hash(token), user_id=user.id, target=target,
                           expires_at=utcnow() + dt.timedelta(minutes=HANDOFF_MINUTES)))
    session.flush()
    return token


def use_handoff(session: Session, token: str) -> tuple[User, str] | None:
    row = session.get(LtiHandoff, _hash(token))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    result = session.execute(update(LtiHandoff).where(LtiHandoff.token_hash == row.token_hash,
                                                      LtiHandoff.used_at.is_(None)).values(used_at=utcnow()))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    user = session.get_one(User, row.user_id)
    return (user, row.target) if user.disabled_at is None else None


# Deep linking ---------------------------------------------------------------------

def deep_link_items(session: Session, course: Course, workbook_slugs: list[str], launch_url: str,
                    ) -> list[dict[str, Any]]:
    """``ltiResourceLink`` items: the whole course, or one per chosen workbook, each
    with a line item hint (a workbook or the course scores 1 of 1)."""
    title = session.scalar(select(CourseVersion.title).where(CourseVersion.id == course.current_version_id)) \
        or course.slug
    if not workbook_slugs:
        return [{"type": "ltiResourceLink", "title": title, "url": launch_url, "custom": {"course": course.slug},
                 "lineItem": {"scoreMaximum": 1, "label": f"{title}: completed", "resourceId": COURSE_RESOURCE}}]
    items = []
    for workbook in current.workbooks(session, course):
        if workbook.slug in workbook_slugs:
            items.append({"type": "ltiResourceLink", "title": workbook.title, "url": launch_url,
                          "custom": {"course": course.slug, "workbook": workbook.slug},
                          "lineItem": {"scoreMaximum": 1, "label": workbook.title, "resourceId": workbook.slug,
                                       "tag": WORKBOOK_TAG}})
    return items


# Access tokens --------------------------------------------------------------------

def access_token(database: Database, platform_id: int, scopes: list[str], secret: str) -> str:
    """A token for these scopes: the cached one until a minute before it expires, else a
    new one by the client-credentials grant (RFC 7523 assertion, the tool's key)."""
    wanted = " ".join(sorted(scopes))
    with database.session() as session, session.begin():
        cached = session.scalar(select(LtiAccessToken).where(LtiAccessToken.platform_id == platform_id,
                                                             LtiAccessToken.scopes == wanted))
        if cached is not None and cached.expires_at > utcnow() + dt.timedelta(minutes=1):
            return cached.token
        platform = session.get_one(LtiPlatform, platform_id)
        client_id, token_url = platform.client_id, platform.token_url
        key = signing_keys.signing_key(session, "lti", secret)
    token, lifetime = protocol.request_token(client_id, token_url, sorted(scopes), key)  # outside any transaction
    with database.session() as session, session.begin():
        session.execute(delete(LtiAccessToken).where(LtiAccessToken.platform_id == platform_id,
                                                     LtiAccessToken.scopes == wanted))
        session.add(LtiAccessToken(platform_id=platform_id, scopes=wanted, token=token,
                                   expires_at=utcnow() + dt.timedelta(seconds=lifetime)))
    return token


# Scores ---------------------------------------------------------------------------

def queue_scores_on_submission(session: Session, submission: Submission) -> None:
    """The ``workbook_submitted`` receiver: the workbook's score, and the course's
    completion when the certificate came with it, queued for each platform the
    learner launched this course from."""
    enrolment = session.get_one(Enrolment, submission.enrolment_id)
    run = session.get_one(Run, enrolment.run_id)
    links = list(session.scalars(select(LtiLink).where(LtiLink.user_id == enrolment.user_id,
                                                       LtiLink.course_id == run.course_id)
                                 .order_by(LtiLink.launched_at.desc(), LtiLink.id.desc())))
    if not links:
        return
    course = session.get_one(Course, run.course_id)
    queued = 0
    for platform_id in dict.fromkeys(link.platform_id for link in links):
        mine = [link for link in links if link.platform_id == platform_id]
        for_workbook = next((link for link in mine if link.workbook_slug == submission.workbook_slug
                             and link.lineitem_url), None) or next((link for link in mine if link.lineitems_url), None)
        if for_workbook is not None:
            session.add(LtiScore(link_id=for_workbook.id, workbook_slug=submission.workbook_slug,
                                 label=current.workbook_title(session, course, submission.workbook_slug),
                                 score_given=1, score_maximum=1, timestamp=submission.submitted_at or utcnow()))
            queued += 1
        if valid_certificate(session, enrolment.id) is not None:
            for_course = next((link for link in mine if link.workbook_slug is None
                               and (link.lineitem_url or link.lineitems_url)), None)
            if for_course is not None:
                title = session.scalar(select(CourseVersion.title).where(
                    CourseVersion.id == course.current_version_id)) or course.slug
                session.add(LtiScore(link_id=for_course.id, workbook_slug=None, label=f"{title}: completed",
                                     score_given=1, score_maximum=1, timestamp=utcnow()))
                queued += 1
    if queued:
        session.flush()
        job = jobs.create(session, SCORES_JOB, total=queued)
        jobs.start_after_commit(session, job.id)


def connect_to_submissions() -> None:
    """Queue scores whenever a workbook is submitted (after the badges' receiver, which
    issues the certificate). Called by ``shooc.create_app``; explicit, as the badges'."""
    workbook_submitted.connect(queue_scores_on_submission)


def pending_scores(session: Session) -> list[LtiScore]:
    return list(session.scalars(select(LtiScore).where(LtiScore.sent_at.is_(None),
                                                       LtiScore.attempts < MAX_SCORE_ATTEMPTS).order_by(LtiScore.id)))


def _line_item(database: Database, link: LtiLink, score: LtiScore, token: str) -> str:
    """The line item a score goes to: the link's own, or the one for its workbook (or
    the course's completion) under the link's line items, created if needed."""
    if link.lineitem_url and (score.workbook_slug is None or link.workbook_slug == score.workbook_slug):
        return link.lineitem_url
    if not link.lineitems_url:
        raise protocol.PlatformUnreachable("the link has no line items service")
    resource = score.workbook_slug or COURSE_RESOURCE
    found, _ = protocol.http_json("GET", protocol.with_query(link.lineitems_url, resource_id=resource), token=token,
                                  accept="application/vnd.ims.lis.v2.lineitemcontainer+json")
    for item in found or []:
        if item.get("resourceId") == resource and item.get("id"):
            return str(item["id"])
    created, _ = protocol.http_json(
        "POST", link.lineitems_url, token=token, content_type="application/vnd.ims.lis.v2.lineitem+json",
        accept="application/vnd.ims.lis.v2.lineitem+json",
        body={"scoreMaximum": score.score_maximum, "label": score.label, "resourceId": resource,
              "tag": WORKBOOK_TAG if score.workbook_slug else "shooc-course", "resourceLinkId": link.resource_link_id})
    if not isinstance(created, dict) or not created.get("id"):
        raise protocol.PlatformUnreachable("the platform made no line item")
    return str(created["id"])


def send_score(database: Database, score_id: int, secret: str) -> None:
    with database.session() as session:
        score = session.get_one(LtiScore, score_id)
        link = session.get_one(LtiLink, score.link_id)
        session.expunge_all()
    token = access_token(database, link.platform_id, [protocol.SCOPE_LINEITEM, protocol.SCOPE_SCORE], secret)
    lineitem = _line_item(database, link, score, token)
    protocol.http_json("POST", protocol.scores_url(lineitem), token=token,
                       content_type="application/vnd.ims.lis.v1.score+json", body={
                           "userId": link.subject, "scoreGiven": score.score_given,
                           "scoreMaximum": score.score_maximum, "activityProgress": "Completed",
                           "gradingProgress": "FullyGraded",
                           "timestamp": score.timestamp.astimezone(dt.timezone.utc).isoformat(timespec="seconds")})


def scores_job(environment: jobs.Environment, job: jobs.RunningJob) -> None:
    """Send every pending score; what cannot go now stays pending and a successor job
    is queued (started by recovery once stale), so a platform that is down loses nothing."""
    database, secret = environment.database, str(environment.config["SECRET_KEY"])
    with database.session() as session:
        ids = [score.id for score in pending_scores(session)]
    sent = failed = 0
    for score_id in ids:
        try:
            send_score(database, score_id, secret)
        except protocol.PlatformUnreachable as error:
            failed += 1
            log.warning("LTI score %s not sent (kept, tried again later): %s", score_id, error)
            values: dict[str, Any] = {"attempts": LtiScore.attempts + 1, "last_error": str(error)[:1000]}
        else:
            sent += 1
            values = {"attempts": LtiScore.attempts + 1, "sent_at": utcnow(), "last_error": None}
        with database.session() as session, session.begin():
            session.execute(update(LtiScore).where(LtiScore.id == score_id).values(**values))
            job.progress(session, sent + failed, max(job.total, len(ids)))
    if failed:
        with database.session() as session, session.begin():
            jobs.create(session, SCORES_JOB, total=failed)


# The roster -----------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    name: str
    email: str
    roles: list[str]
    status: str
    user_id: str


def roster_link(session: Session, user_id: int, course_id: int) -> LtiLink | None:
    return session.scalar(select(LtiLink).where(LtiLink.user_id == user_id, LtiLink.course_id == course_id,
                                                LtiLink.memberships_url.is_not(None))
                          .order_by(LtiLink.launched_at.desc()).limit(1))


def roster(database: Database, link_id: int, secret: str) -> list[Member]:
    """The context's members, from the platform's NRPS (every page of it)."""
    with database.session() as session:
        link = session.get_one(LtiLink, link_id)
        platform_id, url = link.platform_id, link.memberships_url
    token = access_token(database, platform_id, [protocol.SCOPE_MEMBERSHIPS], secret)
    members: list[Member] = []
    pages = 0
    while url and pages < 50:
        answer, headers = protocol.http_json(
            "GET", url, token=token, accept="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        for member in (answer or {}).get("members", []):
            roles = [role.rsplit("#", 1)[-1] for role in member.get("roles", [])]
            members.append(Member(member.get("name") or "", member.get("email") or "", roles,
                                  member.get("status") or "Active", str(member.get("user_id") or "")))
        url = _next_page(headers.get("Link") or headers.get("link") or "")
        pages += 1
    return sorted(members, key=lambda m: (m.name.lower(), m.user_id))


def _next_page(link_header: str) -> str | None:
    for part in link_header.split(","):
        if 'rel="next"' in part and "<" in part:
            return part[part.index("<") + 1:part.index(">")]
    return None
