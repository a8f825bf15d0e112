"""Alembic, driven from settings (no alembic.ini needed; `migrations/` comes from settings)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from convergence.settings import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(settings.migrations_dir))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "heads") -> None:
    command.upgrade(alembic_config(settings), revision)


def autogenerate(settings: Settings, message: str) -> None:
    command.revision(alembic_config(settings), message=message, autogenerate=True)
