"""The policy a case operation decides with: deadline rules from config, calendar from the database."""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.models import HolidayOverrideRow, HolidayYear
from workflows.calendar import DayKind, HolidayOverride, WorkCalendar
from workflows.deadlines import load_rules
from workflows.ladder import Policy


def load_calendar(session: Session) -> WorkCalendar:
    """chinesecalendar plus every holiday override and complete year entered by an admin."""
    overrides = [HolidayOverride(day=r.day, kind=DayKind(r.kind), name=r.name)
                 for r in session.scalars(select(HolidayOverrideRow))]
    years = session.scalars(select(HolidayYear.year).where(HolidayYear.is_complete.is_(True))).all()
    return WorkCalendar(overrides=overrides, complete_years=years)


def load_policy(session: Session, rule_overrides: dict | None = None) -> Policy:
    """Rules (DOMAIN.md defaults with the app's DEADLINE_RULES overrides) and the current calendar."""
    if rule_overrides is None and has_app_context():
        rule_overrides = current_app.config.get("DEADLINE_RULES") or {}
    return Policy(rules=load_rules(rule_overrides or {}), calendar=load_calendar(session))
