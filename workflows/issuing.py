"""What issuing a letter and recording its service do to the case's periods.

A reply period runs from the day the addressee receives the letter (送达). The step that drafts a letter starts
its period as "awaiting service" (待送达, no due date) when the rule says so (PeriodRule.starts == "service");
issuing the letter keeps it waiting (the letter prints the period in words); recording the service starts it
from the service date. A period that does not run from receipt (the union's own follow-up diary) restarts on the
issue date, so the case shows the date the letter really went out.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from workflows.deadlines import DueDate, PeriodRule, awaiting_service, compute_due
from workflows.states import CaseFacts, State


@dataclass(frozen=True)
class Restart:
    rule_key: str
    date_field: str | None   #: the CaseFacts field holding the letter's date
    due_field: str | None    #: the CaseFacts field holding the due date the guards read
    fact_key: str | None     #: the snapshot key the letter prints the due date under
    served_field: str | None = None  #: the CaseFacts field that records the service date itself
    #: The snapshot key the letter prints the period in words under, when it runs from receipt.
    period_key: str | None = None
    #: How the letter names itself in "自收到本…之日起".
    document: str = "本文书"


#: notice type → the period its issue (or service) starts.
RESTARTS = {
    "visit": Restart("visit_rectification", None, "visit_rectification_due", "rectification_due",
                     period_key="rectification_period", document="本告知书"),
    "opinion": Restart("opinion_reply", "opinion_issued_on", "opinion_reply_due", "reply_due",
                       period_key="reply_period", document="本意见书"),
    "payment_demand": Restart("payment_demand", "payment_demanded_on", "payment_demand_due", "payment_due",
                              period_key="payment_period", document="本通知书"),
    "recommendation": Restart("recommendation_followup", None, None, None),
    # The application's service on the court is its filing: the court's 5 days to decide on acceptance.
    "payment_order": Restart("court_acceptance", None, None, None, served_field="court_filed_on"),
    "listing_request": Restart("listing_followup", None, None, None),
}

#: Rule keys a notice type's issue restarted before issue 10 (their notice.issued events still replay).
LEGACY_RESTART_KEYS = {"recommendation": "recommendation_reply", "payment_order": "payment_order"}

#: The notice types whose period starts on their service (under the shipped rules).
SERVICE_STARTED = ("visit", "opinion", "payment_demand", "payment_order")


def restart_keys(notice_type: str) -> tuple[str, ...]:
    """The rule keys an issue of this notice type may find open: the current one first, then the legacy one."""
    restart = RESTARTS.get(notice_type)
    if restart is None:
        return ()
    legacy = LEGACY_RESTART_KEYS.get(notice_type)
    return (restart.rule_key,) + ((legacy,) if legacy else ())


def rule_at_issue(notice_type: str, stored: PeriodRule, configured: PeriodRule | None) -> PeriodRule:
    """The rule an issue counts with: the deadline row's own (its period as set), waiting for service when the
    configured rule of the notice's period runs from receipt (a row opened before issue 10 waits too)."""
    if configured is not None and configured.starts == "service" and stored.key == RESTARTS[notice_type].rule_key:
        return replace(stored, starts="service")
    return stored


def restart_on_issue(facts: CaseFacts, notice_type: str, issued_on: date, rule: PeriodRule,
                     calendar) -> tuple[CaseFacts, DueDate] | None:
    """The case facts and due date once a letter of this type is issued on issued_on (None: it starts nothing).

    A rule that runs from receipt gives an awaiting-service DueDate (no due date); the facts keep the letter's
    date and lose any due date computed before service.
    """
    restart = RESTARTS.get(notice_type)
    if restart is None or rule.key not in restart_keys(notice_type):
        return None
    waits = rule.starts == "service"
    due = awaiting_service(rule) if waits else compute_due(issued_on, rule, calendar)
    changes = {}
    if restart.date_field and getattr(facts, restart.date_field) is not None:
        changes[restart.date_field] = issued_on
    if rule.key == restart.rule_key and restart.due_field and (waits or getattr(facts, restart.due_field) is not None):
        changes[restart.due_field] = due.due
    return replace(facts, **changes), due


def start_on_service(facts: CaseFacts, notice_type: str, served_on: date, rule: PeriodRule,
                     calendar) -> tuple[CaseFacts, DueDate]:
    """Service of a letter of this type recorded on served_on: the facts and the period, now running.

    `rule` is the waiting deadline's own rule (as stored: a visit may have set its own period).
    """
    restart = RESTARTS[notice_type]
    due = compute_due(served_on, rule, calendar)
    changes = {}
    if restart.due_field:
        changes[restart.due_field] = due.due
    if restart.served_field:
        changes[restart.served_field] = served_on
    return replace(facts, **changes), due


#: A step that answers or escalates a letter needs that letter to have gone out (issued, not withdrawn):
#: the enterprise cannot reply to, refuse, or be escalated past a letter it never received.
REQUIRES_ISSUED: dict[tuple[State, str], str] = {
    (State.OPINION_ISSUED, "record_reply"): "opinion",
    (State.OPINION_ISSUED, "record_refusal"): "opinion",
    (State.OPINION_ISSUED, "issue_recommendation"): "opinion",
    (State.RECOMMENDATION_ISSUED, "record_refusal"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "record_decision"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "record_correction_order"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "demand_payment"): "recommendation",
    (State.RECOMMENDATION_ISSUED, "request_listing"): "recommendation",
    (State.PAYMENT_DEMANDED, "record_refusal"): "payment_demand",
    (State.PAYMENT_DEMANDED, "apply_payment_order"): "payment_demand",
    (State.LITIGATION, "record_court_acceptance"): "payment_order",
    (State.LITIGATION, "request_listing"): "payment_order",
    (State.LISTING_REQUESTED, "record_listing"): "listing_request",
}


def letter_missing(state: State, trigger: str, issued: frozenset[str] | set[str]) -> str | None:
    """The notice type that must have been issued before this step, when it has not been."""
    needed = REQUIRES_ISSUED.get((state, trigger))
    return needed if needed is not None and needed not in issued else None
