"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Its ``Stats`` schema names every key ``shooc.evaluate.stats.run_stats`` returns
(tests/test_api.py checks that, and validates a real run's figures against it);
the keys docs/formats.md names are required, and more keys may be added later, so
clients should ignore keys they do not know.
"""
from __future__ import annotations

import copy
from typing import Any

COUNT = {"type": "integer", "minimum": 0}
RATE = {"type": "number", "minimum": 0, "maximum": 1}
DATE = {"type": "string", "format": "date"}
EFFECTS = ["excellent", "very_good", "good", "fair", "poor"]

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A short machine-readable code: `unauthorized`, `forbidden`, "
                                                   "`not_found`, `method_not_allowed`, `internal_error`, ..."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
    },
}

RUN = {
    "type": "object",
    "required": ["slug", "name", "course", "opens_on", "closes_on", "mode", "state"],
    "properties": {
        "slug": {"type": "string", "description": "The run's identifier in URLs, e.g. `2026-rolling`."},
        "name": {"type": "string"},
        "course": {"type": "string", "description": "The course's slug."},
        "opens_on": DATE,
        "closes_on": DATE,
        "mode": {"type": "string", "enum": ["rolling", "paced"]},
        "state": {"type": "string", "enum": ["upcoming", "open", "closed"],
                  "description": "Today (in the run's time zone) against its dates."},
    },
}

STATS = {
    "type": "object",
    "description": "A run's completion figures: the stats JSON of shooc's docs/formats.md "
                   "(and of `shooc stats RUN --format json`). "
                   "Keys may be added; these keep their names and meanings.",
    "required": ["course", "run", "as_of", "registered", "started", "workbooks_completed", "badges_awarded",
                 "completed_all", "certificates_awarded", "completion_rate_registered", "completion_rate_started",
                 "per_workbook", "evaluation", "withdrawn", "still_inside_window", "closed_without_finishing",
                 "median_days_to_certificate", "weekly", "run_dates", "community", "self_assessment"],
    "properties": {
        "course": {"type": "string", "description": "The course's slug."},
        "run": {"type": "string", "description": "The run's slug."},
        "as_of": {"type": "string", "format": "date-time", "description": "When the figures were read (UTC, `Z`)."},
        "registered": {**COUNT, "description": "Every enrolment of the run, including those who withdrew or "
                                               "deleted their account since."},
        "started": {**COUNT, "description": "Registered learners who began at least one workbook."},
        "workbooks_completed": {**COUNT, "description": "Submitted workbooks."},
        "badges_awarded": {**COUNT, "description": "Badges issued and not revoked."},
        "completed_all": {**COUNT, "description": "Registered learners who submitted every workbook."},
        "certificates_awarded": {**COUNT, "description": "Certificates issued and not revoked."},
        "completion_rate_registered": {**RATE, "description": "completed_all ÷ registered (0 when none registered)."},
        "completion_rate_started": {**RATE, "description": "completed_all ÷ started (0 when none started)."},
        "per_workbook": {
            "type": "array", "description": "The funnel, in the course's order.",
            "items": {"type": "object", "required": ["order", "slug", "title", "started", "completed"],
                      "properties": {"order": {"type": "integer", "minimum": 1}, "slug": {"type": "string"},
                                     "title": {"type": "string"}, "started": COUNT, "completed": COUNT}},
        },
        "evaluation": {
            "type": "object", "required": ["responses", "withheld"],
            "description": "The evaluation survey. Its breakdown is withheld below five answers, so that no one's "
                           "answers can be told apart: then only `responses` and `withheld: true`, no "
                           "`overall_effect` and no `objectives`.",
            "properties": {
                "responses": {**COUNT, "description": "Evaluations received (survey or imported)."},
                "withheld": {"type": "boolean", "description": "True: fewer than five responses, no breakdown."},
                "overall_effect": {
                    "type": "object", "description": "Responses by the course's overall effect on the learner's "
                                                     "mentoring (absent while withheld).",
                    "required": EFFECTS, "properties": {effect: COUNT for effect in EFFECTS},
                },
                "objectives": {
                    "type": "array", "description": "Ratings (1–5) of each learning objective of the course (absent "
                                                    "while withheld); an objective rated by fewer than five has "
                                                    "`withheld: true` and no `ratings`.",
                    "items": {"type": "object", "required": ["order", "objective", "rated", "withheld"],
                              "properties": {"order": {"type": "integer", "minimum": 1},
                                             "objective": {"type": "string"},
                                             "rated": {**COUNT, "description": "How many rated this objective."},
                                             "withheld": {"type": "boolean"},
                                             "ratings": {"type": "object", "required": ["1", "2", "3", "4", "5"],
                                                         "properties": {str(r): COUNT for r in range(1, 6)}}}},
                },
            },
        },
        "withdrawn": {**COUNT, "description": "Learners who withdrew before finishing (and have not rejoined)."},
        "still_inside_window": {**COUNT, "description": "Neither finished nor withdrawn, their close date not past."},
        "closed_without_finishing": {**COUNT, "description": "Neither finished nor withdrawn, their close date past."},
        "median_days_to_certificate": {"type": ["number", "null"], "minimum": 0,
                                       "description": "Median days from a learner's start to their certificate; "
                                                      "null before the first certificate."},
        "weekly": {
            "type": "array", "description": "Per week (its Monday, in the run's time zone), oldest first.",
            "items": {"type": "object",
                      "required": ["week", "registered", "started", "workbooks_completed", "certificates_awarded"],
                      "properties": {"week": DATE, "registered": COUNT, "started": COUNT,
                                     "workbooks_completed": COUNT, "certificates_awarded": COUNT}},
        },
        "run_dates": {
            "type": "object", "required": ["opens_on", "closes_on", "mode"],
            "properties": {"opens_on": DATE, "closes_on": DATE,
                           "mode": {"type": "string", "enum": ["rolling", "paced"]}},
        },
        "community": {
            "type": "object", "description": "The run's discussions. The two completion rates compare groups of "
                                            "people: each needs five, else they are left out and withheld is true.",
            "required": ["posts", "replies", "contributors", "shared_reflections", "withheld"],
            "properties": {"posts": COUNT, "replies": COUNT, "contributors": COUNT, "shared_reflections": COUNT,
                           "withheld": {"type": "boolean"},
                           "completion_rate_contributors": RATE,
                           "completion_rate_others": RATE},
        },
        "self_assessment": {
            "type": "object", "description": "Learners' ratings of themselves (1 to 5) against the course's standards "
                                            "before and after the course, over pairs (learners who gave both): "
                                            "below five pairs, withheld is true and per_standard is left out.",
            "required": ["pairs", "withheld", "standards"],
            "properties": {
                "pairs": COUNT, "withheld": {"type": "boolean"},
                "standards": {"type": "array", "items": {
                    "type": "object", "required": ["code", "name"],
                    "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}},
                "per_standard": {"type": "array", "items": {
                    "type": "object", "required": ["code", "name", "pairs", "withheld"],
                    "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "pairs": COUNT,
                                   "withheld": {"type": "boolean"}, "before_mean": {"type": "number"},
                                   "after_mean": {"type": "number"}, "mean_change": {"type": "number"}}}},
            },
        },
    },
}


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


UNAUTHORIZED = {**_json("Error", "No token, or not a live token (malformed, unknown or revoked). "
                                 "`WWW-Authenticate: Bearer` is sent."),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
FORBIDDEN = _json("Error", "The token's owner is not an evaluator, leader or admin.")

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "shooc API",
        "version": "1",
        "summary": "Completion figures of shooc's course runs, for evaluators' scripts.",
        "description": "Authenticate with a personal API token, made on your account page (evaluators, leaders "
                       "and admins), sent as `Authorization: Bearer <token>`. The session cookie of the web site "
                       "is ignored. Errors are JSON: `{\"error\": ..., \"message\": ...}`. Authenticated answers "
                       "carry `Cache-Control: no-store`.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "paths": {
        "/runs": {
            "get": {
                "operationId": "listRuns",
                "summary": "Every run of every course",
                "responses": {
                    "200": _json("RunList", "The runs, oldest opening first."),
                    "401": UNAUTHORIZED,
                    "403": FORBIDDEN,
                },
            },
        },
        "/runs/{run}/stats": {
            "get": {
                "operationId": "runStats",
                "summary": "A run's completion figures",
                "parameters": [{"name": "run", "in": "path", "required": True, "description": "The run's slug.",
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": _json("Stats", "The figures as of now."),
                    "401": UNAUTHORIZED,
                    "403": FORBIDDEN,
                    "404": _json("Error", "There is no run with that slug."),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A personal API token (`shooc_…`), shown once when made on the account "
                                          "page, revocable there."},
        },
        "schemas": {
            "Error": ERROR,
            "Run": RUN,
            "RunList": {"type": "object", "required": ["runs"],
                        "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}}}},
            "Stats": STATS,
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """A copy of the document (callers may change theirs)."""
    return copy.deepcopy(DOCUMENT)
