"""Bring a database to the newest schema with Alembic (run before the event loop starts, or in a thread)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of a SQLite file so a fresh clone needs no set-up."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str) -> None:
    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), "head")
