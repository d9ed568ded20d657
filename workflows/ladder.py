"""The enforcement ladder as data: which step is allowed in which state, under which guard (DOMAIN.md §3, §6).

Pure: no Flask, no database, no clock. `fire(facts, trigger, inputs, today, policy)` returns a `Step` (the new
facts, the deadlines it starts and ends, the notices it drafts); the operations layer stores it in one transaction.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from transitions import EventData, Machine

from workflows.calendar import WorkCalendar, as_beijing_date
from workflows.deadlines import DEFAULT_RULES, Counting, DueDate, PeriodRule, awaiting_service, compute_due
from workflows.states import (
    ACTIVE_STATES, NOTICE_TYPES, SERIOUSNESS_LABELS, TRIGGERS, CaseFacts, InputField, InvalidInput, LadderError,
    State, TransitionRefused, TriggerSpec, Violation, cn_date, is_closed, validate_inputs,
)

__all__ = [
    "ACTIVE_STATES", "MACHINE", "NOTICE_TYPES", "RULE_KEYS", "TRANSITIONS", "TRIGGERS",
    "CaseFacts", "Guard", "InputField", "InvalidInput", "LadderError", "Option", "Policy", "State", "Step",
    "TransitionRefused", "TriggerSpec", "Violation", "fire", "is_closed", "options", "recommendation_addressees",
    "LADDER_VERSION",
]

#: The deadline rules the ladder starts; a Policy must define every one.
RULE_KEYS = frozenset({
    "visit_rectification", "opinion_reply", "recommendation_reply", "payment_demand", "payment_order",
    "listing_followup", "credit_repair_wait",
    # issue 10
    "recommendation_followup", "bargaining_answer", "court_acceptance", "court_order_issue", "correction_order",
    "credit_repair_ordinary", "credit_repair_serious",
})

#: The ladder's version written on every step's audit event. Events without it were recorded before periods
#: waited for service (issue 10): replay re-applies them under Policy.legacy(), as they were taken.
LADDER_VERSION = 2


# --------------------------------------------------------------------------------------------------- the policy

@dataclass(frozen=True, eq=False)
class Policy:
    """Configuration: the deadline rules and the working-day calendar they count on."""

    rules: Mapping[str, PeriodRule]
    calendar: WorkCalendar
    #: Re-applying a step recorded before issue 10 (no LADDER_VERSION on its event): every period starts on the
    #: step's event, a payment order starts the debtor's 15 days at once, credit repair waits from rectification.
    is_legacy: bool = False

    def __post_init__(self) -> None:
        missing = RULE_KEYS - set(self.rules)
        if missing:
            raise ValueError(f"policy lacks deadline rules: {', '.join(sorted(missing))}")
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))

    @classmethod
    def default(cls) -> Policy:
        """The shipped rules on the official calendar, without admin overrides."""
        return cls(DEFAULT_RULES, WorkCalendar())

    def legacy(self) -> Policy:
        """This policy as steps recorded before issue 10 were taken (for replaying their events).

        The opinion's reply period was 15 natural days then; where this policy still has the shipped 15 working
        days it goes back to that (a configured period is kept: it was configured for the old steps too).
        """
        rules = {key: replace(rule, starts="event") for key, rule in self.rules.items()}
        if rules["opinion_reply"].counting is Counting.WORKING_DAYS and rules["opinion_reply"].period == 15:
            rules["opinion_reply"] = replace(rules["opinion_reply"], counting=Counting.NATURAL_DAYS)
        return Policy(rules, self.calendar, is_legacy=True)


# --------------------------------------------------------------------------------------------------- the guards

class _Case:
    """The throwaway model the shared machine drives for one call; never an ORM row.

    No __eq__ on purpose: Machine.add_model tests membership, and two calls with equal facts are two models.
    """

    def __init__(self, facts: CaseFacts, today: date, policy: Policy):
        self.facts, self.today, self.policy = facts, today, policy
        self.refusal: str | None = None


@dataclass(frozen=True)
class Guard:
    """A named precondition of a transition, with the refusal a supervisor reads when it fails."""

    name: str
    label: str  #: short, for the diagram
    test: Callable[[_Case], bool]
    refusal: Callable[[_Case], str]

    def __call__(self, event: EventData) -> bool:
        # The machine is built with send_event=True, so conditions receive the EventData of the step.
        case = event.model
        if self.test(case):
            return True
        case.refusal = self.refusal(case)
        return False


def _guard(label: str, refusal: str | Callable[[_Case], str]) -> Callable[[Callable[[_Case], bool]], Guard]:
    def wrap(test: Callable[[_Case], bool]) -> Guard:
        explain = refusal if callable(refusal) else (lambda _case: refusal)
        return Guard(test.__name__, label, test, explain)
    return wrap


def _bargaining_lapsed_on(case: _Case) -> date | None:
    """The day after the 20 days to answer the bargaining request ran out unanswered: a refusal (条例第三十二条)."""
    f = case.facts
    if (Violation.NO_BARGAINING in f.violations and f.bargaining_answer_due is not None
            and f.bargaining_answered_on is None and case.today > f.bargaining_answer_due):
        return date.fromordinal(f.bargaining_answer_due.toordinal() + 1)
    return None


def _refused_since(case: _Case, since: date | None) -> bool:
    """A refusal recorded on or after `since`, or a bargaining request left unanswered past its 20 days."""
    f = case.facts
    if f.refused_on is not None and (since is None or f.refused_on >= since):
        return True
    lapsed = _bargaining_lapsed_on(case)
    return lapsed is not None and (since is None or lapsed > since)


def _listed_repair_rule(case: _Case) -> tuple[date, PeriodRule] | None:
    """Where the credit-repair wait starts and on which rule: the listing decision (NDRC rules), or for a case
    listed before those were applied, the rectification (credit_repair_wait)."""
    f = case.facts
    if f.listed_on is not None and not case.policy.is_legacy:
        key = "credit_repair_serious" if f.listing_seriousness == "serious" else "credit_repair_ordinary"
        return f.listed_on, case.policy.rules[key]
    if f.rectified_on is not None:
        return f.rectified_on, case.policy.rules["credit_repair_wait"]
    return None


def _credit_repair_due(case: _Case) -> DueDate | None:
    found = _listed_repair_rule(case)
    return None if found is None else compute_due(found[0], found[1], case.policy.calendar)


def _awaiting(what: str) -> str:
    return f"{what}尚未送达（待送达）：期限自企业收到之日起算，请在文书签发后于文书页记录送达日期"


def _visit_pending(case: _Case) -> str:
    due = case.facts.visit_rectification_due
    if due is None:
        return (_awaiting("走访告知书") + "；走访告知书写明“逾期未整改的”才提出监督意见，"
                "须整改期限届满或记录企业拒绝后，才能发出监督意见书")
    return (f"走访告知的整改期限至{cn_date(due)}，尚未届满，也未记录企业拒绝整改；"
            f"须期限届满或记录企业拒绝后，才能发出监督意见书")


def _reply_pending(case: _Case) -> str:
    due = case.facts.opinion_reply_due
    if due is None:
        return _awaiting("监督意见书") + "；须答复期限届满或记录企业拒绝后，才能发出监督建议书"
    return (f"企业书面答复监督意见书的期限至{cn_date(due)}，尚未届满，也未记录企业拒绝整改；"
            f"须期限届满或记录企业拒绝后，才能发出监督建议书")


def _payment_pending(case: _Case) -> str:
    due = case.facts.payment_demand_due
    if due is None:
        return _awaiting("催缴通知书") + "；须缴纳期限届满或记录企业拒绝后，才能申请支付令"
    return (f"催缴工会经费的缴纳期限至{cn_date(due)}，尚未届满，也未记录企业在催缴后拒绝缴纳；"
            f"须期限届满或记录企业拒绝后，才能申请支付令")


def _correction_pending(case: _Case) -> str:
    due = case.facts.correction_due
    return (f"责令改正的期限至{cn_date(due)}，尚未届满，也未记录企业拒不改正；"
            f"第六十四条、第六十六条规定拒不改正的才纳入信用档案")


def _wait_pending(case: _Case) -> str:
    due = _credit_repair_due(case)
    if due is None:
        return "未记录纳入信用档案的决定日期或整改完成日期，无法计算信用修复的等待期"
    note = "（暂定日期：当年节假日安排尚未公布）" if due.provisional else ""
    return f"信用修复须等待至{cn_date(due.due)}{note}（{due.rule.label}），目前尚未届满"


def _order_pending(case: _Case) -> str:
    f = case.facts
    if f.payment_order_served_on is None:
        return "尚未记录支付令送达债务人的日期；债务人的十五日自其收到支付令之日起算"
    if f.payment_objected_on is not None:
        return "债务人已提出书面异议，支付令失效，应转入诉讼程序，不能申请强制执行"
    return (f"债务人清偿或提出异议的期限至{cn_date(f.payment_order_due)}，尚未届满；"
            f"期满不异议又不履行的，才能申请强制执行")


@_guard("已记录走访", "须先记录走访宣讲，才能发出监督意见书")
def visit_recorded(case: _Case) -> bool:
    return case.facts.visited_on is not None


@_guard("整改期满或企业拒绝", _visit_pending)
def visit_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.visit_rectification_due is not None and case.today > f.visit_rectification_due
    return lapsed or _refused_since(case, f.visited_on)


@_guard("答复期满或企业拒绝", _reply_pending)
def reply_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.opinion_reply_due is not None and case.today > f.opinion_reply_due
    return lapsed or _refused_since(case, f.opinion_issued_on)


@_guard("仅不缴费", "本案没有欠缴工会经费（不缴费）的情形；催缴、税务稽查和支付令只适用于欠缴工会经费的案件")
def funds_unpaid(case: _Case) -> bool:
    return Violation.UNPAID_FUNDS in case.facts.violations


@_guard("催缴期满或企业拒绝", _payment_pending)
def demand_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.payment_demand_due is not None and case.today > f.payment_demand_due
    return lapsed or _refused_since(case, f.payment_demanded_on)


@_guard("仅不建会或不协商",
        "责令改正和纳入信用档案只适用于阻挠建会（第六十四条）和拒绝协商（第六十六条）的案件；"
        "仅欠缴工会经费的案件须先催缴，再申请支付令")
def union_or_bargaining(case: _Case) -> bool:
    return bool(case.facts.violations & {Violation.NO_UNION, Violation.NO_BARGAINING})


@_guard("仅不建会", "本案没有不建会的情形，无需记录阻挠建会的事实")
def union_missing(case: _Case) -> bool:
    return Violation.NO_UNION in case.facts.violations


@_guard("仅不协商", "本案没有不协商的情形；书面集体协商要求只适用于拒绝或拖延集体协商的案件")
def bargaining_refused(case: _Case) -> bool:
    return Violation.NO_BARGAINING in case.facts.violations


@_guard("协商要求待答复", "没有待答复的书面集体协商要求：请先记录书面集体协商要求，或该要求已记录答复")
def bargaining_pending(case: _Case) -> bool:
    f = case.facts
    return f.bargaining_received_on is not None and f.bargaining_answered_on is None


@_guard("阻挠建会或拒绝协商",
        "纳入信用档案只适用于阻挠建会（须已记录阻挠的事实，第六十四条）或拒绝协商（第六十六条）；"
        "仅“尚未建会”不属于阻挠，请先记录阻挠建会的事实")
def listing_ground(case: _Case) -> bool:
    f = case.facts
    return (Violation.NO_UNION in f.violations and f.obstruction_on is not None) or \
        Violation.NO_BARGAINING in f.violations


@_guard("改正期满或拒不改正", _correction_pending)
def correction_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.correction_due is not None and case.today > f.correction_due
    return lapsed or _refused_since(case, f.correction_ordered_on)


@_guard("须先责令改正",
        "第六十四条、第六十六条规定，须先由有关部门或人民政府责令改正、企业拒不改正的，才纳入信用档案；"
        "请先记录有关部门的处理决定和责令改正")
def legacy_only(case: _Case) -> bool:
    return case.policy.is_legacy


def _filing_pending(case: _Case) -> str:
    if case.facts.court_filed_on is None:
        return "尚未记录支付令申请书递交法院（送达）的日期，请先在文书页记录送达"
    return "已记录法院受理支付令申请"


@_guard("申请书已递交法院", _filing_pending)
def court_filed(case: _Case) -> bool:
    return case.facts.court_filed_on is not None and case.facts.court_accepted_on is None


@_guard("法院已受理", "尚未记录法院受理支付令申请")
def court_accepted(case: _Case) -> bool:
    return case.facts.court_accepted_on is not None and case.facts.payment_order_issued_on is None


@_guard("支付令已发出", "尚未记录法院发出支付令，或已记录支付令送达债务人")
def order_issued(case: _Case) -> bool:
    return case.facts.payment_order_issued_on is not None and case.facts.payment_order_served_on is None


def _served_pending(case: _Case) -> str:
    f = case.facts
    if f.payment_order_served_on is None:
        return "尚未记录支付令送达债务人的日期；债务人的十五日自其收到支付令之日起算（民事诉讼法第二百二十七条第二款）"
    if f.payment_objected_on is not None:
        return "已记录债务人的书面异议：支付令失效，转入诉讼程序（民事诉讼法第二百二十八条）"
    return "已记录申请强制执行"


@_guard("支付令已送达", _served_pending)
def order_served(case: _Case) -> bool:
    f = case.facts
    return f.payment_order_served_on is not None and f.payment_objected_on is None and f.enforcement_applied_on is None


@_guard("期满未异议未履行", _order_pending)
def order_lapsed(case: _Case) -> bool:
    f = case.facts
    return (f.payment_order_served_on is not None and f.payment_objected_on is None
            and f.payment_order_due is not None and case.today > f.payment_order_due)


@_guard("曾纳入信用档案", "本案未被纳入信用档案，无需信用修复")
def was_listed(case: _Case) -> bool:
    return case.facts.was_listed


@_guard("等待期届满", _wait_pending)
def repair_wait_over(case: _Case) -> bool:
    due = _credit_repair_due(case)
    return due is not None and case.today >= due.due


def recommendation_addressees(facts: CaseFacts) -> tuple[str, ...]:
    """Who the 监督建议书 goes to, per violation: "hrss" (人力资源社会保障部门: obstruction of organising, BJM 64),
    "government" (市或区人民政府: refused bargaining, BJM 66, 工会法第五十四条). Unpaid funds alone: "hrss" (labour
    inspection; the funds path goes on to the demand and the court). A plain "no union yet" without recorded
    obstruction still goes to 人社, but gives no ground for listing."""
    out = []
    if Violation.NO_UNION in facts.violations or Violation.UNPAID_FUNDS in facts.violations:
        out.append("hrss")
    if Violation.NO_BARGAINING in facts.violations:
        out.append("government")
    return tuple(out)


# ------------------------------------------------------------------------------------------------ the ladder

_ACTIVE = [s for s in State if s in ACTIVE_STATES]  # in ladder order, for a readable diagram
#: Before a listing is requested: where the facts of obstruction and a bargaining request can be recorded.
_BEFORE_LISTING = [State.REGISTERED, State.VISITED, State.OPINION_ISSUED, State.RECOMMENDATION_ISSUED,
                   State.ORDERED_TO_CORRECT]

#: The ladder. dest None is an internal transition: the case stays where it is.
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "record_visit", "source": State.REGISTERED, "dest": State.VISITED},
    {"trigger": "record_obstruction", "source": _BEFORE_LISTING, "dest": None, "conditions": [union_missing]},
    {"trigger": "record_bargaining_request", "source": _BEFORE_LISTING, "dest": None,
     "conditions": [bargaining_refused]},
    {"trigger": "record_bargaining_answer", "source": _BEFORE_LISTING, "dest": None,
     "conditions": [bargaining_pending]},
    # The visit letter says "逾期未整改的…提出监督意见": the opinion waits for that period or a refusal.
    {"trigger": "issue_opinion", "source": State.VISITED, "dest": State.OPINION_ISSUED,
     "conditions": [visit_recorded, visit_lapsed_or_refused]},
    {"trigger": "record_reply", "source": State.OPINION_ISSUED, "dest": None},
    {"trigger": "record_refusal", "dest": None,
     "source": [State.VISITED, State.OPINION_ISSUED, State.RECOMMENDATION_ISSUED, State.ORDERED_TO_CORRECT,
                State.PAYMENT_DEMANDED]},
    {"trigger": "issue_recommendation", "source": State.OPINION_ISSUED, "dest": State.RECOMMENDATION_ISSUED,
     "conditions": [reply_lapsed_or_refused]},
    # The department's decision starts its 15 working days to tell the union the result (BJM 28(2), 63(2)).
    {"trigger": "record_decision", "source": State.RECOMMENDATION_ISSUED, "dest": None},
    # Obstruction (BJM 64: 人社) and refused bargaining (BJM 66: the government) are ordered to correct first.
    {"trigger": "record_correction_order", "source": State.RECOMMENDATION_ISSUED, "dest": State.ORDERED_TO_CORRECT,
     "conditions": [union_or_bargaining]},
    # Only unpaid funds go to the tax authority and the court (Art 57; Trade Union Law Art 44).
    {"trigger": "demand_payment", "source": State.RECOMMENDATION_ISSUED, "dest": State.PAYMENT_DEMANDED,
     "conditions": [funds_unpaid]},
    {"trigger": "apply_payment_order", "source": State.PAYMENT_DEMANDED, "dest": State.LITIGATION,
     "conditions": [funds_unpaid, demand_lapsed_or_refused]},
    # The court's stages (Civil Procedure Law 2023 Arts 226-228); payment itself is `rectify`.
    {"trigger": "record_court_acceptance", "source": State.LITIGATION, "dest": None, "conditions": [court_filed]},
    {"trigger": "record_payment_order_issued", "source": State.LITIGATION, "dest": None,
     "conditions": [court_accepted]},
    {"trigger": "record_payment_order_served", "source": State.LITIGATION, "dest": None,
     "conditions": [order_issued]},
    {"trigger": "record_payment_objection", "source": State.LITIGATION, "dest": None, "conditions": [order_served]},
    {"trigger": "apply_enforcement", "source": State.LITIGATION, "dest": None, "conditions": [order_served, order_lapsed]},
    # Listing only for obstruction (BJM 64) and refused bargaining (BJM 66), after the order to correct was refused
    # or its period lapsed; after the court for unpaid funds only on a legal basis the user states.
    {"trigger": "request_listing", "source": State.ORDERED_TO_CORRECT, "dest": State.LISTING_REQUESTED,
     "conditions": [listing_ground, correction_lapsed_or_refused]},
    {"trigger": "request_listing", "source": State.LITIGATION, "dest": State.LISTING_REQUESTED},
    {"trigger": "record_listing", "source": State.LISTING_REQUESTED, "dest": State.LISTED},
    {"trigger": "rectify", "source": _ACTIVE, "dest": State.RECTIFIED},
    {"trigger": "withdraw", "source": _ACTIVE, "dest": State.WITHDRAWN},
    {"trigger": "repair_credit", "source": State.RECTIFIED, "dest": State.CREDIT_REPAIRED,
     "conditions": [was_listed, repair_wait_over]},
]

#: Steps the ladder took before issue 10 and no longer offers; kept so their events replay. Never allowed now.
LEGACY_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "request_listing", "source": State.RECOMMENDATION_ISSUED, "dest": State.LISTING_REQUESTED,
     "conditions": [legacy_only]},
]

# One machine for every case: a Machine per row costs memory (transitions FAQ, #146). A step adds a throwaway
# model, triggers and removes it; add_model/remove_model mutate the machine's model list, so the three must
# run as one unit. A plain lock around that unit is the right grain: LockedMachine locks each call separately
# (not the add-trigger-remove sequence) and proxies every attribute access. The work under the lock is pure
# and takes microseconds, so Flask worker threads barely wait. (Processes share nothing and need no lock.)
MACHINE = Machine(
    model=None, states=State, initial=State.REGISTERED, transitions=TRANSITIONS + LEGACY_TRANSITIONS,
    auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
)
_LOCK = threading.Lock()


@contextmanager
def _on_machine(facts: CaseFacts, today: date, policy: Policy) -> Iterator[_Case]:
    case = _Case(facts, today, policy)
    with _LOCK:
        MACHINE.add_model(case, initial=facts.state)
        try:
            yield case
        finally:
            MACHINE.remove_model(case)


# ----------------------------------------------------------------------------------------------- the effects

#: The deadlines each stage may hold open; moving on to another stage supersedes them.
STAGE_DEADLINES: Mapping[State, tuple[str, ...]] = MappingProxyType({
    State.VISITED: ("visit_rectification",),
    State.OPINION_ISSUED: ("opinion_reply",),
    State.RECOMMENDATION_ISSUED: ("recommendation_followup", "recommendation_reply"),
    State.ORDERED_TO_CORRECT: ("correction_order",),
    State.PAYMENT_DEMANDED: ("payment_demand",),
    State.LITIGATION: ("court_acceptance", "court_order_issue", "payment_order"),
    State.LISTING_REQUESTED: ("listing_followup",),
})


def _open_deadlines(facts: CaseFacts) -> tuple[str, ...]:
    if facts.state is State.OPINION_ISSUED and facts.replied_on is not None:
        return ()
    if facts.state is State.RECTIFIED:
        # A listed case waits out its credit-repair period here (started by rectify); repairing credit ends it.
        return _CREDIT_REPAIR_KEYS if facts.was_listed else ()
    return STAGE_DEADLINES.get(facts.state, ())


_CREDIT_REPAIR_KEYS = ("credit_repair_wait", "credit_repair_ordinary", "credit_repair_serious")


def _bargaining_open(facts: CaseFacts) -> bool:
    return facts.bargaining_received_on is not None and facts.bargaining_answered_on is None


Effect = Callable[[CaseFacts, Mapping[str, Any], date, Policy], tuple[CaseFacts, tuple[DueDate, ...]]]


def _start(start: date, rule: PeriodRule, policy: Policy) -> DueDate:
    """The period on `start`, or awaiting service when the rule runs from the letter's receipt."""
    if rule.starts == "service" and not policy.is_legacy:
        return awaiting_service(rule)
    return compute_due(start, rule, policy.calendar)


def _starting(key: str, field: str | None = None, *, due_field: str | None = None) -> Effect:
    """An effect that starts rule `key` today (or awaiting service), recording today in `field` and the due date
    (None while awaiting service) in `due_field`."""
    def effect(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
        due = _start(today, policy.rules[key], policy)
        changes = {name: value for name, value in ((field, today), (due_field, due.due)) if name}
        return replace(facts, **changes), (due,)
    return effect


def _recording(**fields: str) -> Effect:
    """An effect that copies inputs onto the facts: fact name → input name."""
    def effect(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
        return replace(facts, **{fact: values[name] for fact, name in fields.items()}), ()
    return effect


def _record_visit(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    rule = policy.rules["visit_rectification"]
    days = values.get("rectification_days")
    if days is not None:
        # The supervisors set this case's period at the visit; say so wherever the date is explained.
        rule = replace(rule, period=days, legal_basis=f"{rule.legal_basis}；本案走访时确定整改期限为{days}日")
    due = _start(values["visited_on"], rule, policy)
    return replace(facts, visited_on=values["visited_on"], visit_rectification_due=due.due), (due,)


def _record_bargaining_request(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    # Counted from the enterprise's receipt (条例第三十二条第二款), which the step records: no separate service.
    due = compute_due(values["received_on"], policy.rules["bargaining_answer"], policy.calendar)
    return replace(facts, bargaining_requested_on=values["sent_on"], bargaining_received_on=values["received_on"],
                   bargaining_answer_due=due.due, bargaining_answered_on=None), (due,)


def _issue_recommendation(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    # The department's 15 working days run from its decision, which the union learns later (record_decision);
    # until then the union's own follow-up diary. (Before issue 10 the 15 days started here.)
    key = "recommendation_reply" if policy.is_legacy else "recommendation_followup"
    return facts, (compute_due(today, policy.rules[key], policy.calendar),)


def _record_decision(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    due = compute_due(values["decided_on"], policy.rules["recommendation_reply"], policy.calendar)
    return replace(facts, decided_on=values["decided_on"]), (due,)


def _record_correction_order(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    rule = policy.rules["correction_order"]
    days = values["correction_days"]
    rule = replace(rule, period=days, legal_basis=f"{rule.legal_basis}；本案责令改正期限为{days}日")
    due = compute_due(values["ordered_on"], rule, policy.calendar)
    return replace(facts, correction_ordered_on=values["ordered_on"], correction_due=due.due), (due,)


def _apply_payment_order(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    if policy.is_legacy:   # before issue 10 the debtor's 15 days started with our own application
        return facts, (compute_due(today, policy.rules["payment_order"], policy.calendar),)
    # The court's 5 days run from the filing: the application's service on the court.
    return facts, (_start(today, policy.rules["court_acceptance"], policy),)


def _record_court_acceptance(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    due = compute_due(values["accepted_on"], policy.rules["court_order_issue"], policy.calendar)
    return replace(facts, court_accepted_on=values["accepted_on"]), (due,)


def _record_payment_order_issued(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    # The debtor's 15 days wait for the court's service on the debtor (待送达).
    return replace(facts, payment_order_issued_on=values["issued_on"]), (awaiting_service(policy.rules["payment_order"]),)


def _record_payment_order_served(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    due = compute_due(values["served_on"], policy.rules["payment_order"], policy.calendar)
    return replace(facts, payment_order_served_on=values["served_on"], payment_order_due=due.due), (due,)


def _request_listing(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    rule = policy.rules["listing_followup"]
    basis = values.get("legal_basis")
    listing_law = (Violation.NO_UNION in facts.violations and facts.obstruction_on is not None) or \
        Violation.NO_BARGAINING in facts.violations
    if facts.state is State.LITIGATION and not policy.is_legacy:
        # BJM has no listing article for unpaid funds: the user states the basis, and nothing cites 64 or 66.
        if not basis:
            raise InvalidInput("legal_basis", "北京市实施工会法办法对欠缴工会经费没有纳入信用档案的规定；"
                                              "提请信用惩戒须填写所依据的法律、法规或规章条款")
        rule = replace(rule, legal_basis=f"本会工作安排（提请依据：{basis}）")
    elif basis and not listing_law:
        rule = replace(rule, legal_basis=f"本会工作安排（提请依据：{basis}）")
    return facts, (compute_due(today, rule, policy.calendar),)


def _record_listing(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    if policy.is_legacy:
        return replace(facts, was_listed=True), ()
    return replace(facts, was_listed=True, listed_on=values["listed_on"],
                   listing_seriousness=values.get("seriousness") or "ordinary"), ()


def _rectify(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    after = replace(facts, rectified_on=values["rectified_on"])
    starts = ()
    if facts.was_listed:
        found = _listed_repair_rule(_Case(after, today, policy))
        starts = (compute_due(found[0], found[1], policy.calendar),)
    return after, starts


_EFFECTS: Mapping[str, Effect] = {
    "record_visit": _record_visit,
    "record_obstruction": _recording(obstruction_on="observed_on"),
    "record_bargaining_request": _record_bargaining_request,
    "record_bargaining_answer": _recording(bargaining_answered_on="answered_on"),
    "issue_opinion": _starting("opinion_reply", "opinion_issued_on", due_field="opinion_reply_due"),
    "record_reply": _recording(replied_on="replied_on"),
    "record_refusal": _recording(refused_on="refused_on"),
    "issue_recommendation": _issue_recommendation,
    "record_decision": _record_decision,
    "record_correction_order": _record_correction_order,
    "demand_payment": _starting("payment_demand", "payment_demanded_on", due_field="payment_demand_due"),
    "apply_payment_order": _apply_payment_order,
    "record_court_acceptance": _record_court_acceptance,
    "record_payment_order_issued": _record_payment_order_issued,
    "record_payment_order_served": _record_payment_order_served,
    "record_payment_objection": _recording(payment_objected_on="objected_on"),
    "apply_enforcement": _recording(enforcement_applied_on="applied_on"),
    "request_listing": _request_listing,
    "record_listing": _record_listing,
    "rectify": _rectify,
    "withdraw": _recording(),
    "repair_credit": _recording(),
}

#: What an internal step ends besides its stage: (rule key, outcome).
_STEP_CLOSES: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType({
    "record_bargaining_request": (("bargaining_answer", "superseded"),),
    "record_bargaining_answer": (("bargaining_answer", "met"),),
    "record_decision": (("recommendation_followup", "met"), ("recommendation_reply", "superseded")),
    "record_court_acceptance": (("court_acceptance", "met"),),
    "record_payment_order_issued": (("court_order_issue", "met"),),
    "record_payment_objection": (("payment_order", "met"),),
    "apply_enforcement": (("payment_order", "superseded"),),
})


# ----------------------------------------------------------------------------------------------- the steps

@dataclass(frozen=True)
class Option:
    """One trigger as the UI offers it: allowed or not, and why not. dest is None where it cannot apply at all."""

    trigger: str
    label: str
    allowed: bool
    reason: str | None
    dest: State | None
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """The outcome of one allowed trigger, for the operations layer to store."""

    trigger: str
    source: State
    dest: State
    facts: CaseFacts  #: the facts after the step
    starts: tuple[DueDate, ...]  #: deadlines this step starts
    closes: tuple[tuple[str, str], ...]  #: (rule key, "met" | "superseded") of open deadlines it ends
    notices: tuple[str, ...]  #: notice types this step drafts
    inputs: Mapping[str, Any]  #: the validated, normalised inputs


def _closed_reason(facts: CaseFacts) -> str:
    if facts.state is State.RECTIFIED:
        return "案件已整改完成并结案（未纳入信用档案，无需信用修复），不再接受任何操作"
    return f"案件已结案（{facts.state.label}），不再接受任何操作"


def _elsewhere_reason(trigger: str, state: State) -> str:
    legacy = {State(source) for t in LEGACY_TRANSITIONS if t["trigger"] == trigger
              for source in (t["source"] if isinstance(t["source"], list) else [t["source"]])}
    sources = {State[t.source] for t in MACHINE.get_transitions(trigger)} - legacy
    where = ("办理中的案件" if sources == ACTIVE_STATES
             else "“" + "”“".join(s.label for s in State if s in sources) + "”状态")
    return f"当前状态为“{state.label}”，不能{TRIGGERS[trigger].label}；该操作只适用于{where}"


def _dest(trigger: str, state: State) -> State | None:
    found = MACHINE.get_transitions(trigger, source=state)
    if not found:
        return None
    return state if found[0].dest is None else State[found[0].dest]


def _as_today(today: date) -> date:
    return as_beijing_date(today)


def options(facts: CaseFacts, today: date, policy: Policy) -> list[Option]:
    """Every trigger, in ladder order, allowed or not with the reason (for buttons and the API)."""
    today = _as_today(today)
    if is_closed(facts):
        reason = _closed_reason(facts)
        return [Option(s.name, s.label, False, reason, None, s.inputs) for s in TRIGGERS.values()]
    result = []
    with _on_machine(facts, today, policy) as case:
        for spec in TRIGGERS.values():
            dest = _dest(spec.name, facts.state)
            if dest is None:
                result.append(Option(spec.name, spec.label, False, _elsewhere_reason(spec.name, facts.state),
                                     None, spec.inputs))
                continue
            case.refusal = None
            allowed = case.may_trigger(spec.name)
            result.append(Option(spec.name, spec.label, allowed, None if allowed else case.refusal, dest,
                                 spec.inputs))
    return result


def fire(facts: CaseFacts, trigger: str, inputs: Mapping[str, Any] | None, today: date, policy: Policy, *,
         replaying: bool = False) -> Step:
    """Apply `trigger` to `facts`: a Step, or TransitionRefused / InvalidInput. Changes nothing.

    `replaying` re-applies a step that was taken and recorded: the guards were judged then, on the calendar as it
    was (a holiday year entered later may move a provisional date), so only the state's transition is checked.
    """
    today = _as_today(today)
    spec = TRIGGERS.get(trigger)
    if spec is None:
        raise TransitionRefused(trigger, facts.state, f"未知操作“{trigger}”")
    if is_closed(facts):
        raise TransitionRefused(trigger, facts.state, _closed_reason(facts))
    if _dest(trigger, facts.state) is None:
        raise TransitionRefused(trigger, facts.state, _elsewhere_reason(trigger, facts.state))
    if replaying:
        dest: State = _dest(trigger, facts.state)
    else:
        with _on_machine(facts, today, policy) as case:
            if not case.trigger(trigger):
                raise TransitionRefused(trigger, facts.state, case.refusal or f"当前不能{spec.label}")
            dest = case.state
    values = validate_inputs(spec, inputs or {}, facts, today)
    after, starts = _EFFECTS[trigger](facts, values, today, policy)
    if dest is not facts.state and dest in ACTIVE_STATES:
        after = replace(after, replied_on=None, refused_on=None)  # a new stage, a new letter to answer
    open_ = _open_deadlines(facts)
    bargaining = ("bargaining_answer",) if _bargaining_open(facts) else ()
    if trigger in ("rectify", "repair_credit"):
        closes = tuple((key, "met") for key in open_ + bargaining)
    elif trigger == "withdraw":
        closes = tuple((key, "superseded") for key in open_ + bargaining)
    elif trigger == "record_reply":
        closes = tuple((key, "met") for key in open_ if key == "opinion_reply")
    elif trigger in _STEP_CLOSES:
        closes = _STEP_CLOSES[trigger]
    elif trigger == "record_correction_order":
        closes = tuple((key, "met") for key in open_)   # the department acted on the recommendation
    elif dest is facts.state:
        closes = ()  # a refusal ends no deadline: the next stage waits for it to lapse or uses the refusal
    else:
        closes = tuple((key, "superseded") for key in open_)
        lapsed = facts.bargaining_answer_due is not None and today > facts.bargaining_answer_due
        if bargaining and lapsed:
            closes += (("bargaining_answer", "superseded"),)   # its lapse, a refusal, was acted on: the case moved on
    return Step(trigger, facts.state, dest, replace(after, state=dest), starts, closes, spec.notices,
                MappingProxyType(values))
