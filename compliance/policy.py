"""The policy a case operation decides with: deadline rules from config, calendar from the database.

Building the calendar reads every holiday override and complete year; a case step needs it every time. So the
built Policy is cached per (database, holiday-data version, rule overrides). The version is read in the caller's
transaction on every call (one small query, or columns of a query the caller makes anyway: fire_trigger reads
them with the case it locks): it changes whenever any process (another worker, another host) writes holiday
data, and a transaction that has just entered a year sees its own writes in it, so nobody decides on a stale
calendar. A process-local flag would not do: several workers on several hosts share one database.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from compliance.models import HolidayOverrideRow, HolidayYear
from workflows.calendar import DayKind, HolidayOverride, WorkCalendar
from workflows.deadlines import load_rules
from workflows.ladder import Policy

#: Policies kept at once: one per live holiday-data version and rule set (a handful at most in practice).
CACHE_SIZE = 16

_cache: OrderedDict[Hashable, Policy] = OrderedDict()
_cache_lock = threading.Lock()


def load_calendar(session: Session) -> WorkCalendar:
    """chinesecalendar plus every holiday override and complete year entered by an admin."""
    overrides = [HolidayOverride(day=r.day, kind=DayKind(r.kind), name=r.name)
                 for r in session.scalars(select(HolidayOverrideRow))]
    years = session.scalars(select(HolidayYear.year).where(HolidayYear.is_complete.is_(True))).all()
    return WorkCalendar(overrides=overrides, complete_years=years)


def _version_columns() -> tuple:
    """Row counts and the newest entry time of both holiday tables. enter_holiday_year stamps every row it writes
    (a day entered again keeps the count but moves entered_at), so any entry changes one of them."""
    overrides, years = HolidayOverrideRow.__table__.c, HolidayYear.__table__.c
    return (
        select(func.count()).select_from(HolidayOverrideRow.__table__).scalar_subquery().label("holiday_days"),
        select(func.max(overrides.entered_at)).scalar_subquery().label("holiday_days_entered"),
        select(func.count()).select_from(HolidayYear.__table__).scalar_subquery().label("holiday_years"),
        select(func.count(case((years.is_complete.is_(True), 1)))).scalar_subquery().label("holiday_years_complete"),
        select(func.max(years.entered_at)).scalar_subquery().label("holiday_years_entered"),
    )


#: The holiday-data version as columns, for a caller that reads it in the same round trip as its own rows
#: (it then passes the values to load_policy as `version`).
VERSION_COLUMNS = _version_columns()
_VERSION_QUERY = select(*VERSION_COLUMNS)


def holiday_data_version(session: Session) -> tuple:
    """A token that changes whenever holiday data changes, in this transaction or in any committed one.

    One query on two small tables (it autoflushes: holiday rows added in this session count too).
    """
    return tuple(session.execute(_VERSION_QUERY).one())


def _database_identity(session: Session) -> Hashable | None:
    """Which database the session talks to (None for a private in-memory SQLite, which is never cached)."""
    bind = session.get_bind(HolidayOverrideRow)
    engine = getattr(bind, "engine", bind)   # a Connection (tests bind sessions to one) or an Engine
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=True)


def _rules_key(rule_overrides: dict) -> str:
    return json.dumps(rule_overrides, sort_keys=True, ensure_ascii=False, default=str)


def load_policy(session: Session, rule_overrides: dict | None = None, *, version: tuple | None = None) -> Policy:
    """Rules (DOMAIN.md defaults with the app's DEADLINE_RULES overrides) and the current calendar.

    version: the values of VERSION_COLUMNS when the caller has just read them in this transaction (saves the
    query); otherwise they are read here. The result is shared between requests and threads: it is immutable
    (Policy freezes its rules, a WorkCalendar never changes after it is built).
    """
    if rule_overrides is None and has_app_context():
        rule_overrides = current_app.config.get("DEADLINE_RULES") or {}
    rule_overrides = rule_overrides or {}
    database = _database_identity(session)
    if database is None:
        return _build(session, rule_overrides)
    if version is None:
        version = holiday_data_version(session)
    key = (database, tuple(version), _rules_key(rule_overrides))
    with _cache_lock:
        policy = _cache.get(key)
        if policy is not None:
            _cache.move_to_end(key)
            return policy
    # Built outside the lock (two queries); two threads racing here build equal policies, the last one is kept.
    policy = _build(session, rule_overrides)
    with _cache_lock:
        _cache[key] = policy
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return policy


def _build(session: Session, rule_overrides: dict[str, Any]) -> Policy:
    return Policy(rules=load_rules(rule_overrides), calendar=load_calendar(session))


def forget_policies() -> None:
    """Drop every cached policy (holiday data was just written in this process: rebuild on next use).

    Not needed for correctness across processes (the version token covers that); it keeps a rolled-back entry
    that happened to reuse a version token from ever being served in this process.
    """
    with _cache_lock:
        _cache.clear()
