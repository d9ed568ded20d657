"""Two requests racing with one Idempotency-Key, on a real database with real commits: one change, one answer.

On PostgreSQL the second request's INSERT of the key waits on the unique index for the first transaction and then
reads its stored answer; on SQLite BEGIN IMMEDIATE serialises the two. Either way the case moves once.
"""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.identifiers import uscc_check_char
from compliance.models import CaseEvent, Enterprise, IdempotencyKey, Jurisdiction, JurisdictionLevel, Role
from compliance.operations import tokens
from compliance.operations.cases import open_case
from compliance.operations.users import create_user
from compliance.seed import add_jurisdiction
from compliance.testing import VISIT, invented_letterhead

RACERS = 4


@pytest.fixture
def racing_app(isolated_database_url, tmp_path):
    from compliance import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": isolated_database_url, "SECRET_KEY": "race",
                      "DOCUMENT_STORE": str(tmp_path / "documents"),
                      "ENGINE_OPTIONS": {"pool_size": RACERS + 2} if "postgresql" in isolated_database_url else {}})
    engine = make_engine(isolated_database_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    now = dt.datetime.now(dt.timezone.utc)
    with factory() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        tag = uuid.uuid4().hex[:8]
        street = add_jurisdiction(s, code=f"R{tag}", name=f"幂等街道{tag}", level=JurisdictionLevel.STREET,
                                  parent=chaoyang, federation_name="幂等测试总工会", issuer_code=f"京幂{tag}工监")
        street.letterhead = invented_letterhead(street)
        user = create_user(s, login=f"r{tag}", name="幂等", password="concurrency!", jurisdiction=street,
                           roles={Role.SUPERVISOR})
        body = f"9111010{uuid.uuid4().int % 10**10:010d}"
        enterprise = Enterprise(uscc=body + uscc_check_char(body), name="北京幂等测试有限公司", jurisdiction=street,
                                address="北京市朝阳区建国路1号", legal_representative="陈建国",
                                monthly_payroll=Decimal("1"))
        s.add(enterprise)
        s.flush()
        case = open_case(s, enterprise=enterprise, violations=["no_union"], opened_by=user, supervisors=[user],
                         now=now)
        _token, secret = tokens.create_token(s, actor=user, name="race", now=now)
        s.commit()
        case_id = case.id
    yield app, factory, case_id, secret
    engine.dispose()
    app.extensions["compliance.db"].engine.dispose()


def test_one_key_racing_from_several_clients_changes_the_case_once(racing_app):
    app, factory, case_id, secret = racing_app
    barrier = threading.Barrier(RACERS, timeout=30)
    answers: list = [None] * RACERS
    body = {"trigger": "record_visit", "inputs": VISIT}
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "race-" + uuid.uuid4().hex}

    def racer(i):
        client = app.test_client()
        barrier.wait()
        res = client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers)
        answers[i] = (res.status_code, res.get_json(force=True))

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not t.is_alive() for t in threads)
    assert {a[0] for a in answers} == {201}, answers
    assert all(a[1] == answers[0][1] for a in answers)
    with factory() as s:
        steps = s.scalar(select(func.count()).select_from(CaseEvent)
                         .where(CaseEvent.case_id == case_id, CaseEvent.trigger == "record_visit"))
        keys = s.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == headers["Idempotency-Key"]))
    assert steps == 1 and keys == 1
