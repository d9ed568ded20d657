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
    # The visit letter's period runs from its receipt: awaiting service (待送达), no start, no due date.
    assert (deadline.rule_key, deadline.status, deadline.start_on, deadline.due_on) == (
        "visit_rectification", "awaiting_service", None, None)
    assert deadline.legal_basis and "待送达" in deadline.explanation and not deadline.is_provisional
    assert deadline.nature == "committee"
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
    """A whole unpaid-funds case from registration to rectification, on the 2026 calendar; each letter goes out the
    day its step drafts it, and its service is recorded when a period runs from it."""
    from compliance.testing import serve_issued
    case = make_case(violations=["unpaid_funds", "no_union"], at=at("2026-01-05"))
    visit(session, case, supervisor, at("2026-01-06"))

    def step(trigger, day, inputs=None):
        fire_trigger(session, case.id, trigger, inputs or {}, actor=supervisor, now=at(day))
        send_letters(case.id, at(day))

    def serve(day):
        serve_issued(session, case.id, actor=supervisor, served_on=dt.date.fromisoformat(day), now=at(day))

    send_letters(case.id, at("2026-01-06"))
    serve("2026-01-07")   # visit letter received Wed 7 Jan: 30 days → Fri 6 Feb
    with pytest.raises(NotAllowed, match="2026年2月6日"):
        fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-02-06"))
    step("issue_opinion", "2026-02-09")
    serve("2026-02-10")   # 15 working days after Tue 10 Feb (Spring Festival 15–23 Feb, make-up 14 and 28 Feb) → 9 Mar
    with pytest.raises(NotAllowed, match="2026年3月9日"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=at("2026-03-09"))
    step("issue_recommendation", "2026-03-10")
    step("record_decision", "2026-03-16", {"decided_on": "2026-03-12", "authority": "北京市朝阳区人力资源和社会保障局",
                                           "content": "责令限期补缴"})
    step("demand_payment", "2026-03-16")
    serve("2026-03-18")   # 15 days after Wed 18 Mar → Thu 2 Apr
    step("apply_payment_order", "2026-04-03")
    serve("2026-04-03")   # the application filed with the court on Fri 3 Apr: 5 days → Wed 8 Apr
    step("record_court_acceptance", "2026-04-08", {"accepted_on": "2026-04-07", "court": "北京市朝阳区人民法院"})
    step("record_payment_order_issued", "2026-04-20", {"issued_on": "2026-04-20"})
    step("record_payment_order_served", "2026-04-22", {"served_on": "2026-04-22"})
    with pytest.raises(NotAllowed, match="2026年5月7日"):
        fire_trigger(session, case.id, "apply_enforcement", {"applied_on": "2026-05-07", "court": "朝阳法院"},
                     actor=supervisor, now=at("2026-05-07"))
    step("apply_enforcement", "2026-05-08", {"applied_on": "2026-05-08", "court": "北京市朝阳区人民法院"})
    step("request_listing", "2026-05-11", {"legal_basis": "《某地工会经费收缴管理规定》第十二条"})
    step("record_listing", "2026-05-21", {"authority": "北京市朝阳区人力资源和社会保障局", "listed_on": "2026-05-20",
                                          "reference": "朝人社信〔2026〕3号", "seriousness": "一般"})
    fire_trigger(session, case.id, "rectify", {"action_taken": "补缴工会经费并建会", "rectified_on": "2026-06-01",
                                               "attachment_ref": "缴费凭证.pdf"}, actor=supervisor, now=at("2026-06-02"))
    return case


# The climb's due dates, each counted by hand on the 2026 calendar (rule, start, due, status at the end).
CLIMB_DEADLINES = [
    # served Wed 7 Jan + 30 days = Fri 6 Feb, a working day; superseded by the opinion
    ("visit_rectification", dt.date(2026, 1, 7), dt.date(2026, 2, 6), "superseded"),
    # served Tue 10 Feb: 11, 12, 13 Feb, Sat 14 (make-up) = 4; 15–23 holiday; 24–27 = 8, Sat 28 (make-up) = 9,
    # 2–6 Mar = 14, Mon 9 Mar = 15
    ("opinion_reply", dt.date(2026, 2, 10), dt.date(2026, 3, 9), "superseded"),
    # the union's diary from the issue on Tue 10 Mar: 11–13 (3), 16–20 (8), 23–27 (13), 30 (14), 31 (15); met by
    # the decision
    ("recommendation_followup", dt.date(2026, 3, 10), dt.date(2026, 3, 31), "met"),
    # the department decided Thu 12 Mar: 13 (1), 16–20 (6), 23–27 (11), 30–31 (13), 1 Apr (14), Thu 2 Apr (15)
    ("recommendation_reply", dt.date(2026, 3, 12), dt.date(2026, 4, 2), "superseded"),
    # served Wed 18 Mar + 15 days = Thu 2 Apr
    ("payment_demand", dt.date(2026, 3, 18), dt.date(2026, 4, 2), "superseded"),
    # filed Fri 3 Apr + 5 days = Wed 8 Apr (Qingming, Mon 6 Apr, lies inside and does not matter)
    ("court_acceptance", dt.date(2026, 4, 3), dt.date(2026, 4, 8), "met"),
    # accepted Tue 7 Apr + 15 days = Wed 22 Apr
    ("court_order_issue", dt.date(2026, 4, 7), dt.date(2026, 4, 22), "met"),
    # the debtor received the order Wed 22 Apr + 15 days = Thu 7 May (after Labour Day, 1–5 May)
    ("payment_order", dt.date(2026, 4, 22), dt.date(2026, 5, 7), "superseded"),
    # request Mon 11 May: 12–15 (4), 18–22 (9), 25–29 (14), Mon 1 Jun (15)
    ("listing_followup", dt.date(2026, 5, 11), dt.date(2026, 6, 1), "superseded"),
    # listed Wed 20 May, ordinary: 3 months → Thu 20 Aug
    ("credit_repair_ordinary", dt.date(2026, 5, 20), dt.date(2026, 8, 20), "open"),
]


def test_whole_ladder_and_replay_reproduces_state_and_deadlines(session, make_case, supervisor, send_letters):
    case = climb_unpaid_funds_case(session, make_case, supervisor, send_letters)
    assert replay_case(session, case.id) == stored_replay(session, case)
    assert [(d.rule_key, d.start_on, d.due_on, d.status) for d in case_deadlines(session, case.id)] == CLIMB_DEADLINES
    with pytest.raises(NotAllowed, match="2026年8月20日"):   # 3 months after the listing decision of 20 May
        fire_trigger(session, case.id, "repair_credit", {}, actor=supervisor, now=at("2026-08-19"))
    fire_trigger(session, case.id, "repair_credit", {}, actor=supervisor, now=at("2026-08-20"))
    assert case.state == "credit_repaired" and case.closed_at is not None
    events = case_history(session, case.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = [e for e in events if e.trigger]
    assert len(steps) == 14
    # Every letter the climb drafted was approved and issued, with audit events; six were served (the
    # recommendation and the tax referral too), four of them started a period.
    assert sum(e.action == "notice.issued" for e in events) == 7
    served = [e for e in events if e.action == "notice.served"]
    assert len(served) == 6
    assert sorted(e.details["notice_type"] for e in served if e.details["started"]) == [
        "opinion", "payment_demand", "payment_order", "visit"]
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_replay_detects_a_tampered_case(session, make_case, supervisor, now):
    case = make_case()
    visit(session, case, supervisor, now)
    case.visited_on = dt.date(2026, 1, 1)   # a change that bypassed the operations
    session.flush()
    assert replay_case(session, case.id) != stored_replay(session, case)



def test_escalation_waits_for_the_letter(session, make_case, supervisor, send_letters):
    """An enterprise cannot answer, refuse, or be escalated past a letter it never received."""
    from compliance.testing import serve_issued
    case = make_case(at=at("2026-01-05"))
    visit(session, case, supervisor, at("2026-01-06"))
    # the visit letter never went out: only a refusal lets the opinion go (its period has not started)
    fire_trigger(session, case.id, "record_refusal", {"refused_on": "2026-01-20", "summary": "拒绝整改"},
                 actor=supervisor, now=at("2026-01-20"))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-02-02"))
    late = at("2026-04-01")   # the reply period counted from the draft would long have lapsed
    opts = {o.trigger: o for o in case_options(session, case, now=late)}
    # unsent, the letter is not served: its reply period has not started (待送达)
    assert not opts["issue_recommendation"].allowed and "监督意见书尚未送达（待送达）" in opts["issue_recommendation"].reason
    before = snapshot(session, case.id)
    with pytest.raises(NotAllowed, match="监督意见书尚未送达"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=late)
    assert snapshot(session, case.id) == before
    send_letters(case.id, late)   # the opinion goes out on 1 April: its reply period waits for its service
    with pytest.raises(NotAllowed, match="待送达"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=at("2026-06-01"))
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 4, 1), now=late)
    # 15 working days after Wed 1 Apr: 2–3 (2), Mon 6 Apr Qingming, 7–10 (6), 13–17 (11), 20–23 (15) → Thu 23 Apr
    with pytest.raises(NotAllowed, match="2026年4月23日"):
        fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=late)
    fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=at("2026-04-24"))
    assert case.state == "recommendation_issued"


def test_a_step_clears_the_ready_for_the_next_step_flag(session, make_case, supervisor, now):
    """The overdue sweep flags a case "可进入下一步"; once someone takes a step the flag no longer holds."""
    from compliance.testing import VISIT
    case = make_case()
    case.ready_since = now
    session.flush()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    assert session.get(type(case), case.id).ready_since is None
