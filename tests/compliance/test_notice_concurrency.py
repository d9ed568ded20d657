"""PostgreSQL: 200 notices issued at once by many clients get 200 distinct numbers with no gap."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.documents import DocumentStore
from compliance.models import Jurisdiction, JurisdictionLevel, Notice, Role, User
from compliance.operations.notices import issue_notice
from compliance.operations.users import create_user
from compliance.seed import add_jurisdiction
from compliance.testing import approved_letters, invented_letterhead

pytestmark = pytest.mark.postgres

NOTICES = 200
CLIENTS = 16
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _approved_opinions(factory, n):
    with factory() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        tag = uuid.uuid4().hex[:8]
        street = add_jurisdiction(s, code=f"N{tag}", name=f"编号街道{tag}", level=JurisdictionLevel.STREET,
                                  parent=chaoyang, federation_name="编号测试总工会", issuer_code=f"京编{tag[:4]}工监")
        street.letterhead = invented_letterhead(street)
        drafter = create_user(s, login=f"d{tag}", name="起草人", password="numbering!", jurisdiction=street,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login=f"a{tag}", name="审批人", password="numbering!", jurisdiction=street,
                            roles={Role.APPROVER})
        ids = approved_letters(s, jurisdiction=street, drafter=drafter, approver=chair, count=n, now=NOW,
                               name="北京编号测试{}有限公司")
        s.commit()
        return street, drafter.id, ids


def test_concurrent_issues_take_distinct_gapless_numbers(isolated_database_url, tmp_path):
    engine = make_engine(isolated_database_url, pool_size=CLIENTS + 4)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        street, drafter_id, ids = _approved_opinions(factory, NOTICES)
        store = DocumentStore(tmp_path)

        def issue(notice_id):
            with factory() as s:
                notice = issue_notice(s, notice_id, actor=s.get(User, drafter_id), now=NOW, store=store,
                                      public_base="http://127.0.0.1:5000")
                s.commit()
                return notice.number

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            numbers = list(pool.map(issue, ids, timeout=600))
        with factory() as s:
            stored = s.scalars(select(Notice.number).where(Notice.id.in_(ids))).all()
    finally:
        engine.dispose()
    pattern = re.compile(rf"^{re.escape(street.issuer_code)}意〔2026〕(\d+)号$")
    seqs = sorted(int(pattern.match(n).group(1)) for n in numbers)
    assert seqs == list(range(1, NOTICES + 1))
    assert sorted(stored) == sorted(numbers)
