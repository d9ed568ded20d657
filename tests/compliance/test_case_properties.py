"""Random walks over the ladder through the operations layer and a real database.

The database-level mirror of tests/workflows/test_ladder_properties.py: every check reads the stored rows back
(expire_all, re-query), so what is asserted is what a supervisor, the scheduler and the audit trail will see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import inspect, select

from compliance.errors import Conflict, NotAllowed, ValidationFailed
from compliance.models import Case, CaseEvent, Deadline, Notice
from compliance.operations.cases import case_options, fire_trigger, replay_case, stored_replay
from compliance.testing import serve_issued
from tests.workflows.test_ladder import VALID_INPUTS
from workflows.ladder import ACTIVE_STATES, TRIGGERS, CaseFacts, is_closed
from workflows.states import State, Violation

S = State
BEIJING = dt.timezone(dt.timedelta(hours=8))

# The ladder's next stages and exits, written by hand from the law in the pure property test: the same table
# must hold for the stored cases.
from tests.workflows.test_ladder_properties import EXITS, NEXT, valid_inputs  # noqa: E402

def columns(row) -> dict:
    """Every mapped column of a row, as stored."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


@dataclass(frozen=True)
class Stored:
    """Everything an operation could change about one case, read back from the database."""

    case: dict
    facts: CaseFacts
    events: tuple[dict, ...]
    deadlines: tuple[dict, ...]
    notices: tuple[dict, ...]

    @property
    def version(self) -> int:
        return self.case["version"]

    @property
    def state(self) -> State:
        return State(self.case["state"])


def load(session, case_id: int) -> Stored:
    session.expire_all()
    case = session.scalars(select(Case).where(Case.id == case_id)).one()
    rows = lambda model, order: tuple(columns(r) for r in session.scalars(  # noqa: E731
        select(model).where(model.case_id == case_id).order_by(order)))
    return Stored(columns(case), case.facts(), rows(CaseEvent, CaseEvent.seq), rows(Deadline, Deadline.id),
                  rows(Notice, Notice.id))


class CaseWalk(RuleBasedStateMachine):
    """One fresh case for a fresh enterprise, random triggers with valid and spoilt inputs, while time passes."""

    def __init__(self, session, make_case, actor, send_letters):
        super().__init__()
        self.session, self.make_case, self.actor, self.send_letters = session, make_case, actor, send_letters
        # Each example in its own savepoint, rolled back in teardown: a failing example replays (and shrinks)
        # on the same database it failed on, not on one holding the rows of every earlier example.
        self.savepoint = session.begin_nested()

    def teardown(self):
        if self.savepoint.is_active:
            self.savepoint.rollback()
        self.session.expire_all()

    @property
    def today(self) -> dt.date:
        """The business day: the Beijing date of `now`."""
        return self.now.astimezone(BEIJING).date()

    def stored(self) -> Stored:
        return load(self.session, self.case_id)

    # ------------------------------------------------------------------------------------------ the steps

    @initialize(violations=st.sets(st.sampled_from(list(Violation)), min_size=1),
                opened_on=st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)), hour=st.integers(0, 23))
    def open_case(self, violations, opened_on, hour):
        # `now` is handed over in UTC, as the app does: before 08:00 Beijing the UTC date is the day before, so a
        # dates-not-in-the-future check made on the UTC date would refuse today's visit.
        self.now = dt.datetime.combine(opened_on, dt.time(hour), tzinfo=BEIJING).astimezone(dt.timezone.utc)
        self.case_id = self.make_case(violations=sorted(violations), at=self.now).id
        self.checked_closed = False
        first = self.stored()
        assert (first.version, first.state, first.case["closed_at"]) == (1, S.REGISTERED, None)
        assert [(e["seq"], e["action"]) for e in first.events] == [(1, "case.opened")]
        assert first.facts.violations == frozenset(violations)

    @rule(days=st.integers(0, 120), hours=st.integers(0, 23))
    def time_passes(self, days, hours):
        self.now += dt.timedelta(days=days, hours=hours)

    @rule(trigger=st.sampled_from(list(TRIGGERS)), data=st.data())
    def any_trigger(self, trigger, data):
        self.attempt(trigger, data)

    @rule(data=st.data())
    def an_offered_trigger(self, data):
        offered = self.offered()
        if offered:
            self.attempt(data.draw(st.sampled_from(offered)), data)

    @rule(steps=st.integers(1, 8), data=st.data())
    def climb(self, steps, data):
        """Up the ladder to credit repair: offered steps but the exits (rectify only once listed, the way on),
        letting a month pass when none is offered."""
        for _ in range(steps):
            listed = self.stored().facts.was_listed
            offered = [t for t in self.offered() if t != "withdraw" and (t != "rectify" or listed)]
            if offered:
                self.attempt(data.draw(st.sampled_from(offered)), data)
            elif self.stored().case["closed_at"] is not None:
                return
            else:
                self.now += dt.timedelta(days=31)

    @rule()
    def letters_go_out(self):
        """The chair approves and the office issues the drafts: numbered, archived, the case's stage unchanged."""
        before = self.stored()
        drafts = {n["id"] for n in before.notices if n["status"] == "draft"}
        if not drafts:
            return
        self.send_letters(self.case_id, self.now)
        after = self.stored()
        sent = [n for n in after.notices if n["id"] in drafts]
        assert all(n["status"] == "issued" and n["number"] and n["sha256"] for n in sent), sent
        assert after.state is before.state and after.facts.violations == before.facts.violations
        assert after.events[:len(before.events)] == before.events
        actions = [e["action"] for e in after.events[len(before.events):]]
        # Each letter approved and issued once; a payment-order application is completed first (draft_updated).
        assert actions.count("notice.approved") == actions.count("notice.issued") == len(sent)
        assert set(actions) <= {"notice.draft_updated", "notice.approved", "notice.issued"}

    @rule()
    def letters_are_served(self):
        """The issued letters reach the addressee today: a period that waited for service (待送达) starts."""
        before = self.stored()
        if not any(n["status"] == "issued" for n in before.notices):
            return
        served = serve_issued(self.session, self.case_id, actor=self.actor, served_on=self.today, now=self.now)
        after = self.stored()
        assert after.state is before.state and len(after.events) == len(before.events) + len(served)
        for d in after.deadlines:
            if d["status"] == "awaiting_service":
                assert d["start_on"] is None and d["due_on"] is None
        waiting = {d["id"] for d in before.deadlines if d["status"] == "awaiting_service"}
        for d in after.deadlines:
            if d["id"] in waiting and d["status"] == "open":
                assert d["start_on"] == self.today and d["due_on"] > self.today

    @rule(trigger=st.sampled_from([name for name, spec in TRIGGERS.items() if spec.required]), data=st.data())
    def spoilt_inputs(self, trigger, data):
        """A required input dropped, blank, or a date after the business day: refused, nothing stored."""
        before = self.stored()
        inputs = dict(data.draw(valid_inputs(trigger, before.facts, self.today)))
        field = data.draw(st.sampled_from(TRIGGERS[trigger].required))
        spoil = data.draw(st.sampled_from(["drop", "blank", "future"]))
        kind = next(f.kind for f in TRIGGERS[trigger].fields if f.name == field)
        if spoil == "drop":
            del inputs[field]
        elif spoil == "blank":
            inputs[field] = "  "
        elif kind == "date":
            inputs[field] = (self.today + dt.timedelta(days=data.draw(st.integers(1, 3)))).isoformat()
        else:
            inputs[field] = None
        allowed = trigger in self.offered()
        try:
            fire_trigger(self.session, self.case_id, trigger, inputs, actor=self.actor, now=self.now,
                         expected_version=before.version)
        except ValidationFailed as invalid:
            assert allowed and invalid.field == field, (trigger, field, invalid.message)
        except NotAllowed:
            assert not allowed
        else:
            raise AssertionError(f"{trigger} accepted a spoilt {field} ({spoil})")
        assert self.stored() == before

    @rule(trigger=st.sampled_from(list(TRIGGERS)), data=st.data())
    def stale_version(self, trigger, data):
        """A form read at another version is refused whatever it asks, even a step that would be allowed."""
        before = self.stored()
        stale = data.draw(st.integers(0, before.version + 2).filter(lambda v: v != before.version))
        inputs = data.draw(valid_inputs(trigger, before.facts, self.today))
        try:
            fire_trigger(self.session, self.case_id, trigger, inputs, actor=self.actor, now=self.now,
                         expected_version=stale)
        except Conflict as conflict:
            assert conflict.details == {"expected_version": stale, "current_version": before.version}
        else:
            raise AssertionError(f"{trigger} at stale version {stale} (current {before.version}) was accepted")
        assert self.stored() == before

    def offered(self) -> list[str]:
        self.session.expire_all()
        case = self.session.get(Case, self.case_id)
        return [o.trigger for o in case_options(self.session, case, now=self.now) if o.allowed]

    def attempt(self, trigger, data):
        """Fire with valid inputs at the current version: either one whole step is stored, or nothing is."""
        before = self.stored()
        case = self.session.get(Case, self.case_id)
        option = {o.trigger: o for o in case_options(self.session, case, now=self.now)}[trigger]
        inputs = data.draw(valid_inputs(trigger, before.facts, self.today))
        try:
            result = fire_trigger(self.session, self.case_id, trigger, inputs, actor=self.actor, now=self.now,
                                  expected_version=before.version)
        except NotAllowed as refused:
            # The button was greyed out with the same reason the refusal gives.
            assert not option.allowed and refused.message == option.reason, (option, refused.message)
            if before.case["closed_at"] is not None:
                assert "不再接受" in refused.message
            assert self.stored() == before
            return
        after = self.stored()
        assert option.allowed and before.case["closed_at"] is None
        assert after.state is option.dest

        # One version, one audit event, earlier events untouched.
        assert after.version == before.version + 1
        assert len(after.events) == len(before.events) + 1 and after.events[:-1] == before.events
        new = after.events[-1]
        assert (new["id"], new["seq"], new["action"], new["trigger"]) == (
            result.event.id, len(before.events) + 1, f"case.{trigger}", trigger)
        assert (new["from_state"], new["to_state"]) == (before.state.value, after.state.value)
        assert new["details"]["business_date"] == self.today.isoformat()
        assert after.case["last_event_seq"] == new["seq"]

        # No stage skipped.
        if after.state is not before.state:
            allowed = NEXT[before.state] | (EXITS if before.state in ACTIVE_STATES else set())
            assert after.state in allowed, (before.state, trigger, after.state)
        assert after.facts.violations == before.facts.violations

        # Deadlines: earlier ones stay, except pending ones this event closed, or a waiting one it started; new
        # ones start today or earlier, or wait for a service (待送达: no start, no due date).
        old = {d["id"]: d for d in before.deadlines}
        for d in after.deadlines:
            if d["id"] not in old:
                assert d["opened_event_id"] == new["id"] and d["status"] in ("open", "awaiting_service")
                if d["status"] == "open":
                    assert d["start_on"] <= self.today and d["start_on"] < d["due_on"], d
                else:
                    assert d["start_on"] is None and d["due_on"] is None, d
            elif d != old[d["id"]] and d["status"] == "open":
                # a step that records the receipt itself (the court's service of the 支付令 on the debtor)
                assert old[d["id"]]["status"] == "awaiting_service" and d["start_on"] <= self.today < d["due_on"] + \
                    dt.timedelta(days=400)
            elif d != old[d["id"]]:
                was = old[d["id"]]["status"]
                assert was in ("open", "awaiting_service") and d["status"] in ("met", "superseded")
                assert d["closed_event_id"] == new["id"]
                assert {**d, "status": was, "closed_event_id": None, "closed_at": None} == old[d["id"]]
        assert len(after.deadlines) == len(before.deadlines) + len([d for d in result.started if d.id not in old])

        # The notices the step drafts, as drafts tied to its event; earlier notices untouched.
        assert after.notices[:len(before.notices)] == before.notices
        drafted = after.notices[len(before.notices):]
        assert tuple(n["notice_type"] for n in drafted) == TRIGGERS[trigger].notices
        assert all(n["status"] == "draft" and n["drafted_event_id"] == new["id"] and n["number"] is None
                   for n in drafted)

    # ------------------------------------------------------------------------------------------ the invariants

    @invariant()
    def the_stored_case_holds_together(self):
        """After every step, read back once and check each property below against the rows."""
        stored = self.stored()
        self.audit_trail_is_complete_and_gapless(stored)
        self.no_stage_is_skipped(stored)
        self.replay_reproduces_the_stored_case()
        self.deadlines_run_only_on_open_cases(stored)
        self.closed_cases_accept_nothing(stored)

    def audit_trail_is_complete_and_gapless(self, stored: Stored):
        events = stored.events
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["action"] == "case.opened"
        assert all(e["trigger"] or e["action"] in ("notice.draft_updated", "notice.approved", "notice.issued",
                                                   "notice.served") for e in events[1:])
        # Every operation writes one event and bumps the version once: the version counts the events exactly.
        assert stored.version == len(events) == stored.case["last_event_seq"]
        assert len(stored.notices) == sum(len(TRIGGERS[e["trigger"]].notices) for e in events[1:] if e["trigger"])
        assert stored.state.value == events[-1]["to_state"]

    def no_stage_is_skipped(self, stored: Stored):
        """The stored path: each event starts where the last ended; each stage change is to a next stage or an exit."""
        events = stored.events
        path = [S.REGISTERED]
        for previous, current in zip(events, events[1:]):
            assert current["from_state"] == previous["to_state"]
            source, dest = State(current["from_state"]), State(current["to_state"])
            if dest is not source:
                assert dest in NEXT[source] | (EXITS if source in ACTIVE_STATES else set()), (source, dest)
                path.append(dest)
        ladder = [s for s in path if s not in EXITS and s is not S.CREDIT_REPAIRED]
        assert path[:len(ladder)] == ladder and path[len(ladder):] in (
            [], [S.RECTIFIED], [S.WITHDRAWN], [S.RECTIFIED, S.CREDIT_REPAIRED]), path

    def replay_reproduces_the_stored_case(self):
        case = self.session.get(Case, self.case_id)
        assert replay_case(self.session, self.case_id) == stored_replay(self.session, case)

    def deadlines_run_only_on_open_cases(self, stored: Stored):
        running = [d["rule_key"] for d in stored.deadlines if d["status"] == "open"]
        assert (stored.case["closed_at"] is not None) == is_closed(stored.facts)
        if stored.case["closed_at"] is not None:
            assert running == [], running
            assert not any(d["status"] == "awaiting_service" for d in stored.deadlines)
        else:
            # the stage's period(s) and a bargaining request's 20 days may run together, never one rule twice
            assert len(set(running)) == len(running), running

    def closed_cases_accept_nothing(self, stored: Stored):
        if stored.case["closed_at"] is None or self.checked_closed:
            return
        self.checked_closed = True  # once per case: the random rules keep trying afterwards as well
        for trigger in TRIGGERS:
            try:
                fire_trigger(self.session, self.case_id, trigger, VALID_INPUTS[trigger], actor=self.actor,
                             now=self.now + dt.timedelta(days=400), expected_version=stored.version)
            except NotAllowed as refused:
                assert "不再接受" in refused.message
            else:
                raise AssertionError(f"closed case accepted {trigger}")
        assert self.stored() == stored


def test_random_walks_through_the_database(session, make_case, supervisor, send_letters):
    run_state_machine_as_test(
        lambda: CaseWalk(session, make_case, supervisor, send_letters),
        settings=settings(max_examples=40, stateful_step_count=25, deadline=None, report_multiple_bugs=False,
                          suppress_health_check=[HealthCheck.too_slow]))
