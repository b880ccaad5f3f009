"""/api/v1: JSON for scripts, authenticated by personal API tokens.

Only ``Authorization: Bearer <token>`` authenticates: the site's login cookie is
never used here (so the blueprint needs no CSRF protection, see create_app), and a
logged-in browser without a token gets 401 like anyone else. (Flask still
re-issues a permanent session's cookie with every answer, here as everywhere.) Every answer is JSON,
errors included: ``{"error": code, "message": text}``; 401 carries
``WWW-Authenticate: Bearer``. Evaluators, leaders and admins may use the API; a
learner's token gets 403. The OpenAPI document (shooc/api/openapi.py) is public.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from shooc.api import tokens
from shooc.api.openapi import openapi_document
from shooc.auth.models import User
from shooc.db import database_unreachable
from shooc.enrolment.models import Run
from shooc.enrolment.runs import find_run
from shooc.evaluate.stats import run_stats
from shooc.unit_of_work import get_session, write_now
from shooc.web import RETRY_AFTER_SECONDS, log_database_unavailable

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.openapi"}
REALM = 'Bearer realm="shooc"'

ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 429: "too_many_requests", 500: "internal_error",
               503: "unavailable"}
MESSAGES = {404: "There is nothing at this address.", 405: "This address cannot be used that way.",
            500: "Something went wrong; the error has been logged.",
            503: "The database cannot be reached just now; try again after Retry-After seconds."}


def json_response(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = json_response({"error": ERROR_CODES.get(status, f"http_{status}"), "message": message}, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = MESSAGES.get(status) or error.description or "The request failed."
    # Keep the exception's own headers (Allow on a 405), never its HTML content type.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return json_error(status, message, headers)


def _unauthorized(message: str, invalid_token: bool = False) -> Response:
    challenge = REALM + (', error="invalid_token"' if invalid_token else "")
    return json_error(401, message, {"WWW-Authenticate": challenge})


def _bearer_token() -> tuple[str | None, str | None]:
    """(token, None), or (None, why not) for a missing or malformed header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None, "Send an API token: Authorization: Bearer <token> (make one on your account page)."
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        return None, "The Authorization header must be: Bearer <token>."
    return credentials, None


def _authenticated_user(session: Session, plaintext: str) -> User | None:
    token = tokens.find_token(session, plaintext)  # reading only
    if token is None:
        return None
    if not tokens.needs_touch(token):
        return session.get(User, token.user_id)
    # At most once a minute a token's last_used_at is written. On SQLite a reading
    # transaction cannot become a writing one while another request writes, so the
    # write has a transaction of its own that takes the write lock at its start.
    with write_now() as writing:
        return tokens.authenticate_token(writing, plaintext)


@bp.before_request
def _authenticate() -> Response | None:
    """Every endpoint but the OpenAPI document: a live token of an evaluator, leader or admin."""
    g.api_user = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    plaintext, problem = _bearer_token()
    if plaintext is None:
        return _unauthorized(problem or "")
    user = _authenticated_user(get_session(), plaintext)
    if user is None:
        return _unauthorized("The token is not valid: it may have been revoked. Make a new one on your account page.",
                             invalid_token=True)
    if not tokens.may_hold_tokens(user):
        return json_error(403, "Only evaluators, leaders and admins may use the API.")
    g.api_user = user
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _blueprint_http_error(error: HTTPException) -> Response:
    return _http_error(error)


@bp.errorhandler(InternalServerError)
def _blueprint_server_error(error: InternalServerError) -> Response:
    return json_error(500, MESSAGES[500])


@bp.errorhandler(OperationalError)
@bp.errorhandler(PoolTimeoutError)
def _blueprint_database_unavailable(error: Exception) -> Response:
    """As the site's pages (shooc.web.database_unavailable), in JSON; any other
    OperationalError is a bug, raised again: the JSON 500, its traceback logged."""
    if not database_unreachable(error):
        raise error
    log_database_unavailable(error)
    return json_error(503, MESSAGES[503], {"Retry-After": str(RETRY_AFTER_SECONDS)})


@bp.record_once
def _json_routing_errors(state: Any) -> None:
    """A URL under /api/v1 that matches no route (404), or a method a route does not
    take (405), fails before any blueprint is chosen, so blueprint handlers never see
    it (Flask's documentation: handle these at the app, by path). The app's handlers
    for them are wrapped: JSON under /api/v1, the site's pages elsewhere."""
    app: Flask = state.app
    prefix = bp.url_prefix or ""
    for exc_class in (NotFound, MethodNotAllowed):
        previous = app.error_handler_spec[None].get(exc_class.code, {}).get(exc_class)

        def handler(error: HTTPException, previous: Any = previous) -> Any:
            if request.path == prefix or request.path.startswith(prefix + "/"):
                response = _http_error(error)
                response.headers["Cache-Control"] = "no-store"
                return response
            return previous(error) if previous is not None else error

        app.register_error_handler(exc_class, handler)


def runs_listing(session: Session) -> list[dict[str, Any]]:
    """Every run, oldest opening first (plain data, no Flask)."""
    runs = session.scalars(select(Run).options(joinedload(Run.course)).order_by(Run.opens_on, Run.slug)).all()
    return [{"slug": run.slug, "name": run.name, "course": run.course.slug, "opens_on": run.opens_on.isoformat(),
             "closes_on": run.closes_on.isoformat(), "mode": run.mode.value, "state": run.state(run.today())}
            for run in runs]


@bp.route("/runs")
def runs() -> Response:
    return json_response({"runs": runs_listing(get_session())})


@bp.route("/runs/<run>/stats")
def stats(run: str) -> Response:
    session = get_session()
    found = find_run(session, run)
    if found is None:
        return json_error(404, f"There is no run {run!r}. GET /api/v1/runs lists the runs.")
    return json_response(run_stats(session, found, as_of=dt.datetime.now(dt.timezone.utc)))


@bp.route("/openapi.json")
def openapi() -> Response:
    response = json_response(openapi_document())
    # private: a browser that sends its session cookie gets that cookie refreshed
    # (permanent sessions are refreshed on every answer), which no shared cache may keep.
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"  # API viewers on other sites may read it
    return response
