"""The instance's signing keys: one per purpose for every app server, rotatable, the old
public keys kept, the private keys unreadable without the instance's secret key."""
from __future__ import annotations

import base64
import threading

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc import signing_keys
from shooc.signing_keys import SigningKey

SECRET = "a secret key for these tests"


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verifies(jwk: dict[str, str], signature: bytes, message: bytes) -> bool:
    """Check a signature from the published JWK alone, as a verifier elsewhere would."""
    try:
        if jwk["kty"] == "OKP":
            ed25519.Ed25519PublicKey.from_public_bytes(_b64decode(jwk["x"])).verify(signature, message)
        else:
            numbers = rsa.RSAPublicNumbers(int.from_bytes(_b64decode(jwk["e"]), "big"),
                                           int.from_bytes(_b64decode(jwk["n"]), "big"))
            numbers.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 (any failure is "does not verify")
        return False
    return True


def _sign(key: signing_keys.LoadedKey, message: bytes) -> bytes:
    if isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        return key.private_key.sign(message)
    return key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("purpose,kty", [("badges", "OKP"), ("lti", "RSA")])
def test_the_first_use_makes_one_key_that_every_later_use_signs_with(db: Session, purpose, kty) -> None:
    first = signing_keys.signing_key(db, purpose, SECRET)
    db.commit()
    again = signing_keys.signing_key(db, purpose, SECRET)
    assert again.kid == first.kid and first.public_jwk["kty"] == kty
    assert first.kid == signing_keys.jwk_thumbprint(first.public_jwk) == first.public_jwk["kid"]
    assert first.public_jwk["alg"] == signing_keys.ALGORITHMS[purpose]
    assert "d" not in first.public_jwk and "p" not in first.public_jwk  # nothing private is published
    message = b"an Open Badges credential, or an LTI message"
    assert _verifies(first.public_jwk, _sign(again, message), message)
    assert not _verifies(first.public_jwk, _sign(again, message), message + b"!")


def test_rotating_signs_with_a_new_key_and_keeps_the_old_one_for_verifying(db: Session) -> None:
    old = signing_keys.signing_key(db, "badges", SECRET)
    signature = _sign(old, b"signed last year")
    new = signing_keys.rotate(db, "badges", SECRET)
    db.commit()
    assert new.kid != old.kid
    assert signing_keys.signing_key(db, "badges", SECRET).kid == new.kid
    published = signing_keys.public_keys(db, "badges")
    assert [key.kid for key in published] == [new.kid, old.kid]
    assert published[0].retired_at is None and published[1].retired_at is not None
    retired = signing_keys.public_key(db, old.kid)
    assert retired is not None and _verifies(retired.public_jwk, signature, b"signed last year")
    # The purposes are apart: LTI's key is not among the badges' keys.
    lti = signing_keys.signing_key(db, "lti", SECRET)
    assert lti.kid not in {key.kid for key in signing_keys.public_keys(db, "badges")}


def test_the_private_key_is_stored_encrypted_and_needs_the_secret_key(db: Session) -> None:
    key = signing_keys.signing_key(db, "badges", SECRET)
    db.commit()
    row = db.scalar(select(SigningKey).where(SigningKey.kid == key.kid))
    raw = key.private_key.private_bytes_raw()  # type: ignore[union-attr]
    assert raw not in row.encrypted_private_key
    with pytest.raises(signing_keys.KeyUnreadable, match="shooc keys rotate badges"):
        signing_keys.signing_key(db, "badges", "another instance's secret key")


def test_two_servers_making_the_first_key_at_once_end_with_one(committed_app) -> None:
    from shooc.unit_of_work import get_db

    app = committed_app

    kids: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def first_use() -> None:
        try:
            with app.app_context():
                session = get_db().session()
                start.wait()
                kids.append(signing_keys.signing_key(session, "lti", SECRET).kid)
                session.commit()
                session.close()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with get_db(app).session() as db:
        current = db.scalars(select(SigningKey).where(SigningKey.purpose == "lti",
                                                      SigningKey.retired_at.is_(None))).all()
    assert len(current) == 1 and set(kids) == {current[0].kid}


def test_the_command_line_lists_and_rotates(runner, db: Session) -> None:
    first = signing_keys.signing_key(db, "badges", runner.app.config["SECRET_KEY"])
    db.commit()
    rotated = runner.invoke(args=["keys", "rotate", "badges"])
    assert rotated.exit_code == 0, rotated.output
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert first.kid in listed.output and "retired" in listed.output and "signs now" in listed.output
    refused = runner.invoke(args=["keys", "rotate", "everything"])
    assert refused.exit_code == 2 and "badges" in refused.output
