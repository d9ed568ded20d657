"""The enforcement ladder: every (state, trigger, violations) against a table written from the law, by hand."""
from __future__ import annotations

import itertools
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from workflows.calendar import WorkCalendar
from workflows.deadlines import Counting, load_rules
from workflows.diagram import DIAGRAM_PATH, mermaid
from workflows.ladder import (
    MACHINE, TRIGGERS, CaseFacts, InvalidInput, Policy, TransitionRefused, fire, is_closed, options,
)
from workflows.states import State, Violation

S = State
NO_UNION, NO_BARGAINING, UNPAID = Violation.NO_UNION, Violation.NO_BARGAINING, Violation.UNPAID_FUNDS
POLICY = Policy.default()
TODAY = date(2026, 6, 15)  # a Monday, a working day
CJK = re.compile(r"[\u4e00-\u9fff]")

ALL_TRIGGERS = [
    "record_visit", "record_obstruction", "record_bargaining_request", "record_bargaining_answer", "issue_opinion",
    "record_reply", "record_refusal", "issue_recommendation", "record_decision", "record_correction_order",
    "demand_payment", "apply_payment_order", "record_court_acceptance", "record_payment_order_issued",
    "record_payment_order_served", "record_payment_objection", "apply_enforcement", "request_listing",
    "record_listing", "rectify", "withdraw", "repair_credit",
]
SUBSETS = [frozenset(c) for n in (1, 2, 3) for c in itertools.combinations(list(Violation), n)]

# Facts in four variants, so that every time-based guard is met in one and unmet in another:
#   ripe      every date long past: visit, reply, payment, correction periods lapsed, the bargaining request
#             unanswered past its 20 days, the debtor's 15 days lapsed, listed long ago (repair wait served)
#   pending   periods still running or awaiting service (待送达), no refusal, no visit, no obstruction on file,
#             the 支付令 application filed only, listed recently (the wait not served)
#   refused   periods running or awaiting service, but the enterprise refused after each letter; visit and
#             obstruction on file; a bargaining request still within its 20 days; the court accepted
#   unlisted  as ripe, but never listed (a rectified case is then closed); the 支付令 issued, not yet served
_COMMON = dict(obstruction_on=date(2026, 1, 6))
VARIANTS = {
    "ripe": dict(_COMMON, visited_on=date(2026, 1, 5), visit_rectification_due=date(2026, 2, 4),
                 opinion_issued_on=date(2026, 2, 2), opinion_reply_due=date(2026, 2, 17),
                 payment_demanded_on=date(2026, 3, 2), payment_demand_due=date(2026, 3, 17),
                 bargaining_received_on=date(2026, 1, 5), bargaining_answer_due=date(2026, 1, 26),
                 correction_ordered_on=date(2026, 3, 2), correction_due=date(2026, 4, 1),
                 court_filed_on=date(2026, 1, 5), court_accepted_on=date(2026, 1, 8),
                 payment_order_issued_on=date(2026, 1, 15), payment_order_served_on=date(2026, 1, 20),
                 payment_order_due=date(2026, 2, 4),
                 was_listed=True, listed_on=date(2025, 1, 2), listing_seriousness="ordinary",
                 rectified_on=date(2025, 6, 1)),
    "pending": dict(visited_on=None, opinion_issued_on=date(2026, 6, 10), opinion_reply_due=None,
                    payment_demanded_on=date(2026, 6, 10), payment_demand_due=date(2026, 6, 25),
                    correction_ordered_on=date(2026, 6, 10), correction_due=date(2026, 7, 10),
                    court_filed_on=date(2026, 6, 10),
                    was_listed=True, listed_on=date(2026, 6, 1), listing_seriousness="ordinary",
                    rectified_on=date(2026, 6, 1)),
    "refused": dict(_COMMON, visited_on=date(2026, 5, 6), opinion_issued_on=date(2026, 6, 10),
                    opinion_reply_due=date(2026, 6, 25), refused_on=date(2026, 6, 12),
                    payment_demanded_on=date(2026, 6, 10), payment_demand_due=date(2026, 6, 25),
                    bargaining_received_on=date(2026, 6, 1), bargaining_answer_due=date(2026, 6, 22),
                    correction_ordered_on=date(2026, 6, 10), correction_due=date(2026, 7, 10),
                    court_filed_on=date(2026, 6, 8), court_accepted_on=date(2026, 6, 9),
                    was_listed=True, listed_on=date(2026, 6, 1), listing_seriousness="serious",
                    rectified_on=date(2026, 6, 1)),
    "unlisted": dict(_COMMON, visited_on=date(2026, 1, 5), visit_rectification_due=date(2026, 2, 4),
                     opinion_issued_on=date(2026, 2, 2), opinion_reply_due=date(2026, 2, 17),
                     payment_demanded_on=date(2026, 3, 2), payment_demand_due=date(2026, 3, 17),
                     bargaining_received_on=date(2026, 1, 5), bargaining_answer_due=date(2026, 1, 26),
                     correction_ordered_on=date(2026, 3, 2), correction_due=date(2026, 4, 1),
                     court_filed_on=date(2026, 1, 5), court_accepted_on=date(2026, 1, 8),
                     payment_order_issued_on=date(2026, 1, 15),
                     was_listed=False, rectified_on=date(2025, 6, 1)),
}

VALID_INPUTS = {
    "record_visit": {"visited_on": "2026-06-15", "findings": "职工43人，尚未建立工会", "supervisors": ["王芳", "李强"]},
    "record_obstruction": {"observed_on": "2026-06-15", "facts": "企业负责人拒绝上级工会派员进入厂区指导建会"},
    "record_bargaining_request": {"sent_on": "2026-06-10", "received_on": "2026-06-12"},
    "record_bargaining_answer": {"answered_on": "2026-06-15", "summary": "企业书面同意于下月开始协商"},
    "issue_opinion": {},
    "record_reply": {"replied_on": TODAY, "summary": "企业书面答复：拟于下月召开职工大会筹建工会"},
    "record_refusal": {"refused_on": "2026-06-15", "summary": "企业负责人明确表示不予整改"},
    "issue_recommendation": {},
    "record_decision": {"decided_on": "2026-06-15", "authority": "北京市朝阳区人力资源和社会保障局",
                        "content": "决定责令该企业限期改正"},
    "record_correction_order": {"ordered_on": "2026-06-15", "authority": "北京市朝阳区人民政府",
                                "reference": "朝政责改〔2026〕5号", "correction_days": "30"},
    "demand_payment": {},
    "apply_payment_order": {},
    "record_court_acceptance": {"accepted_on": "2026-06-15", "court": "北京市朝阳区人民法院"},
    "record_payment_order_issued": {"issued_on": "2026-06-15", "reference": "（2026）京0105民督12号"},
    "record_payment_order_served": {"served_on": "2026-06-15"},
    "record_payment_objection": {"objected_on": "2026-06-15", "summary": "债务人提出书面异议，法院裁定终结督促程序"},
    "apply_enforcement": {"applied_on": "2026-06-15", "court": "北京市朝阳区人民法院"},
    "request_listing": {"legal_basis": "《某地工会经费收缴管理规定》第十二条"},
    "record_listing": {"authority": "北京市朝阳区人力资源和社会保障局", "listed_on": "2026-06-15",
                       "reference": "朝人社信〔2026〕3号", "seriousness": "一般"},
    "rectify": {"action_taken": "已召开职工大会，选举产生工会委员会", "rectified_on": "2026-06-15",
                "attachment_ref": "evidence/2026/0613-election.pdf"},
    "withdraw": {"reason": "企业注销"},
    "repair_credit": {},
}


# When each transition is allowed, in words of the law (DOMAIN.md §3), not read back from the code.
def always(violations, variant):
    return True


def visit_lapsed_or_refused(violations, variant):
    # the visit letter says "逾期未整改的…提出监督意见": its period (from service) lapsed, or a refusal since
    return variant != "pending"


def reply_lapsed_or_refused(violations, variant):
    return variant in ("ripe", "refused", "unlisted")


def unpaid_funds(violations, variant):
    return UNPAID in violations


def unpaid_and_demand_lapsed_or_refused(violations, variant):
    return UNPAID in violations and variant in ("ripe", "refused", "unlisted")


def obstruction_or_refused_bargaining(violations, variant):
    return NO_UNION in violations or NO_BARGAINING in violations


def no_union(violations, variant):
    return NO_UNION in violations


def no_bargaining(violations, variant):
    return NO_BARGAINING in violations


def bargaining_request_unanswered(violations, variant):
    return variant != "pending"


def listing_ground_and_correction_refused(violations, variant):
    # BJM 64: obstruction on file (not in "pending"); BJM 66: refused bargaining; and the order to correct
    # was refused or its period lapsed (not in "pending")
    return variant != "pending" and (NO_UNION in violations or NO_BARGAINING in violations)


def listed_and_wait_served(violations, variant):
    return variant == "ripe"


def court_stage(stage):
    # ripe: served and lapsed (objection, enforcement); pending: filed (acceptance); refused: accepted
    # (order issued); unlisted: order issued (service on the debtor)
    ready = {"acceptance": ("pending",), "issued": ("refused",), "served": ("unlisted",),
             "objection": ("ripe",), "enforcement": ("ripe",)}[stage]
    return lambda violations, variant: variant in ready


BEFORE_LISTING = (S.REGISTERED, S.VISITED, S.OPINION_ISSUED, S.RECOMMENDATION_ISSUED, S.ORDERED_TO_CORRECT)
ACTIVE = [s for s in State if s.is_active]

LADDER = {
    (S.REGISTERED, "record_visit"): (S.VISITED, always),
    **{(s, "record_obstruction"): (s, no_union) for s in BEFORE_LISTING},
    **{(s, "record_bargaining_request"): (s, no_bargaining) for s in BEFORE_LISTING},
    **{(s, "record_bargaining_answer"): (s, bargaining_request_unanswered) for s in BEFORE_LISTING},
    (S.VISITED, "issue_opinion"): (S.OPINION_ISSUED, visit_lapsed_or_refused),
    (S.OPINION_ISSUED, "record_reply"): (S.OPINION_ISSUED, always),
    (S.VISITED, "record_refusal"): (S.VISITED, always),
    (S.OPINION_ISSUED, "record_refusal"): (S.OPINION_ISSUED, always),
    (S.RECOMMENDATION_ISSUED, "record_refusal"): (S.RECOMMENDATION_ISSUED, always),
    (S.ORDERED_TO_CORRECT, "record_refusal"): (S.ORDERED_TO_CORRECT, always),
    (S.PAYMENT_DEMANDED, "record_refusal"): (S.PAYMENT_DEMANDED, always),
    (S.OPINION_ISSUED, "issue_recommendation"): (S.RECOMMENDATION_ISSUED, reply_lapsed_or_refused),
    (S.RECOMMENDATION_ISSUED, "record_decision"): (S.RECOMMENDATION_ISSUED, always),
    (S.RECOMMENDATION_ISSUED, "record_correction_order"): (S.ORDERED_TO_CORRECT, obstruction_or_refused_bargaining),
    (S.RECOMMENDATION_ISSUED, "demand_payment"): (S.PAYMENT_DEMANDED, unpaid_funds),
    (S.PAYMENT_DEMANDED, "apply_payment_order"): (S.LITIGATION, unpaid_and_demand_lapsed_or_refused),
    (S.LITIGATION, "record_court_acceptance"): (S.LITIGATION, court_stage("acceptance")),
    (S.LITIGATION, "record_payment_order_issued"): (S.LITIGATION, court_stage("issued")),
    (S.LITIGATION, "record_payment_order_served"): (S.LITIGATION, court_stage("served")),
    (S.LITIGATION, "record_payment_objection"): (S.LITIGATION, court_stage("objection")),
    (S.LITIGATION, "apply_enforcement"): (S.LITIGATION, court_stage("enforcement")),
    (S.ORDERED_TO_CORRECT, "request_listing"): (S.LISTING_REQUESTED, listing_ground_and_correction_refused),
    (S.LITIGATION, "request_listing"): (S.LISTING_REQUESTED, always),
    (S.LISTING_REQUESTED, "record_listing"): (S.LISTED, always),
    **{(s, "rectify"): (S.RECTIFIED, always) for s in ACTIVE},
    **{(s, "withdraw"): (S.WITHDRAWN, always) for s in ACTIVE},
    (S.RECTIFIED, "repair_credit"): (S.CREDIT_REPAIRED, listed_and_wait_served),
}


def closed(state, variant):
    return state in (S.WITHDRAWN, S.CREDIT_REPAIRED) or (state is S.RECTIFIED and variant == "unlisted")


def expected_dest(state, trigger, violations, variant):
    """The destination the law allows, or None when the step must be refused."""
    if closed(state, variant) or (state, trigger) not in LADDER:
        return None
    dest, allowed = LADDER[(state, trigger)]
    return dest if allowed(violations, variant) else None


def make_facts(state=S.REGISTERED, violations=(NO_UNION,), **changes):
    return CaseFacts(state=state, violations=frozenset(violations), **changes)


def test_the_table_covers_every_trigger():
    assert list(TRIGGERS) == ALL_TRIGGERS
    assert len(SUBSETS) == 7


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("violations", SUBSETS, ids=lambda v: "+".join(sorted(v)))
@pytest.mark.parametrize("trigger", ALL_TRIGGERS)
@pytest.mark.parametrize("state", list(State), ids=str)
def test_every_state_trigger_and_violation_set(state, trigger, violations, variant):
    facts = CaseFacts(state=state, violations=violations, **VARIANTS[variant])
    option = {o.trigger: o for o in options(facts, TODAY, POLICY)}[trigger]
    dest = expected_dest(state, trigger, violations, variant)
    if dest is None:
        with pytest.raises(TransitionRefused) as refused:
            fire(facts, trigger, VALID_INPUTS[trigger], TODAY, POLICY)
        assert (refused.value.trigger, refused.value.state) == (trigger, state)
        assert CJK.search(refused.value.reason)
        assert not option.allowed and option.reason == refused.value.reason
    else:
        step = fire(facts, trigger, VALID_INPUTS[trigger], TODAY, POLICY)
        assert (step.source, step.dest, step.facts.state) == (state, dest, dest)
        assert option.allowed and option.reason is None and option.dest is dest
    assert MACHINE.models == []


# ------------------------------------------------------------------------------------------ guard messages

def refusal(facts, trigger, today=TODAY, inputs=None):
    with pytest.raises(TransitionRefused) as refused:
        fire(facts, trigger, VALID_INPUTS[trigger] if inputs is None else inputs, today, POLICY)
    return refused.value.reason


def test_opinion_needs_a_recorded_visit():
    assert refusal(make_facts(S.VISITED), "issue_opinion") == "须先记录走访宣讲，才能发出监督意见书"


def test_recommendation_waits_for_the_reply_period():
    facts = make_facts(S.OPINION_ISSUED, opinion_issued_on=date(2026, 6, 10), opinion_reply_due=date(2026, 6, 25))
    reason = refusal(facts, "issue_recommendation")
    assert "2026年6月25日" in reason and "监督建议书" in reason and "拒绝" in reason
    # the last day of the period still belongs to the enterprise
    assert "尚未届满" in refusal(facts, "issue_recommendation", today=date(2026, 6, 25))
    assert fire(facts, "issue_recommendation", {}, date(2026, 6, 26), POLICY).dest is S.RECOMMENDATION_ISSUED


def test_a_refusal_before_the_opinion_does_not_count():
    facts = make_facts(S.OPINION_ISSUED, opinion_issued_on=date(2026, 6, 10), opinion_reply_due=date(2026, 6, 25),
                       refused_on=date(2026, 6, 9))
    assert "尚未届满" in refusal(facts, "issue_recommendation")


def test_tax_and_court_only_for_unpaid_funds():
    facts = make_facts(S.RECOMMENDATION_ISSUED, violations=(NO_UNION, NO_BARGAINING))
    assert "不缴费" in refusal(facts, "demand_payment")
    facts = make_facts(S.PAYMENT_DEMANDED, violations=(NO_BARGAINING,), payment_demand_due=date(2026, 1, 1))
    assert "不缴费" in refusal(facts, "apply_payment_order")


def test_payment_order_waits_for_the_demand_period():
    facts = make_facts(S.PAYMENT_DEMANDED, violations=(UNPAID,), payment_demanded_on=date(2026, 6, 10),
                       payment_demand_due=date(2026, 6, 25))
    reason = refusal(facts, "apply_payment_order")
    assert "2026年6月25日" in reason and "支付令" in reason


def test_listing_needs_an_order_to_correct_first():
    # BJM 64 and 66 list only after the enterprise refused the order to correct
    for violations in ((UNPAID,), (NO_UNION,), (NO_BARGAINING,)):
        reason = refusal(make_facts(S.RECOMMENDATION_ISSUED, violations=violations), "request_listing")
        assert "责令改正" in reason
    reason = refusal(make_facts(S.RECOMMENDATION_ISSUED, violations=(UNPAID,)), "record_correction_order")
    assert "第六十四条" in reason and "第六十六条" in reason


def test_a_plain_missing_union_is_not_obstruction():
    facts = make_facts(S.ORDERED_TO_CORRECT, correction_ordered_on=date(2026, 5, 1), correction_due=date(2026, 5, 31))
    reason = refusal(facts, "request_listing")
    assert "阻挠" in reason and "尚未建会" in reason
    step = fire(facts, "record_obstruction", VALID_INPUTS["record_obstruction"], TODAY, POLICY)
    assert step.facts.obstruction_on == TODAY and step.dest is S.ORDERED_TO_CORRECT
    assert fire(step.facts, "request_listing", {}, TODAY, POLICY).dest is S.LISTING_REQUESTED


def test_listing_waits_for_the_correction_period():
    facts = make_facts(S.ORDERED_TO_CORRECT, violations=(NO_BARGAINING,), correction_ordered_on=date(2026, 6, 1),
                       correction_due=date(2026, 7, 1))
    assert "2026年7月1日" in refusal(facts, "request_listing")
    assert "尚未届满" in refusal(facts, "request_listing", today=date(2026, 7, 1))
    assert fire(facts, "request_listing", {}, date(2026, 7, 2), POLICY).dest is S.LISTING_REQUESTED
    refused = fire(facts, "record_refusal", with_("record_refusal", refused_on="2026-06-15"), TODAY, POLICY)
    assert fire(refused.facts, "request_listing", {}, TODAY, POLICY).dest is S.LISTING_REQUESTED


def test_listing_for_unpaid_funds_needs_a_stated_legal_basis():
    facts = make_facts(S.LITIGATION, violations=(UNPAID,))
    error = invalid(facts, "request_listing", {})
    assert error.field == "legal_basis" and "没有纳入信用档案" in error.message
    assert invalid(facts, "request_listing", {"legal_basis": "条" * 201}).field == "legal_basis"
    step = fire(facts, "request_listing", {"legal_basis": "《某规定》第十二条"}, TODAY, POLICY)
    assert step.inputs["legal_basis"] == "《某规定》第十二条"
    (due,) = step.starts
    # the follow-up cites the user's basis, never Art 64 or 66
    assert "《某规定》第十二条" in due.rule.legal_basis and "第六十四条" not in due.rule.legal_basis
    assert due.rule.nature == "diary"


def test_credit_repair_waits_after_rectification():
    facts = make_facts(S.RECTIFIED, was_listed=True, rectified_on=date(2026, 6, 1))
    reason = refusal(facts, "repair_credit")
    assert "2026年12月1日" in reason and "信用修复" in reason
    assert fire(facts, "repair_credit", {}, date(2026, 12, 1), POLICY).dest is S.CREDIT_REPAIRED


def test_closed_cases_say_so():
    for facts in (make_facts(S.WITHDRAWN), make_facts(S.CREDIT_REPAIRED, was_listed=True),
                  make_facts(S.RECTIFIED, rectified_on=date(2026, 6, 1))):
        assert is_closed(facts)
        for trigger in ALL_TRIGGERS:
            assert "不再接受任何操作" in refusal(facts, trigger)
    assert not is_closed(make_facts(S.RECTIFIED, was_listed=True))
    assert not any(is_closed(make_facts(state)) for state in State if state.is_active)


def test_wrong_state_names_where_the_step_belongs():
    reason = refusal(make_facts(S.REGISTERED), "issue_recommendation")
    assert "当前状态为“已立案”" in reason and "“已发监督意见书”" in reason
    assert "办理中的案件" in refusal(make_facts(S.RECTIFIED, was_listed=True), "withdraw")


def test_unknown_trigger_is_refused():
    with pytest.raises(TransitionRefused) as refused:
        fire(make_facts(), "to_listed", {}, TODAY, POLICY)
    assert "未知操作" in refused.value.reason


def test_no_auto_transitions_on_the_shared_machine():
    assert set(MACHINE.events) == set(ALL_TRIGGERS)
    assert MACHINE.models == []


# ------------------------------------------------------------------------------------------- input checks

def invalid(facts, trigger, inputs, today=TODAY):
    with pytest.raises(InvalidInput) as error:
        fire(facts, trigger, inputs, today, POLICY)
    assert CJK.search(error.value.message)
    return error.value


def with_(trigger, **changes):
    return {**VALID_INPUTS[trigger], **changes}


def test_rectify_needs_evidence():
    facts = make_facts(S.OPINION_ISSUED)
    assert invalid(facts, "rectify", with_("rectify", attachment_ref=None)).field == "attachment_ref"
    assert invalid(facts, "rectify", with_("rectify", attachment_ref="   ")).field == "attachment_ref"
    inputs = dict(VALID_INPUTS["rectify"])
    del inputs["action_taken"]
    assert invalid(facts, "rectify", inputs).field == "action_taken"


def test_withdraw_needs_a_reason():
    error = invalid(make_facts(S.VISITED), "withdraw", {})
    assert error.field == "reason" and "撤销理由" in error.message
    assert invalid(make_facts(S.VISITED), "withdraw", {"reason": ""}).field == "reason"


def test_visits_are_made_in_pairs():
    facts = make_facts()
    error = invalid(facts, "record_visit", with_("record_visit", supervisors=["王芳"]))
    assert error.field == "supervisors" and "至少两名" in error.message
    assert invalid(facts, "record_visit", with_("record_visit", supervisors=["王芳", " 王芳 "])).field == "supervisors"
    assert invalid(facts, "record_visit", with_("record_visit", supervisors="王芳")).field == "supervisors"
    step = fire(facts, "record_visit", with_("record_visit", supervisors="王芳、李强，JD-0012"), TODAY, POLICY)
    assert step.inputs["supervisors"] == ("王芳", "李强", "JD-0012")


@pytest.mark.parametrize(("state", "trigger", "field"), [
    (S.REGISTERED, "record_visit", "visited_on"),
    (S.OPINION_ISSUED, "record_reply", "replied_on"),
    (S.PAYMENT_DEMANDED, "record_refusal", "refused_on"),
    (S.LISTING_REQUESTED, "record_listing", "listed_on"),
    (S.LISTED, "rectify", "rectified_on"),
])
def test_dates_may_not_be_in_the_future(state, trigger, field):
    facts = make_facts(state, violations=(UNPAID, NO_UNION))
    tomorrow = TODAY + timedelta(days=1)
    for value in (tomorrow, tomorrow.isoformat()):
        error = invalid(facts, trigger, with_(trigger, **{field: value}))
        assert error.field == field and "不能晚于今天" in error.message
    for value in ("2026/06/01", "2026-02-30", "20260601", 20260601):
        assert invalid(facts, trigger, with_(trigger, **{field: value})).field == field


def test_an_answer_cannot_predate_its_letter():
    facts = make_facts(S.OPINION_ISSUED, opinion_issued_on=date(2026, 6, 10))
    assert invalid(facts, "record_reply", with_("record_reply", replied_on="2026-06-09")).field == "replied_on"
    facts = make_facts(S.PAYMENT_DEMANDED, violations=(UNPAID,), payment_demanded_on=date(2026, 6, 10))
    assert invalid(facts, "record_refusal", with_("record_refusal", refused_on="2026-06-01")).field == "refused_on"


def test_rectification_days_must_be_a_positive_whole_number():
    for days in (0, -3, "abc", True, 1.5, "3.0"):
        assert invalid(make_facts(), "record_visit", with_("record_visit", rectification_days=days)).field == \
            "rectification_days"


def test_inputs_may_be_absent_and_unknown_keys_are_dropped():
    assert invalid(make_facts(), "withdraw", None).field == "reason"
    step = fire(make_facts(), "withdraw", {"reason": " 迁出辖区 ", "csrf_token": "abc"}, TODAY, POLICY)
    assert dict(step.inputs) == {"reason": "迁出辖区"}


def test_refusal_comes_before_input_checks():
    # A button that should not be there is the first thing to tell the supervisor, not a missing field.
    assert "须先记录走访宣讲" in refusal(make_facts(S.VISITED), "issue_opinion", inputs={"junk": 1})
    assert "不再接受" in refusal(make_facts(S.WITHDRAWN), "rectify", inputs={})


# ----------------------------------------------------------------------------------------- what steps do

NOTICES = {
    "record_visit": ("visit",), "record_obstruction": (), "record_bargaining_request": (),
    "record_bargaining_answer": (), "issue_opinion": ("opinion",), "record_reply": (), "record_refusal": (),
    "issue_recommendation": ("recommendation",), "record_decision": (), "record_correction_order": (),
    "demand_payment": ("payment_demand", "tax_referral"), "apply_payment_order": ("payment_order",),
    "record_court_acceptance": (), "record_payment_order_issued": (), "record_payment_order_served": (),
    "record_payment_objection": (), "apply_enforcement": (), "request_listing": ("listing_request",),
    "record_listing": (), "rectify": ("rectification_closing",), "withdraw": (), "repair_credit": ("credit_repair",),
}


def test_each_trigger_drafts_its_notices():
    assert {name: spec.notices for name, spec in TRIGGERS.items()} == NOTICES


def serve(facts, notice_type, served_on, due):
    """What recording the service of the letter does (workflows.issuing.start_on_service), for the pure tests."""
    from workflows.issuing import start_on_service
    return start_on_service(facts, notice_type, served_on, due.rule, POLICY.calendar)


def test_a_whole_unpaid_funds_case_on_the_real_calendar():
    facts = make_facts(violations=(UNPAID,))

    step = fire(facts, "record_visit", with_("record_visit", visited_on="2026-09-01"), date(2026, 9, 2), POLICY)
    (due,) = step.starts
    # the visit letter's period runs from its receipt: awaiting service, no due date yet
    assert (due.rule.key, due.start, due.due, due.awaiting_service) == ("visit_rectification", None, None, True)
    assert step.notices == ("visit",) and step.closes == ()
    assert step.inputs["visited_on"] == date(2026, 9, 1) and step.facts.visit_rectification_due is None
    assert "待送达" in refusal(step.facts, "issue_opinion", today=date(2026, 12, 1))
    # served on Tuesday 1 September: 30 days end on 1 October, National Day: moved to the first working day after
    facts, due = serve(step.facts, "visit", date(2026, 9, 1), due)
    assert (due.due, due.extended_from, facts.visit_rectification_due) == (
        date(2026, 10, 8), date(2026, 10, 1), date(2026, 10, 8))
    assert "尚未届满" in refusal(facts, "issue_opinion", today=date(2026, 10, 8))

    step = fire(facts, "issue_opinion", {}, date(2026, 10, 9), POLICY)
    (due,) = step.starts
    assert (due.rule.key, due.awaiting_service) == ("opinion_reply", True)
    assert step.facts.opinion_issued_on == date(2026, 10, 9) and step.facts.opinion_reply_due is None
    assert step.closes == (("visit_rectification", "superseded"),)
    # served Friday 9 October: Sat 10 Oct (make-up working day) is the 1st working day, Mon 12–Fri 16 the 2nd–6th,
    # 19–23 the 7th–11th, 26–29 the 12th–15th: Thursday 29 October
    facts, due = serve(step.facts, "opinion", date(2026, 10, 9), due)
    assert facts.opinion_reply_due == date(2026, 10, 29)

    assert "尚未届满" in refusal(facts, "issue_recommendation", today=date(2026, 10, 29))
    step = fire(facts, "issue_recommendation", {}, date(2026, 11, 2), POLICY)
    (due,) = step.starts
    # before the department's decision is known: the union's own diary, 15 working days from the letter
    assert (due.rule.key, due.rule.nature, due.due) == ("recommendation_followup", "diary", date(2026, 11, 23))
    assert step.closes == (("opinion_reply", "superseded"),)
    step = fire(step.facts, "record_decision", with_("record_decision", decided_on="2026-11-05"), date(2026, 11, 9),
                POLICY)
    (due,) = step.starts
    # the department's 15 working days run from its decision (Thu 5 Nov): Thursday 26 November
    assert (due.rule.key, due.start, due.due) == ("recommendation_reply", date(2026, 11, 5), date(2026, 11, 26))
    assert step.closes == (("recommendation_followup", "met"), ("recommendation_reply", "superseded"))

    step = fire(step.facts, "demand_payment", {}, date(2026, 11, 10), POLICY)
    assert step.notices == ("payment_demand", "tax_referral")
    assert step.facts.payment_demanded_on == date(2026, 11, 10) and step.facts.payment_demand_due is None
    assert step.closes == (("recommendation_followup", "superseded"), ("recommendation_reply", "superseded"))
    facts, due = serve(step.facts, "payment_demand", date(2026, 11, 12), step.starts[0])
    assert facts.payment_demand_due == date(2026, 11, 27)

    step = fire(facts, "record_refusal", with_("record_refusal", refused_on="2026-11-16"), date(2026, 11, 16), POLICY)
    assert (step.dest, step.starts, step.closes, step.notices) == (S.PAYMENT_DEMANDED, (), (), ())
    step = fire(step.facts, "apply_payment_order", {}, date(2026, 11, 16), POLICY)
    (due,) = step.starts
    # the court's 5 days run from the filing (the application's service on the court), never from our step
    assert (due.rule.key, due.awaiting_service) == ("court_acceptance", True)
    assert step.closes == (("payment_demand", "superseded"),)
    assert step.facts.refused_on is None  # the refusal answered the demand, not the court
    assert "递交法院" in refusal(step.facts, "record_court_acceptance", inputs={})
    facts, due = serve(step.facts, "payment_order", date(2026, 11, 17), due)
    assert (facts.court_filed_on, due.due) == (date(2026, 11, 17), date(2026, 11, 23))   # Sun 22 → Mon 23

    step = fire(facts, "record_court_acceptance", with_("record_court_acceptance", accepted_on="2026-11-20"),
                date(2026, 11, 20), POLICY)
    assert step.closes == (("court_acceptance", "met"),)
    assert (step.starts[0].rule.key, step.starts[0].due) == ("court_order_issue", date(2026, 12, 7))  # Sat 5 → Mon 7
    step = fire(step.facts, "record_payment_order_issued", with_("record_payment_order_issued", issued_on="2026-11-27"),
                date(2026, 11, 27), POLICY)
    (due,) = step.starts
    assert (due.rule.key, due.awaiting_service) == ("payment_order", True)   # waits for the debtor's receipt
    assert "收到支付令" in refusal(step.facts, "apply_enforcement", today=date(2027, 3, 1),
                                  inputs=VALID_INPUTS["apply_enforcement"])
    step = fire(step.facts, "record_payment_order_served", {"served_on": "2026-11-30"}, date(2026, 11, 30), POLICY)
    (due,) = step.starts
    assert (due.start, due.due, step.facts.payment_order_due) == (
        date(2026, 11, 30), date(2026, 12, 15), date(2026, 12, 15))
    assert "尚未届满" in refusal(step.facts, "apply_enforcement", today=date(2026, 12, 15),
                              inputs=VALID_INPUTS["apply_enforcement"])
    step = fire(step.facts, "apply_enforcement", with_("apply_enforcement", applied_on="2026-12-16"),
                date(2026, 12, 16), POLICY)
    assert step.closes == (("payment_order", "superseded"),) and step.facts.enforcement_applied_on == date(2026, 12, 16)

    step = fire(step.facts, "request_listing", {"legal_basis": "《某规定》第十二条"}, date(2026, 12, 21), POLICY)
    # 22–25 Dec (4), 28–31 Dec (8), Fri 1 Jan 2027 counts: 2027 not published, weekdays only (9), 4–8 Jan (14),
    # Mon 11 Jan (15), provisional
    assert (step.starts[0].rule.key, step.starts[0].due, step.starts[0].provisional) == (
        "listing_followup", date(2027, 1, 11), True)
    step = fire(step.facts, "record_listing", VALID_INPUTS["record_listing"] | {"listed_on": "2026-12-28",
                                                                               "seriousness": "严重"},
                date(2026, 12, 28), POLICY)
    assert step.facts.was_listed and step.closes == (("listing_followup", "superseded"),) and step.starts == ()
    assert (step.facts.listed_on, step.facts.listing_seriousness) == (date(2026, 12, 28), "serious")

    step = fire(step.facts, "rectify", with_("rectify", rectified_on="2027-01-10"), date(2027, 1, 11), POLICY)
    (due,) = step.starts
    # serious: 1 year from the listing decision; 28 December 2027 is a Tuesday, 2027 not published: provisional
    assert (due.rule.key, due.start, due.due, due.provisional) == (
        "credit_repair_serious", date(2026, 12, 28), date(2027, 12, 28), True)
    assert step.notices == ("rectification_closing",) and step.closes == ()
    assert not is_closed(step.facts)

    assert "2027年12月28日" in refusal(step.facts, "repair_credit", today=date(2027, 12, 27))
    step = fire(step.facts, "repair_credit", {}, date(2027, 12, 28), POLICY)
    assert step.dest is S.CREDIT_REPAIRED
    assert is_closed(step.facts)


def test_the_bargaining_request_and_its_twenty_days():
    facts = make_facts(S.VISITED, violations=(NO_BARGAINING,), visited_on=date(2026, 6, 1))
    assert "不协商" in refusal(make_facts(S.VISITED, violations=(NO_UNION,)), "record_bargaining_request")
    error = invalid(facts, "record_bargaining_request", {"sent_on": "2026-06-10", "received_on": "2026-06-09"})
    assert error.field == "received_on"
    step = fire(facts, "record_bargaining_request", {"sent_on": "2026-06-02", "received_on": "2026-06-03"},
                date(2026, 6, 3), POLICY)
    (due,) = step.starts
    # 20 days from receipt on Wed 3 June end on Tue 23 June (条例第三十二条第二款)
    assert (due.rule.key, due.start, due.due, step.facts.bargaining_answer_due) == (
        "bargaining_answer", date(2026, 6, 3), date(2026, 6, 23), date(2026, 6, 23))
    # the visit letter has not been served: only a refusal lets the opinion go out; the lapse is one
    assert "待送达" in refusal(step.facts, "issue_opinion", today=date(2026, 6, 23))
    assert fire(step.facts, "issue_opinion", {}, date(2026, 6, 24), POLICY).dest is S.OPINION_ISSUED
    answered = fire(step.facts, "record_bargaining_answer", with_("record_bargaining_answer", answered_on="2026-06-20"),
                    date(2026, 6, 20), POLICY)
    assert answered.closes == (("bargaining_answer", "met"),)
    assert "待送达" in refusal(answered.facts, "issue_opinion", today=date(2026, 6, 24))
    assert "没有待答复" in refusal(answered.facts, "record_bargaining_answer", today=date(2026, 6, 24))


def test_a_visit_refusal_lets_the_opinion_go_before_the_period():
    facts = make_facts(S.VISITED, visited_on=date(2026, 6, 1), visit_rectification_due=date(2026, 7, 3))
    assert "2026年7月3日" in refusal(facts, "issue_opinion")
    step = fire(facts, "record_refusal", with_("record_refusal", refused_on="2026-06-10"), TODAY, POLICY)
    assert fire(step.facts, "issue_opinion", {}, TODAY, POLICY).dest is S.OPINION_ISSUED
    error = invalid(facts, "record_refusal", with_("record_refusal", refused_on="2026-05-31"))
    assert error.field == "refused_on"


def test_the_correction_order_sets_its_own_period():
    facts = make_facts(S.RECOMMENDATION_ISSUED, violations=(NO_BARGAINING,))
    step = fire(facts, "record_correction_order", with_("record_correction_order", ordered_on="2026-06-01",
                                                        correction_days="10"), TODAY, POLICY)
    (due,) = step.starts
    assert (due.rule.key, due.rule.period, due.rule.nature, due.due) == ("correction_order", 10, "authority",
                                                                        date(2026, 6, 11))
    assert step.dest is S.ORDERED_TO_CORRECT and step.facts.correction_due == date(2026, 6, 11)
    assert step.closes == (("recommendation_followup", "met"), ("recommendation_reply", "met"))
    assert "本案责令改正期限为10日" in due.explain() and "责令改正文书确定的期限" in due.explain()
    assert invalid(facts, "record_correction_order", with_("record_correction_order", correction_days=None)).field \
        == "correction_days"


def test_the_debtor_objects():
    facts = make_facts(S.LITIGATION, violations=(UNPAID,), court_filed_on=date(2026, 6, 1),
                       court_accepted_on=date(2026, 6, 3), payment_order_issued_on=date(2026, 6, 5),
                       payment_order_served_on=date(2026, 6, 8), payment_order_due=date(2026, 6, 23))
    step = fire(facts, "record_payment_objection", VALID_INPUTS["record_payment_objection"], TODAY, POLICY)
    assert step.closes == (("payment_order", "met"),) and step.facts.payment_objected_on == TODAY
    assert "异议" in refusal(step.facts, "apply_enforcement", today=date(2026, 7, 1))
    error = invalid(facts, "record_payment_objection", with_("record_payment_objection", objected_on="2026-06-07"))
    assert error.field == "objected_on"


def test_recommendation_addressees_per_violation():
    from workflows.ladder import recommendation_addressees
    assert recommendation_addressees(make_facts(violations=(NO_UNION,))) == ("hrss",)
    assert recommendation_addressees(make_facts(violations=(NO_BARGAINING,))) == ("government",)
    assert recommendation_addressees(make_facts(violations=(NO_UNION, NO_BARGAINING))) == ("hrss", "government")


def test_old_events_replay_under_the_legacy_policy():
    legacy = POLICY.legacy()
    step = fire(make_facts(), "record_visit", with_("record_visit", visited_on="2026-09-01"), date(2026, 9, 2), legacy,
                replaying=True)
    assert step.facts.visit_rectification_due == date(2026, 10, 8) == step.starts[0].due
    step = fire(step.facts, "issue_opinion", {}, date(2026, 9, 25), legacy, replaying=True)
    # 15 natural days then: Saturday 10 October, a make-up working day
    assert step.starts[0].due == date(2026, 10, 10) == step.facts.opinion_reply_due
    step = fire(step.facts, "issue_recommendation", {}, date(2026, 10, 12), legacy, replaying=True)
    assert step.starts[0].rule.key == "recommendation_reply"
    # the old direct listing from the recommendation replays; it is never offered now
    listed = fire(step.facts, "request_listing", {}, date(2026, 11, 2), legacy, replaying=True)
    assert listed.dest is S.LISTING_REQUESTED
    assert "责令改正" in refusal(step.facts, "request_listing", today=date(2026, 11, 2))


def test_reply_meets_the_opinion_deadline_once():
    facts = make_facts(S.OPINION_ISSUED, opinion_issued_on=date(2026, 6, 10), opinion_reply_due=date(2026, 6, 25))
    step = fire(facts, "record_reply", VALID_INPUTS["record_reply"], TODAY, POLICY)
    assert step.dest is S.OPINION_ISSUED and step.closes == (("opinion_reply", "met"),)
    assert step.facts.replied_on == TODAY
    assert fire(step.facts, "record_reply", VALID_INPUTS["record_reply"], TODAY, POLICY).closes == ()
    # a reply that does not correct anything still lets the ladder go on once the period is over
    assert fire(step.facts, "issue_recommendation", {}, date(2026, 6, 26), POLICY).closes == ()


def test_rectify_meets_and_withdraw_supersedes_the_open_deadline():
    facts = make_facts(S.RECOMMENDATION_ISSUED)
    assert fire(facts, "rectify", VALID_INPUTS["rectify"], TODAY, POLICY).closes == (
        ("recommendation_followup", "met"), ("recommendation_reply", "met"))
    assert fire(facts, "withdraw", VALID_INPUTS["withdraw"], TODAY, POLICY).closes == (
        ("recommendation_followup", "superseded"), ("recommendation_reply", "superseded"))
    pending = replace(facts, violations=frozenset({NO_BARGAINING}), bargaining_received_on=date(2026, 6, 1))
    assert ("bargaining_answer", "met") in fire(pending, "rectify", VALID_INPUTS["rectify"], TODAY, POLICY).closes
    assert fire(make_facts(), "rectify", VALID_INPUTS["rectify"], TODAY, POLICY).closes == ()


def test_rectify_starts_the_credit_repair_wait_only_for_listed_cases():
    listed = make_facts(S.LISTED, was_listed=True, listed_on=date(2026, 3, 2), listing_seriousness="ordinary")
    step = fire(listed, "rectify", with_("rectify", rectified_on="2026-06-01"), TODAY, POLICY)
    # 3 months from the listing decision (NDRC rules), not 6 months from rectification
    assert [(d.rule.key, d.start, d.due) for d in step.starts] == [
        ("credit_repair_ordinary", date(2026, 3, 2), date(2026, 6, 2))]
    # listed before the listing date was recorded (a case from before issue 10): the old rule
    old = make_facts(S.LISTED, was_listed=True)
    step = fire(old, "rectify", with_("rectify", rectified_on="2026-06-01"), TODAY, POLICY)
    assert [(d.rule.key, d.start, d.due) for d in step.starts] == [
        ("credit_repair_wait", date(2026, 6, 1), date(2026, 12, 1))]
    step = fire(make_facts(S.VISITED), "rectify", VALID_INPUTS["rectify"], TODAY, POLICY)
    assert step.starts == () and is_closed(step.facts)


def test_repairing_credit_ends_the_wait_it_waited_for():
    listed = make_facts(S.LISTED, was_listed=True, listed_on=date(2026, 3, 2), listing_seriousness="ordinary")
    rectified = fire(listed, "rectify", with_("rectify", rectified_on="2026-06-01"), TODAY, POLICY).facts
    # the wait (3 months from 2 March) is over on TODAY: repairing credit closes it as met, so nothing runs on
    # the closed case (no reminder, no overdue)
    step = fire(rectified, "repair_credit", {}, TODAY, POLICY)
    assert is_closed(step.facts)
    assert {key for key, outcome in step.closes if outcome == "met"} >= {"credit_repair_ordinary"}


def test_rectification_days_override_the_visit_period():
    step = fire(make_facts(), "record_visit", with_("record_visit", visited_on="2026-06-01", rectification_days="10"),
                TODAY, POLICY)
    (due,) = step.starts
    assert (due.rule.period, due.due, due.awaiting_service) == (10, None, True)
    assert "10日" in due.explain() and "待送达" in due.explain()
    assert step.inputs["rectification_days"] == 10
    # the waiting row keeps the case's own period: service on 1 June gives 11 June
    assert serve(step.facts, "visit", date(2026, 6, 1), due)[1].due == date(2026, 6, 11)


def test_steps_are_pure():
    facts = make_facts(S.OPINION_ISSUED, opinion_issued_on=date(2026, 6, 10), opinion_reply_due=date(2026, 6, 25))
    inputs = dict(VALID_INPUTS["record_refusal"])
    snapshot = (replace(facts), dict(inputs))
    first = fire(facts, "record_refusal", inputs, TODAY, POLICY)
    assert (facts, inputs) == snapshot
    assert fire(facts, "record_refusal", inputs, TODAY, POLICY) == first
    with pytest.raises(TypeError):
        first.inputs["summary"] = "changed"


def test_options_list_every_trigger_with_inputs():
    listed = options(make_facts(S.OPINION_ISSUED), TODAY, POLICY)
    assert [o.trigger for o in listed] == ALL_TRIGGERS
    by_name = {o.trigger: o for o in listed}
    assert by_name["record_reply"].dest is S.OPINION_ISSUED and by_name["record_reply"].allowed
    assert by_name["record_visit"].dest is None and not by_name["record_visit"].allowed
    assert by_name["rectify"].inputs == ("action_taken", "rectified_on", "attachment_ref")
    assert by_name["rectify"].label == "确认整改完成"
    assert TRIGGERS["record_visit"].required == ("visited_on", "findings", "supervisors")


def test_labels_are_chinese():
    assert [s.label for s in State] == [
        "已立案", "已走访宣讲", "已发监督意见书", "已发监督建议书", "已责令改正", "税务稽查/催缴", "法律诉讼/支付令",
        "已提请信用惩戒", "已纳入信用档案", "整改完成", "已撤销", "信用已修复"]
    assert [v.label for v in Violation] == ["不建会", "不协商", "不缴费"]
    assert all(CJK.search(spec.label) for spec in TRIGGERS.values())


def test_facts_from_stored_strings():
    facts = CaseFacts(state="opinion_issued", violations=["unpaid_funds", "no_union"])
    assert facts.state is S.OPINION_ISSUED and facts.violations == {UNPAID, NO_UNION}
    with pytest.raises(ValueError):
        CaseFacts(state=S.REGISTERED, violations=frozenset())


def test_today_may_be_an_aware_timestamp():
    # 2026-06-14 20:00 UTC is already Monday 15 June in Beijing
    now = datetime(2026, 6, 14, 20, 0, tzinfo=timezone.utc)
    step = fire(make_facts(), "record_visit", VALID_INPUTS["record_visit"], now, POLICY)
    assert step.facts.visited_on == TODAY


def test_policy_rules_are_configurable():
    rules = load_rules({"opinion_reply": {"counting": "natural_days", "period": 20}})
    policy = Policy(rules, WorkCalendar())
    facts = make_facts(S.VISITED, visited_on=date(2026, 9, 1), visit_rectification_due=date(2026, 9, 20))
    step = fire(facts, "issue_opinion", {}, date(2026, 9, 25), policy)
    assert step.starts[0].awaiting_service and step.starts[0].rule.period == 20
    # served Friday 25 September: 20 natural days end Thursday 15 October
    assert serve(step.facts, "opinion", date(2026, 9, 25), step.starts[0])[1].due == date(2026, 10, 15)
    with pytest.raises(ValueError):
        Policy({"opinion_reply": rules["opinion_reply"]}, WorkCalendar())


def test_the_shared_machine_is_safe_across_threads():
    cases = [(CaseFacts(state=state, violations=violations, **VARIANTS[variant]), trigger)
             for state in State for violations in SUBSETS[:3] for variant in ("ripe", "pending")
             for trigger in ALL_TRIGGERS]

    def outcome(case):
        facts, trigger = case
        try:
            return fire(facts, trigger, VALID_INPUTS[trigger], TODAY, POLICY).facts
        except TransitionRefused as refused:
            return refused.reason

    expected = [outcome(case) for case in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(outcome, cases)) == expected
    assert MACHINE.models == []


def test_workflows_import_neither_flask_nor_sqlalchemy():
    code = ("import sys, workflows.ladder, workflows.diagram; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------------------------- diagram

def test_diagram_shows_every_state_and_transition():
    text = mermaid()
    assert text.startswith("---\ntitle:") and "stateDiagram-v2" in text
    for state in State:
        assert f'state "{state.label}" as {state.value}' in text
    noted = ("record_obstruction", "record_bargaining_request", "record_bargaining_answer")
    for (state, trigger), (dest, _) in LADDER.items():
        if trigger in noted:   # recordable in every state before the listing request: one note, not 15 loops
            assert f"        {TRIGGERS[trigger].label}" in text and state.label in text, (state, trigger)
            continue
        assert f"{state.value} --> {dest.value} : {TRIGGERS[trigger].label}" in text, (state, trigger)
    edges = [line for line in text.splitlines() if " --> " in line and "[*]" not in line]
    assert len(edges) == len([key for key in LADDER if key[1] not in noted])


def test_diagram_file_is_current():
    assert DIAGRAM_PATH.read_text(encoding="utf-8") == mermaid(), "run: python -m workflows.diagram"
