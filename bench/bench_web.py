"""The pages at scale: the case list (filters, search, sort, next pages), a case page and the dashboard, on
PostgreSQL with 100,000 and then 1,000,000 cases.

Server time per request through the Flask test client, in process, logged in as a 朝阳区 (district) supervisor;
p95 over a few hundred requests with varied filters and search. The data is bulk-loaded with COPY (a million
cases with their violations, assignments, deadlines and opening events in a few minutes): 17 districts with 20
streets each, enterprises with made-up names and valid codes, cases over five years in every state. The case
pages are those of a few hundred cases built through the real operations (events, deadlines, letters as the
service writes them), so the page does its real work against the large tables.

`COMPLIANCE_BENCH_WEB_CASES=100000,1000000` (the default) chooses the sizes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import sessionmaker

from bench.database import bench_database

SCALES = tuple(int(n) for n in os.environ.get("COMPLIANCE_BENCH_WEB_CASES", "100000,1000000").split(","))
#: p95 goals in ms at the largest size.
GOALS = {"list": 100, "case": 50, "dashboard": 200}
LOGIN, PASSWORD = "bench.chaoyang", "bench-web-pages-2026"
#: A city-level reader: the whole city is their scope (reported, no goal).
CITY_LOGIN = "bench.city"
STREETS_PER_DISTRICT = 20
ENTERPRISES_PER_CASE = 0.4
REAL_CASES = 300
REQUESTS = {"list": 300, "case": 200, "dashboard": 60, "city_list": 60, "city_dashboard": 15}
WARMUP = 15

CHARS = ("京华中东西南北新兴恒鑫盛泰达通宏远安康瑞祥福和美嘉信诚博金银天海山林春明光晨星宇龙凤佳德正永长丰卓越"
         "辰昊瀚睿铭泽聚汇联创")
TRADES = ["科技", "信息技术", "物流", "餐饮管理", "建筑工程", "商贸", "医药", "文化传媒", "电子", "机械设备",
          "房地产开发", "物业管理", "酒店管理", "教育咨询", "环保科技", "汽车服务", "食品", "服装", "印刷", "广告"]
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司"]
ACTIVE = [("registered", 15), ("visited", 30), ("opinion_issued", 25), ("recommendation_issued", 10),
          ("payment_demanded", 7), ("litigation", 5), ("listing_requested", 4), ("listed", 4)]
CLOSED = [("rectified", 70), ("withdrawn", 20), ("credit_repaired", 10)]
FUNDS_ONLY = {"payment_demanded", "litigation"}
RULE_OF = {"registered": None, "visited": ("visit_rectification", "走访告知的整改期限", 30, "natural_days"),
           "opinion_issued": ("opinion_reply", "监督意见书答复期限", 15, "working_days"),
           "recommendation_issued": ("recommendation_reply", "监督建议书处理结果回复", 15, "working_days"),
           "payment_demanded": ("payment_demand", "催缴期限", 30, "natural_days"),
           "litigation": ("payment_order", "支付令异议期", 15, "natural_days"),
           "listing_requested": ("listing_followup", "信用惩戒跟进", 30, "natural_days"),
           "listed": ("credit_repair_wait", "信用修复等待期", 3, "months")}


def _weighted(pairs):
    names, weights = zip(*pairs)
    return lambda rng: rng.choices(names, weights)[0]


pick_active, pick_closed = _weighted(ACTIVE), _weighted(CLOSED)


# ------------------------------------------------------------------------------------------------ loading

def _copy(conn, table: str, columns: list[str], rows) -> int:
    """COPY rows into a table through the psycopg connection under the SQLAlchemy one; returns the count."""
    n = 0
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def _next_id(conn, table: str) -> int:
    return conn.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar()


def _fix_sequences(conn) -> None:
    for table in ("users", "jurisdictions", "enterprises", "cases", "case_events", "deadlines"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def build_places(factory) -> dict:
    """Streets under every district (with letterheads) and the people who work the cases; returns ids."""
    from compliance.models import Jurisdiction, JurisdictionLevel, Role, User, UserRole
    from compliance.passwords import hash_password
    from compliance.seed import add_jurisdiction
    from compliance.testing import complete_letterheads
    with factory() as s:
        districts = s.scalars(select(Jurisdiction).where(Jurisdiction.level == "district")
                              .order_by(Jurisdiction.code)).all()
        streets: dict[int, list[int]] = {}
        for d in districts:
            streets[d.id] = []
            for i in range(1, STREETS_PER_DISTRICT + 1):
                j = add_jurisdiction(s, code=f"{d.code}{i:03d}", name=f"{d.name[:-1] or d.name}第{i}街道",
                                     level=JurisdictionLevel.STREET, parent=d,
                                     federation_name=f"{d.name}第{i}街道总工会", issuer_code=f"{d.issuer_code[:2]}{i}街工监")
                streets[d.id].append(j.id)
        complete_letterheads(s)
        chaoyang = next(d for d in districts if d.code == "110105")
        hashed = hash_password(PASSWORD)
        people: dict[int, list[int]] = {}
        next_user = s.scalar(select(func.coalesce(func.max(User.id), 0) + 1))
        rows, roles = [], []
        for d in districts:
            for place_id in [d.id] * 5 + streets[d.id]:
                login = LOGIN if (place_id == chaoyang.id and not people.get(place_id)) else f"bench.u{next_user}"
                rows.append({"id": next_user, "login": login, "name": f"监督员{next_user}", "password_hash": hashed,
                             "jurisdiction_id": place_id, "is_active": True, "must_change_password": False,
                             "created_at": dt.datetime.now(dt.timezone.utc)})
                roles.append({"user_id": next_user, "role": Role.SUPERVISOR.value})
                people.setdefault(place_id, []).append(next_user)
                next_user += 1
        approver_id = next_user
        rows.append({"id": approver_id, "login": "bench.chaoyang.chair", "name": "刘红", "password_hash": hashed,
                     "jurisdiction_id": chaoyang.id, "is_active": True, "must_change_password": False,
                     "created_at": dt.datetime.now(dt.timezone.utc)})
        roles.append({"user_id": approver_id, "role": Role.APPROVER.value})
        city = s.scalar(select(Jurisdiction).where(Jurisdiction.level == "city"))
        rows.append({"id": approver_id + 1, "login": CITY_LOGIN, "name": "市级审计", "password_hash": hashed,
                     "jurisdiction_id": city.id, "is_active": True, "must_change_password": False,
                     "created_at": dt.datetime.now(dt.timezone.utc)})
        roles.append({"user_id": approver_id + 1, "role": Role.AUDITOR.value})
        s.execute(insert(User), rows)
        s.execute(insert(UserRole), roles)
        s.commit()
        s.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"))
        s.commit()
        codes = {d.id: d.code for d in districts}
        return {"districts": [d.id for d in districts], "streets": streets, "people": people, "codes": codes,
                "chaoyang": chaoyang.id, "bench_user": people[chaoyang.id][0], "approver": approver_id,
                "issuers": {j.id: j.issuer_code for j in s.scalars(select(Jurisdiction))}}


def _name(rng: random.Random) -> str:
    mark = "".join(rng.choice(CHARS) for _ in range(rng.choice((2, 2, 3))))
    return f"北京{mark}{rng.choice(TRADES)}{rng.choice(SUFFIXES)}"


def load_bulk(engine, places: dict, n_cases: int, seed: int) -> dict:
    """Add n_cases cases (and 0.4 enterprises per case) with COPY; returns timings and counts."""
    from compliance.identifiers import uscc_check_char
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    today = (now + dt.timedelta(hours=8)).date()
    started = time.perf_counter()
    with engine.begin() as conn:
        counters = {(j, y): seq for j, y, seq in conn.execute(text(
            "SELECT jurisdiction_id, year, last_seq FROM sequence_counters WHERE kind = 'case'"))}
        first_enterprise = _next_id(conn, "enterprises")
        n_enterprises = max(int(n_cases * ENTERPRISES_PER_CASE), 1)
        district_of = {}
        for d in places["districts"]:
            for street in places["streets"][d]:
                district_of[street] = d
            district_of[d] = d
        homes = [street for d in places["districts"] for street in places["streets"][d]]
        enterprise_place = []

        def enterprises():
            for i in range(n_enterprises):
                eid = first_enterprise + i
                place = rng.choice(homes) if rng.random() < 0.9 else rng.choice(places["districts"])
                enterprise_place.append(place)
                # A made-up organisation code, unique and spread like real ones (eid × an odd number not divisible
                # by 5 is a bijection modulo 10⁹).
                body = f"91{places['codes'][district_of[place]]}{eid * 2654435761 % 10**9:09d}"
                created = now - dt.timedelta(days=rng.randint(30, 3000))
                yield (eid, body + uscc_check_char(body), None, _name(rng), f"北京市示例路{eid % 999 + 1}号", place,
                       rng.choice(TRADES), "有限责任公司", rng.randint(25, 900), rng.randint(0, 300), None,
                       "张三", "", "", rng.random() < 0.3, rng.randint(10, 5000) * 1000, created, created)

        _copy(conn, "enterprises", ["id", "uscc", "registration_number", "name", "address", "jurisdiction_id",
                                    "industry", "ownership_type", "employee_count", "member_count", "established_on",
                                    "legal_representative", "contact_name", "contact_phone", "has_union",
                                    "monthly_payroll", "created_at", "updated_at"], enterprises())
        t_enterprises = time.perf_counter() - started

        # Cases, generated oldest first so the numbers of each jurisdiction and year follow time.
        span = 5 * 365 * 86400
        opened = sorted(now - dt.timedelta(seconds=span * rng.random() ** 1.3) for _ in range(n_cases))
        first_case = _next_id(conn, "cases")
        first_event = _next_id(conn, "case_events")
        first_deadline = _next_id(conn, "deadlines")
        violations, assignments, events, deadlines = [], [], [], []

        def cases():
            event_id, deadline_id = first_event, first_deadline
            for i, opened_at in enumerate(opened):
                cid = first_case + i
                e = rng.randrange(n_enterprises)
                place = enterprise_place[e]
                age = (now - opened_at).total_seconds() / span
                closed = rng.random() < min(0.95, 0.25 + age * 1.6)
                state = pick_closed(rng) if closed else pick_active(rng)
                kinds = rng.sample(["no_union", "no_bargaining", "unpaid_funds"], rng.choice((1, 1, 2)))
                if state in FUNDS_ONLY and "unpaid_funds" not in kinds:
                    kinds.append("unpaid_funds")
                year = (opened_at + dt.timedelta(hours=8)).year
                seq = counters[(place, year)] = counters.get((place, year), 0) + 1
                closed_at = min(opened_at + dt.timedelta(days=rng.randint(20, 400)), now) if closed else None
                day = (opened_at + dt.timedelta(hours=8)).date()
                visited = day + dt.timedelta(days=rng.randint(1, 10)) if state != "registered" else None
                rectified = (closed_at + dt.timedelta(hours=8)).date() if state in ("rectified", "credit_repaired") \
                    else None
                for v in kinds:
                    violations.append((cid, v))
                workers = places["people"][place][:1] + [rng.choice(places["people"][district_of[place]])]
                for uid in dict.fromkeys(workers):
                    assignments.append((cid, uid, opened_at))
                events.append((event_id, cid, 1, workers[0], "case.opened", None, None, "registered", "",
                               "{}", opened_at))
                event_id += 1
                last_seq = 1
                if state != "registered":
                    events.append((event_id, cid, 2, workers[0], f"case.{state}", state, "registered", state, "",
                                   "{}", opened_at + dt.timedelta(days=1)))
                    event_id += 1
                    last_seq = 2
                rule = RULE_OF.get(state)
                if rule is not None and not closed:
                    due = today + dt.timedelta(days=rng.randint(-20, 60))
                    provisional = due.year > 2026 and rng.random() < 0.5
                    deadlines.append((deadline_id, cid, *rule, "法律依据（基准测试）", due - dt.timedelta(days=15), due,
                                      None, provisional, "", "open", None, None, opened_at, None))
                    deadline_id += 1
                elif closed:
                    key, label, period, counting = RULE_OF["visited"]
                    deadlines.append((deadline_id, cid, key, label, period, counting, "法律依据（基准测试）", day, day +
                                      dt.timedelta(days=30), None, False, "", "met" if rectified else "superseded",
                                      None, None, opened_at, closed_at))
                    deadline_id += 1
                yield (cid, f"{places['issuers'][place]}案〔{year}〕{seq}号", year, seq,
                       first_enterprise + e, place, state, "", opened_at, workers[0], closed_at, 1, last_seq,
                       visited, None, None, None, None, None, None, state in ("listed", "credit_repaired"), rectified)

        _copy(conn, "cases", ["id", "reference", "year", "seq", "enterprise_id", "jurisdiction_id", "state", "summary",
                              "opened_at", "opened_by_id", "closed_at", "version", "last_event_seq", "visited_on",
                              "opinion_issued_on", "opinion_reply_due", "replied_on", "refused_on",
                              "payment_demanded_on", "payment_demand_due", "was_listed", "rectified_on"], cases())
        _copy(conn, "case_violations", ["case_id", "violation"], violations)
        _copy(conn, "case_assignments", ["case_id", "user_id", "assigned_at"], assignments)
        _copy(conn, "case_events", ["id", "case_id", "seq", "actor_id", "action", "trigger", "from_state", "to_state",
                                    "reason", "details", "created_at"], events)
        _copy(conn, "deadlines", ["id", "case_id", "rule_key", "label", "period", "counting", "legal_basis",
                                  "start_on", "due_on", "extended_from", "is_provisional", "explanation", "status",
                                  "opened_event_id", "closed_event_id", "created_at", "closed_at"], deadlines)
        conn.execute(text("INSERT INTO sequence_counters (jurisdiction_id, kind, year, last_seq) "
                          "VALUES (:j, 'case', :y, :s) ON CONFLICT (jurisdiction_id, kind, year) "
                          "DO UPDATE SET last_seq = excluded.last_seq"),
                     [{"j": j, "y": y, "s": s} for (j, y), s in counters.items()])
        _fix_sequences(conn)
        rows = {"enterprises": n_enterprises, "cases": n_cases, "violations": len(violations),
                "assignments": len(assignments), "events": len(events), "deadlines": len(deadlines)}
    return {"seconds": time.perf_counter() - started, "enterprise_seconds": t_enterprises, **rows}


def build_real_cases(factory, places: dict, count: int, seed: int) -> list[int]:
    """Cases through the real operations at every rung, their letters issued (placeholder archive rows) as the
    climb needs, the last draft left as it is, some submitted, some sent back: what a case page really shows."""
    from compliance.errors import DomainError
    from compliance.identifiers import uscc_check_char
    from compliance.models import Notice, StoredDocument, User
    from compliance.operations.cases import fire_trigger, open_case
    from compliance.operations.notices import return_notice, submit_notice
    from compliance.testing import UNPAID_FUNDS_CLIMB, new_enterprise
    from compliance.models import Jurisdiction
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    today = (now + dt.timedelta(hours=8)).date().isoformat()
    steps = [(t, {k: (today if k.endswith("_on") else v) for k, v in inputs.items()}) for t, inputs in
             UNPAID_FUNDS_CLIMB]
    ids = []
    with factory() as s:
        actor = s.get(User, places["bench_user"])
        chair = s.get(User, places["approver"])
        streets = [s.get(Jurisdiction, j) for j in places["streets"][places["chaoyang"]]]
        for i in range(count):
            body = f"91110105{'Y' * 4}{i:05d}"   # letters no bulk-loaded (all-digit) code holds
            enterprise = new_enterprise(s, rng.choice(streets), f"北京真实流程{i}号{rng.choice(TRADES)}有限公司",
                                        uscc=body + uscc_check_char(body))
            case = open_case(s, enterprise=enterprise, violations=["unpaid_funds", "no_union"], opened_by=actor,
                             supervisors=[actor], now=now)
            case.union_help_started_on = (now - dt.timedelta(days=183)).date()   # BJM 55(3): the months owed
            for trigger, inputs in steps[:rng.randint(0, len(steps))]:
                for n in s.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "draft")):
                    sha = hashlib.sha256(f"bench-web-{n.id}".encode()).hexdigest()
                    s.add(StoredDocument(sha256=sha, size=0, path="bench"))
                    s.flush()
                    n.status, n.number, n.sha256, n.year, n.seq = "issued", f"bench-web-{n.id}", sha, 2026, n.id
                    n.verification_code, n.issued_at, n.issued_by_id = f"BW{n.id}", now, chair.id
                fire_trigger(s, case.id, trigger, inputs, actor=actor, now=now)
            drafts = s.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "draft")).all()
            for n in drafts:
                if rng.random() < 0.5:
                    try:
                        submit_notice(s, n.id, actor=actor, now=now)
                        if rng.random() < 0.4:
                            return_notice(s, n.id, approver=chair, reason="请补充事实", now=now)
                    except DomainError:
                        pass
            ids.append(case.id)
            if i % 50 == 49:
                s.commit()
        s.commit()
    return ids


# ------------------------------------------------------------------------------------------------ measuring

def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) >= 2 else samples[0]


@contextmanager
def counting(engine):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _app(url: str, store: str):
    from compliance import create_app
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-web", "DOCUMENT_STORE": store,
                       "WTF_CSRF_ENABLED": False})


def _client(app, login: str):
    client = app.test_client()
    res = client.post("/login", data={"login": login, "password": PASSWORD})
    if res.status_code != 302:
        raise RuntimeError(f"bench login failed: {res.status_code}")
    return client


def _list_urls(factory, places: dict, rng: random.Random, n: int) -> list[tuple[str, bool]]:
    """(url, has search) for n list requests: filters, sorts, searches by name and by code, some next pages."""
    from compliance.models import Enterprise
    streets = places["streets"][places["chaoyang"]]
    with factory() as s:
        codes = s.scalars(select(Enterprise.uscc).where(Enterprise.jurisdiction_id.in_(streets))
                          .order_by(Enterprise.id).limit(2000)).all()
    words = [a + b for a in CHARS[:12] for b in CHARS[:12]]
    shapes = [
        lambda: (f"/cases?q={rng.choice(words)}", True),
        lambda: (f"/cases?q={rng.choice(words)}{rng.choice(TRADES)}", True),
        lambda: (f"/cases?q={rng.choice(TRADES)}&stage=open&sort=due", True),
        lambda: (f"/cases?q={rng.choice(codes)[:rng.randint(10, 18)]}", True),
        lambda: (f"/cases?q={rng.choice(words)}&sort=name&violation=unpaid_funds", True),
        lambda: ("/cases", False),
        lambda: (f"/cases?stage={rng.choice(['visited', 'opinion_issued', 'open'])}&sort=due", False),
        lambda: ("/cases?overdue=1&sort=due", False),
        lambda: ("/cases?provisional=1", False),
        lambda: ("/cases?supervisor=me&stage=open", False),
        lambda: (f"/cases?place={rng.choice(streets)}&sort=name", False),
        lambda: ("/cases?sort=reference&dir=desc", False),
        lambda: ("/cases?violation=no_bargaining&sort=opened&dir=asc", False),
    ]
    return [rng.choice(shapes)() for _ in range(n)]


NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def _time(client, url: str) -> tuple[float, str]:
    started = time.perf_counter()
    res = client.get(url)
    body = res.get_data(as_text=True)
    elapsed = (time.perf_counter() - started) * 1000
    if res.status_code != 200:
        raise RuntimeError(f"{url}: {res.status_code}")
    return elapsed, body


def measure(url: str, factory, places: dict, real_ids: list[int], size: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as store:
        app = _app(url, store)
        client = _client(app, LOGIN)
        app_engine = app.extensions["compliance.db"].engine
        # No app context is held across requests: each request gets a fresh session, as in production.
        for u in ["/cases", "/dashboard", f"/cases/{real_ids[0]}", "/cases?q=京华"] * (WARMUP // 4 + 1):
            client.get(u)
        lists, searches, pages = [], [], []
        for list_url, has_search in _list_urls(factory, places, rng, REQUESTS["list"]):
            ms, body = _time(client, list_url)
            lists.append(ms)
            if has_search:
                searches.append(ms)
            found = NEXT.search(body)
            if found and rng.random() < 0.3:   # and the next page, as a user reading on would
                ms, _ = _time(client, found.group(1).replace("&amp;", "&"))
                lists.append(ms)
                pages.append(ms)
        cases = [_time(client, f"/cases/{rng.choice(real_ids)}")[0] for _ in range(REQUESTS["case"])]
        boards = [_time(client, "/dashboard")[0] for _ in range(REQUESTS["dashboard"])]
        # Queries per page: a search that finds a handful of rows, against full pages of 50.
        few_url = None
        for code in _codes_of_cases(factory, places):
            if 1 <= client.get(f"/cases?q={code}").get_data(as_text=True).count('data-label="案件编号"') < 50:
                few_url = f"/cases?q={code}"
                break
        query_counts = {}   # (sort, rows) → (queries, rows shown)
        for sort, u in (("opened", few_url), ("opened", "/cases"), ("opened", "/cases?q=北京"),
                        ("due", few_url and few_url + "&sort=due"), ("due", "/cases?sort=due")):
            if u is None:
                continue
            with counting(app_engine) as statements:
                body = client.get(u).get_data(as_text=True)
            shown = body.count('data-label="案件编号"')
            query_counts[(sort, "search" if "北京" in u else shown)] = (len(statements), shown)
        with counting(app_engine) as statements:
            client.get("/dashboard")
        dashboard_queries = len(statements)
        # The city: every case is in scope.
        city = _client(app, CITY_LOGIN)
        for u in ("/cases", "/dashboard"):
            city.get(u)
        city_lists = [_time(city, u)[0] for u, _search in _list_urls(factory, places, rng, REQUESTS["city_list"])
                      if "supervisor=me" not in u and "place=" not in u]
        city_boards = [_time(city, "/dashboard")[0] for _ in range(REQUESTS["city_dashboard"])]
        app_engine.dispose()
    goal = size == max(SCALES)
    out = [
        {"bench": f"web.case_list_p95_ms.{size}", "value": round(_p95(lists), 1), "unit": "ms",
         "reference": round(statistics.median(lists), 1), "ratio": None,
         "goal": f"p95 ≤ {GOALS['list']} ms at 1,000,000" if goal else "reported (reference: median)",
         "requests": len(lists)},
        {"bench": f"web.case_list_search_p95_ms.{size}", "value": round(_p95(searches), 1), "unit": "ms",
         "reference": round(statistics.median(searches), 1), "ratio": None,
         "goal": f"p95 ≤ {GOALS['list']} ms at 1,000,000" if goal else "reported (reference: median)",
         "requests": len(searches)},
        {"bench": f"web.case_list_next_page_p95_ms.{size}", "value": round(_p95(pages), 1) if pages else 0.0,
         "unit": "ms", "reference": round(statistics.median(pages), 1) if pages else None, "ratio": None,
         "goal": "reported (reference: median)", "requests": len(pages)},
        {"bench": f"web.case_page_p95_ms.{size}", "value": round(_p95(cases), 1), "unit": "ms",
         "reference": round(statistics.median(cases), 1), "ratio": None,
         "goal": f"p95 ≤ {GOALS['case']} ms at 1,000,000" if goal else "reported (reference: median)",
         "requests": len(cases)},
        {"bench": f"web.dashboard_p95_ms.{size}", "value": round(_p95(boards), 1), "unit": "ms",
         "reference": round(statistics.median(boards), 1), "ratio": None,
         "goal": f"p95 ≤ {GOALS['dashboard']} ms at 1,000,000" if goal else "reported (reference: median)",
         "requests": len(boards)},
    ]
    for name, samples in (("city_case_list", city_lists), ("city_dashboard", city_boards)):
        out.append({"bench": f"web.{name}_p95_ms.{size}", "value": round(_p95(samples), 1), "unit": "ms",
                    "reference": round(statistics.median(samples), 1), "requests": len(samples),
                    "goal": "reported (a city-level reader: every case in scope; reference: median)"})
    for (sort, label), (queries, rows) in query_counts.items():
        full = query_counts.get((sort, 50), (None, 0))[0]
        name = f"rows_{label}" if label == "search" else f"rows_{rows}"
        out.append({"bench": f"web.case_list_queries.{sort}.{name}.{size}", "value": queries, "unit": "queries",
                    "reference": full, "ratio": round(queries / full, 3) if full else None,
                    "goal": "equal to the same sort's page of 50 (reference), whatever the rows shown",
                    "rows": rows})
    out.append({"bench": f"web.dashboard_queries.{size}", "value": dashboard_queries, "unit": "queries",
                "reference": None, "ratio": None, "goal": "fixed (independent of the data)"})
    for figure in out:
        if "ratio" in figure and figure["ratio"] is None:
            figure.pop("ratio")
    return out


def _codes_of_cases(factory, places) -> list[str]:
    from compliance.models import Case, Enterprise
    with factory() as s:
        return s.scalars(select(Enterprise.uscc).join(Case, Case.enterprise_id == Enterprise.id)
                         .where(Enterprise.jurisdiction_id.in_(places["streets"][places["chaoyang"]]))
                         .limit(20)).all()


def web_pages():
    from compliance.db import make_engine
    results = []
    with bench_database() as (url, label):
        if label != "postgresql":
            print("  web.: needs PostgreSQL (set COMPLIANCE_BENCH_DATABASE_URL); skipped", file=sys.stderr)
            return results
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        try:
            places = build_places(factory)
            loaded = 0
            real_ids: list[int] = []
            for size in sorted(SCALES):
                stats = load_bulk(engine, places, size - loaded - (REAL_CASES if not real_ids else 0), seed=size)
                print(f"  loaded {stats['cases']:,} cases, {stats['enterprises']:,} enterprises, "
                      f"{stats['deadlines']:,} deadlines, {stats['events']:,} events in {stats['seconds']:.0f} s",
                      file=sys.stderr, flush=True)
                results.append({"bench": f"web.bulk_load_s.{size}", "value": round(stats["seconds"], 1),
                                "unit": "s", "goal": "minutes, not an hour",
                                "rows": {k: v for k, v in stats.items() if not k.endswith("seconds")}})
                if not real_ids:
                    started = time.perf_counter()
                    real_ids = build_real_cases(factory, places, REAL_CASES, seed=7)
                    print(f"  {len(real_ids)} cases through the operations in {time.perf_counter() - started:.0f} s",
                          file=sys.stderr, flush=True)
                loaded = size
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
                results += measure(url, factory, places, real_ids, size, seed=size)
        finally:
            engine.dispose()
    return results


BENCHMARKS = {"web.": web_pages}
