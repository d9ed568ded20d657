"""Existing databases migrate (0006, issue 10): cases taken under the old rules keep their history, replay, and go on
under the new ones.

tests/compliance/data/pre_0006.json holds rows written by the code before 0006 (see make_pre_0006.py there): six
cases, from a visit to a rectified listing, with their events, deadlines and notices. They are loaded into a
database at revision 0005, which is then upgraded to head.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from compliance import create_app
from compliance.migrate import upgrade

DATA = Path(__file__).parent / "data" / "pre_0006.json"
BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, tzinfo=BEIJING).astimezone(dt.timezone.utc)


def _value(column: sa.Column, value):
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime):
        moment = dt.datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if isinstance(column.type, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(column.type, sa.Numeric) and not isinstance(column.type, (sa.Integer, sa.Float)):
        return Decimal(value)
    return value


def load_old_rows(url: str) -> None:
    """The fixture's rows into a database at revision 0005, in foreign-key order."""
    upgrade(url, "0005")
    rows = json.loads(DATA.read_text(encoding="utf-8"))
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            for row in rows.get(table.name, []):
                conn.execute(table.insert().values({k: _value(table.c[k], v) for k, v in row.items()}))
        if engine.dialect.name == "postgresql":   # ids were given: move the sequences past them
            for table in meta.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and rows.get(table.name):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                         f"(SELECT max(id) FROM {table.name}))"))
    engine.dispose()


@pytest.fixture
def migrated(empty_database_url, tmp_path):
    load_old_rows(empty_database_url)
    upgrade(empty_database_url)
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path),
                      "TESTING": True})
    with app.app_context():
        from compliance.db import db
        yield db.session
        db.session.rollback()
        db.session.remove()


def cases_by_name(session):
    from compliance.models import Case, Enterprise
    return {e.name[4]: c for c, e in session.execute(
        select(Case, Enterprise).join(Enterprise, Enterprise.id == Case.enterprise_id).order_by(Case.id))}


def test_every_old_case_replays_after_the_upgrade(migrated):
    from compliance.operations.cases import replay_case, stored_replay
    cases = cases_by_name(migrated)
    assert set(cases) == set("甲乙丙丁戊己")
    for case in cases.values():
        assert replay_case(migrated, case.id) == stored_replay(migrated, case), case.reference


def test_old_rows_get_the_new_columns(migrated):
    from compliance.models import Deadline
    cases = cases_by_name(migrated)
    # the visit's due date moved onto the case, where the opinion's guard reads it: Tue 3 Nov + 30 = Thu 3 Dec
    assert cases["甲"].visit_rectification_due == dt.date(2026, 12, 3)
    natures = {d.rule_key: d.nature for d in migrated.scalars(select(Deadline))}
    assert natures["opinion_reply"] == "committee" and natures["listing_followup"] == "diary"
    assert natures["recommendation_reply"] == natures["payment_order"] == "statutory"
    assert not any(d.status == "awaiting_service" for d in migrated.scalars(select(Deadline)))


def test_old_cases_go_on_under_the_new_rules(migrated):
    from compliance.errors import NotAllowed
    from compliance.models import User
    from compliance.operations.cases import fire_trigger, replay_case, stored_replay
    sup = migrated.scalar(select(User).where(User.login == "old.sup"))
    cases = cases_by_name(migrated)
    # 甲: the old visit period (to 3 Dec, from the visit) still holds the opinion back
    with pytest.raises(NotAllowed, match="2026年12月3日"):
        fire_trigger(migrated, cases["甲"].id, "issue_opinion", {}, actor=sup, now=NOW)
    # 乙: the opinion's 15 natural days from its issue (Wed 4 Nov) ended Thu 19 Nov: the recommendation may go
    step = fire_trigger(migrated, cases["乙"].id, "issue_recommendation", {}, actor=sup, now=NOW)
    assert [d.rule_key for d in step.started] == ["recommendation_followup"]
    # 丙: refused bargaining at the recommendation: listing now needs the government's order to correct first
    with pytest.raises(NotAllowed, match="责令改正"):
        fire_trigger(migrated, cases["丙"].id, "request_listing", {}, actor=sup, now=NOW)
    fire_trigger(migrated, cases["丙"].id, "record_correction_order",
                 {"ordered_on": "2026-10-09", "authority": "北京市朝阳区人民政府", "reference": "朝政责改〔2026〕2号",
                  "correction_days": "30"}, actor=sup, now=NOW)
    fire_trigger(migrated, cases["丙"].id, "request_listing", {}, actor=sup, now=NOW)   # lapsed on Mon 9 Nov
    # 丁: the court's stages continue from the old application
    with pytest.raises(NotAllowed, match="递交法院"):
        fire_trigger(migrated, cases["丁"].id, "record_court_acceptance", {"accepted_on": "2026-08-10", "court": "朝阳法院"},
                     actor=sup, now=NOW)
    # 戊: listed before the listing date was kept: the old wait, 6 months from rectification on 1 Jul → Fri 1 Jan
    # 2027, a holiday on no published calendar yet, so provisional
    with pytest.raises(NotAllowed, match="2027年1月1日"):
        fire_trigger(migrated, cases["戊"].id, "repair_credit", {}, actor=sup, now=NOW)
    for case in cases.values():
        assert replay_case(migrated, case.id) == stored_replay(migrated, case), case.reference


def test_an_old_letter_issued_after_the_upgrade_waits_for_service(migrated, tmp_path):
    """甲's visit letter went out before; an opinion drafted and issued now prints its period in words."""
    from compliance.documents import DocumentStore
    from compliance.models import Deadline, User
    from compliance.operations.cases import fire_trigger, replay_case, stored_replay
    from compliance.operations.notices import approve_notice, issue_notice
    sup = migrated.scalar(select(User).where(User.login == "old.sup"))
    chair = migrated.scalar(select(User).where(User.login == "old.chair"))
    case = cases_by_name(migrated)["甲"]
    fire_trigger(migrated, case.id, "record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝整改"}, actor=sup,
                 now=NOW)
    [opinion] = fire_trigger(migrated, case.id, "issue_opinion", {}, actor=sup, now=NOW).notices
    approve_notice(migrated, opinion.id, approver=chair, now=NOW)
    issue_notice(migrated, opinion.id, actor=chair, now=NOW, store=DocumentStore(str(tmp_path)))
    [row] = migrated.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                    Deadline.rule_key == "opinion_reply")).all()
    assert (row.status, row.due_on) == ("awaiting_service", None)
    assert opinion.snapshot["reply_period"] == "自收到本意见书之日起15个工作日内"
    assert replay_case(migrated, case.id) == stored_replay(migrated, case)


def test_the_downgrade_returns_to_0005(empty_database_url):
    from compliance.migrate import alembic_config
    from alembic import command
    load_old_rows(empty_database_url)
    upgrade(empty_database_url)
    command.downgrade(alembic_config(empty_database_url), "0005")
    engine = sa.create_engine(empty_database_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("cases")}
        assert "visit_rectification_due" not in columns and "notice_services" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM case_events")) == 83
    finally:
        engine.dispose()
