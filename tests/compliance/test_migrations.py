"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from compliance import create_app
from compliance.db import Base, make_engine
from compliance.migrate import SchemaOutOfDate, current_revision, head_revision, upgrade


def test_upgrade_empty_database_to_head(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"jurisdictions", "users", "enterprises", "cases", "case_events", "deadlines", "notices"} <= tables
    finally:
        engine.dispose()


def test_models_match_migrated_schema(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_app_refuses_to_start_on_an_empty_database(empty_database_url):
    with pytest.raises(SchemaOutOfDate, match="compliance db upgrade"):
        create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x"})


def test_upgrade_is_idempotent(empty_database_url):
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x"})  # starts: schema is current
