"""The restore drill: build cases and notices, back up while a writer keeps issuing, restore into an empty database
and store elsewhere; the documents check passes and every /verify/<code> answers as before. Both engines."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.backup import MANIFEST, BackupFailed, backup, restore, verify_archive
from compliance.db import make_engine
from compliance.models import Attachment, CaseEvent, Jurisdiction, Notice, User
from tests.compliance.archive_support import NOW, archive_database, empty_database

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[2]


def _env(url, store, migration_url=None):
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_DOCUMENT_STORE": str(store),
           "COMPLIANCE_SECRET_KEY": "x", "PYTHONPATH": str(ROOT)}
    if migration_url:
        env["COMPLIANCE_MIGRATION_DATABASE_URL"] = migration_url
    return env


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "compliance.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


class Writer(threading.Thread):
    """Keeps opening cases, issuing their opinions and attaching photos, committing each step, until stopped."""

    def __init__(self, archive):
        super().__init__(daemon=True)
        self.archive, self.stop, self.issued, self.errors = archive, threading.Event(), 0, []

    def run(self):
        from compliance.operations.attachments import attach_evidence
        from compliance.operations.notices import issue_notice
        from compliance.testing import approved_letters, tiny_png
        engine = make_engine(self.archive.url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        ids = self.archive.ids
        try:
            deadline = time.monotonic() + 240         # bounded; stopped long before
            for i in range(10_000):
                if self.stop.is_set() or time.monotonic() > deadline:
                    break
                with factory() as s:
                    street, drafter, chair = (s.get(Jurisdiction, ids["street"]), s.get(User, ids["drafter"]),
                                              s.get(User, ids["approver"]))
                    [nid] = approved_letters(s, jurisdiction=street, drafter=drafter, approver=chair, count=1,
                                             now=NOW, name=f"北京备份期间{i}号{{}}有限公司")
                    notice = issue_notice(s, nid, actor=chair, now=NOW, store=self.archive.store,
                                          public_base="http://127.0.0.1:5000")
                    s.commit()
                    attach_evidence(s, notice.case_id, data=tiny_png(1000 + i), filename=f"备份期间{i}.png",
                                    actor=drafter, now=NOW, store=self.archive.store)
                    s.commit()
                    self.issued += 1
        except Exception as exc:   # reported by the test
            self.errors.append(exc)
        finally:
            engine.dispose()


def _verify_pages(url, store, codes):
    from compliance import create_app
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(store)})
    client = app.test_client()
    try:
        return {code: (r.status_code, r.get_data(as_text=True)) for code in codes
                for r in [client.get(f"/verify/{code}")]}
    finally:
        app.extensions["compliance.db"].engine.dispose()


def _codes(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.scalars(select(Notice.verification_code).where(Notice.number.is_not(None))))
    finally:
        engine.dispose()


def test_backup_while_writing_then_restore_elsewhere(_pg_roles, tmp_path):
    with archive_database(_pg_roles, tmp_path / "source") as source:
        before = _codes(source.url)
        writer = Writer(source)
        writer.start()
        deadline = time.monotonic() + 120
        while writer.issued < 1 and not writer.errors and time.monotonic() < deadline:
            time.sleep(0.1)                          # the writer is really under way
        archive = tmp_path / "backup.tar"
        started_with = writer.issued
        done = _cli(_env(source.url, source.store.root), "backup", str(archive))
        still_writing = writer.is_alive()
        writer.stop.set()
        writer.join(timeout=120)
        assert not writer.errors, writer.errors
        assert done.returncode == 0, done.stdout + done.stderr
        assert "已备份" in done.stdout
        assert started_with >= 1 and still_writing      # the backup ran while the writer was committing

        manifest = verify_archive(archive)
        assert manifest["migration_revision"] == manifest["code_head"]
        assert manifest["engine"] == ("postgresql" if source.url.startswith("postgresql") else "sqlite")
        assert manifest["counts"]["notices_issued"] >= len(before) + 1

        with empty_database(_pg_roles, tmp_path / "target", name="restored") as (url, owner_url):
            store = tmp_path / "target" / "documents"
            done = _cli(_env(url, store, owner_url), "restore", str(archive))
            assert done.returncode == 0, done.stdout + done.stderr
            assert "全部完好" in done.stdout
            check = _cli(_env(url, store), "documents", "check")
            assert check.returncode == 0, check.stdout + check.stderr

            restored = _codes(url)
            assert set(before) <= set(restored)                      # nothing issued before the backup is lost
            assert len(restored) == manifest["counts"]["notices_issued"]
            # Every verification link of the restored archive answers exactly as the original does.
            assert _verify_pages(url, store, restored) == _verify_pages(source.url, source.store.root, restored)
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    assert conn.scalar(select(Attachment.id).limit(1)) is not None
                    assert conn.scalar(select(CaseEvent.id).limit(1)) is not None
            finally:
                engine.dispose()

            # The restored database protects its archive as the original does (grants and triggers came along).
            if url.startswith("postgresql"):
                from sqlalchemy import text
                engine = make_engine(url)
                try:
                    with engine.connect() as conn:
                        assert not conn.scalar(text("SELECT has_table_privilege(current_user, 'notices', 'DELETE')"))
                        assert conn.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname = "
                                                "'notices_issued_guard'")) == 1
                finally:
                    engine.dispose()

            # A second restore onto the now full database and store is refused.
            with pytest.raises(BackupFailed, match="不是空的"):
                restore(archive, url, store, owner_url=owner_url)


def test_restore_refuses_a_tampered_archive_and_a_non_empty_target(_pg_roles, tmp_path):
    with archive_database(_pg_roles, tmp_path / "source", count=1) as source:
        archive = tmp_path / "b.tar"
        backup(source.url, source.store.root, archive)
        with pytest.raises(BackupFailed, match="已存在"):
            backup(source.url, source.store.root, archive)       # never overwrites an earlier backup

        # One document's bytes changed inside the archive: the manifest catches it before anything is written.
        tampered = tmp_path / "tampered.tar"
        with tarfile.open(archive) as src, tarfile.open(tampered, "w") as dst:
            for member in src:
                data = src.extractfile(member).read()
                if member.name.startswith("documents/") and member.name.endswith(".pdf"):
                    data = data[:-1] + bytes([data[-1] ^ 1])
                dst.addfile(member, io.BytesIO(data))
        with empty_database(_pg_roles, tmp_path / "t1", name="t1") as (url, owner_url):
            store = tmp_path / "t1" / "documents"
            with pytest.raises(BackupFailed, match="SHA-256 不符"):
                restore(tampered, url, store, owner_url=owner_url)
            assert not store.exists()

        # A manifest naming a path outside the store is refused before anything is written.
        escaping = tmp_path / "escaping.tar"
        with tarfile.open(archive) as src, tarfile.open(escaping, "w") as dst:
            manifest = json.loads(src.extractfile(MANIFEST).read())
            [(rel, entry)] = list(manifest["documents"].items())[:1]
            manifest["documents"] = {"/tmp/evil.pdf": entry}
            for member in src:
                data = src.extractfile(member).read()
                if member.name == MANIFEST:
                    data = json.dumps(manifest).encode()
                    member.size = len(data)
                elif member.name == f"documents/{rel}":
                    member.name = "documents//tmp/evil.pdf"
                dst.addfile(member, io.BytesIO(data))
        with empty_database(_pg_roles, tmp_path / "t0", name="t0") as (url, owner_url):
            with pytest.raises(BackupFailed, match="不是文档库的路径"):
                restore(escaping, url, tmp_path / "t0" / "documents", owner_url=owner_url)
        assert not Path("/tmp/evil.pdf").exists()

        # A store that already holds a file is not overwritten.
        with empty_database(_pg_roles, tmp_path / "t2", name="t2") as (url, owner_url):
            store = tmp_path / "t2" / "documents"
            store.mkdir(parents=True)
            (store / "something.pdf").write_bytes(b"x")
            with pytest.raises(BackupFailed, match="文档库.*不是空的"):
                restore(archive, url, store, owner_url=owner_url)

        # A database that already has tables is not overwritten.
        with pytest.raises(BackupFailed, match="数据库不是空的"):
            restore(archive, source.url, tmp_path / "t3", owner_url=source.owner_url)

        with tarfile.open(archive) as tar:
            manifest = json.loads(tar.extractfile(MANIFEST).read())
        assert set(manifest) >= {"created_at", "app_version", "migration_revision", "database", "documents"}
        assert len(manifest["database"]["sha256"]) == 64
        assert all(len(d["sha256"]) == 64 for d in manifest["documents"].values())
