"""A notice's legal period runs from the day it is issued, not from the step that drafted it.

The step that drafts a letter (issue_opinion, demand_payment, …) starts its deadline on the step's day, so
the case shows a due date at once; when the letter is actually issued, possibly days later after approval,
the period restarts on the issue date and the letter prints that due date.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from workflows.deadlines import DueDate, PeriodRule, compute_due
from workflows.states import CaseFacts, State


@dataclass(frozen=True)
class Restart:
    rule_key: str
    date_field: str | None   #: the CaseFacts field holding the letter's date
    due_field: str | None    #: the CaseFacts field holding the due date the guards read
    fact_key: str | None     #: the snapshot key the letter prints the due date under


#: notice type → the period its issue starts.
RESTARTS = {
    "opinion": Restart("opinion_reply", "opinion_issued_on", "opinion_reply_due", "reply_due"),
    "payment_demand": Restart("payment_demand", "payment_demanded_on", "payment_demand_due", "payment_due"),
    "recommendation": Restart("recommendation_reply", None, None, None),
    "payment_order": Restart("payment_order", None, None, None),
    "listing_request": Restart("listing_followup", None, None, None),
}


def restart_on_issue(facts: CaseFacts, notice_type: str, issued_on: date, rule: PeriodRule,
                     calendar) -> tuple[CaseFacts, DueDate] | None:
    """The case facts and due date once a letter of this type is issued on issued_on (None: it starts nothing)."""
    restart = RESTARTS.get(notice_type)
    if restart is None or restart.rule_key != rule.key:
        return None
    due = compute_due(issued_on, rule, calendar)
    changes = {}
    if restart.date_field and getattr(facts, restart.date_field) is not None:
        changes[restart.date_field] = issued_on
    if restart.due_field and getattr(facts, restart.due_field) is not None:
        changes[restart.due_field] = due.due
    return replace(facts, **changes), due


#: A step that answers or escalates a letter needs that letter to have gone out (issued, not withdrawn):
#: the enterprise cannot reply to, refuse, or be escalated past a letter it never received.
REQUIRES_ISSUED: dict[tuple[State, str], str] = {
    (State.OPINION_ISSUED, "record_reply"): "opinion",
    (State.OPINION_ISSUED, "record_refusal"): "opinion",
    (State.OPINION_ISSUED, "issue_recommendation"): "opinion",
    (State.RECOMMENDATION_ISSUED, "record_refusal"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "demand_payment"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "request_listing"): "recommendation",
    (State.PAYMENT_DEMANDED, "record_refusal"): "payment_demand",
    (State.PAYMENT_DEMANDED, "apply_payment_order"): "payment_demand",
    (State.LITIGATION, "request_listing"): "payment_order",
    (State.LISTING_REQUESTED, "record_listing"): "listing_request",
}


def letter_missing(state: State, trigger: str, issued: frozenset[str] | set[str]) -> str | None:
    """The notice type that must have been issued before this step, when it has not been."""
    needed = REQUIRES_ISSUED.get((state, trigger))
    return needed if needed is not None and needed not in issued else None
