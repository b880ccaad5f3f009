"""The evaluation survey: learners answer it; evaluators read it without names."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("survey", __name__)
