"""A throwaway database for a benchmark: PostgreSQL when reachable (the production engine), else SQLite."""
from __future__ import annotations

import contextlib
import os
import tempfile

from sqlalchemy.orm import sessionmaker

from compliance.testing import scratch_database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def bench_database(prefer: str = "postgresql"):
    """Yield (url, engine label) of a fresh migrated database with the Beijing jurisdictions; drop it after."""
    from compliance.db import make_engine
    from compliance.migrate import upgrade
    from compliance.seed import seed_jurisdictions

    base = os.environ.get("COMPLIANCE_BENCH_DATABASE_URL", DEFAULT_PG)
    drop = None
    if prefer == "postgresql":
        try:
            url, drop = scratch_database(base, "compliance_bench")
            label = "postgresql"
        except Exception:   # no PostgreSQL answering: measure the embedded default instead
            drop = None
    tmp = None
    if drop is None:
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
        if drop is not None:
            drop()
        if tmp is not None:
            tmp.cleanup()
