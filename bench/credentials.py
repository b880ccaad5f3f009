"""Open Badges 3.0: the time to sign a badge's credential and to verify it
(shooc/badges/credentials.py), in-process, median of N rounds.

- sign: the eddsa-rdfc-2022 Data Integrity proof (two RDFC-1.0 canonicalisations
  with pyld, SHA-256, Ed25519), as /badges/credentials/<id> does on each request;
- verify: our own check of that proof (the verification page's), the same work;
- VC-JWT: signing the same credential with joserfc, and verifying it with PyJWT;
- status list: the 131,072-entry list encoded (GZIP, base64url) and signed.

    .venv/bin/python bench/credentials.py [--rounds 50]

Prints a table and writes it to bench/results/credentials.txt.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric import ed25519

from shooc.badges import credentials as ob3
from shooc.signing_keys import LoadedKey, _public_jwk, jwk_thumbprint
from shooc.urls import SiteUrls

RESULTS = Path(__file__).resolve().parent / "results" / "credentials.txt"
URLS = SiteUrls("https://courses.example.org")


def key() -> LoadedKey:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = _public_jwk(private)
    jwk["kid"] = jwk_thumbprint(jwk)
    return LoadedKey(jwk["kid"], "EdDSA", private, jwk)


def credential() -> dict[str, Any]:
    """A credential shaped as a real badge's (the shipped course's first workbook)."""
    base = URLS.base
    return ob3._credential(
        URLS.credential("0" * 32), "The mentor's role",
        {"id": URLS.credential_issuer, "type": ["Profile"], "name": "Institute of Education", "url": base,
         "email": "courses@example.org"},
        dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc), "sha256$" + "ab" * 32, "0123456789abcdef",
        {"id": URLS.badge_class("mentoring", "the-mentors-role"), "type": ["Achievement"], "achievementType": "Badge",
         "name": "The mentor's role", "description": "Understands what a school-based mentor does. " * 3,
         "criteria": {"id": URLS.badge_class("mentoring", "the-mentors-role") + "#criteria",
                      "narrative": "Completed every activity of the workbook. " * 4},
         "image": {"id": URLS.asset("f" * 64), "type": "Image"},
         "alignment": [{"type": ["Alignment"], "targetName": f"S{n} Standard {n}", "targetUrl": base,
                        "targetFramework": "Mentor standards", "targetCode": f"S{n}"} for n in (1, 2)]},
        {"id": URLS.status_list(0) + "#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "7", "statusListCredential": URLS.status_list(0)},
        image=URLS.assertion("0" * 32) + ".png")


def median_ms(rounds: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    import jwt as pyjwt  # the test suite's second JOSE implementation

    signer, document = key(), credential()
    ob3.add_proof(document, signer, URLS)  # the contexts parsed once, as in a running server
    signed = ob3.add_proof(document, signer, URLS)
    assert ob3.signature_valid(signer.public_jwk, signed)
    token = ob3.vc_jwt(document, signer, URLS)
    public = signer.private_key.public_key()
    rows = [
        ("sign (eddsa-rdfc-2022)", median_ms(rounds, lambda: ob3.add_proof(document, signer, URLS))),
        ("verify (eddsa-rdfc-2022)", median_ms(rounds, lambda: ob3.signature_valid(signer.public_jwk, signed))),
        ("sign VC-JWT (joserfc)", median_ms(rounds, lambda: ob3.vc_jwt(document, signer, URLS))),
        ("verify VC-JWT (PyJWT)", median_ms(rounds, lambda: pyjwt.decode(token, public, algorithms=["EdDSA"]))),
        ("encode a 131,072-entry status list", median_ms(rounds, lambda: ob3.encoded_list(list(range(0, 5000, 7))))),
    ]
    lines = [f"Open Badges 3.0 credentials, {rounds} rounds, {dt.date.today()}", "",
             f"{'what':40} {'median ms':>10} {'max ms':>10}"]
    lines += [f"{name:40} {median:10.2f} {worst:10.2f}" for name, (median, worst) in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
