"""Alembic, driven from code: ``shooc db upgrade`` and the tests use this."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shooc.db import Database, write_intent

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def is_up_to_date(database: Database) -> bool:
    """Whether the database is at the latest revision (a read: no write lock taken)."""
    heads = set(ScriptDirectory.from_config(alembic_config(database)).get_heads())
    intent = write_intent.set(False)
    try:
        with database.engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        write_intent.reset(intent)


def upgrade(database: Database, revision: str = "head") -> None:
    if revision == "head" and is_up_to_date(database):
        return
    command.upgrade(alembic_config(database), revision)
    if revision == "head":
        count_runs_without_counters(database)


def count_runs_without_counters(database: Database) -> None:
    """Runs from before the statistics counters (migration 0007), and runs with posts
    from before the community counters (0014), are counted once from their rows; from
    then on every event keeps its counters."""
    from sqlalchemy import or_, select

    from shooc.community.models import Post
    from shooc.enrolment.models import Run
    from shooc.evaluate import counters
    from shooc.evaluate.models import RunCounter, RunTally

    with database.session() as session:
        uncounted = ~select(RunCounter.run_id).where(RunCounter.run_id == Run.id).exists()
        uncounted_posts = (select(Post.id).where(Post.run_id == Run.id).exists()
                           & ~select(RunTally.run_id).where(RunTally.run_id == Run.id,
                                                            RunTally.tally == counters.COMMUNITY).exists())
        runs = session.scalars(select(Run).where(or_(uncounted, uncounted_posts))).all()
        for run in runs:
            counters.rebuild(session, run)
        session.commit()
