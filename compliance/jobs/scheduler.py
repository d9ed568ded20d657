"""The scheduler process: exactly one active, any number standing by.

The active process holds a lock that the operating system or the database gives back when the process dies:
on PostgreSQL a session-level advisory lock on a connection of its own, held for the life of the process; on
SQLite an exclusive `flock` on instance/scheduler.lock. The others try again every few seconds and take over
when the active one is gone, running every job once at once: the jobs catch up on what fell due meanwhile, and
nothing already sent is sent again (reminders are unique rows). Jobs run one at a time in one worker thread, so
a sweep and a delivery never overlap within the process.
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from compliance.clock import BEIJING, utcnow

log = logging.getLogger("compliance.scheduler")

#: The advisory lock's key: any fixed 64-bit number no other code uses ("cmplsch" in ASCII).
ADVISORY_KEY = int.from_bytes(b"cmplsch", "big")
#: A standby says it is still waiting at most this often.
STANDBY_LOG_EVERY = 600.0
#: How often the active process checks that it still holds the lock (and whether it should stop).
WATCH_SECONDS = 1.0
LOCK_CHECK_EVERY = 10


class PostgresLock:
    """pg_try_advisory_lock on a dedicated connection: released by PostgreSQL when that connection ends."""

    def __init__(self, url: str):
        self._engine = create_engine(url, poolclass=NullPool)
        self._conn = None
        self._unreachable = False

    def acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}))
        except Exception as exc:   # the database is away: stay standby and try again
            if not self._unreachable:   # said once per outage, not every few seconds
                log.warning("无法连接数据库以获取调度锁（%s），稍后重试", exc.__class__.__name__)
            self._unreachable = True
            self._drop()
            return False
        if self._unreachable:
            log.info("数据库已恢复连接")
            self._unreachable = False
        return got

    def alive(self) -> bool:
        try:
            return bool(self._conn.scalar(text("SELECT 1")))
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            except Exception:   # the connection is gone, and with it the lock
                pass
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None

    def describe(self) -> str:
        return f"PostgreSQL 会话级咨询锁 {ADVISORY_KEY}"


class FileLock:
    """An exclusive flock on a file: released by the kernel when the process dies."""

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def alive(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def describe(self) -> str:
        return f"文件锁 {self._path}"


def lock_for(app):
    url = app.config["DATABASE_URL"]
    if url.startswith("postgresql"):
        return PostgresLock(url)
    return FileLock(Path(app.config.get("SCHEDULER_LOCK_FILE") or Path(app.instance_path) / "scheduler.lock"))


class SchedulerProcess:
    """Wait for the lock, run the jobs while holding it, give it back on the way out."""

    def __init__(self, app, *, retry_seconds: float = 5.0, stop_with_parent: bool = False):
        self.app = app
        self.retry_seconds = retry_seconds
        self.stop = threading.Event()
        self._parent = os.getppid() if stop_with_parent else None
        self._scheduler = None
        self._lock = lock_for(app)

    def _orphaned(self) -> bool:
        return self._parent is not None and os.getppid() != self._parent

    def request_stop(self, *_signal) -> None:
        self.stop.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        waiting_since, last_said = None, 0.0
        while not self.stop.is_set() and not self._orphaned():
            if not self._lock.acquire():
                now = time.monotonic()
                if waiting_since is None or now - last_said >= STANDBY_LOG_EVERY:
                    log.info("另一个调度进程正在运行，本进程（pid %s）待命，每 %s 秒重试（%s）",
                             os.getpid(), self.retry_seconds, self._lock.describe())
                    waiting_since = waiting_since or now
                    last_said = now
                self.stop.wait(self.retry_seconds)
                continue
            log.info("本进程（pid %s）成为活动调度进程（%s）", os.getpid(), self._lock.describe())
            waiting_since = None
            try:
                self._run_active()
            finally:
                self._lock.release()
            if not self.stop.is_set() and not self._orphaned():
                log.warning("调度锁已失去：停止执行任务，重新待命")
        log.info("调度进程（pid %s）退出", os.getpid())

    def _run_active(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        from compliance.jobs import register
        scheduler = BlockingScheduler(timezone=BEIJING, executors={
            "default": ThreadPoolExecutor(1), "watch": ThreadPoolExecutor(1)})
        self._scheduler = scheduler
        register(scheduler, self._run_job, now=utcnow())
        ticks = {"n": 0}

        def watch() -> None:
            ticks["n"] += 1
            lost = ticks["n"] % LOCK_CHECK_EVERY == 0 and not self._lock.alive()
            if self.stop.is_set() or self._orphaned() or lost:
                scheduler.shutdown(wait=False)

        scheduler.add_job(watch, "interval", seconds=WATCH_SECONDS, id="_watch", executor="watch", coalesce=True,
                          max_instances=1, misfire_grace_time=None)
        scheduler.start()   # blocks until watch() shuts it down

    def _run_job(self, name: str) -> None:
        from compliance.db import db
        from compliance.jobs import run_job
        with self.app.app_context():
            factory = sessionmaker(bind=db.engine, expire_on_commit=False)
            started = time.monotonic()
            try:
                summary = run_job(name, factory, utcnow())
            except Exception:
                log.exception("任务 %s 失败", name)
                return
            log.info("任务 %s 完成（%.2f 秒）：%s", name, time.monotonic() - started, summary)
