"""`compliance serve` really serves: the command make run ends with, started as a process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from compliance.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.environ.get("COMPLIANCE_TEST_BACKEND", "sqlite") != "sqlite",
                    reason="exercises the embedded SQLite default that make run uses")
def test_serve_answers_health_checks_and_the_login_page(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x", "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "compliance.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        body, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                    body = res.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert proc.poll() is None, proc.stdout.read().decode()
        assert body == '{"database":"ok","status":"ok"}\n'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as res:
            assert "登录" in res.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
