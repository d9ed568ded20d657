"""Evidence uploads are crash-clean as issuing is: the bytes are staged with the transaction that inserts the
attachment, published at its commit, deleted at its rollback (or its savepoint's), and what a killed process
left is swept by `recover`; so `compliance documents check` never finds an unreferenced evidence file.

The killed upload is a real process of its own (SIGKILL, no chance to clean up) against a database of its own.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from compliance.archive_check import check_documents
from compliance.db import make_engine
from compliance.documents import STAGING, DocumentStore
from compliance.models import Attachment, Jurisdiction, Role
from compliance.operations.attachments import attach_evidence
from compliance.operations.cases import open_case
from compliance.operations.users import create_user
from compliance.testing import new_enterprise, tiny_png
from tests.compliance.test_api import api, make_token  # noqa: F401  (fixtures)

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ROOT = Path(__file__).resolve().parents[2]


def _files(root: Path) -> set[str]:
    """Every file under the store, staging included, as paths relative to it."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _photo() -> bytes:
    """A real PNG no other test uploads (the store is shared by the run and content-addressed)."""
    return tiny_png(uuid.uuid4().int % 65536) + uuid.uuid4().bytes   # bytes after IEND: still a PNG


def test_an_upload_reaches_the_store_only_when_its_transaction_commits(session, make_case, supervisor, store, now):
    case = make_case()
    data = _photo()
    sha = hashlib.sha256(data).hexdigest()
    attach_evidence(session, case.id, data=data, filename="整改照片.png", actor=supervisor, now=now, store=store)
    assert not store.path_for(sha, ".png").exists()
    assert [p.name for p in store.staging_root.glob(f"*/{sha}.png")] == [f"{sha}.png"]
    assert store.get(sha, suffix=".png") == data          # its own transaction reads it meanwhile
    session.commit()
    assert store.path_for(sha, ".png").read_bytes() == data
    assert not list(store.staging_root.glob(f"*/{sha}.png"))


def test_an_upload_whose_transaction_rolls_back_leaves_no_file(session, make_case, supervisor, store, now):
    case = make_case()
    session.commit()
    before = _files(store.root)
    data = _photo()
    attach_evidence(session, case.id, data=data, filename="整改照片.png", actor=supervisor, now=now, store=store)
    assert _files(store.root) - before                     # staged (and its staging folder's lock)
    session.rollback()
    assert _files(store.root) == before
    assert not store.path_for(hashlib.sha256(data).hexdigest(), ".png").exists()


def test_a_rolled_back_savepoint_takes_its_upload_with_it(session, make_case, supervisor, store, now):
    """The API runs each operation in a savepoint and commits the request's transaction even when the operation
    failed (the Idempotency-Key's answer is kept): the failed operation's file must not be published with it."""
    case = make_case()
    session.commit()
    lost, kept, inner = _photo(), _photo(), _photo()
    with pytest.raises(RuntimeError):
        with session.begin_nested():
            attach_evidence(session, case.id, data=lost, filename="失败.png", actor=supervisor, now=now, store=store)
            raise RuntimeError("the operation failed after its file was staged")
    with session.begin_nested():
        attach_evidence(session, case.id, data=kept, filename="保留.png", actor=supervisor, now=now, store=store)
    attach_evidence(session, case.id, data=inner, filename="外层.png", actor=supervisor, now=now, store=store)
    session.commit()
    assert not store.path_for(hashlib.sha256(lost).hexdigest(), ".png").exists()
    for data in (kept, inner):
        assert store.path_for(hashlib.sha256(data).hexdigest(), ".png").read_bytes() == data
    assert not list(store.staging_root.glob("*/*.png"))


def test_the_same_bytes_staged_in_and_out_of_a_savepoint_survive_its_rollback(session, make_case, supervisor,
                                                                              store, now):
    case = make_case()
    session.commit()
    data = _photo()
    attach_evidence(session, case.id, data=data, filename="一.png", actor=supervisor, now=now, store=store)
    with pytest.raises(RuntimeError):
        with session.begin_nested():
            attach_evidence(session, case.id, data=data, filename="二.png", actor=supervisor, now=now, store=store)
            raise RuntimeError("rolled back")
    session.commit()
    assert store.path_for(hashlib.sha256(data).hexdigest(), ".png").read_bytes() == data


def test_an_api_upload_to_an_unwritable_store_is_a_503_that_a_retry_with_its_key_gets_past(
        app, api, make_case, session, tmp_path, monkeypatch):
    """The API's savepoint and Idempotency-Key: a store that cannot be written answers 503 with nothing kept, the
    key included (a passing failure), so the same request with the same key is stored once the disk is back."""
    import io

    from compliance.documents import DocumentStore
    from tests.compliance.test_api import _problem
    from tests.compliance.test_issue_store_errors import _unwritable
    case = make_case()
    session.commit()
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(root))
    data = _photo()

    def send():
        return api.post(f"/cases/{case.id}/attachments", data={"file": (io.BytesIO(data), "整改照片.png")},
                        content_type="multipart/form-data", headers={"Idempotency-Key": "photo-1"})
    with _unwritable(root):
        refused = _problem(send(), 503, "unavailable")
    assert refused["detail"].startswith("服务没有写入文书库的权限，未保存任何内容")
    assert _files(root) == set()
    stored = send()
    assert stored.status_code == 201 and "Idempotent-Replayed" not in stored.headers, stored.get_data(as_text=True)
    assert DocumentStore(root).path_for(stored.get_json()["sha256"], ".png").read_bytes() == data
    again = send()
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == stored.get_json()


# ------------------------------------------------------------------------------ a process killed outright

#: The upload, in a process of its own, killed by itself (SIGKILL) before its commit, or after its commit but
#: before the files were moved (the listeners that move or discard them removed: the moment between the two).
_KILLED_UPLOAD = """
import datetime as dt, os, signal, sys
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker
from compliance.db import make_engine
from compliance.documents import DocumentStore, _discard_staged, _publish_staged
from compliance.models import User
from compliance.operations.attachments import attach_evidence

url, root, case_id, user_id, when, data = sys.argv[1:]
engine = make_engine(url)
with sessionmaker(bind=engine)() as session:
    attach_evidence(session, int(case_id), data=bytes.fromhex(data), filename="现场照片.png",
                    actor=session.get(User, int(user_id)), now=dt.datetime.now(dt.timezone.utc),
                    store=DocumentStore(root))
    session.flush()
    if when == "after_commit":
        event.remove(Session, "after_commit", _publish_staged)
        event.remove(Session, "after_transaction_end", _discard_staged)
        session.commit()
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def case_db(isolated_database_url):
    engine = make_engine(isolated_database_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        user = create_user(s, login="uploader", name="刘洋", password="crash-password", jurisdiction=chaoyang,
                           roles={Role.SUPERVISOR})
        case = open_case(s, enterprise=new_enterprise(s, chaoyang, "北京证据崩溃测试有限公司"), violations=["no_union"],
                         opened_by=user, now=NOW)
        s.commit()
    yield isolated_database_url, engine, case.id, user.id
    engine.dispose()


def _killed_upload(url: str, root: Path, case_id: int, user_id: int, when: str, data: bytes) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _KILLED_UPLOAD, url, str(root), str(case_id), str(user_id), when,
                           data.hex()], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_a_killed_upload_is_swept_or_published_by_recover_and_the_check_passes(case_db, tmp_path, when):
    url, engine, case_id, user_id = case_db
    store = DocumentStore(tmp_path / "store")
    data = _photo()
    sha = hashlib.sha256(data).hexdigest()
    _killed_upload(url, store.root, case_id, user_id, when, data)

    # What the killed process left: its staging folder, lock free, holding the photo; nothing in the tree.
    assert [p.relative_to(store.root).as_posix() for p in store.root.rglob(f"{sha}.png")] == \
        [f"{STAGING}/{p.parent.name}/{sha}.png" for p in store.staging_root.glob(f"*/{sha}.png")]
    with engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha))
    assert rows == (1 if when == "after_commit" else 0)
    if when == "after_commit":
        assert store.get(sha, suffix=".png") == data   # committed: readable from staging until the sweep

    assert store.recover(engine) == ({"published": 1, "deleted": 0} if when == "after_commit"
                                     else {"published": 0, "deleted": 1})
    assert list(store.staging_root.iterdir()) == []
    assert store.path_for(sha, ".png").exists() == (when == "after_commit")
    report = check_documents(engine, store, grace=dt.timedelta(0))
    assert report.ok, [p.line() for p in report.problems]
    assert report.pending == []


def test_the_documents_check_command_passes_after_a_killed_upload_and_a_restart(case_db, tmp_path):
    """The operator's view: after the kills, the next start's sweep (a web worker's start, as gunicorn runs it)
    leaves a store `compliance documents check` passes with no grace at all."""
    from compliance import create_app
    from compliance.documents import recover_at_start
    url, engine, case_id, user_id = case_db
    root = tmp_path / "store"
    _killed_upload(url, root, case_id, user_id, "before_commit", _photo())
    _killed_upload(url, root, case_id, user_id, "after_commit", _photo())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(root), "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    cli = [sys.executable, "-m", "compliance.cli"]
    before = subprocess.run([*cli, "documents", "check", "--grace-minutes", "0"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert before.returncode == 1 and "[missing]" in before.stdout, before.stdout + before.stderr
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(root)})
    assert recover_at_start(app) == {"published": 1, "deleted": 1}
    app.extensions["compliance.db"].engine.dispose()
    after = subprocess.run([*cli, "documents", "check", "--grace-minutes", "0"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert after.returncode == 0, after.stdout + after.stderr
    assert list((root / STAGING).iterdir()) == []
