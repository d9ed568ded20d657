"""Bulk import of 100,000 enterprises, then of 100,000 cases, from XLSX and from CSV through the operation (read,
validate, check against the database, insert, audit, commit), against COPY of the same rows into the same empty
tables in the same run."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from bench.database import bench_database

ROWS = 100_000
NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
HEADER = ["统一社会信用代码", "企业名称", "所在区", "地址", "法定代表人", "职工人数", "工会会员人数", "已建会",
          "上月工资总额", "所属行业", "成立日期", "联系电话"]
DISTRICTS = ["东城区", "西城区", "朝阳区", "丰台区", "海淀区", "通州区", "大兴区", "昌平区"]
COLUMNS = ["uscc", "name", "jurisdiction_id", "address", "legal_representative", "employee_count", "member_count",
           "has_union", "monthly_payroll", "industry", "established_on", "contact_phone", "registration_number",
           "ownership_type", "contact_name", "created_at", "updated_at"]


def _rows(n: int) -> list[list]:
    """n distinct enterprises as a supervisor's spreadsheet holds them (untimed)."""
    from compliance.identifiers import uscc_check_char
    out = []
    for i in range(n):
        body = f"91110{i % 9 + 1}{i:011d}"[:17]
        district = DISTRICTS[i % len(DISTRICTS)]
        out.append([body + uscc_check_char(body), f"北京基准导入{i}科技有限公司", district,
                    f"北京市{district}示例路{i % 500}号院{i % 30}号楼", "陈建国", str(20 + i % 900), str(i % 20),
                    "是" if i % 5 == 0 else "否", f"{100000 + i % 90000}.00", "软件和信息技术服务业",
                    dt.date(2000 + i % 25, 1 + i % 12, 1 + i % 28), f"010-{i % 10**8:08d}"])
    return out


def _csv(rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([[*r[:10], r[10].isoformat(), r[11]] for r in rows])
    return buffer.getvalue().encode("gb18030")   # as Excel in China saves a CSV


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["2026年企业名单"])
    ws.append(HEADER)
    for r in rows:
        ws.append([*r[:5], int(r[5]), int(r[6]), r[7], float(r[8]), r[9], r[10], r[11]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _copy_rows(session, rows) -> list[tuple]:
    """The same rows as the import writes them (ids resolved, values typed): COPY's input (untimed)."""
    from decimal import Decimal

    from compliance.models import Jurisdiction
    ids = dict(session.execute(select(Jurisdiction.name, Jurisdiction.id)).all())
    return [(r[0], r[1], ids[r[2]], r[3], r[4], int(r[5]), int(r[6]), r[7] == "是", Decimal(r[8]), r[9], r[10],
             r[11], None, "", "", NOW, NOW) for r in rows]


def _copy(engine, values) -> float:
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY enterprises ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _empty(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE enterprises CASCADE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE enterprises"))


def _import(factory, actor_id, data: bytes, filename: str, kind: str = "enterprises") -> tuple[float, dict]:
    from compliance.models import User
    from compliance.operations.imports import import_file
    phases: dict[str, float] = {}
    with factory() as session:
        actor = session.get(User, actor_id)
        started = time.perf_counter()

        def progress(phase, done, total):
            phases[phase] = time.perf_counter() - started
        report = import_file(session, actor=actor, kind=kind, data=data, filename=filename,
                             mode="all-or-nothing", dry_run=False, now=NOW, progress=progress)
        session.commit()
        elapsed = time.perf_counter() - started
    assert report.imported == ROWS, (report.summary, [(b.row, b.reason) for b in report.bad[:5]])
    # cumulative marks → each phase's own seconds (reading the file is interleaved with validating)
    marks = [("read_and_validate", phases.get("validate", 0)), ("check_duplicates", phases.get("check", 0)),
             ("insert", phases.get("write", 0)), ("audit_and_commit", elapsed)]
    split, last = {}, 0.0
    for name, mark in marks:
        split[name] = round(mark - last, 2)
        last = mark
    return elapsed, split


def benchmarks():
    from compliance.db import make_engine
    from compliance.models import Jurisdiction, Role
    from compliance.operations.users import create_user
    rows = _rows(ROWS)
    files = {"csv": _csv(rows), "xlsx": _xlsx(rows)}
    results = []
    with bench_database() as (url, label):
        if label != "postgresql":
            return []   # the goal is PostgreSQL's; COPY has no SQLite equivalent
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
            actor = create_user(session, login="bench.import", name="导入", password="bench-imports-2026",
                                jurisdiction=city, roles={Role.SUPERVISOR})
            session.commit()
            actor_id = actor.id
            values = _copy_rows(session, rows)
        for fmt in ("xlsx", "csv"):
            _empty(engine)
            reference = _copy(engine, values)
            _empty(engine)
            elapsed, split = _import(factory, actor_id, files[fmt], f"企业.{fmt}")
            results.append({"bench": f"import.enterprises_{fmt}_100k", "value": round(elapsed, 2), "unit": "s",
                            "reference": round(reference, 2), "ratio": round(elapsed / reference, 1),
                            "goal": "<= 60", "file_mb": round(len(files[fmt]) / 2**20, 1), "phases_s": split})
        engine.dispose()
    return results


# ------------------------------------------------------------------------------------------------ cases

CASE_HEADER = ["统一社会信用代码", "企业名称", "违法情形", "立案日期", "案情摘要", "承办监督员"]
VIOLATION_CELLS = [("不建会",), ("不缴费",), ("不建会", "不缴费"), ("不协商",), ("不建会", "不协商")]
VIOLATION_KEYS = {"不建会": "no_union", "不协商": "no_bargaining", "不缴费": "unpaid_funds"}


def _case_rows(enterprises) -> list[list]:
    """One case per enterprise of _rows(): 1–2 violations, opened this year up to NOW's day, a summary, the
    district's supervisor (untimed)."""
    out = []
    for i, e in enumerate(enterprises):
        opened_on = dt.date(2026, 1, 1) + dt.timedelta(days=i % 327)   # 2026-01-01 … 2026-11-23
        out.append([e[0], e[1], "、".join(VIOLATION_CELLS[i % len(VIOLATION_CELLS)]), opened_on,
                    f"职工{e[5]}人，至今未建立工会，经多次督促未改正", f"bench.sup.{DISTRICTS.index(e[2])}"])
    return out


def _case_csv(rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CASE_HEADER)
    writer.writerows([[*r[:3], r[3].isoformat(), *r[4:]] for r in rows])
    return buffer.getvalue().encode("gb18030")


def _case_xlsx(rows) -> bytes:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("案件")
    ws.append(["2026年案件导入"])
    ws.append(CASE_HEADER)
    for r in rows:
        ws.append(r)   # the opening date as a date cell
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _case_world(engine, factory, enterprise_values) -> tuple[int, dict[str, int]]:
    """The registered enterprises (COPY), a city-level importer and a supervisor per district (untimed)."""
    from compliance.models import Jurisdiction, Role
    from compliance.operations.users import create_user
    _copy(engine, enterprise_values)
    with factory() as session:
        places = {j.name: j for j in session.scalars(select(Jurisdiction))}
        city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
        actor = create_user(session, login="bench.import", name="导入", password="bench-imports-2026",
                            jurisdiction=city, roles={Role.SUPERVISOR})
        supervisors = {}
        for k, district in enumerate(DISTRICTS):
            user = create_user(session, login=f"bench.sup.{k}", name=f"监督员{k}", password="bench-imports-2026",
                               jurisdiction=places[district], roles={Role.SUPERVISOR})
            supervisors[user.login] = user.id
        session.commit()
        return actor.id, supervisors


def _case_copy_values(session, rows, actor_id: int, supervisors: dict[str, int]) -> dict[str, list[tuple]]:
    """The rows the case import writes (cases, their violations, assignments and opening events), typed, with
    the numbers it would take: COPY's input (untimed)."""
    from compliance.models import Enterprise, Jurisdiction
    from compliance.operations.imports import _noon
    found = {code: (e_id, j_id) for code, e_id, j_id in session.execute(
        select(Enterprise.uscc, Enterprise.id, Enterprise.jurisdiction_id))}
    issuers = dict(session.execute(select(Jurisdiction.id, Jurisdiction.issuer_code)).all())
    seqs: dict[tuple[int, int], int] = {}
    out = {"cases": [], "case_violations": [], "case_assignments": [], "case_events": []}
    for case_id, r in enumerate(rows, start=1):
        e_id, j_id = found[r[0]]
        opened_on, year = r[3], r[3].year
        seq = seqs[(j_id, year)] = seqs.get((j_id, year), 0) + 1
        kinds = sorted(VIOLATION_KEYS[w] for w in r[2].split("、"))
        user_id = supervisors[r[5]]
        out["cases"].append((case_id, f"{issuers[j_id]}案〔{year}〕{seq}号", year, seq, e_id, j_id, "registered", r[4],
                             _noon(opened_on), actor_id, 1, 1, False))
        out["case_violations"] += [(case_id, k) for k in kinds]
        out["case_assignments"].append((case_id, user_id, NOW))
        out["case_events"].append((case_id, 1, actor_id, "case.opened", "registered", r[4], json.dumps(
            {"violations": kinds, "business_date": opened_on.isoformat(), "enterprise_id": e_id,
             "supervisor_ids": [user_id], "imported": {"filename": "案件.csv", "row": case_id + 1}},
            ensure_ascii=False), NOW))
    return out


CASE_COPY_COLUMNS = {
    "cases": "id, reference, year, seq, enterprise_id, jurisdiction_id, state, summary, opened_at, opened_by_id, "
             "version, last_event_seq, was_listed",
    "case_violations": "case_id, violation",
    "case_assignments": "case_id, user_id, assigned_at",
    "case_events": "case_id, seq, actor_id, action, to_state, reason, details, created_at",
}


def _case_copy(engine, values: dict[str, list[tuple]]) -> float:
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for table, columns in CASE_COPY_COLUMNS.items():
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in values[table]:
                        copy.write_row(row)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def case_benchmarks():
    """import.cases_{xlsx,csv}_100k: each figure and its COPY reference in two fresh databases holding the same
    100,000 registered enterprises (the archive's tables refuse TRUNCATE, so nothing is emptied in between)."""
    from compliance.db import make_engine
    enterprises = _rows(ROWS)
    rows = _case_rows(enterprises)
    files = {"csv": _case_csv(rows), "xlsx": _case_xlsx(rows)}
    results = []
    for fmt in ("xlsx", "csv"):
        timings = {}
        for run in ("reference", "import"):
            with bench_database() as (url, label):
                if label != "postgresql":
                    return []   # as for the enterprises: the goal is PostgreSQL's, COPY has no SQLite equivalent
                engine = make_engine(url)
                factory = sessionmaker(bind=engine, expire_on_commit=False)
                with factory() as session:
                    enterprise_values = _copy_rows(session, enterprises)
                actor_id, supervisors = _case_world(engine, factory, enterprise_values)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
                if run == "reference":
                    with factory() as session:
                        values = _case_copy_values(session, rows, actor_id, supervisors)
                    timings[run] = (_case_copy(engine, values), None)
                else:
                    timings[run] = _import(factory, actor_id, files[fmt], f"案件.{fmt}", kind="cases")
                engine.dispose()
        reference, (elapsed, split) = timings["reference"][0], timings["import"]
        results.append({"bench": f"import.cases_{fmt}_100k", "value": round(elapsed, 2), "unit": "s",
                        "reference": round(reference, 2), "ratio": round(elapsed / reference, 1),
                        "goal": "<= 60", "file_mb": round(len(files[fmt]) / 2**20, 1), "phases_s": split})
    return results


BENCHMARKS = {"import.enterprises": benchmarks, "import.cases": case_benchmarks}
