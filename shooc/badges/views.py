"""Badges and certificates on the web: hosted verification (JSON-LD for machines,
HTML for people), baked images, the learner's badges, revocation by leaders."""
from __future__ import annotations

import io
import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from openbadges_bakery import bake
from sqlalchemy import select

from shooc import course_team
from shooc.auth.forms import EmptyForm
from shooc.badges import credentials as ob3
from shooc.badges import portfolio as portfolios
from shooc.badges import services
from shooc.badges.certificate_pdf import hours_text
from shooc.badges.images import with_text_chunk
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.badges.portfolio_pdf import render as render_portfolio
from shooc.db import utcnow
from shooc.enrolment.models import Enrolment, Run
from shooc.signing_keys import public_key, signing_key
from shooc.unit_of_work import commit, get_session, will_write
from shooc.urls import SiteUrls, origin_is_configured
from shooc.web import course_team_of, site_urls
from shooc.workbooks import current, published
from shooc.workbooks.models import Course, CourseVersion, WorkbookVersion

bp = Blueprint("badges", __name__)

JSON_LD = "application/ld+json"


def urls() -> SiteUrls:
    return site_urls()


def wants_html() -> bool:
    """JSON-LD for application/ld+json, application/json or no Accept; HTML when a
    browser prefers it."""
    if not request.accept_mimetypes:
        return False
    best = request.accept_mimetypes.best_match([JSON_LD, "application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes[JSON_LD]


def json_ld(document: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), status=status, mimetype=JSON_LD)
    response.headers["Access-Control-Allow-Origin"] = "*"  # backpacks verify from their own pages
    return response


@bp.after_request
def _vary(response: Response) -> Response:
    response.vary.add("Accept")
    return response


def _course_meta(course_slug: str) -> dict[str, Any]:
    meta = get_session().scalar(select(CourseVersion.meta).join(Course, CourseVersion.course_id == Course.id)
                                .where(Course.slug == course_slug).order_by(CourseVersion.number.desc()).limit(1))
    return meta or {}


@bp.route("/badges/issuer")
def issuer() -> ResponseReturnValue:
    found = services.site_issuer(get_session())
    if found is None:
        abort(404)
    document = services.issuer_document(urls(), found)
    if wants_html():
        return render_template("badges/issuer.html", issuer=document)
    return json_ld(document)


@bp.route("/badges/classes/<course_slug>/<workbook_slug>")
def badge_class(course_slug: str, workbook_slug: str) -> ResponseReturnValue:
    workbook = services.badge_workbook(get_session(), course_slug, workbook_slug) or abort(404)
    document = services.badge_class_document(urls(), course_slug, workbook, _course_meta(course_slug))
    if wants_html():
        return render_template("badges/badge_class.html", badge=document, workbook=workbook, course_slug=course_slug)
    return json_ld(document)


def _evidence(assertion: BadgeAssertion) -> tuple[dict[str, str] | None, str | None]:
    """The reflection a learner chose to show with their badge (document, text)."""
    submission = assertion.submission  # None once handed back
    if not assertion.evidence_activity_id or submission is None or submission.answers is None:
        return None, None
    answer = submission.answers.get(assertion.evidence_activity_id) or {}
    text = answer.get("text")
    if not text:
        return None, None
    evidence_url = url_for("badges.evidence", assertion_id=assertion.id)
    return {"id": urls().base + evidence_url, "narrative": text}, text


def _course_of_assertion(assertion_id: str, **_: object) -> int | None:
    return get_session().scalar(select(Run.course_id).join(Enrolment, Enrolment.run_id == Run.id).join(
        BadgeAssertion, BadgeAssertion.enrolment_id == Enrolment.id).where(BadgeAssertion.id == assertion_id))


def _course_of_certificate(code: str, **_: object) -> int | None:
    found = services.find_certificate(get_session(), code)
    return found.enrolment.run.course_id if found is not None else None


def _leads(enrolment: Enrolment) -> bool:
    """Whether the current user is of the course team of ``enrolment``'s course."""
    return current_user.is_authenticated and course_team.leads_course(get_session(), current_user,
                                                                      enrolment.run.course_id)


@bp.route("/badges/assertions/<assertion_id>")
def assertion(assertion_id: str) -> ResponseReturnValue:
    db = get_session()
    found = db.get(BadgeAssertion, assertion_id) or abort(404)
    evidence, _ = _evidence(found)
    document = services.assertion_document(urls(), found, evidence)
    status = 410 if found.revoked else 200
    if wants_html():
        workbook = services.badge_workbook(db, found.course_slug, found.workbook_slug) or abort(404)
        holder = services.public_holder(found.enrolment)
        badge = services.badge_class_document(urls(), found.course_slug, workbook, _course_meta(found.course_slug))
        return render_template("badges/assertion.html", assertion=found, badge=badge, holder=holder,
                               evidence=evidence, form=EmptyForm(), document=document,
                               may_revoke=_leads(found.enrolment)), status
    return json_ld(document, status)


@bp.route("/badges/assertions/<assertion_id>.png")
def baked_image(assertion_id: str) -> ResponseReturnValue:
    will_write()  # signing makes the instance's key on its first use
    db = get_session()
    found = db.get(BadgeAssertion, assertion_id) or abort(404)
    if found.revoked:
        abort(410)
    workbook = services.badge_workbook(db, found.course_slug, found.workbook_slug) or abort(404)
    image = published.asset_data(db, workbook.badge["image_sha256"]) or abort(404)
    evidence, _ = _evidence(found)
    document = services.assertion_document(urls(), found, evidence)
    baked = bake(io.BytesIO(image), json.dumps(document, ensure_ascii=False), io.BytesIO()).getvalue()
    # Open Badges 3.0 baking, beside the 2.0 assertion's "openbadges" chunk: the signed
    # credential, which a wallet can verify without this site's say
    credential = _signed_badge_credential(found)
    if credential is not None:
        baked = with_text_chunk(baked, "openbadgecredential", json.dumps(credential, ensure_ascii=False))
    commit()  # the instance's key, if this was its first use
    response = Response(baked, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="badge-{found.workbook_slug}.png"'
    return response


@bp.route("/badges/assertions/<assertion_id>/evidence")
def evidence(assertion_id: str) -> ResponseReturnValue:
    found = get_session().get(BadgeAssertion, assertion_id) or abort(404)
    _, text = _evidence(found)
    if text is None or found.revoked:
        abort(404)
    return render_template("badges/evidence.html", assertion=found, text=text,
                           holder=services.public_holder(found.enrolment))


@bp.route("/badges/assertions/<assertion_id>/revoke", methods=["POST"])
@course_team_of(_course_of_assertion)
def revoke(assertion_id: str) -> ResponseReturnValue:
    db = get_session()
    found = db.get(BadgeAssertion, assertion_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        certificate = services.revoke_badge(db, found, request.form.get("reason", ""), current_user)
    except services.BadgeError as exc:
        flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("badges.assertion", assertion_id=found.id))
    commit()
    flash("The badge is revoked" + (" and so is the certificate that depended on it." if certificate else "."), "info")
    return redirect(url_for("badges.assertion", assertion_id=found.id))


# Open Badges 3.0 (shooc/badges/credentials.py) ------------------------------------

VC_JWT = "application/vc+jwt"


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _issuer_document() -> dict[str, Any] | None:
    found = services.site_issuer(get_session())
    return services.issuer_document(urls(), found) if found is not None else None


def _unsigned_badge_credential(found: BadgeAssertion) -> dict[str, Any] | None:
    db = get_session()
    issuer_document = _issuer_document()
    workbook = services.badge_workbook(db, found.course_slug, found.workbook_slug)
    if issuer_document is None or workbook is None:
        return None
    badge = services.badge_class_document(urls(), found.course_slug, workbook, _course_meta(found.course_slug))
    return ob3.badge_credential(db, urls(), found, issuer_document, badge)


def _signed_badge_credential(found: BadgeAssertion) -> dict[str, Any] | None:
    unsigned = _unsigned_badge_credential(found)
    return ob3.sign(get_session(), urls(), _secret(), unsigned) if unsigned is not None else None


def _checks(credential: dict[str, Any]) -> dict[str, Any]:
    """What the verification page reports, each check made on the credential served."""
    db = get_session()
    method = credential["proof"]["verificationMethod"]
    kid = method.rsplit("/", 1)[-1]
    key = public_key(db, kid)
    valid_from = credential["validFrom"]
    return {"signature": ob3.verify_proof(db, urls(), credential),
            "key": key is not None, "key_retired": key is not None and key.retired_at is not None,
            "not_revoked": not ob3.is_revoked(db, credential["credentialStatus"]),
            "dates": valid_from <= ob3.timestamp(utcnow()), "valid_from": valid_from, "method": method}


def _credential_response(credential: dict[str, Any], template_args: dict[str, Any]) -> ResponseReturnValue:
    if wants_html():
        response: ResponseReturnValue = render_template("badges/credential.html", credential=credential,
                                                        checks=_checks(credential), **template_args)
    else:
        response = json_ld(credential)
    commit()  # the instance's key, if this was its first use
    return response


@bp.route("/badges/credentials/<assertion_id>")
def credential(assertion_id: str) -> ResponseReturnValue:
    """The badge as an OpenBadgeCredential with a Data Integrity proof (a revoked one
    too: its status list says it is revoked, which is what a wallet checks)."""
    will_write()
    found = get_session().get(BadgeAssertion, assertion_id) or abort(404)
    signed = _signed_badge_credential(found) or abort(404)
    return _credential_response(signed, {"assertion": found, "jwt_url": url_for("badges.credential_jwt",
                                                                                assertion_id=found.id)})


@bp.route("/badges/credentials/<assertion_id>.jwt")
def credential_jwt(assertion_id: str) -> ResponseReturnValue:
    will_write()
    found = get_session().get(BadgeAssertion, assertion_id) or abort(404)
    unsigned = _unsigned_badge_credential(found) or abort(404)
    token = ob3.sign_jwt(get_session(), urls(), _secret(), unsigned)
    commit()
    response = Response(token, mimetype=VC_JWT)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/badges/profile")
def credential_issuer() -> ResponseReturnValue:
    """The 3.0 credentials' issuer: a controlled identifier document of every key."""
    will_write()
    db = get_session()
    signing_key(db, "badges", _secret())  # a profile with no key would verify nothing
    document = ob3.controller_document(db, urls())
    commit()
    return json_ld(document)


@bp.route("/badges/keys/<kid>")
def badge_key(kid: str) -> ResponseReturnValue:
    document = ob3.key_document(get_session(), urls(), kid) or abort(404)
    return json_ld(document)


@bp.route("/badges/status/<int:number>")
def status_list(number: int) -> ResponseReturnValue:
    """A revocation list, made from the database on every request (no cache: a
    revocation must show at once)."""
    will_write()
    db = get_session()
    if not ob3.status_list_number_exists(db, number):
        abort(404)
    document = ob3.status_list_credential(db, urls(), _secret(), number)
    commit()
    response = json_ld(document)
    response.headers["Cache-Control"] = "no-store"  # no cache anywhere may hold back a revocation
    return response


@bp.route("/certificates/<code>/credential")
def certificate_credential(code: str) -> ResponseReturnValue:
    """The certificate as an OpenBadgeCredential of the course (a CertificateOfCompletion)."""
    will_write()
    db = get_session()
    found = services.find_certificate(db, code) or abort(404)
    issuer_document = _issuer_document() or abort(404)
    course = found.enrolment.run.course
    meta = current.meta(db, course)
    title = current.title(db, course) or course.slug
    texts = meta.get("certificate") or {}
    first_badge = db.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == found.enrolment_id)
                            .order_by(BadgeAssertion.issued_on).limit(1)) or abort(404)
    unsigned = ob3.certificate_credential(
        db, urls(), found, issuer_document, course.slug,
        f"{texts.get('title') or 'Certificate of completion'}: {title}",
        texts.get("text") or f"Completed every workbook of {title}.",
        first_badge.recipient_identity, first_badge.salt)
    signed = ob3.sign(db, urls(), _secret(), unsigned)
    return _credential_response(signed, {"certificate": found, "jwt_url": None})


# The learner's badges -----------------------------------------------------------

@bp.route("/badges")
@login_required
def my_badges() -> ResponseReturnValue:
    db = get_session()
    rows = db.execute(
        select(BadgeAssertion).join(Enrolment, BadgeAssertion.enrolment_id == Enrolment.id)
        .where(Enrolment.user_id == current_user.id).order_by(BadgeAssertion.issued_on)).scalars().all()
    badges = []
    for found in rows:
        workbook = services.badge_workbook(db, found.course_slug, found.workbook_slug)
        answers = (found.submission.answers if found.submission else None) or {}
        reflections = [(aid, activity_title(workbook, aid)) for aid, answer in answers.items()
                       if isinstance(answer, dict) and answer.get("text") and _kind(workbook, aid) == "reflection"]
        institution = _institution(found.enrolment)
        badges.append({"assertion": found, "workbook": workbook, "url": urls().assertion(found.id),
                       "credential_url": urls().credential(found.id),
                       "reflections": reflections,
                       "linkedin": services.linkedin_url(workbook.badge["name"], institution, found.issued_on,
                                                         urls().assertion(found.id), found.id) if workbook else None})
    certificates = db.scalars(select(Certificate).join(Enrolment).where(Enrolment.user_id == current_user.id)).all()
    enrolments = list(dict.fromkeys([found.enrolment for found in rows] + [c.enrolment for c in certificates]))
    linkedin = {}
    for held in certificates:
        course = held.enrolment.run.course
        title = (current.meta(db, course).get("certificate") or {}).get("title") or "Certificate of completion"
        linkedin[held.code] = services.linkedin_url(
            f"{title}: {current.title(db, course) or course.slug}", _institution(held.enrolment), held.issued_on,
            urls().certificate(held.code), services.format_code(held.code))
    return render_template("badges/my_badges.html", badges=badges, certificates=certificates, form=EmptyForm(),
                           enrolments=enrolments, format_code=services.format_code, linkedin=linkedin)


def _institution(enrolment: Enrolment) -> str:
    return services.issuing_institution(current_app.config.get("SHOOC_INSTITUTION_NAME"),
                                        current.meta(get_session(), enrolment.run.course))


def _kind(workbook: WorkbookVersion | None, activity_id: str) -> str | None:
    return next((a.kind for a in workbook.activities if a.activity_id == activity_id), None) if workbook else None


def activity_title(workbook: WorkbookVersion | None, activity_id: str) -> str:
    activity = next((a for a in workbook.activities if a.activity_id == activity_id), None) if workbook else None
    return (activity.title if activity and activity.title else activity_id.replace("-", " ").capitalize())


@bp.route("/badges/assertions/<assertion_id>/settings", methods=["POST"])
@login_required
def badge_settings(assertion_id: str) -> ResponseReturnValue:
    db = get_session()
    found = db.get(BadgeAssertion, assertion_id)
    if found is None or found.enrolment.user_id != current_user.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    chosen = request.form.get("evidence") or None
    if chosen is not None and chosen not in ((found.submission.answers if found.submission else None) or {}):
        abort(400)
    found.evidence_activity_id = chosen
    commit()
    flash("Your badge's public page is updated.", "info")
    return redirect(url_for("badges.my_badges", _anchor=f"badge-{found.id}"))


@bp.route("/badges/enrolments/<int:enrolment_id>/name", methods=["POST"])
@login_required
def name_choice(enrolment_id: int) -> ResponseReturnValue:
    """The learner's one choice for the public pages of a run's badges and certificate."""
    db = get_session()
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != current_user.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    enrolment.show_name = request.form.get("show_name") == "yes"
    commit()
    flash("Your name is now shown on the public pages of your badges and certificate." if enrolment.show_name else
          "Your name is no longer shown on the public pages of your badges and certificate.", "info")
    return redirect(url_for("badges.my_badges"))


# Certificates -------------------------------------------------------------------

@bp.route("/certificates/<code>")
def certificate(code: str) -> ResponseReturnValue:
    db = get_session()
    found = services.find_certificate(db, code) or abort(404)
    if code != found.code:
        return redirect(url_for("badges.certificate", code=found.code), 301)
    workbooks = services.certificate_workbooks(db, found)
    course = found.enrolment.run.course
    title = current.title(db, course)
    meta = current.meta(db, course)
    checked = request.args.get("name", "")[:300]
    signatory, signatory_role = services.signatory(meta)
    return render_template("badges/certificate.html", certificate=found, workbooks=workbooks, course=course,
                           institution=services.issuing_institution(current_app.config.get("SHOOC_INSTITUTION_NAME"),
                                                                    meta),
                           hours=hours_text(meta.get("hours") if isinstance(meta.get("hours"), (int, float)) else None),
                           signatory=signatory, signatory_role=signatory_role,
                           course_title=title, code=services.format_code(found.code), form=EmptyForm(),
                           url=urls().certificate(found.code), holder=services.public_holder(found.enrolment),
                           pdf_allowed=_may_download(found), may_revoke=_leads(found.enrolment),
                           checked_name=checked,
                           name_matches=services.holder_name_matches(found, checked) if checked else None), \
        (410 if found.revoked else 200)


def _may_download(certificate: Certificate) -> bool:
    """The PDF prints the holder's name: public only if they chose to be named; the
    holder and the course team may always have it."""
    if services.public_holder(certificate.enrolment) is not None:
        return True
    return current_user.is_authenticated and (current_user.id == certificate.enrolment.user_id
                                              or _leads(certificate.enrolment))


@bp.route("/certificates/<code>/revoke", methods=["POST"])
@course_team_of(_course_of_certificate)
def revoke_certificate(code: str) -> ResponseReturnValue:
    db = get_session()
    found = services.find_certificate(db, code) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_certificate(db, found, request.form.get("reason", ""), current_user)
    except services.BadgeError as exc:
        flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("badges.certificate", code=found.code))
    commit()
    flash("The certificate is revoked. Its badges stay valid.", "info")
    return redirect(url_for("badges.certificate", code=found.code))


@bp.route("/certificates/<code>.pdf")
def certificate_pdf(code: str) -> ResponseReturnValue:
    keep = origin_is_configured(current_app.config)
    if keep:
        will_write()  # the first download keeps the PDF
    db = get_session()
    found = services.find_certificate(db, code) or abort(404)
    if not _may_download(found):
        abort(403, description="The holder has chosen not to show their name publicly, so the certificate's PDF is "
                               "theirs to share. Its page on this site confirms that the certificate is valid.")
    pdf = services.certificate_pdf(db, found, urls(), keep=keep,
                                   institution=current_app.config.get("SHOOC_INSTITUTION_NAME"))
    commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{found.code}.pdf"'
    return response


# The learner's portfolio --------------------------------------------------------

@bp.route("/dashboard/enrolments/<int:enrolment_id>/portfolio.pdf")
@login_required
def portfolio(enrolment_id: int) -> ResponseReturnValue:
    """The learner's own answers, feedback, badges and certificate (shooc/badges/portfolio.py)."""
    db = get_session()
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != current_user.id:
        abort(404)  # another person's enrolment does not exist for you (as every enrolment page)
    pdf = render_portfolio(portfolios.portfolio(db, enrolment, urls(), current_app.config))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="portfolio-{enrolment.run.course.slug}-{enrolment.run.slug}.pdf"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
