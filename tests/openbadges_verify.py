"""Verify an Open Badge with 1EdTech's own validator (the PyPI package `openbadges`).

Run by the validator's virtual environment (`make openbadges` builds .venv-openbadges),
not by shooc's, whose packages it does not share:

    .venv-openbadges/bin/python tests/openbadges_verify.py SOURCE EMAIL

SOURCE is a hosted assertion's URL or the path of a baked PNG; EMAIL is the
recipient's address, given to the validator as the trusted recipient profile. Prints
the validator's JSON report and exits 0 only when the report is valid with no errors
(1 when it is not, 2 on bad usage).

Nothing leaves the machine: every HTTP request the validator makes (it uses requests,
requests_cache and PyLD's document loader) goes through one guard that answers the
Open Badges 2.0 JSON-LD context (https://w3id.org/openbadges/v2) from the copy
bundled in the package, passes requests to loopback addresses (the test's server on
127.0.0.1) and refuses every other one, so that the validator reports it as an error.
"""
from __future__ import annotations

import ipaddress
import json
import sys
from urllib.parse import urlsplit

CONTEXT_URLS = {
    "https://w3id.org/openbadges/v2",
    "http://w3id.org/openbadges/v2",
    # where w3id.org redirects the context to
    "https://openbadgespec.org/v2/context.json",
    "http://openbadgespec.org/v2/context.json",
}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _normalise(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


def install_guard() -> list[str]:
    """Route the validator's HTTP through a guard; returns the list of URLs it refused."""
    import requests
    import requests.adapters
    from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT
    from pyld import jsonld

    context_body = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
    refused: list[str] = []
    real_send = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        url = request.url
        if _normalise(url) in CONTEXT_URLS:
            response = requests.Response()
            response.status_code = 200
            response.reason = "OK"
            response.url = url
            response.request = request
            response.encoding = "utf-8"
            response.headers["Content-Type"] = "application/ld+json"
            response._content = context_body
            response.raw = None
            return response
        if _is_loopback(urlsplit(url).hostname):
            return real_send(self, request, *args, **kwargs)
        refused.append(url)
        raise requests.ConnectionError(f"refused by openbadges_verify.py: {url} is not on this machine",
                                       request=request)

    requests.adapters.HTTPAdapter.send = send

    # PyLD's own default loader (urllib) is used wherever the validator passes no loader.
    session = requests.Session()

    def load_document(url: str) -> dict:  # type: ignore[type-arg]
        response = session.get(url, headers={"Accept": "application/ld+json, application/json"})
        return {"contextUrl": None, "documentUrl": url, "document": response.text}

    jsonld.set_document_loader(load_document)
    return refused


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: openbadges_verify.py ASSERTION-URL-OR-BAKED-PNG RECIPIENT-EMAIL", file=sys.stderr)
        return 2
    source, email = argv[1], argv[2]
    refused = install_guard()
    import openbadges

    profile = {"email": email}
    # No cache: each run fetches what the server says now (a badge revoked a moment ago).
    options = {"use_cache": False, "cache_backend": None}
    if urlsplit(source).scheme in ("http", "https"):
        result = openbadges.verify(source, profile, **options)
    else:
        with open(source, "rb") as image:
            result = openbadges.verify(image, profile, **options)
    if refused:
        result["refused_requests"] = refused
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    report = result.get("report", {})
    ok = report.get("valid") is True and report.get("errorCount") == 0 and not refused
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
