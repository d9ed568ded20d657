"""The database goes away and comes back: 503 in Chinese while it is down, work again within seconds after,
without restarting the service; nothing lost, nothing done twice."""
from __future__ import annotations

import pytest

from bench.durability import private_cluster_unavailable, run_outage
from compliance import create_app


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:9/nothing-listens-here",
                                 "sqlite:////nonexistent-folder/compliance.sqlite3"])
def test_an_unreachable_database_answers_a_chinese_503_with_retry_after(url, tmp_path):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path),
                      "PUBLIC_BASE_URL": "https://jiandu.example.org"}, check_schema=False)
    client = app.test_client()
    res = client.get("/verify/ABCDEFGHJK")
    page = res.get_data(as_text=True)
    assert res.status_code == 503, page
    assert res.headers["Retry-After"] == "5"
    assert "数据库暂时无法连接，本次操作未保存任何更改" in page and "Traceback" not in page
    res = client.get("/verify/ABCDEFGHJK", headers={"Accept": "application/json"})
    assert res.status_code == 503 and res.get_json()["error"] == "database_unavailable"
    assert client.get("/healthz").status_code == 503


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(private_cluster_unavailable() is not None, reason=str(private_cluster_unavailable()))
def test_gunicorn_on_postgresql_through_a_database_restart(tmp_path):
    """A private cluster (never the shared one), stopped for 3 s while four clients post case steps."""
    r = run_outage(clients=4, cases_each=30, before=3.0, down=3.0, after=4.0, grace=5.0, workdir=tmp_path)
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    first_error = log[max(log.find("Traceback"), 0):][:6000]
    assert r.fatal == [] and r.non_503 == [], (r, first_error)
    assert r.errors > 0, "the restart was not seen: the test proves nothing"
    assert r.errors_outside_outage == 0, r
    assert r.lost == 0 and r.doubled == 0, r
    # Every step in the database was answered as done, or resent after an error and refused as already done.
    assert r.transitions_in_db == r.transitions_ok + r.refused_as_done, r
    assert r.recovery_seconds < 5, r
    assert r.transitions_ok > 20 and r.per_second_after > 0, r
    assert " 500 " not in log and "Traceback" not in log, first_error


@pytest.mark.parametrize("command", [["notices", "issue", "1", "--by", "chair"],
                                     ["notices", "issue-batch", "--by", "chair"]])
def test_the_issue_commands_say_the_database_is_unreachable_in_one_chinese_line(command, tmp_path):
    import os
    import subprocess
    import sys
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/nothing",
           "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org", "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "documents")}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", *command], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "Error: 数据库暂时无法连接，本次未保存任何更改（文号未占用）。请稍后重试"


def test_a_connection_lost_under_a_caught_error_is_a_503_too(tmp_path):
    """Something caught the first failure and went on (the header's unread count does, so a page still renders);
    the session then refuses to go on ("invalid transaction"): the database went away, not a bug."""
    from sqlalchemy.exc import PendingRollbackError
    app = create_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/nothing", "SECRET_KEY": "x",
                      "DOCUMENT_STORE": str(tmp_path), "PUBLIC_BASE_URL": "https://jiandu.example.org"},
                     check_schema=False)

    def lost():
        raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back.  Please rollback() "
                                   "fully before proceeding", None, None)
    app.add_url_rule("/lost", view_func=lost)
    res = app.test_client().get("/lost")
    assert res.status_code == 503 and res.headers["Retry-After"] == "5"
    assert "数据库暂时无法连接" in res.get_data(as_text=True)


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [["serve"], ["documents", "check"], ["db", "upgrade"], ["case", "history", "1"],
                                     ["scheduler"], ["backup", "out.tar"]])
def test_commands_name_the_unreachable_database_in_one_chinese_line(command, tmp_path):
    """The schema check (or the first query) meets a database that is not there: one line naming it without its
    password and why, exit status 1, no traceback."""
    import os
    import subprocess
    import sys
    port = _closed_port()
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": f"postgresql+psycopg://compliance_app:s3cret-pw@127.0.0.1:{port}/"
                                                    "compliance",
           "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org", "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "documents")}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", *command], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.strip() == (
        f"Error: 无法连接数据库 postgresql+psycopg://compliance_app:***@127.0.0.1:{port}/compliance：连接被拒绝"
        "（数据库服务未启动，或主机、端口有误）。请检查数据库是否可用以及 COMPLIANCE_DATABASE_URL 是否正确")
    assert "s3cret-pw" not in out.stdout + out.stderr


def test_db_upgrade_names_the_migration_url_when_that_one_is_unreachable(tmp_path, database_url):
    """The service's database answers, the owner's URL (which migrations use) points nowhere: that one is named."""
    import os
    import subprocess
    import sys
    port = _closed_port()
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": database_url,
           "COMPLIANCE_MIGRATION_DATABASE_URL": f"postgresql+psycopg://owner:pw@127.0.0.1:{port}/compliance",
           "COMPLIANCE_SECRET_KEY": "x", "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "documents")}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", "db", "upgrade"], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().startswith(f"Error: 无法连接数据库 postgresql+psycopg://owner:***@127.0.0.1:{port}/")
    assert out.stderr.strip().endswith("COMPLIANCE_MIGRATION_DATABASE_URL 是否正确")


def test_a_missing_sqlite_folder_is_named_too(tmp_path):
    import os
    import subprocess
    import sys
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": f"sqlite:///{tmp_path}/no-such-folder/compliance.sqlite3",
           "COMPLIANCE_SECRET_KEY": "x", "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "documents")}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", "serve"], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"Error: 无法连接数据库 sqlite:///{tmp_path}/no-such-folder/compliance.sqlite3："
                                  "数据库文件所在的目录不存在。请检查数据库是否可用以及 COMPLIANCE_DATABASE_URL 是否正确")


def test_a_worker_starting_against_an_unreachable_database_says_which(tmp_path):
    """gunicorn's worker (or `compliance.wsgi`) builds the app with the schema check: the error it stops with is
    the same line, not a driver's."""
    from compliance.db import DatabaseUnreachable
    port = _closed_port()
    with pytest.raises(DatabaseUnreachable) as stopped:
        create_app({"DATABASE_URL": f"postgresql+psycopg://compliance_app:pw@127.0.0.1:{port}/compliance",
                    "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path)})
    assert str(stopped.value).startswith(f"无法连接数据库 postgresql+psycopg://compliance_app:***@127.0.0.1:{port}/"
                                         "compliance：连接被拒绝")
