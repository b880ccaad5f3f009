"""Publishing a course from the web: upload or choose a folder, look, publish or discard (/lead)."""
from __future__ import annotations

from shooc.lead.views import bp


@bp.route("/publish", methods=["GET", "POST"])
def publish_home():  # type: ignore[no-untyped-def]
    return "not yet", 501
