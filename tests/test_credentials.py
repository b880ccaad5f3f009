"""Open Badges 3.0 credentials, checked by implementations we did not write.

Digital Bazaar's @digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite verifies the
Data Integrity proof, and their @digitalbazaar/vc-bitstring-status-list reads the
status list (tests/vc/verify.mjs, installed by `make vc` from tests/vc/package-lock.json).
The test GETs every document the verifier needs through Flask's test client (the
credential, the issuer's controller document, the verification method, the status
list) and hands them to the script; its JSON-LD contexts are the npm packages' own
copies, not ours, and nothing goes to the network. PyJWT (not joserfc, which signs)
verifies the VC-JWT.

Without node and tests/vc/node_modules the Digital Bazaar tests skip, unless
SHOOC_REQUIRE_BROWSER=1 (CI), when they fail.
"""
from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit, unavailable
from shooc.badges.credentials import STATUS_LIST_SIZE, base58btc_decode
from shooc.badges.images import text_chunks
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.badges.services import revoke_badge
from shooc.config import PROJECT_ROOT
from shooc.enrolment.services import enrol
from shooc.signing_keys import rotate

VERIFIER = PROJECT_ROOT / "tests" / "vc" / "verify.mjs"
NODE_MODULES = PROJECT_ROOT / "tests" / "vc" / "node_modules" / "@digitalbazaar" / "vc"
SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def enrolment(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    run = make_run(name="Spring run")
    user = make_user("learner", email="Grace.Hopper@Example.org", name="Grace Hopper")
    found = enrol(db, run, user.id, TODAY)
    db.commit()
    return found


@pytest.fixture
def badge(db: Session, enrolment) -> BadgeAssertion:  # type: ignore[no-untyped-def]
    complete_and_submit(db, enrolment, SLUGS[0])
    db.commit()
    return db.scalar(select(BadgeAssertion))


def get_json(client, url: str) -> Any:  # type: ignore[no-untyped-def]
    response = client.get(urlsplit(url).path, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200, (url, response.status_code)
    return response.get_json(force=True)


def documents_for(client, credential: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What a verifier fetches from the issuer's site, fetched from the app."""
    issuer = credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"]
    urls = {issuer, credential["proof"]["verificationMethod"]}
    if "credentialStatus" in credential:
        urls.add(credential["credentialStatus"]["statusListCredential"])
    return {url: get_json(client, url) for url in urls}


def digital_bazaar(credential: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not NODE_MODULES.exists():
        unavailable("BROWSER", "Digital Bazaar's verifier is not installed (`make vc` installs it into tests/vc/)")
    done = subprocess.run([node, str(VERIFIER)], input=json.dumps({"credential": credential, "documents": documents}),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_badge_is_an_open_badge_credential(client, badge: BadgeAssertion) -> None:
    credential = get_json(client, f"/badges/credentials/{badge.id}")
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == f"http://localhost/badges/credentials/{badge.id}"
    assert credential["issuer"]["type"] == ["Profile"] and credential["issuer"]["name"]
    assert credential["validFrom"].endswith("Z")
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [{"type": "IdentityObject", "identityHash": badge.recipient_identity,
                                      "identityType": "emailAddress", "hashed": True, "salt": badge.salt}]
    assert "Grace" not in json.dumps(credential) and "grace" not in json.dumps(credential).lower()
    achievement = subject["achievement"]
    assert achievement["id"] == "http://localhost/badges/classes/mentoring/the-mentors-role"
    assert achievement["criteria"]["narrative"] and achievement["image"]["id"].startswith("http://localhost/assets/")
    assert {a["targetCode"] for a in achievement["alignment"]} <= {"S1", "S2", "S3", "S4"}
    assert achievement["alignment"] and achievement["alignment"][0]["type"] == ["Alignment"]
    assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    proof = credential["proof"]
    assert (proof["type"], proof["cryptosuite"], proof["proofPurpose"]) == (
        "DataIntegrityProof", "eddsa-rdfc-2022", "assertionMethod")
    assert proof["proofValue"].startswith("z")


def test_digital_bazaar_verifies_a_good_credential_and_refuses_a_tampered_one(client, badge: BadgeAssertion) -> None:
    credential = get_json(client, f"/badges/credentials/{badge.id}")
    documents = documents_for(client, credential)
    method = documents[credential["proof"]["verificationMethod"]]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"].startswith("z6Mk")
    result = digital_bazaar(credential, documents)
    assert result["verified"], result["error"]
    assert result["status"] == {"verified": True, "revoked": False, "error": None}

    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["achievement"]["name"] = "A badge nobody earned"
    assert not digital_bazaar(tampered, documents)["verified"]
    backdated = {**credential, "validFrom": "2001-01-01T00:00:00Z"}
    assert not digital_bazaar(backdated, documents)["verified"]


def test_a_revoked_badge_shows_revoked_in_its_status_list_at_once(client, db: Session, badge: BadgeAssertion) -> None:
    credential = get_json(client, f"/badges/credentials/{badge.id}")
    revoke_badge(db, badge, "Plagiarised reflection")
    db.commit()
    result = digital_bazaar(credential, documents_for(client, credential))
    assert result["verified"], result["error"]  # the signature still holds; the issuer says revoked
    assert result["status"] == {"verified": True, "revoked": True, "error": None}
    page = client.get(f"/badges/credentials/{badge.id}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "The issuer has revoked this credential" in page and "Failed: <strong>not revoked" in page


def test_the_status_list_is_the_minimum_size_and_sets_only_revoked_bits(client, db: Session, enrolment) -> None:
    for slug in SLUGS[:2]:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    first, second = db.scalars(select(BadgeAssertion).order_by(BadgeAssertion.issued_on, BadgeAssertion.id)).all()
    revoke_badge(db, second, "Issued in error")
    db.commit()
    statuses = {found.id: get_json(client, f"/badges/credentials/{found.id}")["credentialStatus"]
                for found in (first, second)}
    listed = get_json(client, statuses[first.id]["statusListCredential"])
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    encoded = listed["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) * 8 == STATUS_LIST_SIZE == 131_072

    def bit(index: int) -> bool:
        return bool(bits[index // 8] & (0x80 >> (index % 8)))

    assert not bit(int(statuses[first.id]["statusListIndex"]))
    assert bit(int(statuses[second.id]["statusListIndex"]))
    assert client.get("/badges/status/7").status_code == 404


def test_the_jwt_verifies_with_another_jose_implementation(client, badge: BadgeAssertion) -> None:
    response = client.get(f"/badges/credentials/{badge.id}.jwt")
    assert response.status_code == 200 and response.mimetype == "application/vc+jwt"
    token = response.get_data(as_text=True)
    header = pyjwt.get_unverified_header(token)
    assert set(header) == {"alg", "kid", "typ"} and header["alg"] == "EdDSA" and header["typ"] == "vc+jwt"
    method = get_json(client, header["kid"])  # the kid is where the key is
    raw = base58btc_decode(method["publicKeyMultibase"][1:])
    assert raw[:2] == b"\xed\x01"
    claims = pyjwt.decode(token, Ed25519PublicKey.from_public_bytes(raw[2:]), algorithms=["EdDSA"],
                          options={"verify_aud": False})
    assert claims["jti"] == claims["id"] == f"http://localhost/badges/credentials/{badge.id}"
    assert claims["iss"] == claims["issuer"]["id"] and claims["sub"] == badge.recipient_identity
    assert isinstance(claims["nbf"], int) and "proof" not in claims
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    head, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["name"] = "Forged"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(f"{head}.{forged_payload}.{signature}", Ed25519PublicKey.from_public_bytes(raw[2:]),
                     algorithms=["EdDSA"])


def test_after_rotation_old_credentials_still_verify(client, app, db: Session, badge: BadgeAssertion) -> None:
    before = get_json(client, f"/badges/credentials/{badge.id}")
    rotate(db, "badges", app.config["SECRET_KEY"])
    db.commit()
    after = get_json(client, f"/badges/credentials/{badge.id}")
    assert after["proof"]["verificationMethod"] != before["proof"]["verificationMethod"]
    profile = get_json(client, before["issuer"]["id"])
    assert {before["proof"]["verificationMethod"], after["proof"]["verificationMethod"]} <= set(
        profile["assertionMethod"])
    for credential in (before, after):
        result = digital_bazaar(credential, documents_for(client, credential))
        assert result["verified"], result["error"]


def test_the_baked_image_carries_both_versions(client, badge: BadgeAssertion) -> None:
    response = client.get(f"/badges/assertions/{badge.id}.png")
    assert response.status_code == 200
    chunks = text_chunks(response.data)
    assert json.loads(chunks["openbadges"])["type"] == "Assertion"
    credential = json.loads(chunks["openbadgecredential"])
    assert credential["id"] == f"http://localhost/badges/credentials/{badge.id}"
    result = digital_bazaar(credential, documents_for(client, credential))
    assert result["verified"], result["error"]


def test_the_certificate_is_a_verifiable_credential_too(client, db: Session, enrolment) -> None:
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    certificate = db.scalar(select(Certificate))
    credential = get_json(client, f"/certificates/{certificate.code}/credential")
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["achievement"]["achievementType"] == "CertificateOfCompletion"
    result = digital_bazaar(credential, documents_for(client, credential))
    assert result["verified"], result["error"]
    assert result["status"]["revoked"] is False
    badge = db.scalars(select(BadgeAssertion)).first()
    revoke_badge(db, badge, "Issued in error")  # the certificate goes with it
    db.commit()
    assert digital_bazaar(credential, documents_for(client, credential))["status"]["revoked"] is True


def test_the_verification_page_says_which_checks_passed(client, badge: BadgeAssertion) -> None:
    response = client.get(f"/badges/credentials/{badge.id}", headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for check in ("signature", "issuer key", "not revoked", "dates"):
        assert f"Passed: <strong>{check}" in page
    assert "<script>" not in page


@pytest.mark.parametrize("how", ["command", "returned", "leader"])
def test_every_way_of_revoking_flips_the_bit(client, db: Session, runner, auth, make_user, enrolment,  # type: ignore[no-untyped-def]
                                            how: str) -> None:
    from conftest import csrf_token
    from shooc.lead.review import return_workbook

    complete_and_submit(db, enrolment, SLUGS[0])
    db.commit()
    badge = db.scalar(select(BadgeAssertion))
    credential = get_json(client, f"/badges/credentials/{badge.id}")
    if how == "command":
        done = runner.invoke(args=["badges", "revoke", badge.id, "--reason", "Issued in error"])
        assert done.exit_code == 0, done.output
    elif how == "returned":
        return_workbook(db, None, enrolment, SLUGS[0], "Please add your mentee's voice")
        db.commit()
    else:
        auth.login(make_user("leader"))
        response = client.post(f"/badges/assertions/{badge.id}/revoke",
                               data={"reason": "Plagiarised", "csrf_token": csrf_token(client, "/badges")})
        assert response.status_code == 302
    result = digital_bazaar(credential, documents_for(client, credential))
    assert result["status"]["revoked"] is True, (how, result)
