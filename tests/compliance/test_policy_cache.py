"""The policy cache: one Policy per holiday-data version, seen alike by every worker that shares the database."""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.documents import DocumentStore
from compliance.models import Jurisdiction, JurisdictionLevel, Role, User
from compliance.operations import holidays
from compliance.operations.cases import fire_trigger, open_case
from compliance.operations.holidays import enter_holiday_year
from compliance.operations.users import create_user
from compliance.policy import forget_policies, holiday_data_version, load_policy
from compliance.seed import add_jurisdiction
from compliance.testing import CLIMB_DAY, invented_letterhead, issue_drafts, new_enterprise, refuse_after_visit
from tests.compliance.test_holidays import SOURCE, beijing, days_2027
from workflows.calendar import DayKind, HolidayOverride

NEW_YEAR_2027 = dt.date(2027, 1, 4)   # a Monday: a working day on weekends alone, 元旦 in the 2027 arrangement


@pytest.fixture
def one_process(monkeypatch):
    """Entering holidays here does not empty this process's cache: as for a worker in another process, only the
    holiday-data version can tell the cached policy is stale."""
    monkeypatch.setattr(holidays, "forget_policies", lambda: None)


def test_a_second_load_without_changes_returns_the_cached_policy(session):
    first = load_policy(session)
    assert load_policy(session) is first
    # Other rules are another policy (the calendar is the same data).
    longer = load_policy(session, {"opinion_reply": {"period": 20}})
    assert longer is not first and longer.rules["opinion_reply"].period == 20
    assert load_policy(session, {"opinion_reply": {"period": 20}}) is longer
    assert load_policy(session) is first


def test_entering_holidays_gives_a_new_policy_with_the_new_calendar(session, city_admin, one_process):
    before = load_policy(session)
    assert not before.calendar.is_known_year(2027) and before.calendar.is_working_day(NEW_YEAR_2027)

    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))

    after = load_policy(session)   # same transaction, not committed: it reads its own writes
    assert after is not before
    assert after.calendar.is_known_year(2027) and after.calendar.holiday_name(NEW_YEAR_2027) == "元旦"
    assert before.calendar.is_working_day(NEW_YEAR_2027)   # a cached policy never changes under its users
    assert load_policy(session) is after


def test_a_day_entered_again_changes_the_version_though_the_count_stays(session, city_admin, one_process):
    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))
    entered = load_policy(session)
    version = holiday_data_version(session)
    # The State Council corrects one day: same days, so the same number of rows; only entered_at moves.
    corrected = [HolidayOverride(d.day, DayKind.WORKDAY, "元旦调休") if d.day == NEW_YEAR_2027 else d
                 for d in days_2027()]
    enter_holiday_year(session, year=2027, days=corrected, source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-23"))

    assert holiday_data_version(session)[0] == version[0]   # the count of days did not change …
    assert holiday_data_version(session) != version          # … the version did
    again = load_policy(session)
    assert again is not entered and again.calendar.is_working_day(NEW_YEAR_2027)


def test_entering_holidays_in_this_process_drops_its_cached_policies(session, city_admin):
    """An entry rolled back leaves its version unused: a later entry stamped alike must not meet its policy."""
    before = load_policy(session)
    version = holiday_data_version(session)
    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))
    session.rollback()
    assert holiday_data_version(session) == version
    after = load_policy(session)   # built afresh, from the data as it is again
    assert after is not before and not after.calendar.is_known_year(2027)


def _worker(url):
    """A worker process of its own: an engine (its own connections) and a session factory."""
    engine = make_engine(url)
    return engine, sessionmaker(bind=engine, expire_on_commit=False)


def test_another_worker_sees_holidays_entered_elsewhere(isolated_database_url, one_process):
    """Two workers on one database: B's cached policy goes stale the moment A's entry commits, not before."""
    engine_a, worker_a = _worker(isolated_database_url)
    engine_b, worker_b = _worker(isolated_database_url)
    try:
        with worker_a() as s:
            city = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
            admin_id = create_user(s, login="city-holidays", name="市级管理员", password="State Council notice 2027",
                                   jurisdiction=city, roles={Role.ADMIN}).id
            s.commit()
        with worker_b() as s:
            cached = load_policy(s, {})
        with worker_b() as s:
            assert load_policy(s, {}) is cached
            assert not cached.calendar.is_known_year(2027)

        with worker_a() as a:
            enter_holiday_year(a, year=2027, days=days_2027(), source=SOURCE, actor=a.get(User, admin_id),
                               now=beijing("2026-12-22"))
            if engine_b.dialect.name == "postgresql":   # (SQLite lets no other transaction begin meanwhile)
                with worker_b() as s:   # A has not committed: B still works with the calendar it knows
                    assert load_policy(s, {}) is cached
            a.commit()

        with worker_b() as s:
            fresh = load_policy(s, {})
        assert fresh is not cached
        assert fresh.calendar.is_known_year(2027) and fresh.calendar.holiday_name(NEW_YEAR_2027) == "元旦"
        with worker_b() as s:
            assert load_policy(s, {}) is fresh
    finally:
        engine_a.dispose()
        engine_b.dispose()


def test_threads_share_the_cache_safely(database_url):
    """Many threads loading while the cache is emptied now and then: no errors, one policy per version."""
    engine, factory = _worker(database_url)
    stop = threading.Event()

    def forgetful():
        while not stop.is_set():
            forget_policies()
            time.sleep(0.001)

    def loads(_):
        seen = []
        with factory() as s:
            for _ in range(30):
                seen.append(load_policy(s, {}))
                s.rollback()
        return seen

    try:
        clearing = threading.Thread(target=forgetful)
        clearing.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                results = [p for seen in pool.map(loads, range(8)) for p in seen]
        finally:
            stop.set()
            clearing.join()
        assert all(p.rules == results[0].rules and p.calendar.is_known_year(2026) for p in results)
        with factory() as s:
            settled = load_policy(s, {})
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(p is settled for seen in pool.map(loads, range(8)) for p in seen)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_step_that_waited_for_the_lock_reads_what_the_holder_committed(isolated_database_url, tmp_path):
    """The step reads the policy version and the issued letters in the statement that locks the case. Here the
    chair issues the opinion while holding the case: the step waits, and must see the letter once it gets the
    lock (the row it locked is newer than the statement's snapshot, so it reads again)."""
    engine, factory = _worker(isolated_database_url)
    store = DocumentStore(tmp_path)
    now = beijing(CLIMB_DAY)
    tag = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        stack.callback(engine.dispose)
        with factory() as s:
            chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
            street = add_jurisdiction(s, code=f"P{tag}", name=f"缓存街道{tag}", level=JurisdictionLevel.STREET,
                                      parent=chaoyang, federation_name="缓存测试总工会", issuer_code=f"京缓{tag}工监")
            s.flush()
            street.letterhead = invented_letterhead(street)
            supervisor = create_user(s, login=f"p{tag}_sup", name="监督员", password="waiting for the lock",
                                     jurisdiction=street, roles={Role.SUPERVISOR})
            chair = create_user(s, login=f"p{tag}_chair", name="主任", password="waiting for the lock",
                                jurisdiction=chaoyang, roles={Role.APPROVER})
            enterprise = new_enterprise(s, street, f"北京缓存测试{tag}有限公司", monthly_payroll=Decimal(1))
            case_id = open_case(s, enterprise=enterprise, violations=["no_union"], opened_by=supervisor,
                                supervisors=[supervisor], now=now).id
            fire_trigger(s, case_id, "record_visit", {"visited_on": CLIMB_DAY, "findings": "未建会",
                                                      "supervisors": ["王芳", "李强"]}, actor=supervisor, now=now)
            s.commit()
            issue_drafts(s, case_id, approver=chair, now=now, store=store)   # the visit notice goes out
            refuse_after_visit(s, case_id, actor=supervisor, now=now)  # the visit letter's period has not run
            fire_trigger(s, case_id, "issue_opinion", {}, actor=supervisor, now=now)
            s.commit()
            supervisor_id, chair_id = supervisor.id, chair.id

        holder = factory()
        stack.callback(holder.close)
        issue_drafts(holder, case_id, approver=holder.get(User, chair_id), now=now, store=store)  # holds the case

        def refuse():
            with factory() as s:
                result = fire_trigger(s, case_id, "record_refusal", {"refused_on": CLIMB_DAY, "summary": "拒绝建会"},
                                      actor=s.get(User, supervisor_id), now=now)
                s.commit()
                return result.event.to_state

        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(refuse)
            try:
                with engine.connect() as watcher:   # until the step is queued behind the holder's lock
                    deadline = time.monotonic() + 20
                    while not watcher.scalar(text("SELECT count(*) FROM pg_stat_activity"
                                                  " WHERE wait_event_type = 'Lock' AND datname = current_database()")):
                        assert time.monotonic() < deadline and not waiting.done(), (
                            f"the step did not wait for the lock: {waiting.exception() if waiting.done() else 'timeout'}")
                        time.sleep(0.02)
                holder.commit()
            finally:
                holder.close()   # (on failure: rolls back, so the step is not left waiting)
            assert waiting.result(timeout=30) == "opinion_issued"
