"""`compliance serve`: several instances side by side, and the public base URL the letters print.

- gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): two instances would share
  it and stopping one would remove the other's. Here there is none, or one per instance (CONTROL_SOCKET).
- On PostgreSQL (production) `serve` refuses to start without PUBLIC_BASE_URL, or with a loopback one, and says
  which setting to set; on SQLite (the demo) the letters print the address it serves on.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bench.durability import Browser, Server, free_port
from compliance.db import make_engine
from compliance.testing import prepare_database

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PASSWORD = "serve-instances-2026"
sqlite_only = pytest.mark.skipif(os.environ.get("COMPLIANCE_TEST_BACKEND", "sqlite") != "sqlite",
                                 reason="exercises the embedded SQLite default that make run uses")


def _env(tmp_path: Path, url: str, **extra: str) -> dict:
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x", "HOME": str(tmp_path),
           "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "documents"), **extra}
    env.pop("XDG_RUNTIME_DIR", None)
    env.pop("COMPLIANCE_PUBLIC_BASE_URL", None)
    env.update(extra)
    return env


PG = "postgresql+psycopg://postgres@127.0.0.1:9/compliance"


@pytest.mark.parametrize("database, setting, expected", [
    (PG, "https://jiandu.example.org/", "https://jiandu.example.org"),
    (PG, "http://10.1.2.3:8080", "http://10.1.2.3:8080"),
    (PG, "", "未配置公开访问地址"), (PG, "http://127.0.0.1:8000", "是本机回环地址"),
    (PG, "http://localhost", "是本机回环地址"), (PG, "http://[::1]:5000", "是本机回环地址"),
    (PG, "jiandu.example.org", "无效"), (PG, "javascript:alert(1)", "无效"),
    ("sqlite:///x.sqlite3", "", "http://127.0.0.1:5123"),   # the demo: where serve listens
    ("sqlite:///x.sqlite3", "http://127.0.0.1:5000", "http://127.0.0.1:5000"),
])
def test_the_public_base_url_rules(database, setting, expected):
    from compliance.config import PublicBaseUrlMissing, public_base_url
    config = {"DATABASE_URL": database, "PUBLIC_BASE_URL": setting}
    if expected.startswith("http"):
        assert public_base_url(config, fallback="http://127.0.0.1:5123") == expected
    else:
        with pytest.raises(PublicBaseUrlMissing, match=expected) as refused:
            public_base_url(config)
        assert "COMPLIANCE_PUBLIC_BASE_URL" in str(refused.value)


@pytest.mark.parametrize("setting, refusal, commands", [
    (None, "未配置公开访问地址", (["serve", "--port", "0"], ["notices", "issue-batch", "--by", "chair"])),
    ("http://127.0.0.1:8000", "是本机回环地址", (["serve", "--port", "0"],))])
def test_serve_on_postgresql_refuses_without_a_public_base_url_and_names_the_setting(tmp_path, setting, refusal,
                                                                                     commands):
    # Refused before any connection: nothing listens on port 9.
    extra = {"COMPLIANCE_PUBLIC_BASE_URL": setting} if setting else {}
    env = _env(tmp_path, PG, **extra)
    for command in commands:
        out = subprocess.run([sys.executable, "-m", "compliance.cli", *command], env=env, capture_output=True,
                             text=True, timeout=60, cwd=tmp_path)
        assert out.returncode == 1, out.stdout + out.stderr
        [line] = out.stderr.strip().splitlines()
        assert refusal in line and "COMPLIANCE_PUBLIC_BASE_URL" in line and "二维码" in line, line
        assert "Traceback" not in out.stderr


def _prepared_sqlite(tmp_path: Path, name: str) -> str:
    url = f"sqlite:///{tmp_path / name}"
    prepare_database(url)
    return url


def _wait_ready(server: Server) -> None:
    try:
        server.wait_ready(90)
    except Exception:
        server.stop()
        raise AssertionError((server.log.name, Path(server.log.name).read_text(errors="replace")[-2000:]))


@sqlite_only
def test_two_instances_share_no_control_socket_and_stopping_one_leaves_the_other(tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    own_socket = tmp_path / "first.ctl"
    first = _start(first_dir, _prepared_sqlite(tmp_path, "first.sqlite3"), COMPLIANCE_CONTROL_SOCKET=str(own_socket))
    second = _start(second_dir, _prepared_sqlite(tmp_path, "second.sqlite3"))
    try:
        _wait_ready(first)
        _wait_ready(second)
        assert stat.S_ISSOCK(own_socket.stat().st_mode)   # the instance that asked for one has its own
        for home in (first_dir, second_dir):   # nobody binds the per-user default
            assert not (home / ".gunicorn").exists()
        first.stop()
        status, body, _ = Browser(second.base).request("/healthz")
        assert status == 200 and '"database":"ok"' in body
        assert not own_socket.exists()   # removed by its own instance only
    finally:
        first.stop()
        second.stop()


def _start(workdir: Path, url: str, **extra: str) -> Server:
    """Server from bench/durability.py, with this test's environment (no PUBLIC_BASE_URL, its own HOME)."""
    server = Server.__new__(Server)
    server.port = free_port()
    server.base = f"http://127.0.0.1:{server.port}"
    server.log = open(workdir / "gunicorn.log", "wb")
    env = _env(workdir, url, COMPLIANCE_SESSION_COOKIE_SECURE="false", **extra)
    server.proc = subprocess.Popen([sys.executable, "-m", "compliance.cli", "serve", "--port", str(server.port),
                                    "--workers", "1"], env=env, cwd=workdir, stdout=server.log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return server


@sqlite_only
def test_the_demo_s_letters_print_the_address_it_serves_on(tmp_path):
    from compliance.models import Jurisdiction, Notice, Role
    from compliance.operations.users import create_user
    from compliance.testing import approved_letters
    url = _prepared_sqlite(tmp_path, "demo.sqlite3")
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        drafter = create_user(s, login="drafter", name="刘洋", password=PASSWORD, jurisdiction=chaoyang,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login="chair", name="张国栋", password=PASSWORD, jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        [notice_id] = approved_letters(s, jurisdiction=chaoyang, drafter=drafter, approver=chair, count=1, now=NOW,
                                       up_to="record_visit", name="北京演示端口{}有限公司")
        version = s.get(Notice, notice_id).version
        s.commit()
    server = _start(tmp_path, url)
    try:
        _wait_ready(server)
        browser = Browser(server.base)
        browser.login("chair", PASSWORD)
        status, page, _ = browser.request(f"/notices/{notice_id}/issue", {"version": str(version)})
        assert status == 200, page[:500]
        status, _body, headers = browser.request(f"/notices/{notice_id}.pdf")
        assert status == 200
    finally:
        server.stop()
    with sessionmaker(bind=engine)() as s:
        notice = s.get(Notice, notice_id)
    engine.dispose()
    from pypdf import PdfReader
    pdf = (tmp_path / "documents" / notice.sha256[:2] / notice.sha256[2:4] / f"{notice.sha256}.pdf").read_bytes()
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert f"127.0.0.1:{server.port}/verify/{notice.verification_code}" in text, text[-400:]
    assert notice.snapshot["verification"]["url"] == f"http://127.0.0.1:{server.port}/verify/{notice.verification_code}"
