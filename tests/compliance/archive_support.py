"""A committed database with issued, withdrawn and unissued notices and evidence, for the archive tests: built
through the real operations, migrated as the owner role and filled as the application role (PostgreSQL)."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.documents import DocumentStore
from compliance.testing import as_role, build_archive, prepare_database, scratch_database

BACKEND = os.environ.get("COMPLIANCE_TEST_BACKEND", "sqlite")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclass
class ArchiveDatabase:
    url: str            # the application role (PostgreSQL) — what the service connects as
    owner_url: str      # the owner role (PostgreSQL); the same URL on SQLite
    store: DocumentStore
    ids: dict


@contextlib.contextmanager
def empty_database(pg_roles, root: Path, name: str = "archive"):
    """(application URL, owner URL) of a new empty database; dropped afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    if BACKEND == "postgresql":
        owner, app = pg_roles
        owner_url, drop = scratch_database(os.environ["COMPLIANCE_TEST_DATABASE_URL"], "compliance_test", owner=owner)
        try:
            yield as_role(owner_url, app), owner_url
        finally:
            drop()
    else:
        url = f"sqlite:///{root / f'{name}.sqlite3'}"
        yield url, url


@contextlib.contextmanager
def archive_database(pg_roles, root: Path, *, count: int = 3):
    with empty_database(pg_roles, root) as (url, owner_url):
        prepare_database(url, owner_url=owner_url)
        store = DocumentStore(root / "documents")
        engine = make_engine(url)
        try:
            with sessionmaker(bind=engine, expire_on_commit=False)() as session:
                ids = build_archive(session, store=store, now=NOW, count=count)
                session.commit()
        finally:
            engine.dispose()
        yield ArchiveDatabase(url=url, owner_url=owner_url, store=store, ids=ids)
