"""A test LTI 1.3 platform built from joserfc, behaving as a VLE (Moodle, Canvas) does:
its own RSA key and JWKS, an OIDC authentication endpoint that answers with the
id_token form a browser posts to the tool, a token endpoint that checks the tool's
RFC 7523 client assertion against the tool's /lti/jwks, line items and scores (AGS),
context memberships (NRPS) and a deep linking return endpoint that verifies the
tool's signed answer. Served by a real HTTP server on 127.0.0.1 in a thread, so that
the tool makes real HTTP calls; nothing of shooc's is imported here."""
from __future__ import annotations

import html
import re
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@dataclass
class LaunchPlan:
    """What the platform's next launch for a login_hint says (and how to spoil it)."""

    sub: str
    roles: list[str]
    message_type: str = "LtiResourceLinkRequest"
    email: str | None = None
    name: str = "Grace Hopper"
    custom: dict[str, str] = field(default_factory=dict)
    resource_link: str = "link-1"
    lineitem: bool = True  # the link has a line item of its own
    overrides: dict[str, Any] = field(default_factory=dict)  # claims replaced (aud, exp ...)
    sign_with: RSAKey | None = None  # another key than the platform's


class Platform:
    def __init__(self, client_id: str = "shooc-client", deployment_id: str = "deploy-1") -> None:
        self.client_id, self.deployment_id = client_id, deployment_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "platform-key-1", "alg": "RS256", "use": "sig"})
        self.plans: dict[str, LaunchPlan] = {}
        self.tool_jwks: dict[str, Any] | None = None  # the tool's /lti/jwks, handed over by the test
        self.tokens: dict[str, list[str]] = {}
        self.token_requests = 0
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: list[tuple[str, dict[str, Any]]] = []
        self.members: list[dict[str, Any]] = []
        self.deep_link_items: list[dict[str, Any]] | None = None
        self.deep_link_data: Any = None
        self.down = 0  # the next n calls to AGS answer 503
        self.app = self._make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Platform:
        self.thread.start()
        self.lineitems["course-item"] = {"id": f"{self.url}/lineitems/course-item", "label": "Course",
                                         "scoreMaximum": 1, "resourceLinkId": "link-1"}
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()

    # What an admin enters in shooc about this platform
    @property
    def registration(self) -> dict[str, str]:
        return {"issuer": self.issuer, "client_id": self.client_id, "auth_url": f"{self.url}/auth",
                "token_url": f"{self.url}/token", "jwks_url": f"{self.url}/jwks", "deployment_ids": self.deployment_id}

    def login_params(self, plan: LaunchPlan, target: str = "http://localhost/lti/launch") -> dict[str, str]:
        """What the platform's page would post to the tool's /lti/login."""
        hint = secrets.token_urlsafe(8)
        self.plans[hint] = plan
        return {"iss": self.issuer, "login_hint": hint, "target_link_uri": target, "lti_message_hint": hint,
                "client_id": self.client_id, "lti_deployment_id": self.deployment_id}

    def authorize(self, auth_redirect: str) -> dict[str, str]:
        """The browser following the tool's redirect to the auth endpoint: the form it gets
        back (id_token, state), read as a browser would."""
        with urllib.request.urlopen(auth_redirect, timeout=10) as response:  # noqa: S310
            page = response.read().decode()
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
        fields = {name: html.unescape(value) for name, value in fields.items()}
        fields["action"] = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
        return fields

    def _claims(self, plan: LaunchPlan, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": plan.sub, "iat": now, "exp": now + 300, "nonce": nonce,
            "name": plan.name,
            CLAIM + "version": "1.3.0", CLAIM + "message_type": plan.message_type,
            CLAIM + "deployment_id": self.deployment_id, CLAIM + "roles": plan.roles,
            CLAIM + "context": {"id": "context-1", "title": "Mentoring, 2026/27"},
            CLAIM + "target_link_uri": "http://localhost/lti/launch",
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/memberships", "service_versions": ["2.0"]},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                          "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "lineitems": f"{self.url}/lineitems",
                **({"lineitem": f"{self.url}/lineitems/course-item"} if plan.lineitem else {})},
        }
        if plan.email:
            claims["email"] = plan.email
        if plan.custom:
            claims[CLAIM + "custom"] = plan.custom
        if plan.message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {"id": plan.resource_link}
        else:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_multiple": True, "data": "opaque-platform-data"}
        claims.update(plan.overrides)
        return claims

    def _bearer(self, scope: str) -> None:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if scope not in self.tokens.get(token, []):
            abort(401)

    def _verify_tool(self, token: str) -> dict[str, Any]:
        assert self.tool_jwks, "hand the platform the tool's /lti/jwks first"
        return jwt.decode(token, KeySet.import_key_set(self.tool_jwks), algorithms=["RS256"]).claims

    def _make_app(self) -> Flask:
        app = Flask("test-platform")

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify({"keys": [self.key.as_dict(private=False)]})

        @app.get("/auth")
        def auth() -> Any:
            args = request.args
            if args.get("client_id") != self.client_id or args.get("response_mode") != "form_post" \
                    or args.get("scope") != "openid" or args.get("response_type") != "id_token":
                abort(400)
            plan = self.plans.get(args.get("lti_message_hint") or "")
            if plan is None or args.get("login_hint") != args.get("lti_message_hint"):
                abort(403)
            claims = self._claims(plan, args["nonce"])
            token = jwt.encode({"alg": "RS256", "kid": (plan.sign_with or self.key).kid}, claims,
                               plan.sign_with or self.key)
            action = html.escape(args["redirect_uri"])
            return (f'<form method="post" action="{action}">'
                    f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                    f'<input type="hidden" name="state" value="{html.escape(args["state"])}"></form>')

        @app.post("/token")
        def token() -> Any:
            form = request.form
            if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return jsonify({"error": "unsupported_grant_type"}), 400
            try:
                claims = self._verify_tool(form.get("client_assertion", ""))
            except Exception:  # noqa: BLE001
                return jsonify({"error": "invalid_client"}), 401
            if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id \
                    or claims.get("aud") not in (f"{self.url}/token", [f"{self.url}/token"]) \
                    or claims.get("exp", 0) < time.time():
                return jsonify({"error": "invalid_client"}), 401
            issued = secrets.token_urlsafe(16)
            self.tokens[issued] = (form.get("scope") or "").split()
            self.token_requests += 1
            return jsonify({"access_token": issued, "token_type": "Bearer", "expires_in": 3600,
                            "scope": form.get("scope")})

        @app.route("/lineitems", methods=["GET", "POST"])
        def lineitems() -> Any:
            self._bearer("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem")
            if self.down:
                self.down -= 1
                return "down for maintenance", 503
            if request.method == "POST":
                item = request.get_json(force=True)
                name = f"item-{len(self.lineitems) + 1}"
                item["id"] = f"{self.url}/lineitems/{name}"
                self.lineitems[name] = item
                return jsonify(item), 201
            wanted = request.args.get("resource_id")
            return jsonify([item for item in self.lineitems.values()
                            if wanted is None or item.get("resourceId") == wanted])

        @app.post("/lineitems/<name>/scores")
        def scores(name: str) -> Any:
            self._bearer("https://purl.imsglobal.org/spec/lti-ags/scope/score")
            if self.down:
                self.down -= 1
                return "down for maintenance", 503
            if name not in self.lineitems or request.mimetype != "application/vnd.ims.lis.v1.score+json":
                abort(404 if name not in self.lineitems else 415)
            self.scores.append((name, request.get_json(force=True)))
            return "", 204

        @app.get("/memberships")
        def memberships() -> Any:
            self._bearer("https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
            return jsonify({"id": f"{self.url}/memberships", "context": {"id": "context-1"},
                            "members": self.members})

        @app.post("/deep-link-return")
        def deep_link_return() -> Any:
            claims = self._verify_tool(request.form["JWT"])
            if claims.get("iss") != self.client_id or self.issuer not in (claims.get("aud") or []) \
                    or claims.get(CLAIM + "message_type") != "LtiDeepLinkingResponse" \
                    or claims.get(CLAIM + "deployment_id") != self.deployment_id:
                abort(400)
            self.deep_link_items = claims[DL + "content_items"]
            self.deep_link_data = claims.get(DL + "data")
            return "<p>Links added.</p>"

        return app


def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "platform-key-1"})  # same kid, another key


def form_post(client: Any, fields: dict[str, str]) -> Any:
    """The browser posting the platform's form to the tool."""
    path = urllib.parse.urlsplit(fields["action"]).path
    return client.post(path, data={k: v for k, v in fields.items() if k != "action"})
