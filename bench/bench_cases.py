"""Case transitions per second through the operation layer, against a bare UPDATE + INSERT floor."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import insert, select, update
from sqlalchemy.orm import joinedload, sessionmaker

from bench.database import bench_database
from compliance.testing import CLIMB_DAY, UNPAID_FUNDS_CLIMB

CASES = 40
BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING).astimezone(dt.timezone.utc)
#: Ten steps from registration to rectification of an unpaid-funds case, all allowed on one day.
STEPS = [*UNPAID_FUNDS_CLIMB,
         ("rectify", {"action_taken": "补缴经费并建会", "rectified_on": CLIMB_DAY, "attachment_ref": "凭证.pdf"})]


def _setup(factory, n_cases: int):
    """Users, enterprises and open cases to drive (not timed)."""
    from compliance.models import Jurisdiction, Role
    from compliance.operations.cases import open_case
    from compliance.operations.users import create_user
    from compliance.testing import new_enterprise
    with factory() as s:
        j = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        user = create_user(s, login="bench", name="基准", password="transitions-timed-2026", jurisdiction=j,
                           roles={Role.SUPERVISOR})
        ids = []
        for i in range(n_cases):
            e = new_enterprise(s, j, f"北京基准测试{i}有限公司")
            case = open_case(s, enterprise=e, violations=["unpaid_funds", "no_union"], opened_by=user,
                             supervisors=[user], now=NOW)
            # No union: funds owed from the higher union's help (BJM 55(3)); about six months, as the demand drafts.
            case.union_help_started_on = (NOW - dt.timedelta(days=183)).date()
            ids.append(case.id)
        s.commit()
        return user.id, ids


def _operations_path(factory, user_id, case_ids) -> float:
    """Every step through fire_trigger, one transaction each, as a request makes it (the policy from
    load_policy's cache, checked against the holiday-data version each time); returns seconds."""
    from compliance.models import User
    from compliance.operations.cases import fire_trigger
    with factory() as s:   # a request has its current_user loaded already, with its jurisdiction
        actor = s.get(User, user_id, options=[joinedload(User.jurisdiction)])
    elapsed = 0.0
    for case_id in case_ids:
        for trigger, inputs in STEPS:
            with factory() as s:
                me = s.merge(actor, load=False)   # a request's current_user is in its session before the step
                started = time.perf_counter()
                fire_trigger(s, case_id, trigger, inputs, actor=me, now=NOW)
                s.commit()
            elapsed += time.perf_counter() - started   # the step, its commit and closing the session
            _letters_go_out(factory, case_id)   # not timed: approval and issue are the notices' benchmark
    return elapsed


def _letters_go_out(factory, case_id):
    """Mark the step's drafts issued (the next rung needs its letter sent), with a placeholder archive row."""
    import hashlib

    from compliance.models import Notice, StoredDocument
    with factory() as s:
        for n in s.scalars(select(Notice).where(Notice.case_id == case_id, Notice.status == "draft")).all():
            sha = hashlib.sha256(f"bench-{n.id}".encode()).hexdigest()
            s.add(StoredDocument(sha256=sha, size=0, path="bench"))
            s.flush()
            n.status, n.number, n.sha256, n.year, n.seq = "issued", f"bench-{n.id}", sha, 2026, n.id
        s.commit()


def _floor_path(factory, user_id, case_ids, policy) -> float:
    """The same rows written with bare Core UPDATE/INSERT statements, one transaction each; returns seconds."""
    from compliance.models import Case, CaseEvent, Deadline, Notice
    from compliance.snapshots import plain
    from workflows import ladder
    from workflows.ladder import CaseFacts, State, Violation
    # The plan (what each step writes) is computed by the pure ladder beforehand: only the I/O is timed.
    facts = CaseFacts(state=State.REGISTERED, violations=frozenset({Violation.UNPAID_FUNDS, Violation.NO_UNION}))
    plan = []
    for trigger, inputs in STEPS:
        step = ladder.fire(facts, trigger, inputs, dt.date(2026, 11, 24), policy)
        plan.append(step)
        facts = step.facts
    fact_fields = Case._FACT_FIELDS
    with factory() as s:
        j_id, ent_ids = s.execute(select(Case.jurisdiction_id, Case.enterprise_id).where(Case.id == case_ids[0])).one()
    started = time.perf_counter()
    for case_id in case_ids:
        for seq, step in enumerate(plan, start=2):
            with factory() as s:
                s.execute(update(Case).where(Case.id == case_id).values(
                    state=step.dest.value, version=Case.version + 1, last_event_seq=seq,
                    **{f: getattr(step.facts, f) for f in fact_fields}))
                event_id = s.execute(insert(CaseEvent).values(
                    case_id=case_id, seq=seq, actor_id=user_id, action=f"case.{step.trigger}", trigger=step.trigger,
                    from_state=step.source.value, to_state=step.dest.value, reason="", created_at=NOW,
                    details={"inputs": plain(step.inputs), "business_date": "2026-11-24"}).returning(CaseEvent.id)).scalar()
                for rule_key, outcome in step.closes:
                    s.execute(update(Deadline).where(Deadline.case_id == case_id, Deadline.rule_key == rule_key,
                                                     Deadline.status == "open").values(
                        status=outcome, closed_event_id=event_id, closed_at=NOW))
                for due in step.starts:
                    s.execute(insert(Deadline).values(
                        case_id=case_id, rule_key=due.rule.key, label=due.rule.label, period=due.rule.period,
                        counting=due.rule.counting.value, legal_basis=due.rule.legal_basis, start_on=due.start,
                        due_on=due.due, is_provisional=due.provisional, explanation="", status="open",
                        opened_event_id=event_id, created_at=NOW))
                for notice_type in step.notices:
                    s.execute(insert(Notice).values(case_id=case_id, notice_type=notice_type, status="draft",
                                                    issuer_id=j_id, drafted_by_id=user_id, drafted_at=NOW,
                                                    drafted_event_id=event_id, snapshot={"inputs": plain(step.inputs)},
                                                    rejection_reason="", version=1))
                s.commit()
    return time.perf_counter() - started


def transitions_per_second():
    from compliance.db import make_engine
    from compliance.policy import load_policy
    results = []
    with bench_database() as (url, label):
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        user_id, ids = _setup(factory, CASES * 2)
        with factory() as s:
            policy = load_policy(s, {})   # for the floor's plan only (untimed); the operations load their own
        ops_ids, floor_ids = ids[:CASES], ids[CASES:]
        # Interleave halves so drift on a noisy machine hits both paths alike.
        half = CASES // 2
        t_ops = _operations_path(factory, user_id, ops_ids[:half])
        t_floor = _floor_path(factory, user_id, floor_ids[:half], policy)
        t_ops += _operations_path(factory, user_id, ops_ids[half:])
        t_floor += _floor_path(factory, user_id, floor_ids[half:], policy)
        engine.dispose()
    n = CASES * len(STEPS)
    ops_rate, floor_rate = n / t_ops, n / t_floor
    results.append({"bench": f"cases.transitions_per_s.{label}", "value": round(ops_rate, 1), "unit": "transitions/s",
                    "reference": round(floor_rate, 1), "ratio": round(ops_rate / floor_rate, 3),
                    "goal": "ratio ≥ 0.7 (operation layer with authorization and policy lookup vs bare UPDATE+INSERT of the "
                            "same rows)"})
    return results


BENCHMARKS = {"cases.transitions_per_s": transitions_per_second}
