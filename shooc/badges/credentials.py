"""Open Badges 3.0: every badge, and the certificate, as a W3C Verifiable Credential
(no Flask here).

A badge's ``OpenBadgeCredential`` says what its Open Badges 2.0 assertion says
(shooc/badges/services.py), in the 3.0 vocabulary, and carries its own proof, so
that a wallet can verify it without asking this site whether it is valid:

- a ``DataIntegrityProof`` with the ``eddsa-rdfc-2022`` cryptosuite: the credential
  and the proof's options canonicalised to N-Quads (RDFC-1.0, with ``pyld``),
  hashed (SHA-256) and signed with the instance's Ed25519 key
  (shooc/signing_keys.py, ``cryptography``);
- or, at ``.jwt``, a VC-JWT: a compact JWS (``joserfc``) whose payload is the
  credential plus ``iss``, ``jti``, ``sub`` and ``nbf``.

The verification method is a ``Multikey`` at ``/badges/keys/<kid>``, controlled by
the issuer ``/badges/profile``, a controlled identifier document listing every key
ever used (rotated keys included) under ``assertionMethod``: what was signed with a
retired key keeps verifying.

Revocation is a ``BitstringStatusListEntry``: each credential holds an index
(``CredentialStatus``) into a list of STATUS_LIST_SIZE bits served, signed, under
``/badges/status/<n>``; the bits are read from the database on every request, so a
revocation shows at once.

Why these libraries: ``pyld`` is the JSON-LD processor the W3C test suites use
for Python and implements RDFC-1.0 (URDNA2015); with ``cryptography`` the proof
is a few dozen lines that Digital Bazaar's verifier checks (tests/test_credentials.py).
``joserfc`` signs EdDSA JWS when asked to (``algorithms=["EdDSA"]``). didkit, the
one library that did both, is archived and cannot read VC 2.0.

The JSON-LD contexts are packaged copies (shooc/badges/contexts/): canonicalising
never fetches anything, so signing works offline and a changed remote context
cannot change what a signature covers.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import gzip
import hashlib
import json
import threading
import warnings
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from joserfc import jwt
from joserfc.jwk import OKPKey
from pyld import jsonld
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shooc.badges.models import BadgeAssertion, Certificate, CredentialStatus
from shooc.signing_keys import LoadedKey, PublicKey, public_key, public_keys, signing_key
from shooc.urls import SiteUrls

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CONTEXT = [VC_V2, OB_V3, OB_EXTENSIONS]
ACHIEVEMENT_SCHEMA = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
                      "ob_v3p0_achievementcredential_schema.json")
CRYPTOSUITE = "eddsa-rdfc-2022"
#: the smallest list Bitstring Status List allows (16 KB): a short list would tell
#: who else's credentials were revoked, a long one hides them among many
STATUS_LIST_SIZE = 131_072
#: the VC-JWT's media type (VC-JOSE-COSE, for VC 2.0 credentials)
JWT_TYPE = "vc+jwt"

CONTEXT_FILES = Path(__file__).parent / "contexts"
PACKAGED_CONTEXTS = {
    VC_V2: "credentials-v2.json",
    OB_V3: "ob-context-3.0.3.json",
    OB_EXTENSIONS: "ob-extensions.json",
    DID_V1: "did-v1.json",
    MULTIKEY_V1: "multikey-v1.json",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.json",
}


class CredentialError(ValueError):
    pass


# JSON-LD without the network ------------------------------------------------------

@cache
def packaged_context(url: str) -> dict[str, Any]:
    name = PACKAGED_CONTEXTS.get(url)
    if name is None:
        raise CredentialError(f"no packaged copy of the JSON-LD context {url}")
    loaded: dict[str, Any] = json.loads((CONTEXT_FILES / name).read_text(encoding="utf-8"))
    return loaded


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: the packaged contexts, and nothing else."""
    return {"contextUrl": None, "documentUrl": url, "document": packaged_context(url)}


def canonical_nquads(document: dict[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    result: str = jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                              "documentLoader": document_loader})
    return result


# Keys -----------------------------------------------------------------------------

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_PUB_MULTICODEC = b"\xed\x01"


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    encoded = ""
    while number:
        number, remainder = divmod(number, 58)
        encoded = BASE58[remainder] + encoded
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + encoded


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + BASE58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _raw_public_key(jwk: dict[str, str]) -> bytes:
    return base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))


def public_key_multibase(jwk: dict[str, str]) -> str:
    """Multikey's encoding: ``z`` + base58btc(0xed01 + the 32 bytes of the key)."""
    return "z" + base58btc(ED25519_PUB_MULTICODEC + _raw_public_key(jwk))


def verification_method_url(urls: SiteUrls, kid: str) -> str:
    return urls.badge_key(kid)


def multikey(urls: SiteUrls, key: PublicKey, with_context: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {"id": verification_method_url(urls, key.kid), "type": "Multikey",
                                "controller": urls.credential_issuer,
                                "publicKeyMultibase": public_key_multibase(key.public_jwk)}
    return {"@context": MULTIKEY_V1, **document} if with_context else document


def key_document(session: Session, urls: SiteUrls, kid: str) -> dict[str, Any] | None:
    """The verification method ``/badges/keys/<kid>`` (a badges key, current or retired)."""
    found = public_key(session, kid)
    if found is None or found.algorithm != "EdDSA":
        return None
    return multikey(urls, found)


def controller_document(session: Session, urls: SiteUrls) -> dict[str, Any]:
    """The issuer's controlled identifier document (``/badges/profile``): every badges
    key, rotated ones too, may assert credentials. Its first context is DID v1's, as
    verifiers (Digital Bazaar's) read such a document as it is only then."""
    methods = [multikey(urls, key, with_context=False) for key in public_keys(session, "badges")]
    return {"@context": [DID_V1, MULTIKEY_V1], "id": urls.credential_issuer,
            "verificationMethod": methods, "assertionMethod": [method["id"] for method in methods]}


# Proofs ---------------------------------------------------------------------------

def timestamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    unsigned = {name: value for name, value in document.items() if name != "proof"}
    options = {"@context": document["@context"], **proof_options}
    return (hashlib.sha256(canonical_nquads(options).encode()).digest()
            + hashlib.sha256(canonical_nquads(unsigned).encode()).digest())


def add_proof(document: dict[str, Any], key: LoadedKey, urls: SiteUrls,
              created: dt.datetime | None = None) -> dict[str, Any]:
    """The document with an ``eddsa-rdfc-2022`` DataIntegrityProof (VC Data Integrity
    EdDSA Cryptosuites v1.0, 3.3: transformation, proof configuration, hashing, serialisation)."""
    if not isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        raise CredentialError("eddsa-rdfc-2022 signs with an Ed25519 key")
    options = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE,
               "created": timestamp(created or dt.datetime.now(dt.timezone.utc)),
               "verificationMethod": verification_method_url(urls, key.kid), "proofPurpose": "assertionMethod"}
    signature = key.private_key.sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


def verify_proof(session: Session, urls: SiteUrls, document: dict[str, Any]) -> bool:
    """Our own check of a DataIntegrityProof (for the verification pages; the test
    suite checks with an implementation we did not write)."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != CRYPTOSUITE:
        return False
    method = str(proof.get("verificationMethod", ""))
    prefix = verification_method_url(urls, "")
    found = public_key(session, method[len(prefix):]) if method.startswith(prefix) else None
    if found is None or found.algorithm != "EdDSA":
        return False
    return signature_valid(found.public_jwk, document)


def signature_valid(public_jwk: dict[str, str], document: dict[str, Any]) -> bool:
    """Whether the document's eddsa-rdfc-2022 proof is a signature by this key."""
    proof = document.get("proof") or {}
    value = str(proof.get("proofValue", ""))
    if not value.startswith("z"):
        return False
    options = {name: item for name, item in proof.items() if name != "proofValue"}
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(_raw_public_key(public_jwk)).verify(
            base58btc_decode(value[1:]), _hash_data(document, options))
    except Exception:  # InvalidSignature, or a malformed value: not verified either way
        return False
    return True


def vc_jwt(credential: dict[str, Any], key: LoadedKey, urls: SiteUrls) -> str:
    """The credential as a VC-JWT: header ``alg`` EdDSA, ``kid`` the verification
    method's URL (where the public key is), ``typ`` vc+jwt; nothing else in the
    header. joserfc lists EdDSA as not recommended, so it is named explicitly."""
    if not isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        raise CredentialError("a VC-JWT of Open Badges signs with an Ed25519 key")
    private_key = key.private_key
    unsigned = {name: value for name, value in credential.items() if name != "proof"}
    subject = unsigned["credentialSubject"]
    identifier = (subject.get("identifier") or [{}])[0]
    valid_from = dt.datetime.fromisoformat(unsigned["validFrom"].replace("Z", "+00:00"))
    claims = {**unsigned, "iss": unsigned["issuer"]["id"], "jti": unsigned["id"],
              "sub": subject.get("id") or identifier.get("identityHash") or unsigned["id"],
              "nbf": int(valid_from.timestamp())}
    header = {"alg": "EdDSA", "kid": verification_method_url(urls, key.kid), "typ": JWT_TYPE}
    with warnings.catch_warnings():
        # RFC 9864 prefers "Ed25519" to "EdDSA"; Open Badges 3.0 and the verifiers
        # wallets use still name EdDSA, so EdDSA it is (the same Ed25519 signature).
        warnings.simplefilter("ignore")
        return jwt.encode(header, claims, OKPKey.import_key(private_key), algorithms=["EdDSA"])


# Status lists ---------------------------------------------------------------------

def status_of(session: Session, assertion: BadgeAssertion | None = None,
              certificate: Certificate | None = None) -> CredentialStatus:
    """The credential's status-list entry, given out on issue (shooc/badges/services.py)
    or by migration 0025 for those issued before; made here if missing."""
    column, value = ((CredentialStatus.assertion_id, assertion.id) if assertion is not None
                     else (CredentialStatus.certificate_code, certificate.code if certificate else None))
    found = session.scalar(select(CredentialStatus).where(column == value))
    if found is None:
        found = allocate_status(session, assertion, certificate)
    return found


def allocate_status(session: Session, assertion: BadgeAssertion | None = None,
                    certificate: Certificate | None = None) -> CredentialStatus:
    entry = CredentialStatus(assertion_id=assertion.id if assertion else None,
                             certificate_code=certificate.code if certificate else None)
    session.add(entry)
    session.flush()
    return entry


def status_entry(urls: SiteUrls, status: CredentialStatus) -> dict[str, Any]:
    number, index = divmod(status.id, STATUS_LIST_SIZE)
    return {"id": f"{urls.status_list(number)}#{index}", "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": str(index),
            "statusListCredential": urls.status_list(number)}


def revoked_indexes(session: Session, number: int) -> list[int]:
    """The indexes, within list ``number``, of revoked badges and certificates."""
    low, high = number * STATUS_LIST_SIZE, (number + 1) * STATUS_LIST_SIZE
    rows = session.scalars(
        select(CredentialStatus.id)
        .outerjoin(BadgeAssertion, CredentialStatus.assertion_id == BadgeAssertion.id)
        .outerjoin(Certificate, CredentialStatus.certificate_code == Certificate.code)
        .where(CredentialStatus.id >= low, CredentialStatus.id < high,
               or_(BadgeAssertion.revoked_at.is_not(None), Certificate.revoked_at.is_not(None))))
    return [row - low for row in rows]


def encoded_list(indexes: list[int]) -> str:
    """The bitstring (index 0 the first byte's highest bit), GZIP-compressed,
    multibase base64url without padding."""
    bits = bytearray(STATUS_LIST_SIZE // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def status_list_number_exists(session: Session, number: int) -> bool:
    return number == 0 or session.scalar(select(CredentialStatus.id).where(
        CredentialStatus.id >= number * STATUS_LIST_SIZE).limit(1)) is not None


def status_list_credential(session: Session, urls: SiteUrls, secret: str, number: int) -> dict[str, Any]:
    url = urls.status_list(number)
    document = {
        "@context": [VC_V2], "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.credential_issuer, "validFrom": timestamp(dt.datetime.now(dt.timezone.utc)),
        "credentialSubject": {"id": url + "#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": encoded_list(revoked_indexes(session, number))},
    }
    return add_proof(document, signing_key(session, "badges", secret), urls)


# The credentials ------------------------------------------------------------------

def issuer_profile(urls: SiteUrls, issuer: dict[str, Any], issuer_url: str) -> dict[str, Any]:
    profile: dict[str, Any] = {"id": urls.credential_issuer, "type": ["Profile"], "name": issuer["name"],
                               "url": issuer_url, "email": issuer["email"]}
    return profile


def alignments(badge_class: dict[str, Any]) -> list[dict[str, Any]]:
    """The 2.0 BadgeClass's alignment (the course's standards), in 3.0's shape."""
    return [{"type": ["Alignment"], **{name: value for name, value in entry.items()
                                       if name in ("targetName", "targetUrl", "targetDescription",
                                                   "targetFramework", "targetCode")}}
            for entry in badge_class.get("alignment", [])]


def badge_credential(session: Session, urls: SiteUrls, assertion: BadgeAssertion, issuer: dict[str, Any],
                     badge_class: dict[str, Any]) -> dict[str, Any]:
    """The badge's OpenBadgeCredential, unsigned. ``issuer`` is the 2.0 Issuer
    document, ``badge_class`` the 2.0 BadgeClass (services.py): one source for both."""
    achievement: dict[str, Any] = {
        "id": badge_class["id"], "type": ["Achievement"], "achievementType": "Badge",
        "name": badge_class["name"], "description": badge_class["description"],
        "criteria": {"id": badge_class["criteria"]["id"], "narrative": badge_class["criteria"]["narrative"]},
        "image": {"id": badge_class["image"], "type": "Image"},
    }
    aligned = alignments(badge_class)
    if aligned:
        achievement["alignment"] = aligned
    return _credential(urls.credential(assertion.id), badge_class["name"], issuer_profile(urls, issuer, issuer["url"]),
                       assertion.issued_on, assertion.recipient_identity, assertion.salt, achievement,
                       status_entry(urls, status_of(session, assertion=assertion)),
                       image=urls.assertion(assertion.id) + ".png")


def certificate_credential(session: Session, urls: SiteUrls, certificate: Certificate, issuer: dict[str, Any],
                           course_slug: str, title: str, description: str, recipient_identity: str,
                           salt: str) -> dict[str, Any]:
    """The certificate's OpenBadgeCredential: the course as a CertificateOfCompletion."""
    achievement = {
        "id": urls.course(course_slug), "type": ["Achievement"], "achievementType": "CertificateOfCompletion",
        "name": title, "description": description,
        "criteria": {"id": urls.course(course_slug), "narrative": description},
    }
    return _credential(urls.certificate_credential(certificate.code), title,
                       issuer_profile(urls, issuer, issuer["url"]), certificate.issued_on, recipient_identity, salt,
                       achievement, status_entry(urls, status_of(session, certificate=certificate)))


def _credential(credential_id: str, name: str, issuer: dict[str, Any], issued_on: dt.datetime,
                recipient_identity: str, salt: str, achievement: dict[str, Any], status: dict[str, Any],
                image: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT, "id": credential_id, "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name, "issuer": issuer, "validFrom": timestamp(issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": recipient_identity,
                            "identityType": "emailAddress", "hashed": True, "salt": salt}],
            "achievement": achievement},
        "credentialSchema": [{"id": ACHIEVEMENT_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialStatus": status,
    }
    if image:
        document["image"] = {"id": image, "type": "Image"}
    return document


#: Signed credentials this process made, by (key, the unsigned credential's JSON): the
#: same content signed by the same key needs no second signature (signing takes some
#: 70 ms, mostly pyld's context processing). Revocation is not in the credential but
#: in the status list, which is never kept; a rotated key or changed content misses.
SIGNED_CACHE_SIZE = 512
_signed: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_signed_lock = threading.Lock()


def sign(session: Session, urls: SiteUrls, secret: str, credential: dict[str, Any]) -> dict[str, Any]:
    key = signing_key(session, "badges", secret)
    cache_key = (key.kid, json.dumps(credential, sort_keys=True, ensure_ascii=False))
    with _signed_lock:
        if cache_key in _signed:
            _signed.move_to_end(cache_key)
            return copy.deepcopy(_signed[cache_key])
    signed = add_proof(credential, key, urls)
    with _signed_lock:
        _signed[cache_key] = copy.deepcopy(signed)
        while len(_signed) > SIGNED_CACHE_SIZE:
            _signed.popitem(last=False)
    return signed


def sign_jwt(session: Session, urls: SiteUrls, secret: str, credential: dict[str, Any]) -> str:
    return vc_jwt(credential, signing_key(session, "badges", secret), urls)


def is_revoked(session: Session, status: dict[str, Any]) -> bool:
    """Whether the list this site serves has the entry's bit set (read from the database)."""
    index = int(status["statusListIndex"])
    number = int(str(status["statusListCredential"]).rstrip("/").rsplit("/", 1)[-1])
    return index in revoked_indexes(session, number)
