"""Case operations: open a case and move it along the ladder. The only code that changes a case.

Each call is one unit of work in the caller's transaction: lock (PostgreSQL) or version check (both),
step the pure machine, write one CaseEvent, close and open deadlines, draft the notices the step needs,
flush. The caller commits; nothing here sends mail or renders a PDF.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from compliance.access import Permission, in_scope, permissions, require
from compliance.clock import business_date
from compliance.operations.reminders import clear_ready
from compliance.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from compliance.models import (PENDING_STATUSES, Case, CaseAssignment, CaseEvent, CaseViolation, Deadline,
                               DeadlineStatus, Enterprise, Jurisdiction, Notice, NoticeStatus, User, next_seq)
from compliance.policy import VERSION_COLUMNS, load_policy
from compliance.snapshots import CaseFile, draft_snapshot, issuer_for, plain
from workflows import ladder
from workflows.issuing import REQUIRES_ISSUED, RESTARTS, letter_missing
from workflows.ladder import CaseFacts, Policy, State, Step, Violation


@dataclass
class StepResult:
    case: Case
    event: CaseEvent
    started: list[Deadline] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)  #: ids of the deadlines the step closed
    notices: list[Notice] = field(default_factory=list)


def _lock_case(session: Session, case_id: int, reads: _Reads) -> tuple[Case, dict[str, Any]]:
    """Load a case for change; PostgreSQL holds its row lock until commit (SQLite's BEGIN IMMEDIATE already does).

    One round trip brings the case with what a step reads of it: its violations (for the ladder), enterprise and
    jurisdiction with the parents above it (for the scope check, the drafts' issuer and their copy-to line), and
    the columns of `reads`, returned as a dict. populate_existing: a case already in the session (a page loaded
    it) is overwritten with the row as locked.
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    row = session.execute(_lock_query(postgresql, reads), {"case_id": case_id}).unique(lambda r: r[0]).one_or_none()
    if row is None:
        raise NotFound(f"案件 {case_id} 不存在")
    return row[0], dict(row._mapping)


@functools.cache
def _lock_query(postgresql: bool, reads: _Reads):
    """Built once per engine kind and read set (a statement object reused keeps its compiled form and cache key)."""
    query = (select(Case, *reads.columns(bindparam("case_id")))
             .where(Case.id == bindparam("case_id"))
             .options(joinedload(Case.violation_rows),
                      joinedload(Case.jurisdiction).joinedload(Jurisdiction.parent).joinedload(Jurisdiction.parent))
             .execution_options(populate_existing=True))
    return query.with_for_update(of=Case) if postgresql else query


def next_event_seq(case: Case) -> int:
    """Hand out the case's next audit sequence number (the caller holds the case row)."""
    case.last_event_seq += 1
    return case.last_event_seq


#: The longest case summary and step reason (the columns hold 2,000 characters; the operation says so first).
MAX_SUMMARY = 2000


def _bounded(text: str, label: str, field: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_SUMMARY:
        raise ValidationFailed(f"{label}不能超过{MAX_SUMMARY}字（现有{len(text)}字）", field=field)
    return text


def open_case(session: Session, *, enterprise: Enterprise, violations: Iterable[Violation | str],
              opened_by: User, now: dt.datetime, supervisors: Iterable[User] = (),
              summary: str = "") -> Case:
    """Register a case against an enterprise in the actor's scope; refuse a second active case for a violation."""
    require(opened_by, Permission.OPEN_CASE, enterprise.jurisdiction, absent="该企业不存在")
    summary = _bounded(summary, "案情摘要", "summary")
    supervisors = list(dict.fromkeys(supervisors))
    for user in supervisors:
        if not (user.is_active and Permission.WORK_CASE in permissions(user) and in_scope(user, enterprise.jurisdiction)):
            raise ValidationFailed(f"{user.name} 不能承办该案件（须为该企业所在辖区或上级的在职监督员）",
                                   field="supervisors")
    try:
        kinds = frozenset(Violation(v) for v in violations)
    except ValueError as exc:
        raise ValidationFailed(f"未知的违法情形：{exc}", field="violations") from None
    if not kinds:
        raise ValidationFailed("至少选择一种违法情形（不建会、不协商、不缴费）", field="violations")
    if session.get_bind().dialect.name == "postgresql":
        # Serialise openings per enterprise so two clerks cannot open the same case twice.
        session.execute(select(Enterprise.id).where(Enterprise.id == enterprise.id).with_for_update())
    clash = session.execute(
        select(Case.reference, CaseViolation.violation)
        .join(CaseViolation, CaseViolation.case_id == Case.id)
        .where(Case.enterprise_id == enterprise.id, Case.closed_at.is_(None),
               CaseViolation.violation.in_([k.value for k in kinds]))
    ).first()
    if clash is not None:
        raise NotAllowed(f"该企业已有未结案件 {clash.reference}（{Violation(clash.violation).label}），请在原案件中办理")
    today = business_date(now)
    jurisdiction = enterprise.jurisdiction
    seq = next_seq(session, jurisdiction.id, "case", today.year)
    case = Case(reference=f"{jurisdiction.issuer_code}案〔{today.year}〕{seq}号", year=today.year, seq=seq,
                enterprise=enterprise, jurisdiction=jurisdiction, state=State.REGISTERED.value,
                summary=summary.strip(), opened_at=now, last_event_seq=1, opened_by_id=opened_by.id if opened_by else None,
                violation_rows=[CaseViolation(violation=k.value) for k in sorted(kinds)],
                assignments=[CaseAssignment(user_id=u.id, assigned_at=now) for u in supervisors])
    session.add(case)
    session.flush()
    session.add(CaseEvent(case_id=case.id, seq=1, actor_id=opened_by.id if opened_by else None,
                          action="case.opened", trigger=None, from_state=None, to_state=State.REGISTERED.value,
                          reason=summary.strip(), created_at=now,
                          details={"violations": sorted(k.value for k in kinds), "business_date": today.isoformat(),
                                   "enterprise_id": enterprise.id, "supervisor_ids": [u.id for u in supervisors]}))
    session.flush()
    return case


def fire_trigger(session: Session, case_id: int, trigger: str, inputs: Mapping[str, Any] | None = None, *,
                 actor: User, now: dt.datetime, expected_version: int | None = None,
                 policy: Policy | None = None, reason: str = "") -> StepResult:
    """Move a case by one step of the ladder, or raise (Conflict / NotAllowed / ValidationFailed) changing nothing."""
    reads = _READS[policy is None]
    case, row = _lock_case(session, case_id, reads)
    require(actor, Permission.WORK_CASE, case.jurisdiction, absent=f"案件 {case_id} 不存在")
    reason = _bounded(reason, "理由", "reason")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(f"案件 {case.reference} 已被他人修改（您看到的是第 {expected_version} 版，当前为第 {case.version} 版），"
                       "请刷新后重试", expected_version=expected_version, current_version=case.version)
    if row["case_version_as_read"] != case.version:   # changed while we waited for the lock: read again
        row = reads.again(session, case)
    policy = policy or load_policy(session, version=reads.version_of(row))
    today = business_date(now)
    step = _step(session, case, trigger, inputs or {}, today, policy, issued=reads.issued(row))

    case.apply_facts(step.facts)
    clear_ready(case)   # a step was taken: the overdue sweep's "ready for the next step" flag no longer holds
    if ladder.is_closed(step.facts):
        case.closed_at = now
    event = CaseEvent(case_id=case.id, seq=next_event_seq(case),
                      actor_id=actor.id if actor else None, action=f"case.{trigger}", trigger=trigger,
                      from_state=step.source.value, to_state=step.dest.value, reason=reason.strip(),
                      created_at=now,
                      details={"inputs": plain(step.inputs), "business_date": today.isoformat(),
                               "deadlines_started": [d.rule.key for d in step.starts],
                               "deadlines_closed": [list(c) for c in step.closes],
                               "notices": list(step.notices), "ladder": ladder.LADDER_VERSION})
    session.add(event)
    session.flush()
    result = StepResult(case=case, event=event)
    result.closed = _close_deadlines(session, case, step, event, now)
    for due in step.starts:
        waiting = None if due.awaiting_service else _awaiting_row(session, case.id, due.rule.key)
        if waiting is not None:
            # The step starts a period that was waiting for a receipt (the court's service of the 支付令 on the
            # debtor): the waiting row runs from now on, so the case keeps one row per period.
            set_started(waiting, due)
            result.started.append(waiting)
            continue
        deadline = new_deadline(case.id, due, event.id, now)
        session.add(deadline)
        result.started.append(deadline)
    # The drafts read earlier steps from the database (one query for all of them, and only when they print
    # something this step does not hold); what this step adds they take from `started` and `current`, so the new
    # rows can wait for the one flush below.
    with session.no_autoflush:
        current = (trigger, step.inputs)
        case_file = CaseFile.read(session, case, step.notices, started=result.started, current=current)
        for notice_type in step.notices:
            issuer = issuer_for(case, notice_type)
            snapshot = draft_snapshot(session, case, notice_type, issuer=issuer, started=result.started,
                                      today=today, current=current, case_file=case_file)
            snapshot.update(_periods_in_words(notice_type, step))
            notice = Notice(case_id=case.id, notice_type=notice_type, status=NoticeStatus.DRAFT.value,
                            issuer_id=issuer.id, drafted_by_id=actor.id if actor else None, drafted_at=now,
                            drafted_event_id=event.id, snapshot=snapshot)
            session.add(notice)
            result.notices.append(notice)
    session.flush()
    return result


def _periods_in_words(notice_type: str, step: Step) -> dict[str, str]:
    """A period that runs from the letter's receipt, as the letter prints it ("自收到本意见书之日起15个工作日内")."""
    restart = RESTARTS.get(notice_type)
    if restart is None or restart.period_key is None:
        return {}
    for due in step.starts:
        if due.rule.key == restart.rule_key and due.awaiting_service:
            return {restart.period_key: due.rule.in_words(restart.document)}
    return {}


@dataclass(frozen=True)
class _Reads:
    """What every step reads besides the case row: the holiday-data version (for load_policy's cache; not when
    the caller gives a policy) and the case's issued letter types (for the letter a step may wait for).

    They ride on the locking SELECT as scalar subqueries: one round trip, one statement shape for every step
    (PostgreSQL plans a statement anew until it has run a few times on a connection). A subquery sees the
    statement's snapshot, taken before the lock was granted: if another transaction changed the case while we
    waited (every change to a case's letters, events and deadlines bumps its version, and so does a holiday
    entry that moves its deadlines), the snapshot's version differs from the locked row's, and the reads are
    taken again after the lock. A commit that did not touch the case (a holiday entry that moved none of its
    deadlines) is one this step could as well have started just before: nothing orders the two.
    """

    version: bool

    def columns(self, case_id) -> list:
        notices = Notice.__table__.c
        snapshot = Case.__table__.alias("case_as_read")
        return [
            *(VERSION_COLUMNS if self.version else ()),
            select(func.aggregate_strings(notices.notice_type, ","))
            .where(notices.case_id == case_id, notices.status == NoticeStatus.ISSUED.value)
            .scalar_subquery().label("issued_letters"),
            select(snapshot.c.version).where(snapshot.c.id == case_id).scalar_subquery().label("case_version_as_read"),
        ]

    def again(self, session: Session, case: Case) -> dict[str, Any]:
        """The reads in a statement of their own (after the lock: it sees everything committed before it)."""
        return dict(session.execute(_reads_query(self), {"case_id": case.id}).mappings().one())

    def version_of(self, row: Mapping[str, Any]) -> tuple | None:
        return tuple(row[c.name] for c in VERSION_COLUMNS) if self.version else None

    @staticmethod
    def issued(row: Mapping[str, Any]) -> frozenset[str]:
        """The notice types the case has issued and not withdrawn (as issued_letter_types)."""
        return frozenset(filter(None, (row["issued_letters"] or "").split(",")))


_READS = {True: _Reads(version=True), False: _Reads(version=False)}


@functools.cache
def _reads_query(reads: _Reads):
    return select(*reads.columns(bindparam("case_id")))


def _step(session: Session, case: Case, trigger: str, inputs: Mapping[str, Any], today: dt.date,
          policy: Policy, *, issued: frozenset[str] | None = None) -> Step:
    """The pure step, refused in the order a supervisor reads it: the ladder's reason, an unsent letter, then
    the inputs (as options() reports it). issued: the letters already read (None: read them if needed)."""
    facts = case.facts()
    try:
        step = ladder.fire(facts, trigger, inputs, today, policy)
    except ladder.TransitionRefused as exc:
        raise NotAllowed(exc.reason, trigger=trigger, state=facts.state.value) from None
    except ladder.InvalidInput as exc:
        _require_letter(session, case, trigger, issued)
        raise ValidationFailed(exc.message, field=exc.field) from None
    _require_letter(session, case, trigger, issued)
    return step


def _require_letter(session: Session, case: Case, trigger: str, issued: frozenset[str] | None = None) -> None:
    if (case.state_enum, trigger) not in REQUIRES_ISSUED:
        return   # most steps answer no letter: spare the query
    if issued is None:
        issued = issued_letter_types(session, case.id)
    needed = letter_missing(case.state_enum, trigger, issued)
    if needed is not None:
        raise NotAllowed(_letter_reason(needed, trigger), trigger=trigger, state=case.state)


def _close_deadlines(session: Session, case: Case, step: Step, event: CaseEvent, now: dt.datetime) -> list[int]:
    """Close the open deadlines the step ends, one UPDATE per outcome; return their ids.

    A Core UPDATE (the ORM's bulk machinery costs more than the statement here); a Deadline this session
    has loaded gets the new values as the ORM's synchronize_session would give it.
    """
    closed = []
    for outcome in sorted({o for _k, o in step.closes}):
        status = DeadlineStatus(outcome).value
        ids = session.execute(_close_query(), {
            "the_case": case.id, "keys": [k for k, o in step.closes if o == outcome], "outcome": status,
            "event_id": event.id, "closed_at_": now}).scalars().all()
        for deadline_id in ids:
            loaded = session.identity_map.get(identity_key(Deadline, deadline_id))
            if loaded is not None:
                for attr, value in (("status", status), ("closed_event_id", event.id), ("closed_at", now)):
                    set_committed_value(loaded, attr, value)
        closed += ids
    return closed


@functools.cache
def _close_query():
    t = Deadline.__table__
    return (update(t)
            .where(t.c.case_id == bindparam("the_case"), t.c.rule_key.in_(bindparam("keys", expanding=True)),
                   t.c.status.in_(PENDING_STATUSES))
            .values(status=bindparam("outcome"), closed_event_id=bindparam("event_id"),
                    closed_at=bindparam("closed_at_", type_=t.c.closed_at.type))
            .returning(t.c.id))


def new_deadline(case_id: int, due, event_id: int | None, now: dt.datetime) -> Deadline:
    """A deadline row for a DueDate: running, or awaiting service (no start, no due date)."""
    status = DeadlineStatus.AWAITING_SERVICE if due.awaiting_service else DeadlineStatus.OPEN
    return Deadline(case_id=case_id, rule_key=due.rule.key, label=due.rule.label, period=due.rule.period,
                    counting=due.rule.counting.value, legal_basis=due.rule.legal_basis, nature=due.rule.nature,
                    start_on=due.start, due_on=due.due, extended_from=due.extended_from,
                    is_provisional=due.provisional, explanation=due.explain(), status=status.value,
                    opened_event_id=event_id, created_at=now)


def set_started(row: Deadline, due) -> None:
    """A waiting deadline row now runs: start, due date, explanation from `due`."""
    row.status = DeadlineStatus.OPEN.value
    row.start_on, row.due_on, row.extended_from = due.start, due.due, due.extended_from
    row.is_provisional, row.explanation = due.provisional, due.explain()


def _awaiting_row(session: Session, case_id: int, rule_key: str) -> Deadline | None:
    return session.scalars(select(Deadline).where(
        Deadline.case_id == case_id, Deadline.rule_key == rule_key,
        Deadline.status == DeadlineStatus.AWAITING_SERVICE.value).order_by(Deadline.id.desc()).limit(1)).first()


def issued_letter_types(session: Session, case_id: int) -> frozenset[str]:
    """The notice types this case has issued and not withdrawn."""
    return frozenset(session.scalars(select(Notice.notice_type).where(
        Notice.case_id == case_id, Notice.status == NoticeStatus.ISSUED.value)))


def _letter_reason(notice_type: str, trigger: str) -> str:
    import letters
    title = letters.NOTICE_TYPES[notice_type].title
    return f"{title}尚未签发送达，不能{ladder.TRIGGERS[trigger].label}；请先审批并签发该文书"


def case_options(session: Session, case: Case, *, now: dt.datetime, policy: Policy | None = None) -> list[ladder.Option]:
    """Every trigger with whether it is allowed now and, if not, why (for buttons and the API)."""
    options = ladder.options(case.facts(), business_date(now), policy or load_policy(session))
    issued = None
    out = []
    for o in options:
        if o.allowed:
            issued = issued if issued is not None else issued_letter_types(session, case.id)
            needed = letter_missing(case.state_enum, o.trigger, issued)
            if needed is not None:
                o = replace(o, allowed=False, reason=_letter_reason(needed, o.trigger))
        out.append(o)
    return out


def case_history(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def case_deadlines(session: Session, case_id: int) -> list[Deadline]:
    return list(session.scalars(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)))


@dataclass(frozen=True)
class Replay:
    facts: CaseFacts
    deadlines: tuple[tuple[str, dt.date, dt.date, str], ...]   # (rule key, start, due, status), in creation order


def replay_case(session: Session, case_id: int, *, policy: Policy | None = None) -> Replay:
    """Apply a case's events in order to a fresh case (in memory): the result must equal the stored case.

    A step recorded before issue 10 (its event has no "ladder" version) is re-applied under Policy.legacy(), as it
    was taken; a notice's issue either restarted its period ("restarted") or left it awaiting service
    ("awaiting_service"), and a recorded service ("notice.served") starts it.
    """
    events = case_history(session, case_id)
    if not events or events[0].action != "case.opened":
        raise NotFound(f"案件 {case_id} 没有立案记录")
    policy = policy or load_policy(session)
    legacy = policy.legacy()
    facts = CaseFacts(state=State.REGISTERED, violations=frozenset(Violation(v) for v in events[0].details["violations"]))
    deadlines: list[list] = []   # [rule key, start, due, status, rule]
    for event in events[1:]:
        details = event.details or {}
        if event.action == "notice.issued":
            restarted = details.get("restarted")
            if restarted:   # the letter went out: its period waits for service, or runs from the issue date
                era = policy if restarted.get("ladder") else legacy
                facts = _replay_restart(facts, deadlines, details["notice_type"], restarted, era)
            continue
        if event.action == "notice.withdrawn":   # the withdrawn letter's pending period stopped
            stopped = details.get("superseded")
            if stopped:
                row = next((d for d in reversed(deadlines) if d[0] == stopped["rule"] and d[3] in PENDING_STATUSES),
                           None)
                if row is not None:
                    row[3] = DeadlineStatus.SUPERSEDED.value
            continue
        if event.action in ("notice.served", "notice.service_corrected"):
            if details.get("started"):
                facts = _replay_service(facts, deadlines, details["notice_type"], details["started"], policy)
            continue
        if event.trigger is None:  # bookkeeping (deadlines recomputed): the replay recomputes on today's calendar
            continue
        era = policy if details.get("ladder") else legacy
        step = ladder.fire(facts, event.trigger, details["inputs"], dt.date.fromisoformat(
            details["business_date"]), era, replaying=True)
        for rule_key, outcome in step.closes:
            for d in deadlines:
                if d[0] == rule_key and d[3] in PENDING_STATUSES:
                    d[3] = outcome
        for due in step.starts:
            waiting = None if due.awaiting_service else next(
                (d for d in reversed(deadlines) if d[0] == due.rule.key
                 and d[3] == DeadlineStatus.AWAITING_SERVICE.value), None)
            if waiting is not None:
                waiting[1:5] = [due.start, due.due, DeadlineStatus.OPEN.value, due.rule]
            else:
                status = DeadlineStatus.AWAITING_SERVICE if due.awaiting_service else DeadlineStatus.OPEN
                deadlines.append([due.rule.key, due.start, due.due, status.value, due.rule])
        facts = step.facts
    return Replay(facts=facts, deadlines=tuple(tuple(d[:4]) for d in deadlines))


def _replay_restart(facts: CaseFacts, deadlines: list[list], notice_type: str, restarted: dict,
                    policy: Policy) -> CaseFacts:
    from workflows.issuing import restart_on_issue
    pending = [d for d in deadlines if d[0] == restarted["rule"] and d[3] in PENDING_STATUSES]
    row = pending[-1] if pending else None
    rule = policy.rules[restarted["rule"]]
    if row is not None and restarted.get("ladder"):
        # The stored row's own rule (a visit may have set its period), as the issue judged it.
        rule = replace(row[4], starts="service" if restarted.get("awaiting_service") else "event")
    issued_on = dt.date.fromisoformat(restarted.get("issued_on") or restarted["start"])
    facts, due = restart_on_issue(facts, notice_type, issued_on, rule, policy.calendar)
    if row is not None:
        if due.awaiting_service:
            row[1:4] = [None, None, DeadlineStatus.AWAITING_SERVICE.value]
        else:
            row[1], row[2] = due.start, due.due
    return facts


def _replay_service(facts: CaseFacts, deadlines: list[list], notice_type: str, started: dict,
                    policy: Policy) -> CaseFacts:
    from workflows.issuing import start_on_service
    row = next((d for d in reversed(deadlines) if d[0] == started["rule"]
                and d[3] in (DeadlineStatus.AWAITING_SERVICE.value, DeadlineStatus.OPEN.value)), None)
    rule = row[4] if row is not None else policy.rules[started["rule"]]
    facts, due = start_on_service(facts, notice_type, dt.date.fromisoformat(started["served_on"]), rule,
                                  policy.calendar)
    if row is not None:
        row[1:4] = [due.start, due.due, DeadlineStatus.OPEN.value]
    return facts


def stored_replay(session: Session, case: Case) -> Replay:
    """The stored case in the same shape as replay_case(), for comparison."""
    return Replay(facts=case.facts(), deadlines=tuple((d.rule_key, d.start_on, d.due_on, d.status)
                                                      for d in case_deadlines(session, case.id)))
