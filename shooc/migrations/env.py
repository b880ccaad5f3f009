"""Alembic environment: the engine comes from shooc (see shooc/migrate.py)."""
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from shooc.db import UTCDateTime
from shooc.models import Base

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, never shooc's own (they must not
    change when shooc's code does)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False

engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
