"""Importing a past run's records from the web (/lead)."""
from __future__ import annotations

from shooc.lead.views import bp


@bp.route("/runs/<slug>/import", methods=["GET", "POST"])
def import_records(slug: str):  # type: ignore[no-untyped-def]
    return "not yet", 501
