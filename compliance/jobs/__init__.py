"""The scheduled jobs, registered in one place.

Each job is a plain function `(session_factory, now) -> summary` that reads the clock only through `now`, commits
its own transactions and can run any number of times: what it decides is a reminder row unique per (deadline,
kind, recipient) or per occasion, so a second run, a second scheduler or a restart sends nothing twice. The
producing jobs' messages are delivered right after they commit; `deliver_outbox` also runs every minute for the
retries. Only the scheduler process (`compliance scheduler`) and `compliance run-job` run them, never a web worker.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from compliance.clock import BEIJING
from compliance.jobs.checks import calendar_check, funds_check
from compliance.jobs.delivery import deliver_outbox
from compliance.jobs.digest import DIGEST_AT, daily_digest
from compliance.jobs.housekeeping import purge_login_throttles
from compliance.jobs.sweep import sweep_deadlines

log = logging.getLogger("compliance.jobs")


@dataclass(frozen=True)
class JobSpec:
    func: Callable
    #: APScheduler trigger name and its arguments.
    trigger: str
    trigger_args: dict = field(default_factory=dict)
    #: Seconds a run may start late (the scheduler was busy or paused) and still run; later runs are skipped, and
    #: nothing is lost: every job catches up on its next run.
    misfire_grace_time: int = 60
    #: Deliver the outbox right after the job has committed.
    delivers: bool = True

    @property
    def id(self) -> str:
        return self.func.__name__


JOBS: dict[str, JobSpec] = {spec.id: spec for spec in (
    JobSpec(sweep_deadlines, "interval", {"minutes": 5}, misfire_grace_time=240),
    JobSpec(daily_digest, "cron", {"hour": DIGEST_AT.hour, "minute": DIGEST_AT.minute, "timezone": BEIJING},
            misfire_grace_time=6 * 3600),
    # Daily: the job itself waits for the first working day after the due day, and sends once a month per case.
    JobSpec(funds_check, "cron", {"hour": 9, "minute": 0, "timezone": BEIJING}, misfire_grace_time=6 * 3600),
    JobSpec(calendar_check, "cron", {"hour": 9, "minute": 5, "timezone": BEIJING}, misfire_grace_time=6 * 3600),
    JobSpec(deliver_outbox, "interval", {"minutes": 1}, misfire_grace_time=50, delivers=False),
    # Nightly, when nobody signs in: drop failed-login counters that no longer throttle anyone.
    JobSpec(purge_login_throttles, "cron", {"hour": 3, "minute": 17, "timezone": BEIJING},
            misfire_grace_time=6 * 3600, delivers=False),
)}


def register(scheduler, run: Callable[[str], None], *, now: dt.datetime | None = None) -> None:
    """Add every job to an APScheduler 3 scheduler, each also run once at `now` (catch-up after a restart)."""
    for order, (name, spec) in enumerate(JOBS.items()):
        # In JOBS' order (the sweep before the digest). APScheduler reads an explicit next_run_time=None as
        # "paused": pass one only when there is one.
        first = {"next_run_time": now + dt.timedelta(milliseconds=order)} if now is not None else {}
        scheduler.add_job(run, spec.trigger, args=[name], id=name, name=name, coalesce=True, max_instances=1,
                          misfire_grace_time=spec.misfire_grace_time, replace_existing=True, **first,
                          **spec.trigger_args)


def run_job(name: str, session_factory, now: dt.datetime, *, deliver: bool = True) -> dict:
    """Run one job now (and deliver what it queued); returns its summary."""
    spec = JOBS[name]
    summary = spec.func(session_factory, now)
    if deliver and spec.delivers:
        summary["delivery"] = deliver_outbox(session_factory, now)
    return summary
