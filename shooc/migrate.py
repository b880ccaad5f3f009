"""Alembic, driven from code: ``shooc db upgrade`` and the tests use this."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from shooc.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)
