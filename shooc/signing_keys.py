"""The instance's signing keys: Ed25519 for Open Badges 3.0 credentials, RSA for LTI 1.3.

Made once per instance on first use and kept in the database, so that every app
server signs with the same key (a key per process would make credentials signed by
one server fail against the key another serves). A key is named by its ``kid``, the
RFC 7638 thumbprint of its public JWK. Rotating retires the current key for signing
and makes a new one; retired public keys are still served, so what they signed keeps
verifying.

The private key is stored encrypted (AES-GCM) under a key derived from the
instance's secret key (HKDF-SHA256, a label per purpose): a copy of the database
alone does not let anyone sign as the instance. Restoring a backup into an instance
with another secret key makes the old private keys unreadable; ``shooc keys rotate``
then makes new ones (the old public keys keep verifying what was signed).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Literal, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Index, LargeBinary, String, Text, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shooc.db import Base, utcnow

Purpose = Literal["badges", "lti"]
Algorithm = Literal["EdDSA", "RS256"]
PrivateKey = Union[ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey]

# What each purpose signs with: Open Badges 3.0's eddsa-rdfc-2022 and VC-JWT use
# Ed25519; LTI 1.3 requires RS256 of every platform and tool.
ALGORITHMS: dict[str, Algorithm] = {"badges": "EdDSA", "lti": "RS256"}
RSA_BITS = 2048


class SigningKey(Base):
    __tablename__ = "signing_keys"
    # One key signs per purpose at a time: two app servers making the first key at
    # once end with one (the loser reads the winner's).
    __table_args__ = (Index("uq_signing_keys_purpose_current", "purpose", unique=True,
                            sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)  # JSON
    encrypted_private_key: Mapped[bytes] = mapped_column(LargeBinary)  # nonce + AES-GCM(PKCS#8 DER)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]


class KeyUnreadable(RuntimeError):
    """The stored private key does not open with this instance's secret key."""


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: Algorithm
    private_key: PrivateKey
    public_jwk: dict[str, str]


@dataclass(frozen=True)
class PublicKey:
    kid: str
    algorithm: Algorithm
    public_jwk: dict[str, str]
    created_at: dt.datetime
    retired_at: dt.datetime | None


def signing_key(session: Session, purpose: Purpose, secret: str) -> LoadedKey:
    """The key that signs for ``purpose`` now, made on first use."""
    row = _current(session, purpose)
    if row is None:
        row = _create(session, purpose, secret)
    return _load(row, secret)


def rotate(session: Session, purpose: Purpose, secret: str) -> LoadedKey:
    """Retire the current key (it keeps verifying) and sign with a new one from now on."""
    current = _current(session, purpose)
    if current is not None:
        current.retired_at = utcnow()
        session.flush()
    return _load(_create(session, purpose, secret), secret)


def public_keys(session: Session, purpose: Purpose) -> list[PublicKey]:
    """Every key of ``purpose``, current and retired, newest first: what verifiers may need."""
    rows = session.scalars(select(SigningKey).where(SigningKey.purpose == purpose)
                           .order_by(SigningKey.created_at.desc(), SigningKey.id.desc()))
    return [_public(row) for row in rows]


def public_key(session: Session, kid: str) -> PublicKey | None:
    row = session.scalar(select(SigningKey).where(SigningKey.kid == kid))
    return _public(row) if row is not None else None


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    required = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _public(row: SigningKey) -> PublicKey:
    return PublicKey(row.kid, ALGORITHMS[row.purpose], json.loads(row.public_jwk), row.created_at, row.retired_at)


def _current(session: Session, purpose: str) -> SigningKey | None:
    return session.scalar(select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None)))


def _create(session: Session, purpose: Purpose, secret: str) -> SigningKey:
    private_key: PrivateKey
    if ALGORITHMS[purpose] == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    jwk = _public_jwk(private_key)
    jwk["kid"] = jwk_thumbprint(jwk)
    jwk["alg"] = ALGORITHMS[purpose]
    jwk["use"] = "sig"
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    nonce = os.urandom(12)
    row = SigningKey(purpose=purpose, kid=jwk["kid"], algorithm=ALGORITHMS[purpose], public_jwk=json.dumps(jwk),
                     encrypted_private_key=nonce + AESGCM(_wrapping_key(secret, purpose)).encrypt(nonce, der, None))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another server made the first key between our look and our insert: use theirs.
        winner = _current(session, purpose)
        if winner is None:
            raise
        return winner
    return row


def _load(row: SigningKey, secret: str) -> LoadedKey:
    blob = row.encrypted_private_key
    try:
        der = AESGCM(_wrapping_key(secret, row.purpose)).decrypt(blob[:12], blob[12:], None)
    except InvalidTag:
        raise KeyUnreadable(f"the {row.purpose} signing key {row.kid} was stored under another secret key; "
                            f"run `shooc keys rotate {row.purpose}` to make a new one") from None
    private_key = serialization.load_der_private_key(der, password=None)
    if not isinstance(private_key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        raise KeyUnreadable(f"the signing key {row.kid} is of an unexpected type")
    return LoadedKey(row.kid, ALGORITHMS[row.purpose], private_key, json.loads(row.public_jwk))


def _public_jwk(private_key: PrivateKey) -> dict[str, str]:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    numbers = private_key.public_key().public_numbers()
    return {"kty": "RSA", "n": _b64url(_int_bytes(numbers.n)), "e": _b64url(_int_bytes(numbers.e))}


def _wrapping_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"shooc signing key {purpose}".encode()).derive(secret.encode())


def _int_bytes(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
