"""Is the archive whole? Every stored document present with its SHA-256, no file nobody references, every issued
notice with exactly one document (`compliance documents check`, for monitoring; `--repair` for what is safe).

What the database references:
* stored_documents: issued notices' PDFs, at the row's path (`<sha[:2]>/<sha[2:4]>/<sha>.pdf`);
* attachments: evidence, at `<sha>` + the suffix of its detected type (compliance.operations.attachments.KINDS).

A file in the store nobody references is an orphan. Issuing and uploading stage their files and publish them into
the tree only after their transaction committed (compliance/documents.py; `.staging/` is not looked into here),
so an orphan is damage, not a crash's leftover. A file younger than the grace period is not reported yet all the
same: it may have been published after this check read the database.

Repair only does what cannot lose anything: orphans (older than the grace period, and still unreferenced when
moved) go to `quarantine/<UTC time>/` under the store root, never deleted; a referenced file that is missing is
copied back from the quarantine when a copy there has the right hash. A referenced file is never moved, changed
or deleted (a damaged one stays reported until a person restores it from a backup).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from compliance.documents import DocumentStore

#: Under the store root; the content-addressed layout only uses two-hex-digit folders, so no clash.
QUARANTINE = "quarantine"
#: Top-level folders of the store the check does not look into: the quarantine, and `.staging` where issuing
#: keeps an open transaction's files until they are published after commit (DocumentStore's own recovery owns
#: those; moving them would lose a document that is about to be referenced).
SKIPPED_DIRS = frozenset({QUARANTINE, ".staging"})
ISSUED = ("issued", "withdrawn")
DEFAULT_GRACE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Expected:
    """A file the database references."""
    relpath: str
    sha256: str
    size: int | None
    what: str          # e.g. "文书 京朝测1工监意〔2026〕1号" or "证据 12（现场照片.jpg）"


@dataclass
class Problem:
    kind: str          # missing, damaged, orphan, no_document, shared_document, unreferenced_row, misplaced
    subject: str       # a path or a notice number
    message: str       # Chinese, one line

    def line(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.message}"


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    documents: int = 0           # files the database references
    files: int = 0               # files found in the store (outside the quarantine)
    issued_notices: int = 0
    pending: list[str] = field(default_factory=list)       # young unreferenced files (not problems yet)
    quarantined: list[str] = field(default_factory=list)   # moved by --repair: "from -> to"
    restored: list[str] = field(default_factory=list)      # put back from the quarantine by --repair

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (f"文档检查：引用文件 {self.documents} 个，文档库文件 {self.files} 个，已签发文书 {self.issued_notices} 份")
        if self.ok:
            return head + "；全部完好。"
        return head + f"；发现 {len(self.problems)} 个问题。"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "documents": self.documents, "files": self.files,
                "issued_notices": self.issued_notices, "pending": self.pending, "quarantined": self.quarantined,
                "restored": self.restored,
                "problems": [{"kind": p.kind, "subject": p.subject, "message": p.message} for p in self.problems]}


def expected_files(bind) -> dict[str, Expected]:
    """Every file the database references, by path relative to the store root (bind: Session or Connection)."""
    from compliance.models import Attachment, Notice, StoredDocument
    from compliance.operations.attachments import KINDS
    out: dict[str, Expected] = {}
    numbers = {}
    for sha, number in bind.execute(select(Notice.sha256, Notice.number).where(Notice.sha256.is_not(None))):
        numbers.setdefault(sha, number)
    for sha, size, path in bind.execute(select(StoredDocument.sha256, StoredDocument.size, StoredDocument.path)
                                        .order_by(StoredDocument.sha256)):
        what = f"文书 {numbers[sha]}" if sha in numbers else "存档文件"
        out[Path(path).as_posix()] = Expected(Path(path).as_posix(), sha, size, what)
    for aid, sha, size, content_type, filename in bind.execute(
            select(Attachment.id, Attachment.sha256, Attachment.size, Attachment.content_type, Attachment.filename)
            .order_by(Attachment.id)):
        kind = KINDS.get(content_type)
        suffix = kind.suffix if kind else ".bin"
        rel = f"{sha[:2]}/{sha[2:4]}/{sha}{suffix}"
        out.setdefault(rel, Expected(rel, sha, size, f"证据 {aid}（{filename}）"))
    return out


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _store_files(root: Path) -> list[str]:
    """Every regular file under root except in SKIPPED_DIRS, as posix paths relative to root."""
    out = []
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        for name in filenames:
            out.append((rel_dir / name).as_posix())
    return sorted(out)


def check_documents(engine, store: DocumentStore, *, repair: bool = False, grace: dt.timedelta = DEFAULT_GRACE,
                    now: float | None = None) -> CheckReport:
    """Check the store against the database; repair what is safe.

    The database is read first, in one short transaction (one snapshot on PostgreSQL), which ends before any file
    is hashed: on SQLite every transaction holds the write lock, and the service must not wait for the check.
    """
    from compliance.models import Notice, StoredDocument
    root = Path(store.root)
    report = CheckReport()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            expected = expected_files(conn)
            issued = conn.execute(select(Notice.id, Notice.number, Notice.sha256, StoredDocument.sha256)
                                  .outerjoin(StoredDocument, StoredDocument.sha256 == Notice.sha256)
                                  .where(Notice.status.in_(ISSUED)).order_by(Notice.id)).all()
            shared = conn.execute(select(Notice.sha256, func.count()).where(Notice.sha256.is_not(None))
                                  .group_by(Notice.sha256).having(func.count() > 1)).all()
            unreferenced = conn.scalars(select(StoredDocument.sha256).where(
                ~select(Notice.id).where(Notice.sha256 == StoredDocument.sha256).exists())).all()
    report.documents = len(expected)

    # Issued notices: each has its own document.
    report.issued_notices = len(issued)
    for nid, number, sha, stored in issued:
        if sha is None or stored is None:
            report.problems.append(Problem("no_document", number or f"文书{nid}", "已签发的文书没有存档文件记录"))
    for sha, count in shared:
        report.problems.append(Problem("shared_document", sha, f"{count} 份文书共用同一个存档文件"))
    for sha in unreferenced:
        report.problems.append(Problem("unreferenced_row", sha, "存档文件记录没有对应的文书"))

    # Referenced files: present, whole.
    quarantined_copies = _quarantine_index(root) if repair else {}
    for rel, exp in sorted(expected.items()):
        if rel != store.path_for(exp.sha256, Path(rel).suffix or ".pdf").relative_to(root).as_posix():
            report.problems.append(Problem("misplaced", rel, f"{exp.what} 的存放路径与其哈希不符"))
            continue
        path = root / rel
        state = _state_of(path, exp)
        if state == "missing" and repair and _restore_from_quarantine(path, exp, quarantined_copies):
            report.restored.append(rel)
            state = _state_of(path, exp)
        if state == "missing":
            report.problems.append(Problem("missing", rel, f"{exp.what} 的文件不在文档库中"))
        elif state == "damaged":
            report.problems.append(Problem("damaged", rel, f"{exp.what} 的文件已损坏（SHA-256 不符）"))

    # Files nobody references.
    files = _store_files(root)
    report.files = len(files)
    now = time.time() if now is None else now
    stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for rel in files:
        if rel in expected:
            continue
        path = root / rel
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue   # a temporary file renamed meanwhile
        if age < grace.total_seconds():
            report.pending.append(rel)
            continue
        if repair and not _referenced_now(engine, rel):
            target = root / QUARANTINE / stamp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            report.quarantined.append(f"{rel} -> {target.relative_to(root).as_posix()}")
            continue
        report.problems.append(Problem("orphan", rel, "文档库中的文件没有任何记录引用"))
    return report


def _state_of(path: Path, exp: Expected) -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if (exp.size is not None and size != exp.size) or _sha256_of(path) != exp.sha256:
        return "damaged"
    return None


def _referenced_now(engine, rel: str) -> bool:
    """Whether a file's hash is referenced at all (looked up again, committed state, right before a move)."""
    from compliance.models import Attachment, StoredDocument
    sha = Path(rel).name.split(".", 1)[0]
    if len(sha) != 64:
        return False
    with engine.connect() as conn:
        return bool(conn.scalar(select(func.count()).select_from(StoredDocument).where(StoredDocument.sha256 == sha))
                    or conn.scalar(select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha)))


def _quarantine_index(root: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    q = root / QUARANTINE
    if q.is_dir():
        for dirpath, _dirs, names in os.walk(q):
            for name in names:
                out.setdefault(name, []).append(Path(dirpath) / name)
    return out


def _restore_from_quarantine(path: Path, exp: Expected, copies: dict[str, list[Path]]) -> bool:
    """Copy (never move) a quarantined file with the right hash back to where a missing referenced file belongs.
    A damaged file is left where it is, for a person to look at: repair never touches a referenced file."""
    for candidate in copies.get(path.name, ()):
        if _sha256_of(candidate) != exp.sha256:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-restore-{os.getpid()}-{path.name}")
        shutil.copyfile(candidate, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return True
    return False
