"""The document store: issued PDFs and evidence, content-addressed by SHA-256, written once, never rewritten."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import current_app


class DocumentMissing(RuntimeError):
    """A stored document is gone or its bytes no longer match their hash."""


#: A stored file's extension: a dot and a few lower-case letters or digits, never a path.
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


class DocumentStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, sha256: str, suffix: str = ".pdf") -> Path:
        """Where the bytes with this hash live. suffix: ".pdf" for notices (their paths never change); evidence
        passes the extension of its detected type, which the bytes determine, so one content has one path."""
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"invalid document suffix {suffix!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str = ".pdf") -> tuple[str, str]:
        """Store bytes durably (temp file, fsync, atomic rename); return (sha256, path relative to the root).

        Idempotent: the same bytes land on the same path. A file written for a transaction that then rolls
        back is unreferenced and harmless (see docs/notices.md).
        """
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return sha, str(path.relative_to(self.root))

    def get(self, sha256: str, suffix: str = ".pdf") -> bytes:
        """The stored bytes, checked against their hash."""
        path = self.path_for(sha256, suffix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentMissing(f"文档 {sha256} 不在文档库中") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DocumentMissing(f"文档 {sha256} 已损坏（哈希不符）")
        return data


def document_store() -> DocumentStore:
    """The current app's store (COMPLIANCE_DOCUMENT_STORE)."""
    return DocumentStore(current_app.config["DOCUMENT_STORE"])
