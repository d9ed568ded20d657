"""A throwaway database for a benchmark: PostgreSQL when reachable (the production engine), else SQLite."""
from __future__ import annotations

import contextlib
import os
import tempfile

from compliance.testing import prepare_database, scratch_database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def bench_database(prefer: str = "postgresql"):
    """Yield (url, engine label) of a fresh migrated database with the Beijing jurisdictions; drop it after."""
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
    prepare_database(url)
    try:
        yield url, label
    finally:
        if drop is not None:
            drop()
        if tmp is not None:
            tmp.cleanup()
