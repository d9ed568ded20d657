"""Random walks over the ladder at the pure level: no stage skipped, closed cases inert, refusals change nothing."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from workflows.ladder import (
    ACTIVE_STATES, MACHINE, TRIGGERS, CaseFacts, InvalidInput, Policy, TransitionRefused, fire, is_closed, options,
)
from workflows.issuing import start_on_service
from workflows.states import State, Violation

S = State
POLICY = Policy.default()
CJK = re.compile(r"[\u4e00-\u9fff]")

# The fixed order of the ladder and, per stage, the stages the law lets a case go to next (DOMAIN.md §3).
LADDER_ORDER = [S.REGISTERED, S.VISITED, S.OPINION_ISSUED, S.RECOMMENDATION_ISSUED, S.ORDERED_TO_CORRECT,
                S.PAYMENT_DEMANDED, S.LITIGATION, S.LISTING_REQUESTED, S.LISTED]
NEXT = {
    S.REGISTERED: {S.VISITED},
    S.VISITED: {S.OPINION_ISSUED},
    S.OPINION_ISSUED: {S.RECOMMENDATION_ISSUED},
    # listing only after an order to correct (BJM 64, 66), or after the court for unpaid funds
    S.RECOMMENDATION_ISSUED: {S.PAYMENT_DEMANDED, S.ORDERED_TO_CORRECT},
    S.ORDERED_TO_CORRECT: {S.LISTING_REQUESTED},
    S.PAYMENT_DEMANDED: {S.LITIGATION},
    S.LITIGATION: {S.LISTING_REQUESTED},
    S.LISTING_REQUESTED: {S.LISTED},
    S.LISTED: set(),
    S.RECTIFIED: {S.CREDIT_REPAIRED},
    S.WITHDRAWN: set(),
    S.CREDIT_REPAIRED: set(),
}
EXITS = {S.RECTIFIED, S.WITHDRAWN}

names = st.lists(st.sampled_from(["王芳", "李强", "张伟", "刘洋", "陈静", "JD-0012", "BJ-CY-031"]),
                 min_size=2, max_size=4, unique=True)
texts = st.one_of(st.sampled_from(["职工43人，尚未建立工会", "企业注销", "已补缴2025年工会经费", "x"]),
                  st.text(alphabet="工会经费整改拒绝答复企业职工abc123", min_size=1, max_size=80))


def dates_between(low: date, high: date):
    """A date in [low, high], sometimes as the "YYYY-MM-DD" text a form sends."""
    return st.dates(low, high).flatmap(lambda d: st.sampled_from([d, d.isoformat()]))


def latest_fact_date(facts: CaseFacts, today: date) -> date:
    known = [d for d in (facts.visited_on, facts.opinion_issued_on, facts.payment_demanded_on, facts.replied_on,
                         facts.refused_on, facts.bargaining_received_on, facts.decided_on, facts.court_filed_on,
                         facts.court_accepted_on, facts.payment_order_issued_on, facts.payment_order_served_on,
                         facts.correction_ordered_on)
             if d is not None]
    return max(known, default=today - timedelta(days=90))


def valid_inputs(trigger: str, facts: CaseFacts, today: date):
    when = dates_between(latest_fact_date(facts, today), today)
    return {
        "record_visit": st.fixed_dictionaries(
            {"visited_on": when, "findings": texts, "supervisors": names},
            optional={"rectification_days": st.one_of(st.none(), st.integers(1, 120))}),
        "record_reply": st.fixed_dictionaries({"replied_on": when, "summary": texts}),
        "record_refusal": st.fixed_dictionaries({"refused_on": when, "summary": texts}),
        "record_listing": st.fixed_dictionaries({"authority": texts, "listed_on": when, "reference": texts},
                                                optional={"seriousness": st.sampled_from(["一般", "严重", "serious"])}),
        "record_obstruction": st.fixed_dictionaries({"observed_on": when, "facts": texts}),
        "record_bargaining_request": when.flatmap(lambda sent: st.fixed_dictionaries({
            "sent_on": st.just(sent), "received_on": dates_between(date.fromisoformat(str(sent)), today)})),
        "record_bargaining_answer": st.fixed_dictionaries({"answered_on": when, "summary": texts}),
        "record_decision": st.fixed_dictionaries({"decided_on": when, "authority": texts, "content": texts}),
        "record_correction_order": st.fixed_dictionaries({"ordered_on": when, "authority": texts,
                                                          "reference": texts, "correction_days": st.integers(1, 90)}),
        "record_court_acceptance": st.fixed_dictionaries({"accepted_on": when, "court": texts}),
        "record_payment_order_issued": st.fixed_dictionaries({"issued_on": when}),
        "record_payment_order_served": st.fixed_dictionaries({"served_on": when}),
        "record_payment_objection": st.fixed_dictionaries({"objected_on": when, "summary": texts}),
        "apply_enforcement": st.fixed_dictionaries({"applied_on": when, "court": texts}),
        "request_listing": st.fixed_dictionaries({"legal_basis": texts}),
        "rectify": st.fixed_dictionaries({"action_taken": texts, "rectified_on": when, "attachment_ref": texts}),
        "withdraw": st.fixed_dictionaries({"reason": texts}),
    }.get(trigger, st.just({}))


class LadderWalk(RuleBasedStateMachine):
    """One case, random triggers with random valid (and some invalid) inputs, while time passes."""

    @initialize(violations=st.sets(st.sampled_from(list(Violation)), min_size=1),
                today=st.dates(date(2024, 1, 1), date(2027, 6, 30)))
    def open_case(self, violations, today):
        self.facts = CaseFacts(state=S.REGISTERED, violations=frozenset(violations))
        self.today = today
        self.path = [S.REGISTERED]

    @rule(days=st.integers(0, 200))
    def time_passes(self, days):
        self.today += timedelta(days=days)

    @rule(data=st.data())
    def serve_the_letter(self, data):
        """Record the service of the letter whose period waits for it (workflows.issuing.start_on_service)."""
        waiting = {S.VISITED: ("visit", "visit_rectification", self.facts.visit_rectification_due, self.facts.visited_on),
                   S.OPINION_ISSUED: ("opinion", "opinion_reply", self.facts.opinion_reply_due,
                                      self.facts.opinion_issued_on),
                   S.PAYMENT_DEMANDED: ("payment_demand", "payment_demand", self.facts.payment_demand_due,
                                        self.facts.payment_demanded_on),
                   S.LITIGATION: ("payment_order", "court_acceptance", self.facts.court_filed_on, None)}
        found = waiting.get(self.facts.state)
        if found is None or found[2] is not None:
            return
        notice_type, key, _, letter = found
        served_on = data.draw(st.dates(letter or self.today - timedelta(days=30), self.today))
        facts, due = start_on_service(self.facts, notice_type, served_on, POLICY.rules[key], POLICY.calendar)
        assert due.start == served_on and due.due > served_on
        self.facts = facts

    @rule(trigger=st.sampled_from(list(TRIGGERS)), data=st.data())
    def any_trigger(self, trigger, data):
        self.attempt(trigger, data)

    @rule(data=st.data())
    def an_offered_trigger(self, data):
        offered = [o.trigger for o in options(self.facts, self.today, POLICY) if o.allowed]
        if offered:
            self.attempt(data.draw(st.sampled_from(offered)), data)

    @rule(steps=st.integers(1, 8), data=st.data())
    def climb(self, steps, data):
        """Up the ladder: a few offered steps other than the exits, letting a month pass when none is offered."""
        for _ in range(steps):
            offered = [o.trigger for o in options(self.facts, self.today, POLICY)
                       if o.allowed and o.trigger not in ("rectify", "withdraw")]
            if offered:
                self.attempt(data.draw(st.sampled_from(offered)), data)
            elif is_closed(self.facts):
                return
            else:
                self.today += timedelta(days=31)

    @rule(trigger=st.sampled_from([name for name, spec in TRIGGERS.items() if spec.required]), data=st.data())
    def bad_inputs(self, trigger, data):
        inputs = dict(data.draw(valid_inputs(trigger, self.facts, self.today)))
        field = data.draw(st.sampled_from(TRIGGERS[trigger].required))
        spoil = data.draw(st.sampled_from(["drop", "blank", "future"]))
        if spoil == "drop":
            del inputs[field]
        elif spoil == "blank":
            inputs[field] = "  "
        else:
            is_date = any(f.name == field and f.kind == "date" for f in TRIGGERS[trigger].fields)
            inputs[field] = self.today + timedelta(days=1) if is_date else None
        before = self.facts
        try:
            fire(before, trigger, inputs, self.today, POLICY)
        except InvalidInput as error:
            assert error.field == field and CJK.search(error.message)
        except TransitionRefused as refused:
            assert CJK.search(refused.reason)
        else:
            raise AssertionError(f"{trigger} accepted a spoilt {field}")
        assert self.facts is before

    def attempt(self, trigger, data):
        before = self.facts
        snapshot = replace(before)
        offered = {o.trigger: o for o in options(before, self.today, POLICY)}[trigger]
        inputs = data.draw(valid_inputs(trigger, before, self.today))
        try:
            step = fire(before, trigger, inputs, self.today, POLICY)
        except TransitionRefused as refused:
            assert not offered.allowed and refused.reason == offered.reason and CJK.search(refused.reason)
            assert before == snapshot
            return
        assert offered.allowed and step.dest is offered.dest
        assert step.source is before.state and step.facts.state is step.dest
        if step.dest is not before.state:
            allowed = NEXT[before.state] | (EXITS if before.state in ACTIVE_STATES else set())
            assert step.dest in allowed, (before.state, step.dest)
        if step.dest in (S.PAYMENT_DEMANDED, S.LITIGATION):
            assert Violation.UNPAID_FUNDS in before.violations
        if step.dest is S.LISTING_REQUESTED and before.state is S.ORDERED_TO_CORRECT:
            # BJM 64 (obstruction on file) or 66 (refused bargaining), after the order to correct
            assert (Violation.NO_UNION in before.violations and before.obstruction_on is not None) or \
                Violation.NO_BARGAINING in before.violations
            assert before.correction_ordered_on is not None
        if step.dest is S.CREDIT_REPAIRED:
            assert before.was_listed
        for due in step.starts:
            if due.awaiting_service:   # 待送达: no start, no due date, until the service is recorded
                assert due.start is None and due.rule.key in ("visit_rectification", "opinion_reply",
                                                              "payment_demand", "court_acceptance", "payment_order")
                continue
            assert due.start <= self.today and due.due >= due.start, due
            assert due.due > due.start or due.rule.counting == "natural_days"
        assert {key for key, outcome in step.closes} <= set(POLICY.rules)
        assert all(outcome in ("met", "superseded") for _, outcome in step.closes)
        assert step.notices == TRIGGERS[trigger].notices
        assert step.facts.violations == before.violations
        self.facts = step.facts
        if step.dest is not before.state:
            self.path.append(step.dest)
            event(f"reached {step.dest}")

    @invariant()
    def closed_cases_accept_nothing(self):
        if is_closed(self.facts):
            assert not any(o.allowed for o in options(self.facts, self.today, POLICY))
            for trigger in TRIGGERS:
                try:
                    fire(self.facts, trigger, {}, self.today, POLICY)
                except TransitionRefused as refused:
                    assert "不再接受" in refused.reason
                else:
                    raise AssertionError(f"closed case accepted {trigger}")

    @invariant()
    def no_stage_is_skipped(self):
        stages = [s for s in self.path if s in LADDER_ORDER]
        assert stages[0] is S.REGISTERED
        for earlier, later in zip(stages, stages[1:]):
            assert later in NEXT[earlier], self.path
        exits = self.path[len(stages):]
        assert self.path[:len(stages)] == stages, self.path  # nothing on the ladder after an exit
        assert exits in ([], [S.RECTIFIED], [S.WITHDRAWN], [S.RECTIFIED, S.CREDIT_REPAIRED]), self.path

    @invariant()
    def the_machine_holds_no_case(self):
        assert MACHINE.models == []


LadderWalk.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestLadderWalk = LadderWalk.TestCase
