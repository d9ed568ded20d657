"""`compliance documents check`: every document present and whole, no unreferenced file, every issued notice with
exactly one document; exit status 1 with the list on any problem; `--repair` does only what is safe."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from compliance.archive_check import QUARANTINE, check_documents
from compliance.db import make_engine
from compliance.documents import DocumentStore
from compliance.models import Notice
from tests.compliance.archive_support import archive_database

pytestmark = pytest.mark.db
OLD = time.time() - 2 * 3600


@pytest.fixture(scope="module")
def archive(_pg_roles, tmp_path_factory):
    with archive_database(_pg_roles, tmp_path_factory.mktemp("check")) as db:
        yield db


@pytest.fixture(scope="module")
def engine(archive):
    e = make_engine(archive.url)
    yield e
    e.dispose()


@pytest.fixture
def store(archive, tmp_path):
    """A copy of the archive's store that this test may damage."""
    root = tmp_path / "store"
    shutil.copytree(archive.store.root, root)
    return DocumentStore(root)


def _notice_path(engine, store, notice_id) -> Path:
    with engine.connect() as conn:
        sha = conn.scalar(select(Notice.sha256).where(Notice.id == notice_id))
    return store.path_for(sha)


def _cli(archive, store, *args):
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": archive.url, "COMPLIANCE_DOCUMENT_STORE": str(store.root),
           "COMPLIANCE_SECRET_KEY": "x", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "compliance.cli", "documents", "check", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_whole_archive_passes(archive, engine, store):
    report = check_documents(engine, store)
    assert report.ok, [p.line() for p in report.problems]
    assert report.issued_notices == len(archive.ids["issued"]) == 4     # three opinions and one withdrawal
    assert report.documents == report.files == 4 + len(archive.ids["attachments"])
    done = _cli(archive, store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "全部完好" in done.stdout


def test_every_problem_is_listed_and_the_exit_status_says_so(archive, engine, store):
    missing = _notice_path(engine, store, archive.ids["issued"][1])
    damaged = _notice_path(engine, store, archive.ids["issued"][2])
    missing.unlink()
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    orphan = store.root / "ab" / "cd" / ("ab" + "cd" * 31 + ".pdf")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"%PDF-1.4 nobody refers to me")
    os.utime(orphan, (OLD, OLD))
    young = store.root / "ab" / "cd" / ".tmp-being-written"
    young.write_bytes(b"in flight")

    report = check_documents(engine, store)
    kinds = {(p.kind, p.subject) for p in report.problems}
    rel = lambda p: p.relative_to(store.root).as_posix()  # noqa: E731
    assert kinds == {("missing", rel(missing)), ("damaged", rel(damaged)), ("orphan", rel(orphan))}
    assert report.pending == [rel(young)]
    with engine.connect() as conn:
        number = conn.scalar(select(Notice.number).where(Notice.id == archive.ids["issued"][1]))
    assert any(number in p.message for p in report.problems if p.kind == "missing")

    done = _cli(archive, store)
    assert done.returncode == 1
    for path in (missing, damaged, orphan):
        assert rel(path) in done.stdout
    as_json = json.loads(_cli(archive, store, "--json").stdout)
    assert as_json["ok"] is False and len(as_json["problems"]) == 3


def test_repair_quarantines_old_orphans_and_never_touches_a_referenced_file(archive, engine, store):
    damaged = _notice_path(engine, store, archive.ids["issued"][2])
    bad = damaged.read_bytes()[:-1] + b"X"
    damaged.write_bytes(bad)
    orphan = store.root / "ef" / "01" / "stray.pdf"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"stray")
    os.utime(orphan, (OLD, OLD))
    young = store.root / "ef" / "01" / "young.pdf"
    young.write_bytes(b"young")
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file() and p not in (orphan, young)}

    done = _cli(archive, store, "--repair")
    assert done.returncode == 1                       # the damaged notice is still a problem: only a person fixes it
    assert "已隔离" in done.stdout and "damaged" in done.stdout
    assert not orphan.exists() and young.exists()
    [moved] = list((store.root / QUARANTINE).rglob("stray.pdf"))
    assert moved.read_bytes() == b"stray"
    for path, data in before.items():                 # every referenced file exactly as it was, damaged one too
        assert path.read_bytes() == data
    assert damaged.read_bytes() == bad


def test_repair_copies_a_missing_file_back_from_the_quarantine(archive, engine, store):
    path = _notice_path(engine, store, archive.ids["issued"][1])
    kept = store.root / QUARANTINE / "20260101T000000Z" / path.relative_to(store.root)
    kept.parent.mkdir(parents=True)
    shutil.move(path, kept)
    report = check_documents(engine, store)
    assert [p.kind for p in report.problems] == ["missing"]
    report = check_documents(engine, store, repair=True)
    assert report.ok and report.restored == [path.relative_to(store.root).as_posix()]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name.removesuffix(".pdf")
    assert kept.exists()                              # copied, not moved: the quarantine loses nothing either


def test_each_issued_notice_has_its_own_document(archive, engine, store):
    """Exactly one document per issued notice (the triggers keep it so: a notice's hash cannot be changed to
    another's; the check would list a shared one as `shared_document`)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Notice.id, Notice.sha256).where(Notice.id.in_(archive.ids["issued"]))).all()
    assert len({sha for _id, sha in rows}) == len(rows)   # built by the real operations: one document each
    report = check_documents(engine, store, grace=dt.timedelta(0))
    assert report.ok
