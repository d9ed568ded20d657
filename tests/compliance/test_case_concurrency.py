"""PostgreSQL: many supervisors firing at one case at once. Exactly one wins each state; the trail stays whole."""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.errors import Conflict
from compliance.documents import DocumentStore
from compliance.models import Case, CaseEvent, Deadline, Enterprise, Jurisdiction, JurisdictionLevel, Role, User
from compliance.operations.cases import fire_trigger, open_case, replay_case, stored_replay
from compliance.operations.funds import record_funds_facts
from compliance.operations.users import create_user
from compliance.seed import add_jurisdiction
from compliance.testing import CLIMB_DAY, UNPAID_FUNDS_CLIMB, invented_letterhead, issue_drafts

pytestmark = pytest.mark.postgres

CLIENTS = 20
ROUNDS = 10
BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
CLIMB = UNPAID_FUNDS_CLIMB
#: What the other clients try at the same moment: a different, also allowed, step.
RIVALS = [("withdraw", {"reason": "企业注销"}),
          ("rectify", {"action_taken": "已整改", "rectified_on": CLIMB_DAY, "attachment_ref": "x.pdf"})]


@pytest.fixture
def committed(isolated_database_url):
    """A real engine (not the rolled-back test session): concurrency needs commits."""
    engine = make_engine(isolated_database_url, pool_size=CLIENTS + 5)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        tag = uuid.uuid4().hex[:8]
        street = add_jurisdiction(s, code=f"C{tag}", name=f"并发街道{tag}", level=JurisdictionLevel.STREET,
                                  parent=chaoyang, federation_name="并发测试总工会", issuer_code=f"京并{tag}工监")
        street.letterhead = invented_letterhead(street)
        users = [create_user(s, login=f"c{tag}_{i}", name=f"并发{i}", password="concurrency!", jurisdiction=street,
                             roles={Role.SUPERVISOR}) for i in range(CLIENTS)]
        chair = create_user(s, login=f"c{tag}_chair", name="主任", password="concurrency!", jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        s.commit()
        yield factory, street.id, [u.id for u in users], chair.id
    engine.dispose()


def _send_letters(factory, case_id, chair_id, store):
    """Between rungs the chair approves and issues the step's letters (single-threaded, like the office)."""
    with factory() as s:
        issue_drafts(s, case_id, approver=s.get(User, chair_id), now=NOW, store=store)
        s.commit()


def _new_case(factory, street_id, user_id, n):
    from compliance.identifiers import uscc_check_char
    with factory() as s:
        body = f"9111010{uuid.uuid4().int % 10**10:010d}"
        e = Enterprise(uscc=body + uscc_check_char(body), name=f"北京并发测试{n}有限公司", jurisdiction_id=street_id,
                       address="北京市朝阳区建国路1号", legal_representative="陈建国", monthly_payroll=Decimal("1"))
        s.add(e)
        s.flush()
        s.refresh(e)
        case = open_case(s, enterprise=e, violations=["unpaid_funds", "no_union"], opened_by=s.get(User, user_id),
                         now=NOW)
        # No union: funds are owed from the day the higher union started helping (BJM 55(3)), so the payment
        # demand has months to claim.
        record_funds_facts(s, case.id, actor=s.get(User, user_id), now=NOW, has_union=False,
                           union_help_started_on=(NOW - dt.timedelta(days=400)).date())
        s.commit()
        return case.id


def _race(factory, case_id, user_ids, attempts):
    """All clients read the same version, wait at a barrier, then fire together. Returns (successes, conflicts)."""
    barrier = threading.Barrier(len(attempts))

    def client(i):
        trigger, inputs = attempts[i]
        with factory() as s:
            version = s.get(Case, case_id).version
            s.rollback()   # read, then let go: like a form rendered earlier
            barrier.wait(timeout=30)
            try:
                fire_trigger(s, case_id, trigger, inputs, actor=s.get(User, user_ids[i]), now=NOW,
                             expected_version=version)
                s.commit()
                return ("ok", trigger)
            except Conflict:
                s.rollback()
                return ("conflict", trigger)

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        outcomes = list(pool.map(client, range(len(attempts)), timeout=120))
    return [t for o, t in outcomes if o == "ok"], [t for o, t in outcomes if o == "conflict"]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_winner_per_state_and_a_whole_audit_trail(committed, round_, tmp_path):
    factory, street_id, user_ids, chair_id = committed
    store = DocumentStore(tmp_path)
    case_id = _new_case(factory, street_id, user_ids[0], round_)
    for position, (trigger, inputs) in enumerate(CLIMB):
        # Most clients take the next rung; a few try to close the case instead. Exactly one may win.
        attempts = [(trigger, inputs)] * (CLIENTS - 2) + RIVALS if position < len(CLIMB) - 1 else [(trigger, inputs)] * CLIENTS
        wins, conflicts = _race(factory, case_id, user_ids, attempts)
        assert len(wins) == 1, (position, wins)
        assert len(conflicts) == len(attempts) - 1
        if wins[0] != trigger:   # a rival closed the case: the climb ends here, correctly
            break
        _send_letters(factory, case_id, chair_id, store)
    with factory() as s:
        case = s.get(Case, case_id)
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert case.last_event_seq == len(events) and case.version == len(events)
        # Each successful step is there exactly once, in the order the states allow.
        assert [e.from_state for e in events[1:]] == [e.to_state for e in events[:-1]]
        open_deadlines = s.scalars(select(Deadline).where(Deadline.case_id == case_id,
                                                          Deadline.status == "open")).all()
        assert len(open_deadlines) <= 1
        assert replay_case(s, case_id) == stored_replay(s, case)
