"""The scheduler process: exactly one active, the others standing by and taking over when it dies, and every due
reminder delivered once however the active one dies; `compliance run-job` runs any job once.

The process tests start real `compliance scheduler` processes and kill them with SIGKILL (only the processes they
started, by pid); each is bounded in time.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from compliance.cli import main
from compliance.db import make_engine
from compliance.jobs.scheduler import ADVISORY_KEY, FileLock, PostgresLock
from compliance.models import InboxMessage
from tests.compliance.test_reminders import (LoopbackSMTP, at, deadline_for, jobs, only_this_tests_rows,  # noqa: F401
                                            smtp_server)

BACKEND = os.environ.get("COMPLIANCE_TEST_BACKEND", "sqlite")
ACTIVE = "成为活动调度进程"
STANDBY = "待命"


# ------------------------------------------------------------------------------------------------- run-job

def test_run_job_runs_one_job_with_a_given_now_and_delivers(runner, session, deadline_for, supervisor):  # noqa: F811
    deadline_for("2026-11-24")
    session.commit()
    result = runner.invoke(main, ["run-job", "sweep_deadlines", "--now", "2026-11-24T10:00"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "任务 sweep_deadlines 已完成" in result.output and '"due": 1' in result.output
    assert '"inbox": 1' in result.output
    assert session.scalar(select(func.count()).select_from(InboxMessage)
                          .where(InboxMessage.user_id == supervisor.id)) == 1
    again = runner.invoke(main, ["run-job", "sweep_deadlines", "--now", "2026-11-24T10:05+08:00"])
    assert '"reminders": {}' in again.output


def test_run_job_refuses_unknown_jobs_and_times_in_chinese(runner):
    result = runner.invoke(main, ["run-job", "send_everything"])
    assert result.exit_code == 2 and "没有任务“send_everything”" in result.output and "sweep_deadlines" in result.output
    result = runner.invoke(main, ["run-job", "daily_digest", "--now", "yesterday"])
    assert result.exit_code == 2 and "不是有效的时间" in result.output


def test_a_bare_date_runs_after_the_digest_hour(runner, session, deadline_for, supervisor):  # noqa: F811
    deadline_for("2026-11-23")
    session.commit()
    result = runner.invoke(main, ["run-job", "daily_digest", "--now", "2026-11-24", "--no-deliver"])
    assert '"digest": 1' in result.output and "delivery" not in result.output


# ------------------------------------------------------------------------------------------------- locks

def test_the_file_lock_is_exclusive_until_released(tmp_path):
    path = tmp_path / "scheduler.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.acquire() and not second.acquire()
    assert path.read_text().strip() == str(os.getpid())
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_the_advisory_lock_is_exclusive_and_ends_with_its_connection(database_url):
    first, second = PostgresLock(database_url), PostgresLock(database_url)
    try:
        assert first.acquire() and not second.acquire()
        assert first.alive()
        first._conn.close()   # as when the process dies: PostgreSQL ends the session and its lock
        _wait(second.acquire, 10, "the lock to pass to the standby")   # as the standby retries
    finally:
        first.release()
        second.release()
    assert ADVISORY_KEY > 0


# ----------------------------------------------------------------------------------------------- processes

def _start(env: dict, log: Path, *extra: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "compliance.cli", "scheduler", "--retry-seconds", "0.3",
                                 *extra], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _active(procs: list[subprocess.Popen], logs: list[Path]) -> list[int]:
    """Indexes of the processes that have become active (and are alive)."""
    return [i for i, (p, log) in enumerate(zip(procs, logs)) if p.poll() is None and ACTIVE in log.read_text()]


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)


@pytest.mark.skipif(BACKEND != "sqlite", reason="the embedded default's file lock")
@pytest.mark.timeout(60)
def test_on_sqlite_one_scheduler_is_active_and_a_standby_takes_over(isolated_database_url, tmp_path):
    url = isolated_database_url
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock")}
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start(env, logs[0]), _start(env, logs[1])]
    try:
        [first] = _wait(lambda: _active(procs, logs), 30, "an active scheduler")
        other = 1 - first
        _wait(lambda: STANDBY in logs[other].read_text(), 30, "the standby")
        time.sleep(1)
        assert _active(procs, logs) == [first]
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(timeout=10)
        _wait(lambda: _active(procs, logs) == [other], 30, "the standby to take over")
        assert logs[other].read_text().count(STANDBY) == 1   # bounded logging while it waited
    finally:
        _stop(procs)


@pytest.mark.skipif(BACKEND != "sqlite", reason="the embedded default that make run starts")
@pytest.mark.timeout(60)
def test_make_runs_scheduler_stops_with_the_recipe(tmp_path):
    """`make run` starts the scheduler with --stop-with-parent beside the server: when the recipe's shell ends,
    so does the scheduler (no stray process keeps the lock)."""
    from compliance.testing import prepare_database
    url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    prepare_database(url)
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock")}
    log = tmp_path / "scheduler.log"
    script = (f"{sys.executable} -m compliance.cli scheduler --retry-seconds 0.3 --stop-with-parent > {log} 2>&1 &"
              f" echo $!; while ! grep -q {ACTIVE} {log} 2>/dev/null; do sleep 0.1; done")
    shell = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    pid = int(shell.stdout.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
                break   # exited, waiting to be reaped by whoever adopted it
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the scheduler outlived the shell that started it")
    assert "退出" in log.read_text()


def _deliveries(server: LoopbackSMTP) -> list[str]:
    return [m["Message-ID"] for m in list(server.messages)]


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_kill_9_mid_sweep_then_every_due_reminder_is_delivered_exactly_once(isolated_database_url, tmp_path,
                                                                          smtp_server,  # noqa: F811
                                                                          isolated_owner_url):
    from bench.bench_scheduler import populate
    from compliance.clock import business_date, utcnow
    started = time.monotonic()
    url = isolated_database_url
    due = 600
    # Bulk set-up with explicit ids and setval is the owner's; the scheduler below runs as the application role.
    populate(isolated_owner_url, cases=900, due=due, today=business_date(utcnow()), supervisor_email="s{}@union.example.cn",
             leader_email="chair@union.example.cn")
    engine = make_engine(url)
    factory = sessionmaker(bind=engine)

    def count(sql: str) -> int:
        with factory() as s:
            return s.scalar(text(sql))

    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_SMTP_HOST": "127.0.0.1", "COMPLIANCE_SMTP_PORT": str(smtp_server.port),
           "COMPLIANCE_SMTP_SECURITY": "none", "COMPLIANCE_MAIL_FROM": "reminders@union.example.cn",
           # Small chunks: the sweep commits in many transactions, so there is a "middle" to kill it in.
           "COMPLIANCE_REMINDER_CHUNK": "3"}
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start(env, logs[0]), _start(env, logs[1])]   # started together
    try:
        [first] = _wait(lambda: _active(procs, logs), 30, "an active scheduler")
        other = 1 - first
        _wait(lambda: STANDBY in logs[other].read_text(), 30, "the standby")
        assert _active(procs, logs) == [first]
        # Mid-sweep: some deadlines have their reminders (committed chunk by chunk), most do not yet.
        at_kill = _wait(lambda: (n := count("SELECT count(DISTINCT deadline_id) FROM reminders")) and n < due // 2
                        and n, 30, "the sweep to be under way")
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(timeout=10)
        assert 0 < at_kill < due
        _wait(lambda: _active(procs, logs) == [other], 30, "the standby to take over")
        # It runs every job once as it takes over (the last is the delivery), catching up on what was left.
        _wait(lambda: "任务 deliver_outbox 完成" in logs[other].read_text(), 30, "the catch-up run")
        assert count("SELECT count(DISTINCT deadline_id) FROM reminders WHERE deadline_id IS NOT NULL") == due
        _wait(lambda: count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0, 30, "every message sent")
        expected = count("SELECT count(*) FROM outbox WHERE channel = 'email'")
        _wait(lambda: len(_deliveries(smtp_server)) >= expected, 30, "the mails at the server")
        time.sleep(0.5)   # anything sent twice would arrive now
        received = _deliveries(smtp_server)
        assert len(received) == len(set(received)) == expected
        with factory() as s:
            ids = set(s.scalars(text("SELECT id FROM outbox WHERE channel = 'email'")))
            per_deadline = s.execute(text("SELECT deadline_id, kind, recipient_id, count(*) FROM reminders "
                                          "WHERE deadline_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1")).all()
            inbox = s.scalar(text("SELECT count(*) FROM inbox_messages"))
            inbox_rows = s.scalar(text("SELECT count(*) FROM outbox WHERE channel = 'inbox'"))
        assert received and {int(m.split("-")[-1].split("@")[0]) for m in received} == ids
        assert per_deadline == [] and inbox == inbox_rows
        # Overdue deadlines also reached the district's chair, once each.
        assert count("SELECT count(*) FROM reminders WHERE kind = 'overdue' AND recipient_id = "
                     "(SELECT id FROM users WHERE login = 'bench-chair')") == due // 3
    finally:
        _stop(procs)
        engine.dispose()
    assert time.monotonic() - started < 60
