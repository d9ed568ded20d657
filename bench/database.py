"""A throwaway database for a benchmark: PostgreSQL when reachable (the production engine), else SQLite."""
from __future__ import annotations

import contextlib
import os
import tempfile
import uuid

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import sessionmaker

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def bench_database(prefer: str = "postgresql"):
    """Yield (url, engine label) of a fresh migrated database with the Beijing jurisdictions; drop it after."""
    from compliance.db import make_engine
    from compliance.migrate import upgrade
    from compliance.seed import seed_jurisdictions

    base = os.environ.get("COMPLIANCE_BENCH_DATABASE_URL", DEFAULT_PG)
    admin = None
    if prefer == "postgresql":
        try:
            admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
            name = f"compliance_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            label = "postgresql"
        except Exception:
            admin = None
    tmp = None
    if admin is None:
        tmp = tempfile.TemporaryDirectory()
        url, label = f"sqlite:///{tmp.name}/bench.sqlite3", "sqlite"
    upgrade(url)
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as s:
        seed_jurisdictions(s)
        s.commit()
    engine.dispose()
    try:
        yield url, label
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if tmp is not None:
            tmp.cleanup()
