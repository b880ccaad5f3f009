"""Announcements to a run and webinar recordings attached to workbooks (/lead)."""
from __future__ import annotations

from shooc.lead.views import bp


@bp.route("/runs/<slug>/announcements", methods=["GET", "POST"])
def announcements(slug: str):  # type: ignore[no-untyped-def]
    return "not yet", 501


@bp.route("/courses/<course_slug>/recordings", methods=["GET", "POST"])
def recordings(course_slug: str):  # type: ignore[no-untyped-def]
    return "not yet", 501
