"""The JSON API (/api/v1) and the API tokens of the account page.

Tokens: made on the account page by evaluators, leaders and admins, shown in that
one answer only, stored as their SHA-256, sent as ``Authorization: Bearer``,
revocable by their owner alone. The API: 401 JSON (with ``WWW-Authenticate:
Bearer``) for anything but a live token, whatever cookie comes with it; 403 for a
learner's token; JSON errors everywhere under /api/v1; the stats JSON of docs/formats.md,
equal to ``run_stats``; an OpenAPI 3.1 document whose schemas the real answers meet.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, complete_and_submit, csrf_token
from records_data import records_rows, to_csv
from test_accounts import NEW_PASSWORD
from shooc.api import tokens
from shooc.auth.models import Role
from shooc.auth.services import delete_account
from shooc.enrolment.services import enrol
from shooc.api.models import ApiToken
from shooc.evaluate.stats import run_stats
from shooc.lead import records
from shooc.audit import AuditEntry

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]
TOKEN_RE = re.compile(r"shooc_[A-Za-z0-9_-]{43}")
DESIGN_KEYS = {"course", "run", "as_of", "registered", "started", "workbooks_completed", "badges_awarded",
               "completed_all", "certificates_awarded", "completion_rate_registered", "completion_rate_started",
               "per_workbook", "evaluation"}
COUNTS = ["registered", "started", "workbooks_completed", "badges_awarded", "completed_all", "certificates_awarded"]
RATES = ["completion_rate_registered", "completion_rate_started"]
EFFECTS = ["excellent", "very_good", "good", "fair", "poor"]


# Helpers --------------------------------------------------------------------------

def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(db: Session, user, name: str = "script") -> tuple[ApiToken, str]:  # type: ignore[no-untyped-def]
    token, plaintext = tokens.create_token(db, user, name)
    db.commit()
    return token, plaintext


def create_on_page(client: FlaskClient, name: str = "Termly report"):  # type: ignore[no-untyped-def]
    return client.post("/account/tokens", data={"token_name": name, "csrf_token": csrf_token(client, "/account/")})


def assert_json_error(response, status: int, error: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error and isinstance(body["message"], str) and body["message"]
    return body


def assert_unauthorized(response) -> None:  # type: ignore[no-untyped-def]
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"


# A JSON Schema check (jsonschema is not a dependency of shooc): the keywords the
# OpenAPI document uses, and a test below proves it uses no others.

KNOWN_KEYWORDS = {"type", "properties", "required", "items", "enum", "minimum", "maximum", "format", "description",
                  "$ref", "additionalProperties"}
PYTHON_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
                "boolean": bool, "null": type(None)}


def _is(value: Any, json_type: str) -> bool:
    if isinstance(value, bool) and json_type in ("integer", "number"):
        return False
    return isinstance(value, PYTHON_TYPES[json_type])


def schema_errors(value: Any, schema: dict, document: dict, where: str = "$") -> list[str]:
    if "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return schema_errors(value, target, document, where)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, t) for t in types):
            return [f"{where}: {value!r} is not of type {types}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, str) and schema.get("format") in ("date", "date-time"):
        try:
            (dt.date if schema["format"] == "date" else dt.datetime).fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"{where}: {value!r} is not a {schema['format']}")
    if isinstance(value, dict):
        errors += [f"{where}: {key!r} is missing" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], document, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: {key!r} is not allowed")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            errors += schema_errors(item, schema["items"], document, f"{where}[{n}]")
    return errors


def schema_keywords(schema: Any) -> set[str]:
    """Every keyword used in a schema and its subschemas."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            for sub in value.values():
                found |= schema_keywords(sub)
        elif key in ("items", "additionalProperties"):
            found |= schema_keywords(value)
    return found


# Fixtures -------------------------------------------------------------------------

@pytest.fixture
def evaluator(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.evaluator)


@pytest.fixture
def busy_run(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A run with imported past records (evaluations among them) and live learners:
    one finished, one part way, one idle."""
    run = make_run(opens=TODAY - dt.timedelta(days=200), slug="api-run")
    rows = records_rows(60, run.opens_on, TODAY - dt.timedelta(days=1), seed=3)
    records.import_records(db, run, records.check_file(db, run, to_csv(rows), "past.csv"))
    db.commit()
    done, part, _idle = (enrol(db, run, make_user("learner").id) for _ in range(3))
    db.commit()
    for slug in SLUGS:
        complete_and_submit(db, done, slug)
    complete_and_submit(db, part, SLUGS[1])
    db.commit()
    return run


# Tokens on the account page -------------------------------------------------------

def test_a_token_made_on_the_account_page_is_shown_once_stored_hashed_and_works(
        client: FlaskClient, auth, db: Session, evaluator) -> None:
    auth.login(evaluator)
    page = client.get("/account/").get_data(as_text=True)
    assert "API tokens" in page and "You have no tokens yet." in page

    response = create_on_page(client, "  Termly   report ")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    found = TOKEN_RE.findall(page)
    assert len(set(found)) == 1
    plaintext = found[0]
    assert "shown only this once" in page and "Copy it now" in page

    row = db.scalars(select(ApiToken).where(ApiToken.user_id == evaluator.id)).one()
    assert row.name == "Termly report"
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.prefix == plaintext[:12] and len(row.prefix) < len(plaintext)
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(plaintext in value for value in stored)
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "api-token.create")).one()
    assert plaintext not in json.dumps(audit.details) + audit.summary and row.prefix in audit.summary

    again = client.get("/account/").get_data(as_text=True)
    assert plaintext not in again and not TOKEN_RE.search(again)
    assert "Termly report" in again and f"{row.prefix}…" in again and "<td>never</td>" in again

    api = client.get("/api/v1/runs", headers=bearer(plaintext))
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at is not None
    assert "<td>never</td>" not in client.get("/account/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.leader, Role.admin])
def test_leaders_and_admins_may_make_and_use_tokens(client: FlaskClient, auth, make_user, role) -> None:
    auth.login(make_user(role))
    plaintext = TOKEN_RE.search(create_on_page(client).get_data(as_text=True)).group(0)  # type: ignore[union-attr]
    assert client.get("/api/v1/runs", headers=bearer(plaintext)).status_code == 200


def test_learners_have_no_token_section_and_may_not_make_one(client: FlaskClient, auth, db: Session,
                                                              make_user) -> None:
    learner = make_user(Role.learner)
    auth.login(learner)
    assert "API tokens" not in client.get("/account/").get_data(as_text=True)
    response = create_on_page(client)
    assert response.status_code == 403
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == learner.id)).all() == []


def test_making_a_token_needs_the_csrf_token_and_a_name(client: FlaskClient, auth, db: Session, evaluator) -> None:
    auth.login(evaluator)
    assert client.post("/account/tokens", data={"token_name": "no csrf"}).status_code == 400
    response = create_on_page(client, "   ")
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)
    assert create_on_page(client, "x" * 101).status_code == 422
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == evaluator.id)).all() == []


def test_the_owner_revokes_a_token_on_the_page(client: FlaskClient, auth, db: Session, evaluator) -> None:
    token, plaintext = make_token(db, evaluator, "Old laptop")
    auth.login(evaluator)
    url = f"/account/tokens/{token.id}/revoke"
    assert client.post(url).status_code == 400  # no CSRF token
    assert client.get("/api/v1/runs", headers=bearer(plaintext)).status_code == 200

    response = client.post(url, data={"csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/#api-tokens")
    page = client.get("/account/").get_data(as_text=True)
    assert "is revoked" in page and "revoked " in page and "Old laptop" in page
    assert_unauthorized(client.get("/api/v1/runs", headers=bearer(plaintext)))
    db.expire_all()
    revoked_at = db.get(ApiToken, token.id).revoked_at
    assert revoked_at is not None
    # Revoking again changes nothing.
    assert client.post(url, data={"csrf_token": csrf_token(client, "/account/")}).status_code == 302
    db.expire_all()
    assert db.get(ApiToken, token.id).revoked_at == revoked_at
    assert len(db.scalars(select(AuditEntry).where(AuditEntry.action == "api-token.revoke")).all()) == 1


def test_nobody_revokes_another_persons_token(client: FlaskClient, auth, db: Session, evaluator, make_user) -> None:
    token, plaintext = make_token(db, evaluator)
    auth.login(make_user(Role.admin))
    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 404
    assert client.post("/account/tokens/999999/revoke",
                       data={"csrf_token": csrf_token(client, "/account/")}).status_code == 404
    db.expire_all()
    assert db.get(ApiToken, token.id).revoked_at is None
    assert client.get("/api/v1/runs", headers=bearer(plaintext)).status_code == 200
    assert tokens.revoke_token(db, make_user(Role.evaluator), token.id) is None


# Authentication -------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic ZXZhbDpwYXNzd29yZA==", "Token shooc_abc", "Bearer two words",
    "Bearer shooc_" + "A" * 43, "Bearer not-a-shooc-token", "Bearer shooc_" + "A" * 500,
])
def test_no_live_token_gets_401_json(client: FlaskClient, busy_run, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for url in ("/api/v1/runs", "/api/v1/runs/api-run/stats", "/api/v1/runs/no-such-run/stats"):
        assert_unauthorized(client.get(url, headers=headers))


def test_a_revoked_token_and_a_deleted_accounts_token_get_401(client: FlaskClient, db: Session, evaluator,
                                                               make_user) -> None:
    token, plaintext = make_token(db, evaluator)
    tokens.revoke_token(db, evaluator, token.id)
    db.commit()
    response = client.get("/api/v1/runs", headers=bearer(plaintext))
    assert_unauthorized(response)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

    leaver = make_user(Role.evaluator)
    _, leavers = make_token(db, leaver)
    assert client.get("/api/v1/runs", headers=bearer(leavers)).status_code == 200
    delete_account(db, leaver)
    db.commit()
    assert_unauthorized(client.get("/api/v1/runs", headers=bearer(leavers)))


def test_the_scheme_is_case_insensitive(client: FlaskClient, db: Session, evaluator) -> None:
    _, plaintext = make_token(db, evaluator)
    assert client.get("/api/v1/runs", headers={"Authorization": f"bearer {plaintext}"}).status_code == 200


def test_a_learners_token_gets_403_json(client: FlaskClient, db: Session, make_user, busy_run) -> None:
    _, plaintext = make_token(db, make_user(Role.learner))  # the page refuses learners; the service does not
    for url in ("/api/v1/runs", "/api/v1/runs/api-run/stats"):
        response = client.get(url, headers=bearer(plaintext))
        assert_json_error(response, 403, "forbidden")
        assert response.headers["Cache-Control"] == "no-store"


def test_a_token_stops_working_when_its_owner_becomes_a_learner(client: FlaskClient, db: Session,
                                                                evaluator) -> None:
    _, plaintext = make_token(db, evaluator)
    evaluator.role = Role.learner
    db.commit()
    assert_json_error(client.get("/api/v1/runs", headers=bearer(plaintext)), 403, "forbidden")


def test_the_session_cookie_is_ignored(client: FlaskClient, auth, db: Session, evaluator, make_user) -> None:
    assert auth.login(evaluator).status_code == 302
    assert client.get("/account/").status_code == 200  # logged in on the site...
    assert_unauthorized(client.get("/api/v1/runs"))  # ...which means nothing to the API
    _, learners = make_token(db, make_user(Role.learner))
    assert_json_error(client.get("/api/v1/runs", headers=bearer(learners)), 403, "forbidden")
    _, evaluators = make_token(db, evaluator)
    assert client.get("/api/v1/runs", headers=bearer(evaluators)).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(db: Session, evaluator) -> None:
    token, plaintext = make_token(db, evaluator)
    start = dt.datetime(2030, 1, 1, 9, tzinfo=dt.timezone.utc)
    assert tokens.authenticate_token(db, plaintext, now=start) == evaluator
    assert token.last_used_at == start
    assert tokens.authenticate_token(db, plaintext, now=start + dt.timedelta(seconds=59)) == evaluator
    assert token.last_used_at == start
    later = start + dt.timedelta(seconds=61)
    assert tokens.authenticate_token(db, plaintext, now=later) == evaluator
    assert token.last_used_at == later
    assert tokens.authenticate_token(db, plaintext[:-1] + ("B" if plaintext[-1] != "B" else "C")) is None
    assert tokens.authenticate_token(db, None) is None


def test_each_token_is_new(db: Session, evaluator) -> None:
    made = {make_token(db, evaluator, f"t{n}")[1] for n in range(5)}
    assert len(made) == 5 and all(TOKEN_RE.fullmatch(t) for t in made)
    assert [t.name for t in tokens.tokens_of(db, evaluator)] == ["t4", "t3", "t2", "t1", "t0"]


# The endpoints --------------------------------------------------------------------

def test_the_stats_are_run_stats_with_the_design_keys_and_types(client: FlaskClient, db: Session, evaluator,
                                                                 busy_run) -> None:
    _, plaintext = make_token(db, evaluator)
    response = client.get("/api/v1/runs/api-run/stats", headers=bearer(plaintext))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    expected = run_stats(db, busy_run)
    assert {k: v for k, v in data.items() if k != "as_of"} == {k: v for k, v in expected.items() if k != "as_of"}
    assert set(data) == set(expected) and DESIGN_KEYS <= set(data)

    assert (data["course"], data["run"]) == ("mentoring", "api-run")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["as_of"])
    as_of = dt.datetime.fromisoformat(data["as_of"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.timezone.utc) - as_of) < dt.timedelta(minutes=5)
    for key in COUNTS:
        assert type(data[key]) is int and data[key] >= 0, key
    for key in RATES:
        assert type(data[key]) is float and 0 <= data[key] <= 1, key
    assert data["registered"] == 63 and data["completed_all"] >= 1 and data["workbooks_completed"] >= 6
    assert [w["order"] for w in data["per_workbook"]] == [1, 2, 3, 4, 5]
    assert [w["slug"] for w in data["per_workbook"]] == SLUGS
    for workbook in data["per_workbook"]:
        assert set(workbook) == {"order", "slug", "title", "started", "completed"}
        assert type(workbook["title"]) is str and all(type(workbook[k]) is int for k in ("started", "completed"))
    evaluation = data["evaluation"]
    assert {"responses", "overall_effect"} <= set(evaluation)
    assert type(evaluation["responses"]) is int and evaluation["responses"] > 0
    assert list(evaluation["overall_effect"]) == EFFECTS or set(evaluation["overall_effect"]) == set(EFFECTS)
    assert all(type(n) is int for n in evaluation["overall_effect"].values())
    assert sum(evaluation["overall_effect"].values()) == evaluation["responses"]


def test_the_runs(client: FlaskClient, db: Session, evaluator, make_run) -> None:
    make_run(slug="api-past", opens=TODAY - dt.timedelta(days=60), closes=TODAY - dt.timedelta(days=5))
    make_run(slug="api-now")
    make_run(slug="api-later", opens=TODAY + dt.timedelta(days=5), closes=TODAY + dt.timedelta(days=50),
             mode="paced")
    _, plaintext = make_token(db, evaluator)
    response = client.get("/api/v1/runs", headers=bearer(plaintext))
    assert response.status_code == 200
    runs = {run["slug"]: run for run in response.get_json()["runs"]}
    assert {slug: runs[slug]["state"] for slug in ("api-past", "api-now", "api-later")} == {
        "api-past": "closed", "api-now": "open", "api-later": "upcoming"}
    assert runs["api-later"] == {
        "slug": "api-later", "name": runs["api-later"]["name"], "course": "mentoring",
        "opens_on": (TODAY + dt.timedelta(days=5)).isoformat(), "closes_on": (TODAY + dt.timedelta(days=50)).isoformat(),
        "mode": "paced", "state": "upcoming"}
    assert isinstance(runs["api-later"]["name"], str) and runs["api-later"]["name"]


def test_errors_under_the_api_are_json(client: FlaskClient, db: Session, evaluator) -> None:
    _, plaintext = make_token(db, evaluator)
    body = assert_json_error(client.get("/api/v1/runs/no-such-run/stats", headers=bearer(plaintext)), 404, "not_found")
    assert "no-such-run" in body["message"]
    assert_json_error(client.get("/api/v1/no-such-thing", headers=bearer(plaintext)), 404, "not_found")
    assert_json_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    response = client.post("/api/v1/runs", headers=bearer(plaintext))
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_json_error(client.delete("/api/v1/openapi.json"), 405, "method_not_allowed")
    # Elsewhere the site's own pages are unchanged.
    elsewhere = client.get("/no-such-page")
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "text/html"
    assert client.post("/").status_code == 405 and client.post("/").mimetype == "text/html"


# The OpenAPI document -------------------------------------------------------------

def test_the_openapi_document_is_public_and_describes_the_api(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.1.")
    assert {"title", "version"} <= set(document["info"])
    assert {"/runs", "/runs/{run}/stats", "/openapi.json"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
    stats = document["paths"]["/runs/{run}/stats"]["get"]["responses"]
    for code in ("401", "403", "404"):
        assert stats[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "WWW-Authenticate" in stats["401"]["headers"]
    for name, schema in document["components"]["schemas"].items():
        assert schema_keywords(schema) <= KNOWN_KEYWORDS, name  # the check below understands every keyword


def test_real_answers_meet_the_documents_schemas(client: FlaskClient, db: Session, evaluator, make_user,
                                                 busy_run) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    _, plaintext = make_token(db, evaluator)

    figures = client.get("/api/v1/runs/api-run/stats", headers=bearer(plaintext)).get_json()
    assert figures["evaluation"]["objectives"] and figures["weekly"]  # the nested schemas are exercised
    assert schema_errors(figures, {"$ref": "#/components/schemas/Stats"}, document) == []
    # The schema names every key run_stats returns (and every key of its parts).
    assert set(schemas["Stats"]["properties"]) == set(figures)
    assert set(schemas["Stats"]["properties"]["evaluation"]["properties"]) == set(figures["evaluation"])
    assert set(schemas["Stats"]["required"]) >= DESIGN_KEYS
    # ...and the check is not vacuous.
    broken = {**figures, "registered": "63", "completion_rate_started": 1.5,
              "per_workbook": [{"order": 1, "slug": "x", "title": "x", "started": 0}]}
    assert len(schema_errors(broken, schemas["Stats"], document)) == 3

    runs = client.get("/api/v1/runs", headers=bearer(plaintext)).get_json()
    assert schema_errors(runs, schemas["RunList"], document) == []
    for response in (client.get("/api/v1/runs"), client.get("/api/v1/runs/nope/stats", headers=bearer(plaintext)),
                     client.get("/api/v1/runs", headers=bearer(make_token(db, make_user(Role.learner))[1]))):
        assert schema_errors(response.get_json(), schemas["Error"], document) == []


# Issue 14, item 13a: a token goes when a password would stop working ---------------

def test_a_new_password_revokes_every_token(app, client: FlaskClient, auth, db: Session, evaluator) -> None:  # type: ignore[no-untyped-def]
    """Someone holds a copy of the evaluator's token (another address, no cookie);
    the evaluator changes their password on the account page: the copy is refused,
    the page says so, and a token made afterwards works."""
    _, stolen = make_token(db, evaluator, "old script")
    _, other = make_token(db, evaluator, "another script")
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert thief.get("/api/v1/runs", headers=bearer(stolen)).status_code == 200
    auth.login(evaluator)
    changed = client.post("/account/", data={
        "password-current": PASSWORD, "password-password": NEW_PASSWORD, "password-confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client, "/account/")}, follow_redirects=True)
    assert "Your 2 API tokens were revoked" in changed.get_data(as_text=True)
    for plaintext in (stolen, other):
        assert_unauthorized(thief.get("/api/v1/runs", headers=bearer(plaintext)))
    revocations = db.scalars(select(AuditEntry).where(AuditEntry.action == "api-token.revoke")).all()
    assert len(revocations) == 2 and all("password was changed" in entry.summary for entry in revocations)
    _, fresh = make_token(db, evaluator, "new script")
    assert thief.get("/api/v1/runs", headers=bearer(fresh)).status_code == 200


def test_a_password_reset_revokes_every_token(app, db: Session, evaluator, instance_path) -> None:  # type: ignore[no-untyped-def]
    from shooc.auth.services import make_link_token

    _, stolen = make_token(db, evaluator)
    owner = app.test_client()
    link = "/auth/reset/" + make_link_token(app.config["SECRET_KEY"], "reset", evaluator)
    response = owner.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                      "csrf_token": csrf_token(owner, link)})
    assert response.status_code == 302
    assert_unauthorized(app.test_client().get("/api/v1/runs", headers=bearer(stolen)))


def test_a_disabled_account_is_refused_by_every_door(app, client: FlaskClient, auth, db: Session,  # type: ignore[no-untyped-def]
                                                     evaluator, make_user) -> None:
    """Disabled by an admin: its token, its open session, its password and its
    e-mailed links all stop working; enabling it again lets its password in, not
    the old token."""
    from shooc.auth.services import disable_account, enable_account, make_link_token

    _, plaintext = make_token(db, evaluator)
    auth.login(evaluator)
    assert client.get("/account/").status_code == 200
    link = "/auth/reset/" + make_link_token(app.config["SECRET_KEY"], "reset", evaluator)
    disable_account(db, evaluator, by=make_user(Role.admin))
    db.commit()
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert_unauthorized(stranger.get("/api/v1/runs", headers=bearer(plaintext)))
    assert client.get("/account/").status_code == 302  # the open session is over
    again = auth.login(evaluator)
    assert again.status_code == 422 and "This account has been disabled" in again.get_data(as_text=True)
    assert client.get("/account/").status_code == 302
    login_link = "/auth/login-link/" + make_link_token(app.config["SECRET_KEY"], "login", evaluator)
    for opened in (stranger.get(link), stranger.get(login_link)):
        assert opened.status_code == 400 and "disabled" in opened.get_data(as_text=True)
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "user.disable")) is not None

    enable_account(db, evaluator, by=None)
    db.commit()
    assert auth.login(evaluator).status_code == 302
    assert_unauthorized(stranger.get("/api/v1/runs", headers=bearer(plaintext)))
