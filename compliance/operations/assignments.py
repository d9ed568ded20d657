"""Who works a case: assign and release supervisors, with an audit event naming who was added and removed."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.access import Permission, in_scope, permissions, require
from compliance.clock import to_beijing
from compliance.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from compliance.models import Case, CaseAssignment, CaseEvent, Jurisdiction, Role, User, UserRole
from compliance.operations.cases import next_event_seq
from workflows.states import MAX_NAMES


def may_work(user: User, case_or_jurisdiction: Case | Jurisdiction) -> bool:
    """The rule open_case applies: an active supervisor whose scope holds the enterprise."""
    where = (case_or_jurisdiction.enterprise.jurisdiction if isinstance(case_or_jurisdiction, Case)
             else case_or_jurisdiction)
    return user.is_active and Permission.WORK_CASE in permissions(user) and in_scope(user, where)


def eligible_supervisors(session: Session, where: Jurisdiction) -> list[User]:
    """Active supervisors who may work a case in `where`: those of it and of the jurisdictions above it."""
    above = [int(part) for part in where.path.strip("/").split("/") if part.isdigit()]
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(User.jurisdiction_id.in_(above), User.is_active.is_(True), UserRole.role == Role.SUPERVISOR.value)
             .order_by(User.jurisdiction_id.desc(), User.name, User.id))
    return [u for u in session.scalars(query).unique() if may_work(u, where)]


def last_change(session: Session, case_id: int) -> CaseEvent | None:
    """The case's newest audit event: every change to a case writes one."""
    return session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id)
                          .order_by(CaseEvent.seq.desc()).limit(1))


def stale_message(session: Session, case: Case) -> str:
    """What a stale form is told: who changed the case, and when (Beijing time)."""
    event = last_change(session, case.id)
    if event is None:
        return "此案件已被修改，请刷新"
    who = event.actor.name if event.actor is not None else "系统"
    return f"此案件已由 {who} 于 {to_beijing(event.created_at):%Y-%m-%d %H:%M} 修改，请刷新"


def _lock(session: Session, case_id: int) -> Case:
    query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalars(query).unique().one_or_none()
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在")
    return case


def assign_supervisors(session: Session, case_id: int, user_ids: Iterable[int], *, actor: User, now: dt.datetime,
                       expected_version: int | None = None) -> CaseEvent | None:
    """Make `user_ids` the case's supervisors; None when nothing changes (no event, no new version)."""
    case = _lock(session, case_id)
    require(actor, Permission.WORK_CASE, case.jurisdiction, absent=f"案件 {case_id} 不存在")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(stale_message(session, case), expected_version=expected_version, current_version=case.version)
    if case.is_closed:
        raise NotAllowed("案件已结案，不能再调整承办监督员")
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        raise ValidationFailed("请至少选择一名承办监督员", field="supervisors")
    if len(wanted) > MAX_NAMES:
        raise ValidationFailed(f"承办监督员最多{MAX_NAMES}名", field="supervisors")
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}
    for user_id in wanted:
        user = users.get(user_id)
        if user is None:
            raise ValidationFailed(f"监督员 {user_id} 不存在", field="supervisors")
        if not may_work(user, case):
            raise ValidationFailed(f"{user.name} 不能承办该案件（须为该企业所在辖区或上级的在职监督员）",
                                   field="supervisors")
    current = {a.user_id: a for a in case.assignments}
    added = [users[i] for i in wanted if i not in current]
    removed = [a.user for i, a in current.items() if i not in users]
    if not added and not removed:
        return None
    for user in removed:
        case.assignments.remove(current[user.id])
    case.assignments.extend(CaseAssignment(user_id=u.id, assigned_at=now) for u in added)
    event = CaseEvent(case_id=case.id, seq=next_event_seq(case), actor_id=actor.id, action="case.assigned",
                      trigger=None, from_state=case.state, to_state=case.state, reason="", created_at=now,
                      details={"added": [{"id": u.id, "name": u.name} for u in added],
                               "removed": [{"id": u.id, "name": u.name} for u in removed],
                               "supervisor_ids": wanted})
    session.add(event)
    session.flush()
    return event
