"""Backup and restore: the database and the document store in one tar file with a manifest of hashes.

`compliance backup DEST` runs beside the live service. The database is copied as one consistent snapshot
(PostgreSQL: `pg_dump --format=custom` of a snapshot exported by our own REPEATABLE READ transaction; SQLite: the
online backup API); the documents copied are exactly those that snapshot references, each read and hashed once
while it goes into the archive. Documents are written once and never changed (migration 0008), and a document
is in the store before the transaction referencing it commits, so every file the snapshot names is there.

Archive members: `manifest.json`, `database.dump` (PostgreSQL) or `database.sqlite3`, `documents/<path in the
store>`. The manifest holds each member's SHA-256 and size, the application version, the database's migration
revision, the engine and the time.

`compliance restore SRC` refuses a database that has any table or a store that has any file; it verifies every
member against the manifest before writing anything, restores the database (PostgreSQL: `pg_restore` as the owner
role, then the application role's grants), writes the documents, migrates to the code's head when the backup is
older, and ends with the documents check.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import make_url, select, text

from compliance.archive_check import CheckReport, check_documents, expected_files
from compliance.documents import DocumentStore

FORMAT = "compliance-backup/1"
MANIFEST = "manifest.json"
DOCUMENTS = "documents"
DATABASE_FILES = ("database.dump", "database.sqlite3")
#: A document's place in the store: <sha[:2]>/<sha[2:4]>/<sha><suffix> (compliance.documents.DocumentStore).
_CONTENT_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}")
#: How long a backup waits for a referenced document that is not (yet) in the store before giving up.
MISSING_WAIT_SECONDS = 10.0


class BackupFailed(RuntimeError):
    """A backup or restore refused or failed; the message is Chinese and says what to do."""


@dataclass
class RestoreResult:
    manifest: dict
    report: CheckReport
    upgraded_from: str | None = None


def app_version() -> str:
    try:
        from importlib.metadata import version
        return version("compliance")
    except Exception:   # running from a checkout that is not installed
        return "unknown"


def _sha256_file(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# ---------------------------------------------------------------- PostgreSQL tools

def _libpq(url: str) -> tuple[str, dict]:
    """A libpq URI (no password in it: the argument list is visible to every user) and the environment."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    uri = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def pg_tool(name: str, server_major: int | None = None, bin_dir: str | None = None) -> str:
    """pg_dump/pg_restore matching the server's major version when installed side by side (Debian layout)."""
    candidates = []
    if bin_dir:
        candidates.append(Path(bin_dir) / name)
    if server_major:
        candidates.append(Path(f"/usr/lib/postgresql/{server_major}/bin") / name)
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(name)
    if not found:
        raise BackupFailed(f"找不到 {name}：请安装与数据库服务器同版本的 PostgreSQL 客户端，或设置 COMPLIANCE_PG_BIN_DIR")
    return found


def _run(cmd: list[str], env: dict, what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=6 * 3600)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupFailed(f"{what}失败：{' / '.join(detail[-5:])}")


# ---------------------------------------------------------------- backup

def backup(database_url: str, store_root: str | os.PathLike, dest: str | os.PathLike, *,
           pg_bin_dir: str | None = None, missing_wait: float = MISSING_WAIT_SECONDS) -> dict:
    """Write one archive file at dest (atomically: a partial file never has the final name); return the manifest."""
    from compliance.db import make_engine
    from compliance.migrate import current_revision, head_revision
    dest = Path(dest)
    if dest.exists():
        raise BackupFailed(f"目标文件 {dest} 已存在，不覆盖旧备份：请换一个文件名")
    dest.parent.mkdir(parents=True, exist_ok=True)
    store = DocumentStore(store_root)
    engine_name = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=dest.parent) as work:
        work = Path(work)
        if engine_name == "sqlite":
            db_file = work / "database.sqlite3"
            _sqlite_online_backup(database_url, db_file)
            engine = make_engine(f"sqlite:///{db_file}")
            try:
                with engine.connect() as conn:
                    revision = current_revision(conn)
                    expected, counts = expected_files(conn), _counts(conn)
            finally:
                engine.dispose()
        else:
            db_file = work / "database.dump"
            engine = make_engine(database_url)
            try:
                with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                    with conn.begin():
                        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
                        major = int(conn.scalar(text("SHOW server_version_num"))) // 10000
                        revision = current_revision(conn)
                        expected, counts = expected_files(conn), _counts(conn)
                        uri, env = _libpq(database_url)
                        _run([pg_tool("pg_dump", major, pg_bin_dir), "--format=custom", f"--snapshot={snapshot}",
                              "--no-password", f"--file={db_file}", f"--dbname={uri}"], env, "pg_dump 导出数据库")
            finally:
                engine.dispose()
        db_sha, db_size = _sha256_file(db_file)
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "app_version": app_version(),
            "engine": engine_name,
            "migration_revision": revision,
            "code_head": head_revision(),
            "database": {"file": db_file.name, "sha256": db_sha, "size": db_size,
                         "format": "pg_dump custom" if engine_name == "postgresql" else "sqlite3"},
            "counts": counts,
            "documents": {},
        }
        partial = work / "archive.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(db_file, arcname=db_file.name, recursive=False)
            missing = []
            for rel, exp in sorted(expected.items()):
                data = _read_whole(store.root / rel, exp.sha256, missing_wait)
                if data is None:
                    missing.append(f"{rel}（{exp.what}）")
                    continue
                info = tarfile.TarInfo(f"{DOCUMENTS}/{rel}")
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(data))
                manifest["documents"][rel] = {"sha256": exp.sha256, "size": len(data)}
            if missing:
                raise BackupFailed("备份未完成：以下文件缺失或已损坏，请先运行 compliance documents check 处理后重试："
                                   + "；".join(missing[:20]) + (f" 等 {len(missing)} 个" if len(missing) > 20 else ""))
            body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(body))
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dest)
    return manifest


def _sqlite_online_backup(database_url: str, target: Path) -> None:
    path = make_url(database_url).database
    if not path or path == ":memory:" or not Path(path).exists():
        raise BackupFailed(f"找不到 SQLite 数据库文件 {path}")
    src = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)   # all pages in one step: one consistent snapshot, writers go on (WAL)
    finally:
        dst.close()
        src.close()


def _counts(bind) -> dict:
    from sqlalchemy import func
    from compliance.models import Attachment, Case, Notice, StoredDocument
    return {"cases": bind.scalar(select(func.count()).select_from(Case)),
            "notices_issued": bind.scalar(select(func.count()).select_from(Notice)
                                          .where(Notice.status.in_(("issued", "withdrawn")))),
            "stored_documents": bind.scalar(select(func.count()).select_from(StoredDocument)),
            "attachments": bind.scalar(select(func.count()).select_from(Attachment))}


def _read_whole(path: Path, sha256: str, wait: float) -> bytes | None:
    """The file's bytes when they match their hash; waits a little for one being published, else None."""
    deadline = time.monotonic() + wait
    while True:
        try:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha256:
                return data
        except FileNotFoundError:
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


# ---------------------------------------------------------------- restore

def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupFailed("不是本系统的备份文件：缺少 manifest.json") from None
    manifest = json.loads(tar.extractfile(member).read())
    if manifest.get("format") != FORMAT:
        raise BackupFailed(f"备份格式 {manifest.get('format')!r} 不受支持（应为 {FORMAT}）")
    return manifest


def verify_archive(src: str | os.PathLike) -> dict:
    """Check every member against the manifest (and nothing more, nothing less); return the manifest."""
    with tarfile.open(src, "r:") as tar:
        manifest = read_manifest(tar)
        if manifest["database"]["file"] not in DATABASE_FILES:
            raise BackupFailed(f"备份清单中的数据库文件名 {manifest['database']['file']!r} 无效，已拒绝恢复")
        for rel, d in manifest["documents"].items():
            sha = str(d.get("sha256", ""))
            if not _CONTENT_PATH.fullmatch(rel) or not rel.startswith(f"{sha[:2]}/{sha[2:4]}/{sha}."):
                raise BackupFailed(f"备份清单中的文件路径 {rel!r} 不是文档库的路径，已拒绝恢复")
        wanted = {manifest["database"]["file"]: (manifest["database"]["sha256"], manifest["database"]["size"])}
        for rel, d in manifest["documents"].items():
            wanted[f"{DOCUMENTS}/{rel}"] = (d["sha256"], d["size"])
        seen = set()
        for member in tar:
            if member.name == MANIFEST:
                continue
            _safe_member(member)
            if member.name not in wanted:
                raise BackupFailed(f"备份中有清单未列出的文件 {member.name}：备份文件可能被改动过，已拒绝恢复")
            sha, size = wanted[member.name]
            h = hashlib.sha256()
            fh = tar.extractfile(member)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
            if h.hexdigest() != sha or member.size != size:
                raise BackupFailed(f"备份中的 {member.name} 与清单的 SHA-256 不符：备份文件已损坏，已拒绝恢复")
            seen.add(member.name)
        absent = sorted(set(wanted) - seen)
        if absent:
            raise BackupFailed(f"备份缺少清单列出的文件：{'、'.join(absent[:10])}，已拒绝恢复")
    return manifest


def _safe_member(member: tarfile.TarInfo) -> None:
    p = PurePosixPath(member.name)
    if not member.isfile() or p.is_absolute() or ".." in p.parts:
        raise BackupFailed(f"备份中有不安全的条目 {member.name}，已拒绝恢复")


def _database_is_empty(url: str) -> bool:
    from compliance.db import make_engine
    from compliance.protection import database_tables
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or not Path(path).exists():
            return True
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not database_tables(conn)
    finally:
        engine.dispose()


def _store_is_empty(root: Path) -> bool:
    if not root.exists():
        return True
    return not any(p.is_file() or p.is_symlink() for p in root.rglob("*"))


def restore(src: str | os.PathLike, database_url: str, store_root: str | os.PathLike, *,
            owner_url: str | None = None, pg_bin_dir: str | None = None) -> RestoreResult:
    """Restore an archive into an empty database and an empty store; end with the documents check.

    database_url: what the service connects as (the application role); owner_url: the migration (owner) role's
    URL on PostgreSQL, which restores the schema and then grants the application role its rights.
    """
    from compliance.db import make_engine
    from compliance.migrate import head_revision, upgrade
    from alembic.script import ScriptDirectory
    from compliance.migrate import MIGRATIONS
    src = Path(src)
    if not src.is_file():
        raise BackupFailed(f"找不到备份文件 {src}")
    owner_url = owner_url or database_url
    engine_name = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    root = Path(store_root)
    if not _database_is_empty(owner_url):
        raise BackupFailed("目标数据库不是空的：恢复只写入空数据库，不覆盖现有数据（请新建一个空数据库）")
    if not _store_is_empty(root):
        raise BackupFailed(f"目标文档库 {root} 不是空的：恢复只写入空目录，不覆盖现有文件")
    manifest = verify_archive(src)
    if manifest["engine"] != engine_name:
        raise BackupFailed(f"备份来自 {manifest['engine']} 数据库，不能恢复到 {engine_name} 数据库")
    revision = manifest.get("migration_revision")
    if revision is not None:
        try:
            known = ScriptDirectory(str(MIGRATIONS)).get_revision(revision)
        except Exception:
            known = None
        if known is None:
            raise BackupFailed(f"备份的数据库结构版本 {revision} 比本程序新：请用较新版本的程序恢复")

    with tarfile.open(src, "r:") as tar, tempfile.TemporaryDirectory(prefix=".restore-") as work:
        db_member = tar.getmember(manifest["database"]["file"])
        db_file = Path(work) / manifest["database"]["file"]
        with tar.extractfile(db_member) as fh, open(db_file, "wb") as out:
            shutil.copyfileobj(fh, out)
        if engine_name == "sqlite":
            target = Path(make_url(database_url).database)
            target.parent.mkdir(parents=True, exist_ok=True)
            for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
                leftover.unlink(missing_ok=True)   # the empty database's, if any
            tmp = target.with_name(f".{target.name}.restoring")
            shutil.copyfile(db_file, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        else:
            engine = make_engine(owner_url)
            try:
                with engine.connect() as conn:
                    major = int(conn.scalar(text("SHOW server_version_num"))) // 10000
            finally:
                engine.dispose()
            uri, env = _libpq(owner_url)
            _run([pg_tool("pg_restore", major, pg_bin_dir), "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", "--no-password", f"--dbname={uri}", str(db_file)], env, "pg_restore 恢复数据库")
        # The documents, each written like the store writes (temporary file, fsync, rename).
        for rel in sorted(manifest["documents"]):
            member = tar.getmember(f"{DOCUMENTS}/{rel}")
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out, tar.extractfile(member) as fh:
                shutil.copyfileobj(fh, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)

    upgraded_from = None
    if revision != head_revision():
        upgrade(owner_url)
        upgraded_from = revision
    if engine_name == "postgresql" and make_url(owner_url).username != make_url(database_url).username:
        from compliance.protection import apply_grants
        engine = make_engine(owner_url)
        try:
            with engine.begin() as conn:
                apply_grants(conn, make_url(database_url).username)
        finally:
            engine.dispose()
    engine = make_engine(database_url)
    try:
        report = check_documents(engine, DocumentStore(root))
    finally:
        engine.dispose()
    return RestoreResult(manifest=manifest, report=report, upgraded_from=upgraded_from)
