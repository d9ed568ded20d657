"""Nightly housekeeping: forget failed-login counters that no longer throttle anyone.

A LoginThrottle row counts failures per login and per client address. Once its failure window has passed and it
holds no lock, it has no effect on the next attempt (the next failure starts counting from zero), so keeping it
only lets the table grow with every mistyped login and every scanning address. Locks and their history stay in
the append-only admin_events audit ("login.locked"); nothing here touches an audit row.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from sqlalchemy import delete, or_

from compliance.models import LoginThrottle
from compliance.operations.accounts import AccessRules


def purge_login_throttles(session_factory, now: dt.datetime) -> dict:
    """Delete throttle rows whose window ended and whose lock (if any) expired; returns how many went."""
    rules = AccessRules.from_config(current_app.config) if has_app_context() else AccessRules()
    stale_before = now - rules.window
    with session_factory() as session:
        result = session.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < stale_before,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)))
        session.commit()
    return {"purged_login_throttles": result.rowcount or 0, "stale_before": stale_before.isoformat()}
