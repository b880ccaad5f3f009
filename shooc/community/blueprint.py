"""The community's blueprint, shared by its two view modules (views.py for
participants, moderation_views.py for the course team), which import nothing of
each other; ``shooc.create_app`` imports both (``VIEW_MODULES``) and registers ``bp``."""
from __future__ import annotations

from flask import Blueprint

#: The modules that add routes to ``bp`` (imported by create_app).
VIEW_MODULES = ("shooc.community.views", "shooc.community.moderation_views")

bp = Blueprint("community", __name__)
