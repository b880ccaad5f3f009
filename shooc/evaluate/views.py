"""The evaluators' area, /evaluate: evaluators, leaders and admins (every view checks)."""
from __future__ import annotations

from flask import Blueprint

from shooc.auth.models import Role
from shooc.web import roles_required

bp = Blueprint("evaluate", __name__, url_prefix="/evaluate")


@bp.before_request
@roles_required(Role.evaluator, Role.leader, Role.admin)
def _evaluators_only() -> None:
    """Every view of this blueprint: anonymous people log in, learners get 403."""
