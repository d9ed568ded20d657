"""Alembic environment: the models' metadata, online migrations only."""
from alembic import context
from sqlalchemy import pool

import compliance.models  # noqa: F401  (registers every table)
from compliance.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # Batch mode changes a SQLite table by copying it to a new one and dropping the old: with foreign keys on, the
    # drop of a table other rows refer to (cases) fails. The pragma only acts outside a transaction; the keys are
    # checked before the migration commits and switched on again after it.
    driver = connection.connection.driver_connection if sqlite and not connection.in_transaction() else None
    if driver is not None:
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if driver is not None:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        if driver is not None:
            driver.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
