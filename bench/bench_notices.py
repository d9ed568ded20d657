"""Issuing notices through the operation layer: one 监督意见书 (median), and a 1,000-notice batch."""
from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
import uuid

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bench.database import bench_database

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SINGLE_RUNS = 25
BATCH = 1000


def _approved_opinions(factory, n):
    """n cases at the opinion rung, each with an approved 监督意见书 draft (not timed)."""
    from compliance.models import Jurisdiction, Role
    from compliance.operations.users import create_user
    from compliance.testing import approved_letters
    with factory() as s:
        j = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        tag = uuid.uuid4().hex[:6]
        drafter = create_user(s, login=f"d{tag}", name="刘洋", password="bench-password", jurisdiction=j,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login=f"a{tag}", name="张国栋", password="bench-password", jurisdiction=j,
                            roles={Role.APPROVER})
        ids = approved_letters(s, jurisdiction=j, drafter=drafter, approver=chair, count=n, now=NOW)
        s.commit()
        return drafter.id, ids


def _naive_reference_ms():
    """The naive render as DESIGN.md measured it (system fonts via fontconfig, fontTools subsetting)."""
    from bench.bench_letters import _naive_available, _time_naive
    return _time_naive(3, fonttools=True)[0] if _naive_available() else None


def issue_single():
    """Median ms to render and issue one 监督意见书 (number, PDF, store, audit, commit)."""
    from compliance.db import make_engine
    from compliance.documents import DocumentStore
    from compliance.models import User
    from compliance.operations.notices import issue_notice
    with bench_database() as (url, label), tempfile.TemporaryDirectory() as docs:
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        actor_id, ids = _approved_opinions(factory, SINGLE_RUNS + 3)
        store = DocumentStore(docs)
        times = []
        for i, notice_id in enumerate(ids):
            started = time.perf_counter()
            with factory() as s:
                issue_notice(s, notice_id, actor=s.get(User, actor_id), now=NOW, store=store,
                             public_base="https://verify.example.org")
                s.commit()
            if i >= 3:   # the first ones warm fonts and caches
                times.append(time.perf_counter() - started)
        engine.dispose()
    fast = statistics.median(times) * 1000
    naive = _naive_reference_ms()
    return [{"bench": f"notices.issue_opinion_ms.{label}", "value": round(fast, 1), "unit": "ms",
             "reference": None if naive is None else round(naive, 1),
             "ratio": None if naive is None else round(naive / fast, 1),
             "goal": "≤ 100 ms median; ≥ 30× faster than the naive system-font render (reference, fontTools subsetting)"}]


def issue_batch():
    """1,000 approved notices issued by the batch command's path: renderer processes, a transaction per chunk."""
    import os

    from bench.bench_letters import render_many
    from compliance.batch import issue_in_batches
    from compliance.db import make_engine
    from compliance.documents import DocumentStore
    with bench_database() as (url, label), tempfile.TemporaryDirectory() as docs:
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        actor_id, ids = _approved_opinions(factory, BATCH)
        started = time.perf_counter()
        numbers = issue_in_batches(factory, ids, actor_id=actor_id, now=NOW, store=DocumentStore(docs))
        seconds = time.perf_counter() - started
        engine.dispose()
    assert len(set(numbers)) == BATCH
    render_many(2)
    _pdfs, serial_seconds = render_many(50)
    serial_rate = 50 / serial_seconds
    rate = BATCH / seconds
    return [{"bench": f"notices.batch_1000_per_s.{label}", "value": round(rate, 1), "unit": "notices/s",
             "reference": round(serial_rate, 1), "ratio": round(rate / serial_rate, 2),
             "goal": f"reported; reference = one process rendering serially, no database ({os.cpu_count()} CPUs)"}]


BENCHMARKS = {"notices.issue_opinion_ms": issue_single, "notices.batch_1000_per_s": issue_batch}
