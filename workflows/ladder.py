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
from workflows.deadlines import DEFAULT_RULES, DueDate, PeriodRule, compute_due
from workflows.states import (
    ACTIVE_STATES, NOTICE_TYPES, TRIGGERS, CaseFacts, InputField, InvalidInput, LadderError, State,
    TransitionRefused, TriggerSpec, Violation, cn_date, is_closed, validate_inputs,
)

__all__ = [
    "ACTIVE_STATES", "MACHINE", "NOTICE_TYPES", "RULE_KEYS", "TRANSITIONS", "TRIGGERS",
    "CaseFacts", "Guard", "InputField", "InvalidInput", "LadderError", "Option", "Policy", "State", "Step",
    "TransitionRefused", "TriggerSpec", "Violation", "fire", "is_closed", "options",
]

#: The deadline rules the ladder starts; a Policy must define every one.
RULE_KEYS = frozenset({
    "visit_rectification", "opinion_reply", "recommendation_reply", "payment_demand", "payment_order",
    "listing_followup", "credit_repair_wait",
})


# --------------------------------------------------------------------------------------------------- the policy

@dataclass(frozen=True, eq=False)
class Policy:
    """Configuration: the deadline rules and the working-day calendar they count on."""

    rules: Mapping[str, PeriodRule]
    calendar: WorkCalendar

    def __post_init__(self) -> None:
        missing = RULE_KEYS - set(self.rules)
        if missing:
            raise ValueError(f"policy lacks deadline rules: {', '.join(sorted(missing))}")
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))

    @classmethod
    def default(cls) -> Policy:
        """The shipped rules on the official calendar, without admin overrides."""
        return cls(DEFAULT_RULES, WorkCalendar())


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


def _refused_since(facts: CaseFacts, since: date | None) -> bool:
    return facts.refused_on is not None and (since is None or facts.refused_on >= since)


def _credit_repair_due(case: _Case) -> DueDate:
    return compute_due(case.facts.rectified_on, case.policy.rules["credit_repair_wait"], case.policy.calendar)


def _reply_pending(case: _Case) -> str:
    due = case.facts.opinion_reply_due
    if due is None:
        return "监督意见书未记录答复期限，也未记录企业拒绝整改，暂不能发出监督建议书"
    return (f"企业书面答复监督意见书的期限至{cn_date(due)}，尚未届满，也未记录企业拒绝整改；"
            f"须期限届满或记录企业拒绝后，才能发出监督建议书")


def _payment_pending(case: _Case) -> str:
    due = case.facts.payment_demand_due
    if due is None:
        return "催缴未记录缴纳期限，也未记录企业在催缴后拒绝缴纳，暂不能申请支付令"
    return (f"催缴工会经费的缴纳期限至{cn_date(due)}，尚未届满，也未记录企业在催缴后拒绝缴纳；"
            f"须期限届满或记录企业拒绝后，才能申请支付令")


def _wait_pending(case: _Case) -> str:
    if case.facts.rectified_on is None:
        return "未记录整改完成日期，无法计算信用修复的等待期"
    due = _credit_repair_due(case)
    note = "（暂定日期：当年节假日安排尚未公布）" if due.provisional else ""
    return f"信用修复须在整改完成后等待至{cn_date(due.due)}{note}，目前尚未届满"


@_guard("已记录走访", "须先记录走访宣讲，才能发出监督意见书")
def visit_recorded(case: _Case) -> bool:
    return case.facts.visited_on is not None


@_guard("答复期满或企业拒绝", _reply_pending)
def reply_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.opinion_reply_due is not None and case.today > f.opinion_reply_due
    return lapsed or _refused_since(f, f.opinion_issued_on)


@_guard("仅不缴费", "本案没有欠缴工会经费（不缴费）的情形；催缴、税务稽查和支付令只适用于欠缴工会经费的案件")
def funds_unpaid(case: _Case) -> bool:
    return Violation.UNPAID_FUNDS in case.facts.violations


@_guard("催缴期满或企业拒绝", _payment_pending)
def demand_lapsed_or_refused(case: _Case) -> bool:
    f = case.facts
    lapsed = f.payment_demand_due is not None and case.today > f.payment_demand_due
    return lapsed or _refused_since(f, f.payment_demanded_on)


@_guard("仅不建会或不协商",
        "由监督建议书直接提请信用惩戒只适用于不建会、不协商的案件（第六十四条、第六十六条）；"
        "仅欠缴工会经费的案件须先催缴，再申请支付令")
def union_or_bargaining(case: _Case) -> bool:
    return bool(case.facts.violations & {Violation.NO_UNION, Violation.NO_BARGAINING})


@_guard("曾纳入信用档案", "本案未被纳入信用档案，无需信用修复")
def was_listed(case: _Case) -> bool:
    return case.facts.was_listed


@_guard("等待期届满", _wait_pending)
def repair_wait_over(case: _Case) -> bool:
    return case.facts.rectified_on is not None and case.today >= _credit_repair_due(case).due


# ------------------------------------------------------------------------------------------------ the ladder

_ACTIVE = [s for s in State if s in ACTIVE_STATES]  # in ladder order, for a readable diagram

#: The ladder. dest None is an internal transition: the case stays where it is.
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "record_visit", "source": State.REGISTERED, "dest": State.VISITED},
    {"trigger": "issue_opinion", "source": State.VISITED, "dest": State.OPINION_ISSUED,
     "conditions": [visit_recorded]},
    {"trigger": "record_reply", "source": State.OPINION_ISSUED, "dest": None},
    {"trigger": "record_refusal", "dest": None,
     "source": [State.OPINION_ISSUED, State.RECOMMENDATION_ISSUED, State.PAYMENT_DEMANDED]},
    {"trigger": "issue_recommendation", "source": State.OPINION_ISSUED, "dest": State.RECOMMENDATION_ISSUED,
     "conditions": [reply_lapsed_or_refused]},
    # Only unpaid funds go to the tax authority and the court (Art 57; Trade Union Law Art 44).
    {"trigger": "demand_payment", "source": State.RECOMMENDATION_ISSUED, "dest": State.PAYMENT_DEMANDED,
     "conditions": [funds_unpaid]},
    {"trigger": "apply_payment_order", "source": State.PAYMENT_DEMANDED, "dest": State.LITIGATION,
     "conditions": [funds_unpaid, demand_lapsed_or_refused]},
    # Listing follows a refused recommendation for obstruction and refused bargaining (Arts 64, 66),
    # and follows the court for unpaid funds.
    {"trigger": "request_listing", "source": State.RECOMMENDATION_ISSUED, "dest": State.LISTING_REQUESTED,
     "conditions": [union_or_bargaining]},
    {"trigger": "request_listing", "source": State.LITIGATION, "dest": State.LISTING_REQUESTED},
    {"trigger": "record_listing", "source": State.LISTING_REQUESTED, "dest": State.LISTED},
    {"trigger": "rectify", "source": _ACTIVE, "dest": State.RECTIFIED},
    {"trigger": "withdraw", "source": _ACTIVE, "dest": State.WITHDRAWN},
    {"trigger": "repair_credit", "source": State.RECTIFIED, "dest": State.CREDIT_REPAIRED,
     "conditions": [was_listed, repair_wait_over]},
]

# One machine for every case: a Machine per row costs memory (transitions FAQ, #146). A step adds a throwaway
# model, triggers and removes it; add_model/remove_model mutate the machine's model list, so the three must
# run as one unit. A plain lock around that unit is the right grain: LockedMachine locks each call separately
# (not the add-trigger-remove sequence) and proxies every attribute access. The work under the lock is pure
# and takes microseconds, so Flask worker threads barely wait. (Processes share nothing and need no lock.)
MACHINE = Machine(
    model=None, states=State, initial=State.REGISTERED, transitions=TRANSITIONS,
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

#: The deadline each stage opens when a case enters it; moving on supersedes it.
_STAGE_DEADLINE = {
    State.VISITED: "visit_rectification",
    State.OPINION_ISSUED: "opinion_reply",
    State.RECOMMENDATION_ISSUED: "recommendation_reply",
    State.PAYMENT_DEMANDED: "payment_demand",
    State.LITIGATION: "payment_order",
    State.LISTING_REQUESTED: "listing_followup",
}


def _open_deadlines(facts: CaseFacts) -> tuple[str, ...]:
    if facts.state is State.OPINION_ISSUED and facts.replied_on is not None:
        return ()
    if facts.state is State.RECTIFIED:
        return ("credit_repair_wait",) if facts.was_listed else ()
    key = _STAGE_DEADLINE.get(facts.state)
    return (key,) if key else ()


Effect = Callable[[CaseFacts, Mapping[str, Any], date, Policy], tuple[CaseFacts, tuple[DueDate, ...]]]


def _starting(key: str, field: str | None = None, *, due_field: str | None = None) -> Effect:
    """An effect that starts rule `key` today, recording today in `field` and the due date in `due_field`."""
    def effect(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
        due = compute_due(today, policy.rules[key], policy.calendar)
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
    return replace(facts, visited_on=values["visited_on"]), (compute_due(values["visited_on"], rule, policy.calendar),)


def _record_listing(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    return replace(facts, was_listed=True), ()


def _rectify(facts: CaseFacts, values: Mapping[str, Any], today: date, policy: Policy):
    starts = ()
    if facts.was_listed:
        starts = (compute_due(values["rectified_on"], policy.rules["credit_repair_wait"], policy.calendar),)
    return replace(facts, rectified_on=values["rectified_on"]), starts


_EFFECTS: Mapping[str, Effect] = {
    "record_visit": _record_visit,
    "issue_opinion": _starting("opinion_reply", "opinion_issued_on", due_field="opinion_reply_due"),
    "record_reply": _recording(replied_on="replied_on"),
    "record_refusal": _recording(refused_on="refused_on"),
    "issue_recommendation": _starting("recommendation_reply"),
    "demand_payment": _starting("payment_demand", "payment_demanded_on", due_field="payment_demand_due"),
    "apply_payment_order": _starting("payment_order"),
    "request_listing": _starting("listing_followup"),
    "record_listing": _record_listing,
    "rectify": _rectify,
    "withdraw": _recording(),
    "repair_credit": _recording(),
}


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
    sources = {State[t.source] for t in MACHINE.get_transitions(trigger)}
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
    if trigger == "rectify":
        closes = tuple((key, "met") for key in open_)
    elif trigger == "record_reply":
        closes = tuple((key, "met") for key in open_ if key == "opinion_reply")
    elif dest is facts.state:
        closes = ()  # a refusal ends no deadline: the next stage waits for it to lapse or uses the refusal
    else:
        closes = tuple((key, "superseded") for key in open_)
    return Step(trigger, facts.state, dest, replace(after, state=dest), starts, closes, spec.notices,
                MappingProxyType(values))
