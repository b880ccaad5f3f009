"""/api/v1: JSON for scripts, authenticated by personal API tokens."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
