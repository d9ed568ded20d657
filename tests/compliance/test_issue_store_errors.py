"""A document store that cannot be written (disk full, read-only, no permission): one Chinese line on the command
line, a Chinese page on the web, nothing half-done, and the number stays free for the next notice.

The conditions are real: a tiny tmpfs that fills up and a read-only mount (in a mount namespace of the command's
own, `unshare -m`, which needs root or user namespaces), an immutable or read-only folder for the web.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.models import Jurisdiction, Notice, Role
from compliance.operations.notices import approve_notice
from compliance.operations.users import create_user
from compliance.testing import approved_letters

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PASSWORD = "correct horse battery"


def _can_mount() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"],
                           capture_output=True, timeout=10)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs `unshare -m` and mount (root or user namespaces)")


@pytest.fixture
def approved(isolated_database_url):
    """Three approved visit letters in a database of their own; yields (url, ids)."""
    engine = make_engine(isolated_database_url)
    with sessionmaker(bind=engine)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        drafter = create_user(s, login="drafter", name="刘洋", password=PASSWORD, jurisdiction=chaoyang,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login="chair", name="张国栋", password=PASSWORD, jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        ids = approved_letters(s, jurisdiction=chaoyang, drafter=drafter, approver=chair, count=3, now=NOW,
                               up_to="record_visit", name="北京存储测试{}有限公司")
        s.commit()
    yield isolated_database_url, ids, engine
    engine.dispose()


def _cli(url: str, store: Path, mount: str | None, *args: str) -> subprocess.CompletedProcess:
    """The command line, with the store mounted as `mount` says (tmpfs options) in a namespace of its own."""
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(store), "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    command = [sys.executable, "-m", "compliance.cli", *args]
    if mount is not None:
        script = f'mount -t tmpfs -o {mount} tmpfs "$0" && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", script, str(store), *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=store.parent)


def _issued(engine) -> list[tuple[int, int | None, str]]:
    with sessionmaker(bind=engine)() as s:
        return [(n.id, n.seq, n.status) for n in s.scalars(select(Notice).order_by(Notice.id))]


@needs_mount
@pytest.mark.parametrize("mount, reason, command", [("size=16k", "文书库所在磁盘已满", "issue"),
                                                    ("ro", "文书库所在磁盘为只读", "issue"),
                                                    ("ro", "文书库所在磁盘为只读", "issue-batch")])
def test_the_command_line_says_it_in_one_chinese_line_and_keeps_the_number(approved, tmp_path, mount, reason,
                                                                           command):
    url, ids, engine = approved
    store = tmp_path / "store"
    store.mkdir()
    args = ["notices", "issue", str(ids[0]), "--by", "chair"] if command == "issue" else \
        ["notices", "issue-batch", "--by", "chair", "--workers", "1"]
    out = _cli(url, store, mount, *args)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line == f"Error: {reason}，本次未签发任何文书，文号未占用。请联系管理员处理后重试"
    assert {status for _id, _seq, status in _issued(engine)} == {"approved"}
    assert list(store.iterdir()) == []   # the mount was the command's own: nothing reached the real folder
    # Space freed, the same command issues with the number the failed attempt had taken.
    again = _cli(url, store, None, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    issued = [(i, seq) for i, seq, status in _issued(engine) if status == "issued"]
    assert issued[0] == (ids[0], 1)


@contextlib.contextmanager
def _unwritable(folder: Path):
    """The folder refuses new entries, also to root: immutable (chattr +i) as root, read-only mode otherwise."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i not supported on this file system")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_a_web_issue_with_an_unwritable_store_answers_a_chinese_page_and_keeps_the_number(
        app, session, make_case, supervisor, approver, now, jurisdiction, tmp_path, monkeypatch):
    from compliance.operations.cases import fire_trigger
    from compliance.testing import VISIT
    case = make_case()
    [visit] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).notices
    approve_notice(session, visit.id, approver=approver, now=now)
    session.commit()
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(store))
    client = app.test_client()
    assert client.post("/login", data={"login": supervisor.login, "password": PASSWORD}).status_code == 302
    with _unwritable(store):
        res = client.post(f"/notices/{visit.id}/issue", data={"version": str(visit.version)})
        selection = client.post("/notices/issue", data={"ids": [str(visit.id)]})
    for answer in (res, selection):
        page = answer.get_data(as_text=True)
        assert answer.status_code == 503, page
        assert "服务没有写入文书库的权限，本次未签发任何文书，文号未占用" in page
    session.expire_all()
    notice = session.get(Notice, visit.id)
    assert notice.status == "approved" and notice.number is None
    assert list(store.iterdir()) == []
    res = client.post(f"/notices/{visit.id}/issue", data={"version": str(notice.version)})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Notice, visit.id).number == f"{jurisdiction.issuer_code}访〔2026〕1号"
    assert client.get(f"/notices/{visit.id}.pdf").status_code == 200
