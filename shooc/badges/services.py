"""Issuing, describing and revoking credentials (no Flask here).

A badge is issued in the transaction that submits a workbook (the
``workbook_submitted`` signal, connected by ``connect_to_submissions``); the
certificate in the transaction that submits the last workbook of the course.
Documents are Open Badges 2.0 JSON-LD with hosted verification; their ids are
built on the public base URL the caller passes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shooc.audit import audit
from shooc.auth.models import User
from shooc.badges.credentials import allocate_status
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.community.notifications import Event, notify
from shooc.db import utcnow
from shooc.enrolment.answers import workbook_submitted
from shooc.enrolment.models import Enrolment, Run, Submission
from shooc.enrolment.services import course_workbook_slugs
from shooc.evaluate import counters
from shooc.faults import fault_point
from shooc.urls import SiteUrls
from shooc.webaddress import is_web_address
from shooc.workbooks import current
from shooc.workbooks.models import Course, CourseVersion, WorkbookVersion

CONTEXT = "https://w3id.org/openbadges/v2"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: easy to read out and type
CODE_LENGTH = 12  # 60 random bits


class BadgeError(ValueError):
    pass


# Identities --------------------------------------------------------------------

def new_assertion_id() -> str:
    return secrets.token_hex(16)


def new_certificate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """XXXX-XXXX-XXXX, for people."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


def recipient_identity(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


# Issuing -----------------------------------------------------------------------

def issue_badge(session: Session, submission: Submission) -> BadgeAssertion:
    """The badge of a submitted workbook (once per submission)."""
    existing = session.scalar(select(BadgeAssertion).where(BadgeAssertion.submission_id == submission.id))
    if existing is not None:
        return existing
    enrolment = session.get(Enrolment, submission.enrolment_id)
    if enrolment is None or enrolment.user is None:
        raise BadgeError("a badge needs a learner with an e-mail address")
    salt = secrets.token_hex(8)
    assertion = BadgeAssertion(
        id=new_assertion_id(), submission_id=submission.id, enrolment_id=enrolment.id,
        course_slug=enrolment.run.course.slug, workbook_slug=submission.workbook_slug,
        recipient_identity=recipient_identity(enrolment.user.email, salt), salt=salt,
        issued_on=submission.submitted_at or utcnow())
    session.add(assertion)
    session.flush()
    allocate_status(session, assertion=assertion)  # its place in the revocation list (Open Badges 3.0)
    counters.badge_changed(session, enrolment.run_id, 1)
    notify(session, [enrolment.user_id], Event(
        "badge", f"You earned a badge: {_workbook_title(session, enrolment, submission.workbook_slug)}", "/badges"))
    return assertion


def _workbook_title(session: Session, enrolment: Enrolment, slug: str) -> str:
    return current.workbook_title(session, enrolment.run.course, slug)


def valid_certificate(session: Session, enrolment_id: int) -> Certificate | None:
    """The enrolment's certificate that is not revoked (at most one: a partial unique index)."""
    return session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment_id,
                                                    Certificate.revoked_at.is_(None)))


def latest_certificate(session: Session, enrolment_id: int) -> Certificate | None:
    """The valid certificate, else the last one revoked (None: never certified)."""
    return session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment_id).order_by(
        Certificate.revoked_at.is_not(None), Certificate.issued_on.desc()).limit(1))


def maybe_issue_certificate(session: Session, enrolment: Enrolment) -> Certificate | None:
    """The certificate, once every workbook of the course has a valid badge."""
    existing = valid_certificate(session, enrolment.id)
    if existing is not None:
        return existing
    needed = set(course_workbook_slugs(session, enrolment.run))
    badges = set(session.scalars(select(BadgeAssertion.workbook_slug).where(
        BadgeAssertion.enrolment_id == enrolment.id, BadgeAssertion.revoked_at.is_(None))))
    if not needed or not needed <= badges:
        return None
    issued_on = session.scalar(select(func.max(BadgeAssertion.issued_on)).where(
        BadgeAssertion.enrolment_id == enrolment.id)) or utcnow()
    certificate = Certificate(code=new_certificate_code(), enrolment_id=enrolment.id,
                              holder_name=enrolment.user.name if enrolment.user else None, issued_on=issued_on)
    try:
        with session.begin_nested():
            session.add(certificate)
    except IntegrityError:
        return valid_certificate(session, enrolment.id)
    allocate_status(session, certificate=certificate)
    counters.certificate_changed(session, enrolment.run, enrolment, issued_on, 1)
    notify(session, [enrolment.user_id], Event("badge", "You earned the course's certificate: every workbook done",
                                               f"/certificates/{certificate.code}"))
    return certificate


def issue_on_submission(session: Session, submission: Submission) -> None:
    """The ``workbook_submitted`` receiver: a badge for the workbook, and the
    certificate when it was the course's last."""
    assertion = issue_badge(session, submission)
    fault_point("badge-issued")  # test-only (shooc/faults.py): the badge written, the certificate not yet
    maybe_issue_certificate(session, assertion.enrolment)


def connect_to_submissions() -> None:
    """Issue credentials whenever a workbook is submitted. Called by
    ``shooc.create_app`` (and by any script that submits without the app); connecting
    twice connects once. Explicit rather than done on import, so that no credential
    depends on which modules happen to have been imported."""
    workbook_submitted.connect(issue_on_submission)


# Revoking ----------------------------------------------------------------------

def find_assertion(session: Session, id_or_url: str) -> BadgeAssertion | None:
    """By its id, or by its URL (as printed by `shooc badges list`)."""
    match = re.search(r"([0-9a-f]{32})(?:\.png)?/?$", id_or_url.strip())
    return session.get(BadgeAssertion, match.group(1)) if match else None


def revoke_badge(session: Session, assertion: BadgeAssertion, reason: str,
                 actor: User | None = None) -> Certificate | None:
    """Revoke a badge, and the certificate that depended on it; returns that
    certificate. Recorded in the audit log (``actor`` None: the command line)."""
    reason = reason.strip()
    if not reason:
        raise BadgeError("give a reason for revoking: the badge's page shows it")
    certificate = revoke_with_certificate(session, assertion, reason)
    notify(session, [assertion.enrolment.user_id], Event(
        "revoked", f"Your badge for {_workbook_title(session, assertion.enrolment, assertion.workbook_slug)} was "
        "revoked" + (" (and with it your certificate)" if certificate is not None else ""),
        f"/badges/assertions/{assertion.id}", reason))
    audit(session, actor, "badge.revoke", f"Revoked the badge for "
          f"{_workbook_title(session, assertion.enrolment, assertion.workbook_slug)} ({assertion.id})"
          + (f" and certificate {certificate.code}" if certificate else ""), enrolment=assertion.enrolment,
          reason=assertion.revocation_reason)
    session.flush()
    return certificate


def revoke_with_certificate(session: Session, assertion: BadgeAssertion, reason: str) -> Certificate | None:
    """Revoke a badge and the valid certificate that depends on it (returned), telling
    and recording nobody: the caller does (revoking, handing a workbook back)."""
    if assertion.revoked_at is not None:
        return None  # revoked before (perhaps handed back, the certificate since earned again)
    assertion.revoked_at = utcnow()
    assertion.revocation_reason = reason
    counters.badge_changed(session, assertion.enrolment.run_id, -1)
    certificate = valid_certificate(session, assertion.enrolment_id)
    if certificate is not None:
        _revoke_certificate(session, certificate, f"A badge it depends on was revoked: {reason}")
    return certificate


def revoke_certificate(session: Session, certificate: Certificate, reason: str, actor: User | None = None) -> None:
    """Revoke a certificate (its badges stay valid), recorded in the audit log."""
    reason = reason.strip()
    if not reason:
        raise BadgeError("give a reason for revoking: the certificate's page shows it")
    if certificate.revoked_at is not None:
        return
    _revoke_certificate(session, certificate, reason)
    notify(session, [certificate.enrolment.user_id], Event("revoked", "Your certificate was revoked",
                                                           f"/certificates/{certificate.code}", reason))
    audit(session, actor, "certificate.revoke", f"Revoked certificate {certificate.code}",
          enrolment=certificate.enrolment, reason=reason)
    session.flush()


def _revoke_certificate(session: Session, certificate: Certificate, reason: str) -> None:
    if certificate.revoked_at is None:
        enrolment = certificate.enrolment
        counters.certificate_changed(session, enrolment.run, enrolment, certificate.issued_on, -1)
        certificate.revoked_at = utcnow()
        certificate.revocation_reason = reason
        certificate.pdf = None  # a revoked certificate's PDF says so: made again


# Reading -----------------------------------------------------------------------

def assertions_of_run(session: Session, run: Run) -> list[tuple[BadgeAssertion, str | None]]:
    """Every assertion of a run with its recipient's e-mail (None once erased)."""
    return list(session.execute(
        select(BadgeAssertion, User.email).join(Enrolment, BadgeAssertion.enrolment_id == Enrolment.id)
        .outerjoin(User, Enrolment.user_id == User.id).where(Enrolment.run_id == run.id)
        .order_by(BadgeAssertion.issued_on, BadgeAssertion.id)).all())


def certificates_of_run(session: Session, run: Run) -> list[tuple[Certificate, str | None]]:
    return list(session.execute(
        select(Certificate, User.email).join(Enrolment, Certificate.enrolment_id == Enrolment.id)
        .outerjoin(User, Enrolment.user_id == User.id).where(Enrolment.run_id == run.id)
        .order_by(Certificate.issued_on, Certificate.code)).all())


def badge_workbook(session: Session, course_slug: str, workbook_slug: str) -> WorkbookVersion | None:
    """The newest published version of a workbook (even one a later version removed:
    its badges must still verify)."""
    return session.scalar(
        select(WorkbookVersion).join(CourseVersion).join(Course, CourseVersion.course_id == Course.id)
        .where(Course.slug == course_slug, WorkbookVersion.slug == workbook_slug)
        .order_by(CourseVersion.number.desc()).limit(1))


def site_issuer(session: Session) -> dict[str, Any] | None:
    """The issuer of this site's badges: the one named by the most recently published
    course (one organisation runs a shooc site)."""
    meta = session.scalar(select(CourseVersion.meta).order_by(CourseVersion.published_at.desc(),
                                                              CourseVersion.id.desc()).limit(1))
    return meta.get("issuer") if meta else None


# Open Badges 2.0 documents ---------------------------------------------------------

def issuer_document(urls: SiteUrls, issuer: dict[str, Any]) -> dict[str, Any]:
    # A version published before addresses were checked may hold any text: such an
    # address is never passed on (the site's own origin stands in for it).
    url = issuer["url"] if is_web_address(issuer.get("url")) else urls.base
    return {"@context": CONTEXT, "type": "Issuer", "id": urls.issuer, "name": issuer["name"],
            "url": url, "email": issuer["email"]}


def badge_class_document(urls: SiteUrls, course_slug: str, workbook: WorkbookVersion,
                         course_meta: dict[str, Any]) -> dict[str, Any]:
    badge = workbook.badge
    document: dict[str, Any] = {
        "@context": CONTEXT, "type": "BadgeClass", "id": urls.badge_class(course_slug, workbook.slug),
        "name": badge["name"], "description": badge["description"],
        "image": urls.asset(badge["image_sha256"]),
        "criteria": {"id": urls.badge_class(course_slug, workbook.slug) + "#criteria",
                     "narrative": badge["criteria"]},
        "issuer": urls.issuer,
        "tags": list(dict.fromkeys(["teacher education", "mentoring", course_slug])),
    }
    standards = course_meta.get("standards") or {}
    items = {item["code"]: item for item in standards.get("items", [])}
    alignment = []
    for code in workbook.standards:
        item = items.get(code)
        if item is None:
            continue
        framework_url = standards.get("url")  # checked at publish; not by older versions
        entry = {"targetName": f"{code} {item['name']}",
                 "targetUrl": framework_url if is_web_address(framework_url) else urls.course(course_slug),
                 "targetFramework": standards.get("framework"), "targetCode": code}
        if item.get("description"):
            entry["targetDescription"] = item["description"]
        alignment.append({k: v for k, v in entry.items() if v})
    if alignment:
        document["alignment"] = alignment
    return document


def assertion_document(urls: SiteUrls, assertion: BadgeAssertion,
                       evidence: dict[str, str] | None = None) -> dict[str, Any]:
    if assertion.revoked:
        return revoked_document(urls, assertion)
    document: dict[str, Any] = {
        "@context": CONTEXT, "type": "Assertion", "id": urls.assertion(assertion.id),
        "recipient": {"type": "email", "hashed": True, "salt": assertion.salt,
                      "identity": assertion.recipient_identity},
        "badge": urls.badge_class(assertion.course_slug, assertion.workbook_slug),
        "verification": {"type": "hosted"},
        "issuedOn": assertion.issued_on.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
                    .replace("+00:00", "Z"),
        "image": urls.assertion(assertion.id) + ".png",
    }
    if evidence:
        document["evidence"] = [evidence]
    return document


def revoked_document(urls: SiteUrls, assertion: BadgeAssertion) -> dict[str, Any]:
    return {"@context": CONTEXT, "id": urls.assertion(assertion.id), "revoked": True,
            "revocationReason": assertion.revocation_reason or "Revoked by the issuer"}


# Certificates --------------------------------------------------------------------

def public_holder(enrolment: Enrolment) -> User | None:
    """Whom an enrolment's public badge and certificate pages name: its learner, if
    they chose so (one choice for all of them, ``Enrolment.show_name``); else nobody.
    The certificate's PDF prints the name, so it too is public only then (the holder
    and the course team can always download it)."""
    return enrolment.user if enrolment.show_name else None


def holder_name_matches(certificate: Certificate, name: str) -> bool:
    """Whether ``name`` is the name on the certificate, as a verifier holding the paper
    would type it (case and spacing aside): the page can confirm a name it does not show."""
    def fold(text: str) -> str:
        return " ".join(text.casefold().split())

    if not certificate.holder_name or not name.strip():
        return False
    return hmac.compare_digest(fold(certificate.holder_name).encode(), fold(name).encode())


def find_certificate(session: Session, code: str) -> Certificate | None:
    return session.get(Certificate, normalise_code(code))


def certificate_workbooks(session: Session, certificate: Certificate) -> list[tuple[WorkbookVersion, BadgeAssertion]]:
    """The workbooks the certificate stands on, with their badges, in course order."""
    assertions = session.scalars(select(BadgeAssertion).where(
        BadgeAssertion.enrolment_id == certificate.enrolment_id)).all()
    pairs = []
    for assertion in assertions:
        workbook = badge_workbook(session, assertion.course_slug, assertion.workbook_slug)
        if workbook is not None:
            pairs.append((workbook, assertion))
    return sorted(pairs, key=lambda pair: pair[0].position)


# Adding a credential to a LinkedIn profile ---------------------------------------

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def linkedin_url(name: str, organisation: str, issued_on: dt.datetime | dt.date, url: str, credential_id: str) -> str:
    """LinkedIn's documented "Add to profile" link for a certification
    (startTask=CERTIFICATION_NAME and the fields it pre-fills): a plain link the
    learner follows, nothing of LinkedIn's loaded on our pages."""
    from urllib.parse import urlencode

    return LINKEDIN_ADD + "?" + urlencode({
        "startTask": "CERTIFICATION_NAME", "name": name, "organizationName": organisation,
        "issueYear": str(issued_on.year), "issueMonth": str(issued_on.month), "certUrl": url,
        "certId": credential_id})


#: SHOOC_INSTITUTION_NAME's default (shooc/config.py): not an institution's name, so
#: the course's issuer stands in for it
DEFAULT_INSTITUTION_NAME = "shooc"


def issuing_institution(configured: str | None, meta: dict[str, Any]) -> str:
    """Whom a certificate (and a portfolio) names as issuing it: the institution
    (SHOOC_INSTITUTION_NAME) when it is set to more than its default, else the
    course's issuer (``issuer.name`` in course.md)."""
    if configured and configured.strip() and configured.strip() != DEFAULT_INSTITUTION_NAME:
        return configured.strip()
    return str((meta.get("issuer") or {}).get("name") or configured or DEFAULT_INSTITUTION_NAME)


def signatory(meta: dict[str, Any]) -> tuple[str, str]:
    """The certificate's signatory's (name, role): ``certificate.signatory`` in
    course.md, a mapping with ``name`` and ``role`` or (before issue 18) one text."""
    texts = meta.get("certificate") or {}
    found = texts.get("signatory")
    if isinstance(found, dict):
        return str(found.get("name") or ""), str(found.get("role") or "")
    return (found or (meta.get("issuer") or {}).get("name", "")), ""


def certificate_pdf(session: Session, certificate: Certificate, urls: SiteUrls, keep: bool = True,
                    institution: str | None = None) -> bytes:
    """The certificate's PDF: made on first request and kept with the certificate,
    when ``keep``: only if ``urls`` come from the settings, not from a request's Host
    (shooc/urls.py), since the PDF prints its URL and a QR code of it."""
    if certificate.pdf is not None and keep:
        return certificate.pdf
    from shooc.badges.certificate_pdf import CertificateContent, render

    enrolment = certificate.enrolment
    run = enrolment.run
    meta = current.meta(session, run.course)
    title = current.title(session, run.course)
    texts = meta.get("certificate") or {}
    name, role = signatory(meta)
    hours = meta.get("hours")
    content = CertificateContent(
        holder=certificate.holder_name or "(name erased at the holder's request)",
        course_title=title or run.course.slug, run_name=run.name,
        completed_on=certificate.issued_on.date(),
        title=texts.get("title") or "Certificate of completion",
        text=texts.get("text") or f"has completed every workbook of {title}.",
        signatory=name, signatory_role=role, issuer_name=issuing_institution(institution, meta),
        hours=float(hours) if isinstance(hours, (int, float)) and not isinstance(hours, bool) else None,
        workbooks=tuple((wb.position, wb.title, wb.badge["name"])
                        for wb, _ in certificate_workbooks(session, certificate)),
        code=format_code(certificate.code), url=urls.certificate(certificate.code),
        revoked_reason=certificate.revocation_reason if certificate.revoked else None,
    )
    pdf = render(content)
    if keep:
        certificate.pdf = pdf
        session.flush()
    return pdf
