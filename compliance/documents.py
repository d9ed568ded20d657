"""The document store: issued PDFs and evidence, content-addressed by SHA-256, written once, never rewritten.

Layout under the store's root:

- ``xx/yy/<sha256><suffix>``: published documents. A file gets there only after the transaction that references
  it committed (a notice's ``stored_documents`` row, an evidence ``attachments`` row), so every file of this tree
  is referenced by a committed row (once `recover` has run after a crash; see below). `stage` is the only way in.
- ``.staging/<token>/``: the files of one open transaction (`DocumentStore.stage`), with a ``.lock`` the writing
  process holds (flock) for as long as the transaction runs. At commit they move to their published paths
  (atomic rename on the same file system), at rollback they are deleted; a file staged inside a savepoint that
  rolls back is deleted with the savepoint (the API runs each operation in one). A folder is born locked: it is
  made as ``.staging/.new-<token>``, locked, then renamed, so a sweep never sees a live folder without its lock.
- A process killed between its writes and its commit (or between its commit and the move) leaves its staging
  folder behind, with the lock free. `recover` (run when issuing starts, when `serve` starts and when each web
  worker starts) publishes the files a committed row references and deletes the rest. Until then `get` still
  finds a committed file there, so nothing a user reads goes missing in between.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from compliance.errors import DomainError

log = logging.getLogger(__name__)

#: The folder of open transactions' files, inside the store (same file system: publishing is a rename).
STAGING = ".staging"
#: A staging folder being born (made, then locked, then renamed to its token).
_NEWBORN = ".new-"
#: A newborn folder older than this was left by a process killed in the microseconds before its rename.
NEWBORN_GRACE_SECONDS = 60
#: Where a session keeps its staging areas (one per store root) until its transaction ends.
_SESSION_KEY = "compliance.document_staging"


class DocumentMissing(RuntimeError):
    """A stored document is gone or its bytes no longer match their hash."""


class StoreUnavailable(DomainError):
    """The store cannot be written (disk full, read-only, no permission): nothing was issued or kept."""

    status = 503
    code = "store_unavailable"


#: A stored file's extension: a dot and a few lower-case letters or digits, never a path.
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
_STAGED_NAME = re.compile(r"([0-9a-f]{64})(\.[a-z0-9]{1,8})")
_TOKEN = re.compile(r"[0-9a-f]{16}")


def unwritable(exc: OSError, outcome: str = "本次未签发任何文书，文号未占用") -> StoreUnavailable:
    """An OS error writing the store as one Chinese sentence: what happened, that nothing was done (outcome)."""
    reasons = {errno.ENOSPC: "文书库所在磁盘已满", errno.EDQUOT: "文书库所在磁盘已超出配额",
               errno.EROFS: "文书库所在磁盘为只读", errno.EACCES: "服务没有写入文书库的权限",
               errno.EPERM: "服务没有写入文书库的权限", errno.EIO: "文书库所在磁盘读写出错"}
    reason = reasons.get(exc.errno, f"文书库无法写入（{exc.strerror or exc.__class__.__name__}）")
    return StoreUnavailable(f"{reason}，{outcome}。请联系管理员处理后重试",
                            errno=errno.errorcode.get(exc.errno or 0))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(directory: Path, final: Path, data: bytes) -> None:
    """Write bytes to `final` in `directory` through a temp file, fsync, atomic rename."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DocumentStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def staging_root(self) -> Path:
        return self.root / STAGING

    def path_for(self, sha256: str, suffix: str = ".pdf") -> Path:
        """Where the bytes with this hash live. suffix: ".pdf" for notices (their paths never change); evidence
        passes the extension of its detected type, which the bytes determine, so one content has one path."""
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"invalid document suffix {suffix!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"

    def stage(self, session: Session, data: bytes, suffix: str = ".pdf") -> tuple[str, str]:
        """Write bytes for the session's open transaction: published at its commit, deleted at its rollback.

        Idempotent: the same bytes have one path, and bytes already published are not written again. Inside a
        savepoint (`session.begin_nested()`) the file belongs to it: its rollback deletes the file too.
        Returns (sha256, the path relative to the root it will have). Raises the OSError of a store that cannot
        be written (callers turn it into `unwritable`).
        """
        sha = hashlib.sha256(data).hexdigest()
        final = self.path_for(sha, suffix)
        if not final.exists():
            if isinstance(session, scoped_session):
                session = session()   # the session itself: the proxy has no get_nested_transaction
            area = _staging_area(session, self)
            target = area.path / f"{sha}{suffix}"
            owners = area.files.get(target)
            if owners is None:
                _write_durably(area.path, target, data)
                area.files[target] = owners = []
            owners.append(session.get_nested_transaction())
        return sha, str(final.relative_to(self.root))

    def get(self, sha256: str, suffix: str = ".pdf") -> bytes:
        """The stored bytes, checked against their hash (a committed file not yet moved out of staging too)."""
        path = self.path_for(sha256, suffix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = self._staged_bytes(sha256, suffix)
            if data is None:
                raise DocumentMissing(f"文档 {sha256} 不在文档库中") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DocumentMissing(f"文档 {sha256} 已损坏（哈希不符）")
        return data

    def _staged_bytes(self, sha256: str, suffix: str) -> bytes | None:
        """The bytes of a staged file: this process's own open transaction, or a committed one whose move to the
        published path was cut short (a caller only knows a hash from a row it can see)."""
        try:
            areas = list(self.staging_root.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return None
        for area in areas:
            try:
                return (area / f"{sha256}{suffix}").read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                continue
        return None

    def recover(self, engine) -> dict[str, int]:
        """Finish what killed processes left in staging: publish the files a committed row references, delete
        the others. A staging folder whose lock is held belongs to a live transaction (or to another process
        recovering it now) and is left alone, so any number of processes may run this at once.

        engine: the database (a separate short read is used). Returns {"published": n, "deleted": m}.
        """
        done = {"published": 0, "deleted": 0}
        try:
            areas = sorted(p for p in self.staging_root.iterdir() if p.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return done
        except OSError:
            log.exception("could not read the staging folder %s", self.staging_root)
            return done
        reader = _reader(engine)
        try:
            for area in areas:
                self._recover_area(area, reader, done)
        finally:
            if reader is not engine:
                reader.dispose()
        if done["published"] or done["deleted"]:
            log.warning("document store recovered after a crash: %(published)d published, %(deleted)d deleted",
                        done)
        return done

    def _recover_area(self, area: Path, engine, done: dict[str, int]) -> None:
        token = area.name
        if token.startswith(_NEWBORN):
            # Not renamed to its token: its creator is between mkdir and rename (microseconds), or was killed
            # there, or a power loss undid the rename. Only an old one is looked at.
            token = token[len(_NEWBORN):]
            try:
                if time.time() - area.stat().st_mtime < NEWBORN_GRACE_SECONDS:
                    return
            except OSError:
                return
        lock = _try_lock(area / ".lock")
        if lock is None:
            if not (area / ".lock").exists():
                # No lock file: a creator killed between its mkdir and its lock (nothing written yet), or a folder
                # another process is removing right now. Only an empty folder goes.
                with contextlib.suppress(OSError):
                    area.rmdir()
            return   # a live transaction's, or another process is recovering it now
        try:
            staged = [(p, m) for p in area.iterdir() if (m := _STAGED_NAME.fullmatch(p.name))]
            referenced = self._referenced(engine, token, [m.group(1) for _p, m in staged]) if staged else set()
            for path, match in staged:
                sha, suffix = match.groups()
                if sha in referenced:
                    _publish(path, self.path_for(sha, suffix))
                    done["published"] += 1
                else:
                    path.unlink(missing_ok=True)
                    done["deleted"] += 1
            shutil.rmtree(area, ignore_errors=True)
        except Exception:
            log.exception("could not recover staging folder %s (left for the next start)", area)
        finally:
            os.close(lock)

    @staticmethod
    def _referenced(engine, token: str, shas: list[str]) -> set[str]:
        """Which of these hashes a committed row names: an issued notice's document or an evidence attachment."""
        from sqlalchemy import select, text

        from compliance.models import Attachment, StoredDocument
        with Session(engine) as session:
            if engine.dialect.name == "postgresql" and _TOKEN.fullmatch(token):
                # The dead client's transaction may still be finishing on the server (a COMMIT sent just before
                # the kill): its advisory lock is released only when it has ended.
                session.execute(text("SET LOCAL lock_timeout = '30s'"))
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(token)})
            referenced = set(session.scalars(select(StoredDocument.sha256).where(StoredDocument.sha256.in_(shas))))
            referenced |= set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(shas))))
            session.rollback()
        return referenced


def _reader(engine):
    """The engine `recover` reads with. On SQLite a plain deferred transaction: the service's engine begins
    IMMEDIATE (the write lock), which would make a starting worker wait for a batch's open chunk. A dead
    process's transaction is already over on SQLite (its locks died with it), so a snapshot read decides."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    from compliance.db import reading_engine
    return reading_engine(engine.url.render_as_string(hide_password=False))


def recover_at_start(app) -> dict[str, int] | None:
    """`recover` for a process that is starting (a web worker): once, never stopping the start. A folder another
    worker is sweeping, or a live transaction's, is locked and left alone; so workers starting together share
    the work and never touch a file in flight. None when it could not run (logged; the next start tries again)."""
    from compliance.db import db
    try:
        with app.app_context():
            return DocumentStore(app.config["DOCUMENT_STORE"]).recover(db.engine)
    except Exception:
        log.exception("could not recover the document store's staging folder at start (left for the next start)")
        return None


def _lock_key(token: str) -> int:
    """The PostgreSQL advisory lock key of a staging token (a signed 64-bit integer)."""
    return int(token, 16) - 2**63


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on path, or None when someone else holds it or it is gone. Never creates
    the file: a lock file is only made with its folder (a sweep that made one could take a folder being removed).
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Still the file at that path? Its last holder removes the folder before letting go, so a lock taken on a
        # file opened just before that removal is a lock on nothing.
        held, current = os.fstat(fd), os.stat(path)
        if (held.st_dev, held.st_ino) != (current.st_dev, current.st_ino):
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd


def _publish(staged: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)


class _StagingArea:
    """One transaction's staging folder, locked by this process until the transaction ends."""

    def __init__(self, store: DocumentStore):
        self.token = secrets.token_hex(8)
        self.path = store.staging_root / self.token
        # Born locked: made under a name `recover` only sweeps when old, locked, then given its token's name.
        newborn = store.staging_root / f"{_NEWBORN}{self.token}"
        newborn.mkdir(parents=True)
        try:
            self.lock = os.open(newborn / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.lock, fcntl.LOCK_EX)
            os.rename(newborn, self.path)
            _fsync_dir(store.staging_root)   # the rename survives a power loss: a committed file is never newborn
        except BaseException:
            shutil.rmtree(newborn, ignore_errors=True)
            raise
        self.store = store
        #: staged path → the transactions that staged it: a savepoint, or None for the transaction itself.
        self.files: dict[Path, list] = {}

    def drop_savepoint(self, savepoint) -> None:
        """A savepoint rolled back: delete the files only it (or savepoints inside it) staged."""
        for staged in list(self.files):
            owners = [o for o in self.files[staged] if not _within(o, savepoint)]
            if owners:
                self.files[staged] = owners
            else:
                del self.files[staged]
                staged.unlink(missing_ok=True)

    def publish(self) -> None:
        directories = set()
        for staged in self.files:
            sha, suffix = _STAGED_NAME.fullmatch(staged.name).groups()
            final = self.store.path_for(sha, suffix)
            _publish(staged, final)
            directories.add(final.parent)
        for directory in directories:
            _fsync_dir(directory)
        self.close()

    def discard(self) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.lock)


def _staging_area(session: Session, store: DocumentStore) -> _StagingArea:
    connection = session.connection()   # begins the transaction whose end publishes or discards the area
    areas = session.info.setdefault(_SESSION_KEY, {})
    key = str(store.root.resolve())
    area = areas.get(key)
    if area is None:
        area = _StagingArea(store)
        areas[key] = area
        if connection.dialect.name == "postgresql":
            from sqlalchemy import text
            # Held until this transaction ends on the server: `recover` waits on it before deciding.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(area.token)})
    return area


def _within(owner, savepoint) -> bool:
    """Whether a file staged in transaction `owner` (None: the outermost) belongs to `savepoint`."""
    while owner is not None:
        if owner is savepoint:
            return True
        owner = owner.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _discard_savepoint(session: Session, previous_transaction) -> None:
    if previous_transaction.nested and _SESSION_KEY in session.info:
        for area in session.info[_SESSION_KEY].values():
            area.drop_savepoint(previous_transaction)


@event.listens_for(Session, "after_commit")
def _publish_staged(session: Session) -> None:
    for area in session.info.pop(_SESSION_KEY, {}).values():
        try:
            area.publish()
        except OSError:
            # Committed all the same: `get` reads the file from staging, `recover` publishes it on the next start.
            log.exception("could not publish committed documents from %s", area.path)
            os.close(area.lock)


@event.listens_for(Session, "after_transaction_end")
def _discard_staged(session: Session, transaction) -> None:
    if transaction.parent is None and _SESSION_KEY in session.info:
        for area in session.info.pop(_SESSION_KEY).values():
            area.discard()


def document_store() -> DocumentStore:
    """The current app's store (COMPLIANCE_DOCUMENT_STORE)."""
    return DocumentStore(current_app.config["DOCUMENT_STORE"])
