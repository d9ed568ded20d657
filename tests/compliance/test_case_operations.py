"""Case operations: one call = one transaction; a refused call changes nothing in the database."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from compliance.errors import Conflict, NotAllowed, ValidationFailed
from compliance.models import Case, CaseEvent, Notice, StoredDocument
from compliance.operations.cases import (case_deadlines, case_history, case_options, fire_trigger, open_case,
                                         replay_case, stored_replay)
from tests.workflows.test_ladder import ALL_TRIGGERS, VALID_INPUTS, VARIANTS, expected_dest
from workflows.issuing import REQUIRES_ISSUED
from workflows.ladder import CaseFacts, State, Violation

BEIJING = dt.timezone(dt.timedelta(hours=8))
#: The pure table's business day, 2026-06-15 (a Monday), at 10:00 Beijing.
TABLE_NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BEIJING)
VIOLATION_SETS = [frozenset({v}) for v in Violation] + [frozenset(Violation)]


def snapshot(session, case_id):
    """Everything an operation could change about a case."""
    session.expire_all()
    case = session.get(Case, case_id)
    return (case.state, case.version, case.facts(), case.closed_at,
            session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id)),
            [(d.rule_key, d.status, d.due_on) for d in case_deadlines(session, case_id)],
            session.scalar(select(func.count(Notice.id)).where(Notice.case_id == case_id)))


def put_in_state(session, case, state, violations, variant):
    """Test shortcut: set the stored facts directly and record every earlier letter as issued (the table tests
    the step, not the climb; test_escalation_waits_for_the_letter covers unsent letters)."""
    case.apply_facts(CaseFacts(state=state, violations=violations, **VARIANTS[variant]))
    session.flush()
    for seq, notice_type in enumerate(sorted(set(REQUIRES_ISSUED.values())), start=1):
        sha = hashlib.sha256(f"{case.id}-{notice_type}".encode()).hexdigest()
        session.add(StoredDocument(sha256=sha, size=0, path=f"test/{sha}.pdf"))
        session.flush()
        session.add(Notice(case_id=case.id, notice_type=notice_type, status="issued", issuer_id=case.jurisdiction_id,
                           snapshot={}, year=2026, seq=seq, number=f"{case.reference}-{notice_type}", sha256=sha))
    session.flush()


@pytest.mark.parametrize("variant", ["ripe", "pending"])
@pytest.mark.parametrize("violations", VIOLATION_SETS, ids=lambda v: "+".join(sorted(v)))
@pytest.mark.parametrize("trigger", ALL_TRIGGERS)
@pytest.mark.parametrize("state", list(State), ids=str)
def test_every_state_trigger_and_violation_through_the_database(session, make_case, supervisor, state, trigger,
                                                                violations, variant):
    case = make_case(violations=violations, at=TABLE_NOW - dt.timedelta(days=400))
    put_in_state(session, case, state, violations, variant)
    before = snapshot(session, case.id)
    dest = expected_dest(state, trigger, violations, variant)
    if dest is None:
        with pytest.raises(NotAllowed) as refused:
            fire_trigger(session, case.id, trigger, VALID_INPUTS[trigger], actor=supervisor, now=TABLE_NOW,
                         expected_version=before[1])
        assert refused.value.message
        assert snapshot(session, case.id) == before
    else:
        result = fire_trigger(session, case.id, trigger, VALID_INPUTS[trigger], actor=supervisor, now=TABLE_NOW,
                              expected_version=before[1])
        after = snapshot(session, case.id)
        assert after[0] == dest.value
        assert after[1] == before[1] + 1
        assert after[4] == before[4] + 1                       # exactly one audit event
        assert result.event.trigger == trigger and result.event.to_state == dest.value


def test_open_case_numbers_per_jurisdiction_and_year(make_case, jurisdiction):
    first, second = make_case(), make_case()
    code = jurisdiction.issuer_code
    assert (first.reference, second.reference) == (f"{code}案〔2026〕1号", f"{code}案〔2026〕2号")
    assert first.state == State.REGISTERED.value and first.version == 1


def test_open_case_writes_the_first_event(session, make_case):
    case = make_case(violations=["unpaid_funds", "no_union"])
    [event] = case_history(session, case.id)
    assert (event.seq, event.action, event.to_state) == (1, "case.opened", "registered")
    assert event.details["violations"] == ["no_union", "unpaid_funds"]


def test_second_active_case_for_the_same_violation_is_refused(session, make_case, make_enterprise, supervisor, now):
    enterprise = make_enterprise()
    first = make_case(enterprise=enterprise, violations=["no_union"])
    count = session.scalar(select(func.count(Case.id)))
    with pytest.raises(NotAllowed, match=first.reference):
        open_case(session, enterprise=enterprise, violations=["no_union", "unpaid_funds"], opened_by=supervisor,
                  now=now)
    assert session.scalar(select(func.count(Case.id))) == count
    # A different violation is a different matter.
    make_case(enterprise=enterprise, violations=["unpaid_funds"])


def test_open_case_needs_a_violation(make_case):
    with pytest.raises(ValidationFailed, match="至少选择一种"):
        make_case(violations=[])
    with pytest.raises(ValidationFailed, match="未知的违法情形"):
        make_case(violations=["no_lunch_break"])


def visit(session, case, supervisor, when, **inputs):
    data = {"visited_on": when.astimezone(BEIJING).date().isoformat(), "findings": "未建会",
            "supervisors": ["王芳", "李强"], **inputs}
    return fire_trigger(session, case.id, "record_visit", data, actor=supervisor, now=when)


def test_a_step_writes_event_deadline_and_notice_draft(session, make_case, supervisor, now):
    case = make_case()
    result = visit(session, case, supervisor, now)
    assert case.state == "visited" and case.version == 2
    assert [e.action for e in case_history(session, case.id)] == ["case.opened", "case.record_visit"]
    [deadline] = result.started
    # 2026-11-24 + 30 natural days = 2026-12-24, a Thursday and a working day.
    assert (deadline.rule_key, deadline.start_on, deadline.due_on) == ("visit_rectification", dt.date(2026, 11, 24),
                                                                       dt.date(2026, 12, 24))
    assert deadline.legal_basis and deadline.explanation and not deadline.is_provisional
    [notice] = result.notices
    assert notice.notice_type == "visit" and notice.status == "draft" and notice.number is None
    assert notice.snapshot["enterprise"]["name"] == case.enterprise.name
    assert notice.snapshot["case"]["reference"] == case.reference


def test_stale_version_is_a_conflict_and_changes_nothing(session, make_case, supervisor, now):
    case = make_case()
    visit(session, case, supervisor, now)
    before = snapshot(session, case.id)
    with pytest.raises(Conflict, match="已被他人修改"):
        fire_trigger(session, case.id, "withdraw", {"reason": "企业注销"}, actor=supervisor, now=now,
                     expected_version=1)
    assert snapshot(session, case.id) == before


def test_invalid_input_changes_nothing(session, make_case, supervisor, now):
    case = make_case()
    before = snapshot(session, case.id)
    with pytest.raises(ValidationFailed) as err:
        fire_trigger(session, case.id, "withdraw", {"reason": "  "}, actor=supervisor, now=now, expected_version=1)
    assert err.value.field == "reason"
    assert snapshot(session, case.id) == before


def test_options_say_why_a_step_is_blocked(session, make_case, now):
    case = make_case(violations=["no_union"])
    opts = {o.trigger: o for o in case_options(session, case, now=now)}
    assert opts["record_visit"].allowed
    assert not opts["issue_opinion"].allowed and opts["issue_opinion"].reason


def test_closing_steps_set_closed_at(session, make_case, supervisor, now):
    case = make_case()
    fire_trigger(session, case.id, "withdraw", {"reason": "企业已迁出辖区"}, actor=supervisor, now=now)
    assert case.closed_at == now
    with pytest.raises(NotAllowed):
        fire_trigger(session, case.id, "record_visit", VALID_INPUTS["record_visit"], actor=supervisor, now=now)


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(10), tzinfo=BEIJING)


def climb_unpaid_funds_case(session, make_case, supervisor, send_letters):
    """A whole unpaid-funds case from registration to credit repair, on the 2026 calendar; each letter goes out
    the day its step drafts it."""
    case = make_case(violations=["unpaid_funds", "no_union"], at=at("2026-01-05"))
    visit(session, case, supervisor, at("2026-01-06"))

    def step(trigger, day, inputs=None):
        fire_trigger(session, case.id, trigger, inputs or {}, actor=supervisor, now=at(day))
        send_letters(case.id, at(day))

    step("issue_opinion", "2026-02-02")
    step("record_refusal", "2026-02-05", {"refused_on": "2026-02-05", "summary": "拒绝整改"})
    step("issue_recommendation", "2026-02-06")
    step("demand_payment", "2026-03-02")
    step("apply_payment_order", "2026-03-30")
    step("request_listing", "2026-05-06")
    step("record_listing", "2026-05-21", {"authority": "北京市朝阳区人力资源和社会保障局", "listed_on": "2026-05-20",
                                          "reference": "朝人社信〔2026〕3号"})
    fire_trigger(session, case.id, "rectify", {"action_taken": "补缴工会经费并建会", "rectified_on": "2026-06-01",
                                               "attachment_ref": "缴费凭证.pdf"}, actor=supervisor, now=at("2026-06-02"))
    return case


def test_whole_ladder_and_replay_reproduces_state_and_deadlines(session, make_case, supervisor, send_letters):
    case = climb_unpaid_funds_case(session, make_case, supervisor, send_letters)
    with pytest.raises(NotAllowed, match="2026年12月"):   # 6 months after 2026-06-01
        fire_trigger(session, case.id, "repair_credit", {}, actor=supervisor, now=at("2026-11-24"))
    fire_trigger(session, case.id, "repair_credit", {}, actor=supervisor, now=at("2026-12-02"))
    assert case.state == "credit_repaired" and case.closed_at is not None
    events = case_history(session, case.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = [e for e in events if e.trigger]
    assert len(steps) == 10
    # Every letter the climb drafted (visit excepted: it was never sent) was approved and issued, with audit events.
    assert sum(e.action == "notice.issued" for e in events) == 7
    assert replay_case(session, case.id) == stored_replay(session, case)
    opinion = next(d for d in case_deadlines(session, case.id) if d.rule_key == "opinion_reply")
    # 2026-02-02 + 15 days = 2026-02-17, inside the Spring Festival holiday (Feb 15–23) → Tue 2026-02-24.
    assert (opinion.due_on, opinion.extended_from) == (dt.date(2026, 2, 24), dt.date(2026, 2, 17))


def test_replay_detects_a_tampered_case(session, make_case, supervisor, now):
    case = make_case()
    visit(session, case, supervisor, now)
    case.visited_on = dt.date(2026, 1, 1)   # a change that bypassed the operations
    session.flush()
    assert replay_case(session, case.id) != stored_replay(session, case)



def test_escalation_waits_for_the_letter(session, make_case, supervisor, send_letters):
    """An enterprise cannot answer, refuse, or be escalated past a letter it never received."""
    case = make_case(at=at("2026-01-05"))
    visit(session, case, supervisor, at("2026-01-06"))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-02-02"))
    late = at("2026-04-01")   # the reply period counted from the draft would long have lapsed
    opts = {o.trigger: o for o in case_options(session, case, now=late)}
    assert not opts["issue_recommendation"].allowed and "工会劳动法律监督意见书尚未签发" in opts["issue_recommendation"].reason
    before = snapshot(session, case.id)
    with pytest.raises(NotAllowed, match="工会劳动法律监督意见书尚未签发"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=late)
    assert snapshot(session, case.id) == before
    send_letters(case.id, late)   # the opinion goes out on 1 April: its reply period starts again
    with pytest.raises(NotAllowed, match="2026年4月16日"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=late)
    fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=at("2026-04-17"))
    assert case.state == "recommendation_issued"


def test_a_step_clears_the_ready_for_the_next_step_flag(session, make_case, supervisor, now):
    """The overdue sweep flags a case "可进入下一步"; once someone takes a step the flag no longer holds."""
    from compliance.testing import VISIT
    case = make_case()
    case.ready_since = now
    session.flush()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    assert session.get(type(case), case.id).ready_since is None
