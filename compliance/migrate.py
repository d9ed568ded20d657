"""Alembic, driven from the app: upgrade, current revision, and the start-up schema check."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database is not at the code's migration head."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a literal % must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(bind) -> str | None:
    """The database's revision; bind is an engine or an open connection."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return MigrationContext.configure(bind).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def ensure_schema_current(app, connection=None) -> None:
    """Refuse to run against a database that is missing migrations, saying which command fixes it."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from compliance.db import DatabaseUnreachable, reading_engine, unreachable_message

    if connection is not None:
        current = current_revision(connection)
    else:
        # A read: on SQLite it must not wait for the write lock (a worker starting beside an open batch chunk).
        engine = reading_engine(app.config["DATABASE_URL"])
        try:
            current = current_revision(engine)
        except (OperationalError, InterfaceError):
            message = unreachable_message(app.config["DATABASE_URL"])
            if message is None:
                raise
            raise DatabaseUnreachable(message) from None
        finally:
            engine.dispose()
    head = head_revision()
    if current != head:
        where = "空数据库" if current is None else f"版本 {current}"
        raise SchemaOutOfDate(
            f"数据库结构不是最新版本（{where}，应为 {head}）。请先运行：compliance db upgrade"
            f"  (database schema is at {current or 'nothing'}, code expects {head}: run `compliance db upgrade`)"
        )
