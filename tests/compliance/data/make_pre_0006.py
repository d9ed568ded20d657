"""Write pre_0006.json: cases taken by the code before migration 0006 (issue 10), as rows of the 0005 schema.

Run it against the code of that time (commit 43ceb06), not the current one:

    mkdir /tmp/pre0006 && git archive 43ceb06 | tar -x -C /tmp/pre0006
    PYTHONPATH=/tmp/pre0006 python tests/compliance/data/make_pre_0006.py tests/compliance/data/pre_0006.json

tests/compliance/test_case_migration.py loads the rows into a database at revision 0005, upgrades it, and checks
that every case replays and goes on under the new rules.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=BEIJING).astimezone(dt.timezone.utc)


def build(url: str, store_dir: str) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from compliance.db import make_engine
    from compliance.documents import DocumentStore
    from compliance.models import Jurisdiction, Role
    from compliance.operations.cases import fire_trigger, open_case
    from compliance.operations.users import create_user
    from compliance.testing import issue_drafts, new_enterprise, prepare_database
    prepare_database(url)
    engine = make_engine(url)
    store = DocumentStore(store_dir)
    with sessionmaker(bind=engine)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        sup = create_user(s, login="old.sup", name="旧案监督员", password="old-cases-2026-pass", jurisdiction=chaoyang,
                          roles={Role.SUPERVISOR})
        chair = create_user(s, login="old.chair", name="旧案主任", password="old-cases-2026-pass",
                            jurisdiction=chaoyang, roles={Role.APPROVER})

        def case(name, violations, opened):
            e = new_enterprise(s, chaoyang, name, monthly_payroll=Decimal("500000.00"))
            return open_case(s, enterprise=e, violations=violations, opened_by=sup, supervisors=[sup], now=at(opened))

        def step(c, trigger, day, inputs=None, send=True):
            fire_trigger(s, c.id, trigger, inputs or {}, actor=sup, now=at(day))
            if send:
                issue_drafts(s, c.id, approver=chair, now=at(day, 15), store=store)

        def visit(c, day):
            step(c, "record_visit", day, {"visited_on": day, "findings": "旧案走访", "supervisors": ["王芳", "李强"]})

        # A. visited: the visit's 30 days (from the visit) run to Thu 3 Dec.
        a = case("北京旧案甲有限公司", ["no_union"], "2026-11-02")
        visit(a, "2026-11-03")
        # B. opinion issued on Wed 4 Nov (drafted Mon 2 Nov): 15 natural days from the issue, Thu 19 Nov.
        b = case("北京旧案乙有限公司", ["no_union"], "2026-09-30")
        visit(b, "2026-10-01")
        step(b, "issue_opinion", "2026-11-02", send=False)
        issue_drafts(s, b.id, approver=chair, now=at("2026-11-04", 15), store=store)
        # C. refused bargaining at the recommendation (old: listing could follow directly).
        c = case("北京旧案丙有限公司", ["no_bargaining"], "2026-08-03")
        visit(c, "2026-08-04")
        step(c, "issue_opinion", "2026-09-07")
        step(c, "record_refusal", "2026-09-10", {"refused_on": "2026-09-10", "summary": "拒绝协商"}, send=False)
        step(c, "issue_recommendation", "2026-09-11")
        # D. unpaid funds before the court: the debtor's 15 days ran from our own application (old).
        d = case("北京旧案丁有限公司", ["unpaid_funds"], "2026-06-01")
        visit(d, "2026-06-02")
        step(d, "issue_opinion", "2026-07-06")
        step(d, "record_refusal", "2026-07-08", {"refused_on": "2026-07-08", "summary": "拒绝"}, send=False)
        step(d, "issue_recommendation", "2026-07-09")
        step(d, "demand_payment", "2026-08-03")
        step(d, "record_refusal", "2026-08-05", {"refused_on": "2026-08-05", "summary": "拒绝缴纳"}, send=False)
        step(d, "apply_payment_order", "2026-08-06")
        # E. listed after the court without a stated basis, rectified: 6 months from rectification (old).
        e = case("北京旧案戊有限公司", ["unpaid_funds"], "2026-03-02")
        visit(e, "2026-03-03")
        step(e, "issue_opinion", "2026-04-07")
        step(e, "record_refusal", "2026-04-08", {"refused_on": "2026-04-08", "summary": "拒绝"}, send=False)
        step(e, "issue_recommendation", "2026-04-09")
        step(e, "demand_payment", "2026-05-11")
        step(e, "record_refusal", "2026-05-12", {"refused_on": "2026-05-12", "summary": "拒绝缴纳"}, send=False)
        step(e, "apply_payment_order", "2026-05-13")
        step(e, "request_listing", "2026-06-15")
        step(e, "record_listing", "2026-06-30", {"authority": "北京市朝阳区人力资源和社会保障局",
                                                 "listed_on": "2026-06-29", "reference": "朝人社信〔2026〕9号"})
        step(e, "rectify", "2026-07-02", {"action_taken": "补缴经费", "rectified_on": "2026-07-01",
                                          "attachment_ref": "缴费凭证.pdf"}, send=False)
        # F. no union, listing requested straight from the recommendation (the old path).
        f = case("北京旧案己有限公司", ["no_union"], "2026-05-04")
        visit(f, "2026-05-06")
        step(f, "issue_opinion", "2026-06-08")
        step(f, "record_refusal", "2026-06-09", {"refused_on": "2026-06-09", "summary": "拒绝"}, send=False)
        step(f, "issue_recommendation", "2026-06-10")
        step(f, "request_listing", "2026-07-13")
        s.commit()
    engine.dispose()


def dump(url: str) -> dict:
    from sqlalchemy import MetaData, create_engine, select
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        used = {r[0] for r in conn.execute(select(meta.tables["enterprises"].c.jurisdiction_id))} | \
            {r[0] for r in conn.execute(select(meta.tables["users"].c.jurisdiction_id))} | \
            {r[0] for r in conn.execute(select(meta.tables["notices"].c.issuer_id))}
        jur = meta.tables["jurisdictions"]
        wanted = set()
        parents = dict(conn.execute(select(jur.c.id, jur.c.parent_id)).all())
        for j in used:
            while j is not None:
                wanted.add(j)
                j = parents[j]
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
            if table.name == "jurisdictions":
                rows = [r for r in rows if r["id"] in wanted]
            if rows:
                out[table.name] = rows
    engine.dispose()
    return out


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


if __name__ == "__main__":
    target = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/pre.sqlite3"
        build(url, f"{tmp}/store")
        rows = dump(url)
    target.write_text(json.dumps({name: [{k: _plain(v) for k, v in r.items()} for r in table_rows]
                                  for name, table_rows in rows.items()}, ensure_ascii=False, indent=0) + "\n",
                      encoding="utf-8")
    print(target, {name: len(r) for name, r in rows.items()})
