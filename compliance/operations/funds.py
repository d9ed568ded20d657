"""What a case records for the union-funds rules (Beijing Measures Art 55, docs/funds.md).

* ``has_union``: whether the unit had a union in the months claimed. A unit with one owes 2% of every month's
  payroll (Trade Union Law Art 43, BJM 55(2)); None follows the enterprise's record.
* ``union_help_started_on``: for a unit without a union, the day the higher union started helping and guiding its
  workers to prepare one (BJM 55(3)): funds are owed from that day, not before. Without it, nothing is owed.

The payment demand drafted after this reads them (compliance.snapshots.funds_rules); a letter already drafted keeps
the facts it was drafted with, like every other fact (draft it again, or correct the months on the draft).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from compliance.access import Permission, require
from compliance.clock import business_date
from compliance.errors import Conflict, NotAllowed, ValidationFailed
from compliance.models import Case, CaseEvent, User
from compliance.operations.assignments import _lock, stale_message
from compliance.operations.cases import next_event_seq
from sqlalchemy.orm import Session

#: The audit action.
ACTION = "case.funds_facts_recorded"
#: The earliest help date accepted (anything older is a typing error).
EARLIEST = dt.date(1994, 1, 1)


def _day(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        raise ValidationFailed("上级工会帮助筹建日期应为日期，格式如2026-01-05", field="union_help_started_on")
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if len(text) > 10:
        raise ValidationFailed("上级工会帮助筹建日期应为日期，格式如2026-01-05", field="union_help_started_on")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"上级工会帮助筹建日期应为日期，格式如2026-01-05（收到：{text}）",
                               field="union_help_started_on") from None


def record_funds_facts(session: Session, case_id: int, *, actor: User, now: dt.datetime,
                       has_union: bool | None, union_help_started_on: Any = None,
                       expected_version: int | None = None) -> CaseEvent | None:
    """Record whether the unit had a union and when the higher union started helping; None when nothing changes."""
    case: Case = _lock(session, case_id)
    require(actor, Permission.WORK_CASE, case.jurisdiction, absent=f"案件 {case_id} 不存在")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(stale_message(session, case), expected_version=expected_version, current_version=case.version)
    if case.is_closed:
        raise NotAllowed("案件已结案，不能再修改经费认定情况")
    if has_union is not None and not isinstance(has_union, bool):
        raise ValidationFailed("是否已建立工会应为是或否", field="has_union")
    day = _day(union_help_started_on)
    if day is not None:
        if has_union:
            raise ValidationFailed("已建立工会的单位按《工会法》第四十三条自始拨缴经费，无需填写上级工会帮助筹建日期",
                                   field="union_help_started_on")
        if day > business_date(now):
            raise ValidationFailed("上级工会帮助筹建日期不能晚于今天", field="union_help_started_on")
        if day < EARLIEST:
            raise ValidationFailed(f"上级工会帮助筹建日期不能早于{EARLIEST.year}年", field="union_help_started_on")
    before = {"has_union": case.has_union,
              "union_help_started_on": case.union_help_started_on.isoformat() if case.union_help_started_on else None}
    after = {"has_union": has_union, "union_help_started_on": day.isoformat() if day else None}
    if before == after:
        return None
    case.has_union, case.union_help_started_on = has_union, day
    event = CaseEvent(case_id=case.id, seq=next_event_seq(case), actor_id=actor.id, action=ACTION, trigger=None,
                      from_state=case.state, to_state=case.state, reason="", created_at=now,
                      details={"before": before, "after": after})
    session.add(event)
    session.flush()
    return event
