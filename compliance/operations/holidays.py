"""Entering a year's holidays from the State Council notice, and what that changes."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.access import Permission, require
from compliance.errors import ValidationFailed
from compliance.models import Case, CaseEvent, Deadline, HolidayOverrideRow, HolidayYear, User
from compliance.operations.cases import next_event_seq
from compliance.policy import forget_policies, load_policy
from workflows.calendar import DayKind, HolidayOverride
from workflows.deadlines import compute_due

#: Deadlines whose due date the ladder's guards read from the case row.
_FACT_FOR_RULE = {"opinion_reply": "opinion_reply_due", "payment_demand": "payment_demand_due",
                  "visit_rectification": "visit_rectification_due", "bargaining_answer": "bargaining_answer_due",
                  "correction_order": "correction_due", "payment_order": "payment_order_due"}


def enter_holiday_year(session: Session, *, year: int, days: Iterable[HolidayOverride], source: str,
                       actor: User, now: dt.datetime) -> list[Deadline]:
    """Store a year's holidays and make-up working days, mark the year complete, recompute provisional deadlines.

    Returns the deadlines whose due date or provisional mark changed.
    """
    require(actor, Permission.ENTER_HOLIDAYS, absent="")
    source = (source or "").strip()
    if not source or len(source) > 200:
        raise ValidationFailed("请填写节假日安排的来源（国务院办公厅通知的名称，200字以内）", field="source")
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"年份 {year} 不在 2000—2100 之间", field="year")
    days = list(days)
    if not days:
        raise ValidationFailed(f"{year}年的节假日安排不能为空", field="days")
    wrong_year = [d.day.isoformat() for d in days if d.day.year != year]
    if wrong_year:
        raise ValidationFailed(f"以下日期不属于{year}年：{'、'.join(wrong_year)}", field="days")
    seen: dict[dt.date, HolidayOverride] = {}
    for d in days:
        if d.day in seen and seen[d.day].kind != d.kind:
            raise ValidationFailed(f"{d.day.isoformat()} 同时被标为节假日和调休工作日", field="days")
        seen[d.day] = d
    for d in seen.values():
        row = session.get(HolidayOverrideRow, d.day) or HolidayOverrideRow(day=d.day)
        row.kind, row.name = DayKind(d.kind).value, d.name
        row.entered_by_id, row.entered_at = (actor.id if actor else None), now
        session.add(row)
    year_row = session.get(HolidayYear, year) or HolidayYear(year=year)
    year_row.source, year_row.is_complete = source.strip(), True
    year_row.entered_by_id, year_row.entered_at = (actor.id if actor else None), now
    session.add(year_row)
    session.flush()
    forget_policies()   # the version token changes anyway; this also covers a rolled-back entry that reused it
    return recompute_provisional_deadlines(session, actor=actor, now=now,
                                           reason=f"录入{year}年节假日安排：{source.strip()}")


def recompute_provisional_deadlines(session: Session, *, actor: User | None, now: dt.datetime,
                                    reason: str) -> list[Deadline]:
    """Recompute every provisional deadline on the current calendar; audit each case that changed.

    Closed ones too: replay_case recomputes every deadline on today's calendar, so a superseded deadline left at
    its weekends-only date would make the replay disagree with the stored case (and keep its 暂定 mark forever).
    """
    policy = load_policy(session)
    changed_by_case: dict[int, list[tuple[Deadline, dt.date]]] = defaultdict(list)
    rows = session.scalars(select(Deadline).where(Deadline.is_provisional.is_(True))
                           .order_by(Deadline.case_id, Deadline.id)).all()
    for row in rows:
        rule = row.rule()
        due = compute_due(row.start_on, rule, policy.calendar)
        if (due.due, due.provisional, due.extended_from) == (row.due_on, row.is_provisional, row.extended_from):
            continue
        old = row.due_on
        row.due_on, row.is_provisional, row.extended_from = due.due, due.provisional, due.extended_from
        row.explanation = due.explain()
        changed_by_case[row.case_id].append((row, old))
    for case_id, changes in changed_by_case.items():
        case = session.get(Case, case_id)
        for row, _old in changes:
            fact = _FACT_FOR_RULE.get(row.rule_key)
            if fact and getattr(case, fact) is not None:
                setattr(case, fact, row.due_on)
        session.add(CaseEvent(
            case_id=case_id, seq=next_event_seq(case), actor_id=actor.id if actor else None,
            action="case.deadlines_recomputed", trigger=None, from_state=case.state, to_state=case.state,
            reason=reason, created_at=now,
            details={"deadlines": [{"id": row.id, "rule": row.rule_key, "from": old.isoformat(),
                                    "to": row.due_on.isoformat(), "provisional": row.is_provisional}
                                   for row, old in changes]}))
    session.flush()
    return [row for changes in changed_by_case.values() for row, _old in changes]
