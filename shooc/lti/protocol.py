"""The LTI 1.3 messages (IMS Security Framework 1.0, LTI Core 1.3, Deep Linking 2.0,
AGS 2.0, NRPS 2.0) on joserfc, and the one way shooc talks HTTP to a platform.

No Flask and no database here: the services pass what these need."""
from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from shooc.signing_keys import LoadedKey

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
MESSAGE_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
INSTRUCTOR_ROLES = ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
                    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
                    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator")
#: How far apart the platform's clock and ours may be (seconds)
LEEWAY = 60
HTTP_TIMEOUT = 10


class LaunchRefused(ValueError):
    """A launch (or login) that is not let in; the message says why, for the page and the log."""


class PlatformUnreachable(RuntimeError):
    """A platform's service did not answer as it should (down, refused, not JSON)."""


# HTTP -----------------------------------------------------------------------------

def http(method: str, url: str, *, data: bytes | None = None, headers: Mapping[str, str] | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    """Every request shooc makes to a platform goes through here (JWKS, tokens, line
    items, scores, memberships): real HTTP with a timeout, errors as PlatformUnreachable."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise PlatformUnreachable(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 (scheme checked)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        body = error.read()[:300].decode("utf-8", "replace")
        raise PlatformUnreachable(f"{method} {url}: HTTP {error.code} {body}") from None
    except (urllib.error.URLError, OSError) as error:
        raise PlatformUnreachable(f"{method} {url}: {error}") from None


def http_json(method: str, url: str, *, token: str | None = None, body: Any = None, content_type: str | None = None,
              accept: str = "application/json") -> tuple[Any, dict[str, str]]:
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type or "application/json"
    _, response_headers, raw = http(method, url, data=data, headers=headers)
    try:
        return (json.loads(raw) if raw.strip() else None), response_headers
    except ValueError:
        raise PlatformUnreachable(f"{method} {url}: the answer is not JSON") from None


def fetch_jwks(url: str) -> dict[str, Any]:
    keys, _ = http_json("GET", url)
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise PlatformUnreachable(f"{url} is not a JWKS (no 'keys' list)")
    return keys


# The launch -----------------------------------------------------------------------

def unverified_header_and_claims(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the token says before it is verified: only to find its platform and key."""
    try:
        header_b64, claims_b64, _ = id_token.split(".")
        return _b64json(header_b64), _b64json(claims_b64)
    except (ValueError, TypeError):
        raise LaunchRefused("the id_token is not a JWT") from None


def _b64json(part: str) -> dict[str, Any]:
    import base64

    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def has_key(jwks: Mapping[str, Any] | None, kid: str | None) -> bool:
    return bool(jwks) and any(key.get("kid") == kid for key in (jwks or {}).get("keys", []))


@dataclass(frozen=True)
class Expected:
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    nonce_ok: Callable[[Any], bool]  # uses the nonce up: true the first time only


def verify_launch(id_token: str, jwks: Mapping[str, Any], expected: Expected, now: float | None = None,
                  ) -> dict[str, Any]:
    """The launch's claims, once every check of IMS Security Framework §5.1.3 and LTI
    Core §5.3 has passed; else LaunchRefused saying which did not."""
    now = time.time() if now is None else now
    try:
        keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]  # a JWKS as JSON
        token = jwt.decode(id_token, keys, algorithms=["RS256"])
    except JoseError as error:
        raise LaunchRefused(f"the id_token's signature does not verify with the platform's keys ({error.error})") \
            from None
    except ValueError as error:
        raise LaunchRefused(f"the id_token cannot be verified: {error}") from None
    claims = token.claims
    if claims.get("iss") != expected.issuer:
        raise LaunchRefused("the id_token's issuer (iss) is not this platform")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if expected.client_id not in audiences:
        raise LaunchRefused("the id_token is not for this tool (aud does not hold our client id)")
    if len(audiences) > 1 and claims.get("azp") != expected.client_id:
        raise LaunchRefused("the id_token has several audiences and its azp is not our client id")
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), (int, float)):
            raise LaunchRefused(f"the id_token has no {name}")
    if claims["exp"] < now - LEEWAY:
        raise LaunchRefused("the id_token has expired")
    if claims["iat"] > now + LEEWAY:
        raise LaunchRefused("the id_token was issued in the future (iat)")
    if not claims.get("sub"):
        raise LaunchRefused("the id_token names no user (sub); anonymous launches are not supported")
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LaunchRefused("the launch is not LTI 1.3.0 (version claim)")
    if claims.get(CLAIM + "message_type") not in MESSAGE_TYPES:
        raise LaunchRefused(f"unsupported message type {claims.get(CLAIM + 'message_type')!r}")
    if claims.get(CLAIM + "deployment_id") not in expected.deployment_ids:
        raise LaunchRefused("the launch's deployment id is not registered for this platform")
    if claims[CLAIM + "message_type"] == "LtiResourceLinkRequest" and not (claims.get(CLAIM + "resource_link") or {}
                                                                          ).get("id"):
        raise LaunchRefused("the resource link launch has no resource_link id")
    if not expected.nonce_ok(claims.get("nonce")):
        raise LaunchRefused("the launch's nonce is unknown, expired or was used already (a replay?)")
    return claims


def is_instructor(claims: Mapping[str, Any]) -> bool:
    roles = claims.get(CLAIM + "roles") or []
    return any(role in INSTRUCTOR_ROLES for role in roles)


# What the tool signs --------------------------------------------------------------

def _signing(key: LoadedKey) -> RSAKey:
    return RSAKey.import_key(key.private_key)  # type: ignore[arg-type]


def sign(claims: dict[str, Any], key: LoadedKey) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, _signing(key))


def deep_linking_response(claims: Mapping[str, Any], client_id: str, items: list[dict[str, Any]],
                          key: LoadedKey) -> str:
    """The LtiDeepLinkingResponse JWT for the request ``claims`` (Deep Linking 2.0 §4.2)."""
    now = int(time.time())
    settings = claims.get(DL_CLAIM + "deep_linking_settings") or {}
    response: dict[str, Any] = {
        "iss": client_id, "aud": [claims["iss"]], "iat": now, "exp": now + 600, "nonce": secrets.token_urlsafe(16),
        "azp": client_id,
        CLAIM + "deployment_id": claims[CLAIM + "deployment_id"],
        CLAIM + "message_type": "LtiDeepLinkingResponse", CLAIM + "version": "1.3.0",
        DL_CLAIM + "content_items": items,
    }
    if settings.get("data") is not None:
        response[DL_CLAIM + "data"] = settings["data"]
    return sign(response, key)


def client_assertion(client_id: str, token_url: str, key: LoadedKey) -> str:
    """RFC 7523's JWT that authenticates the tool at the platform's token endpoint."""
    now = int(time.time())
    return sign({"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "exp": now + 300,
                 "jti": secrets.token_urlsafe(16)}, key)


def request_token(client_id: str, token_url: str, scopes: list[str], key: LoadedKey) -> tuple[str, int]:
    """An access token by the client-credentials grant; returns it and its lifetime (s)."""
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(client_id, token_url, key), "scope": " ".join(scopes)}).encode()
    _, _, raw = http("POST", token_url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                             "Accept": "application/json"})
    try:
        answer = json.loads(raw)
        return str(answer["access_token"]), int(answer.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise PlatformUnreachable(f"{token_url} gave no access token") from None


def scores_url(lineitem_url: str) -> str:
    """AGS §3.4: the scores endpoint is the line item's URL with /scores on its path."""
    parts = urllib.parse.urlsplit(lineitem_url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
