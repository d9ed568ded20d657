"""CLI for the scheduled side: `compliance scheduler` (the process) and `compliance run-job NAME` (one run)."""
from __future__ import annotations

import datetime as dt
import json
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from compliance.db import db


def parse_now(raw: str | None) -> dt.datetime:
    """An ISO moment; without a zone it is Beijing time; a bare date is 08:30 that day (after the digest)."""
    from compliance.clock import BEIJING, utcnow
    if raw is None:
        return utcnow()
    try:
        if len(raw) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(8, 30))
        else:
            moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"“{raw}”不是有效的时间（例如 2026-11-24T10:00 或 2026-11-24T10:00+08:00）",
                                 param_hint="--now") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(dt.timezone.utc)


@click.command("run-job")
@click.argument("name")
@click.option("--now", "now_text", default=None, metavar="ISO",
              help="Run as if it were this moment (Beijing time unless a zone is given), e.g. 2026-11-24T10:00.")
@click.option("--no-deliver", is_flag=True, help="Queue the messages without delivering them.")
@with_appcontext
def run_job_command(name, now_text, no_deliver):
    """Run one scheduled job once: sweep_deadlines, daily_digest, funds_check, calendar_check or deliver_outbox
    (the scheduler runs them by itself; this is for operators and tests)."""
    from sqlalchemy.orm import sessionmaker

    from compliance.cli.common import one_line_errors, require_current_schema
    from compliance.jobs import JOBS, run_job
    if name not in JOBS:
        raise click.BadParameter(f"没有任务“{name}”；可用的任务：{'、'.join(sorted(JOBS))}", param_hint="NAME")

    @one_line_errors
    def run():
        require_current_schema()
        db.session.rollback()
        # Whatever the app's session is bound to: the engine, or (in tests) a connection already in a transaction,
        # whose savepoints the job's commits then become.
        factory = sessionmaker(bind=db.session.get_bind(), expire_on_commit=False,
                               join_transaction_mode="create_savepoint")
        summary = run_job(name, factory, parse_now(now_text), deliver=not no_deliver)
        click.echo(f"任务 {name} 已完成：{json.dumps(summary, ensure_ascii=False, default=str)}")
    run()


@click.command("scheduler")
@click.option("--retry-seconds", type=click.FloatRange(0.1, 3600), default=None,
              help="How often a standby tries to take over (default: config SCHEDULER_STANDBY_SECONDS or 5).")
@click.option("--stop-with-parent", is_flag=True, help="Exit when the process that started this one exits "
                                                       "(make run).")
@with_appcontext
def scheduler_command(retry_seconds, stop_with_parent):
    """Run the scheduled jobs: exactly one scheduler is active, any others wait as standbys and take over."""
    from compliance.cli.common import require_current_schema, warn_if_privileged
    from compliance.jobs.scheduler import SchedulerProcess
    from compliance.jobs.settings import current_settings
    require_current_schema()
    warn_if_privileged()
    try:
        current_settings()   # a configuration mistake stops here, not in the first job hours later
    except ValueError as exc:
        raise click.ClickException(f"配置有误：{exc}") from None
    db.session.rollback()
    db.session.remove()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)   # our own lines say what each job did
    if retry_seconds is None:
        retry_seconds = float(current_app.config.get("SCHEDULER_STANDBY_SECONDS") or 5)
    SchedulerProcess(current_app._get_current_object(), retry_seconds=retry_seconds,
                     stop_with_parent=stop_with_parent).run()

