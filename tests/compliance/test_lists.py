"""The case and enterprise lists: filters, search, sort, keyset pages, scope, exports, query counts, escaping.

Setup is committed before the requests (as in test_admin_web.py); the outer transaction is still rolled back.
The business date is pinned to the `now` fixture (2026-11-24, a Tuesday, Beijing).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from compliance import clock
from compliance.db import db
from compliance.identifiers import uscc_check_char
from compliance.models import Case, Deadline, Jurisdiction, JurisdictionLevel, Role
from compliance.operations.cases import fire_trigger, open_case
from compliance.testing import VISIT, start_visit_period

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CASE_LINK = re.compile(r'<td data-label="案件编号"><a href="/cases/(\d+)">')
ENTERPRISE_LINK = re.compile(r'<td data-label="企业名称"><a href="/enterprises/(\d+)">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture(autouse=True)
def business_day(monkeypatch, now):
    monkeypatch.setattr(clock, "utcnow", lambda: now)


def login(client, user):
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    return client


def page(client, url) -> str:
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.get_data(as_text=True)


def case_ids(html: str) -> list[int]:
    return [int(i) for i in CASE_LINK.findall(html)]


def next_url(html: str) -> str | None:
    found = NEXT.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client, url, ids=case_ids) -> list[int]:
    """Follow 下一页 to the end; every id seen, in order."""
    seen = []
    while url:
        html = page(client, url)
        seen += ids(html)
        url = next_url(html)
    return seen


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def visit(session, case, who, now, days):
    """Record the visit with a rectification period of `days` from 2026-11-20 (the visit letter taken as served that
    day): the case gets an open deadline."""
    fire_trigger(session, case.id, "record_visit", {**VISIT, "rectification_days": days}, actor=who, now=now)
    start_visit_period(session, case, dt.date(2026, 11, 20))


def uscc(body8: str = "91110105") -> str:
    body = f"{body8}{uuid.uuid4().int % 10**9:09d}"
    return body + uscc_check_char(body)


@pytest.fixture
def haidian_case(session, make_user, make_enterprise, now):
    """A case outside the test street and outside 朝阳区, named so that every search would find it."""
    haidian = place(session, "110108")
    who = make_user(jurisdiction=haidian)
    enterprise = make_enterprise(name="北京海淀测试企业有限公司", jurisdiction=haidian)
    case = open_case(session, enterprise=enterprise, violations=["no_union"], opened_by=who, supervisors=[who],
                     now=now)
    visit(session, case, who, now, 2)   # overdue too
    return case


# ------------------------------------------------------------------------------------------------- filters

def test_each_filter_narrows_the_list(client, session, supervisor, make_user, make_case, make_enterprise, now,
                                      haidian_case):
    other = make_user()
    plain = make_case()                                                        # registered, no deadline
    overdue = make_case(violations=("unpaid_funds",))
    visit(session, overdue, supervisor, now, 2)                                # due 2026-11-23: overdue
    provisional = make_case(violations=("no_bargaining",))
    visit(session, provisional, supervisor, now, 60)                           # due 2027-01-19: provisional
    theirs = open_case(session, enterprise=make_enterprise(), violations=["no_union"], opened_by=supervisor,
                       supervisors=[other], now=now)
    session.commit()
    login(client, supervisor)

    assert set(case_ids(page(client, "/cases"))) == {plain.id, overdue.id, provisional.id, theirs.id}
    assert set(case_ids(page(client, "/cases?stage=visited"))) == {overdue.id, provisional.id}
    assert set(case_ids(page(client, "/cases?stage=registered"))) == {plain.id, theirs.id}
    assert set(case_ids(page(client, "/cases?stage=open"))) == {plain.id, overdue.id, provisional.id, theirs.id}
    assert case_ids(page(client, "/cases?stage=closed")) == []
    assert case_ids(page(client, "/cases?violation=unpaid_funds")) == [overdue.id]
    assert case_ids(page(client, "/cases?violation=no_bargaining")) == [provisional.id]
    assert case_ids(page(client, f"/cases?supervisor={other.id}")) == [theirs.id]
    assert set(case_ids(page(client, "/cases?supervisor=me"))) == {plain.id, overdue.id, provisional.id}
    assert case_ids(page(client, "/cases?overdue=1")) == [overdue.id]
    assert case_ids(page(client, "/cases?provisional=1")) == [provisional.id]
    assert case_ids(page(client, "/cases?overdue=1&provisional=1")) == []
    # Unknown values are dropped, never an error.
    for junk in ("stage=nonsense", "violation=%3Cx%3E", "supervisor=-1", "supervisor=99999999999", "place=abc",
                 "sort=evil", "dir=sideways", "overdue=maybe", "q=" + "长" * 5000):
        assert set(case_ids(page(client, "/cases?" + junk))) <= {plain.id, overdue.id, provisional.id, theirs.id}


def test_district_and_street_filter_within_the_users_subtree(client, session, make_user, make_enterprise, make_case,
                                                             jurisdiction, haidian_case, now):
    from compliance.seed import add_jurisdiction
    chaoyang = place(session, "110105")
    second = add_jurisdiction(session, code=f"T{uuid.uuid4().hex[:10]}", name="第二测试街道",
                              level=JurisdictionLevel.STREET, parent=chaoyang, federation_name="第二测试街道总工会",
                              issuer_code=f"京朝二{uuid.uuid4().hex[:4]}")
    here = make_case()
    district_supervisor = make_user(jurisdiction=chaoyang)
    there = open_case(session, enterprise=make_enterprise(jurisdiction=second), violations=["no_union"],
                      opened_by=district_supervisor, supervisors=[district_supervisor], now=now)
    district_user = make_user(jurisdiction=chaoyang, roles={Role.AUDITOR})
    session.commit()
    login(client, district_user)
    html = page(client, "/cases")
    assert {here.id, there.id} <= set(case_ids(html)) and haidian_case.id not in case_ids(html)
    assert f'<option value="{jurisdiction.id}"' in html
    assert f'<option value="{haidian_case.jurisdiction_id}"' not in html
    assert case_ids(page(client, f"/cases?place={jurisdiction.id}")) == [here.id]
    assert case_ids(page(client, f"/cases?place={second.id}")) == [there.id]
    # A jurisdiction outside the user's subtree is not a filter: the whole (scoped) list, never 海淀's case.
    ids = case_ids(page(client, f"/cases?place={haidian_case.jurisdiction_id}"))
    assert haidian_case.id not in ids and {here.id, there.id} <= set(ids)
    # The enterprise list filters the same way.
    assert there.enterprise.name in page(client, f"/enterprises?place={second.id}")
    assert here.enterprise.name not in page(client, f"/enterprises?place={second.id}")


def test_search_by_name_and_by_uscc(client, session, supervisor, make_enterprise, make_case, haidian_case):
    code = uscc()
    jinghua = make_case(enterprise=make_enterprise(name="北京京华智造科技有限公司", uscc=code))
    other = make_case(enterprise=make_enterprise(name="北京东方物流有限公司"))
    percent = make_case(enterprise=make_enterprise(name="北京百分之百_100%贸易有限公司"))
    session.commit()
    login(client, supervisor)
    assert case_ids(page(client, "/cases?q=京华智造")) == [jinghua.id]
    assert case_ids(page(client, "/cases?q=+京华+")) == [jinghua.id]
    assert set(case_ids(page(client, "/cases?q=北京"))) == {jinghua.id, other.id, percent.id}   # not 海淀's
    assert case_ids(page(client, "/cases?q=100%25")) == [percent.id]       # % and _ are literal characters
    assert case_ids(page(client, "/cases?q=_1")) == [percent.id]
    assert case_ids(page(client, "/cases?q=%25")) == [percent.id]
    # The code exactly, as typed with spaces or in lower case or full-width, and by its first characters.
    assert case_ids(page(client, f"/cases?q={code}")) == [jinghua.id]
    assert case_ids(page(client, f"/cases?q={code.lower()}")) == [jinghua.id]
    spaced = " ".join(code[i:i + 6] for i in (0, 6, 12))
    assert case_ids(page(client, f"/cases?q={spaced}")) == [jinghua.id]
    full_width = code[:15].translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert case_ids(page(client, f"/cases?q={full_width}")) == [jinghua.id]
    assert jinghua.id in case_ids(page(client, f"/cases?q={code[:10]}"))
    # The first 8 characters (authority, kind, region) are every district enterprise's: not a code search.
    assert case_ids(page(client, f"/cases?q={code[:8]}")) == []
    wrong = next(c for c in "XY" if c != code[17])
    assert case_ids(page(client, f"/cases?q={code[:17]}{wrong}")) == []
    assert case_ids(page(client, f"/cases?q={haidian_case.enterprise.uscc}")) == []   # out of scope
    # Enterprises: the same search.
    html = page(client, f"/enterprises?q={code[:14]}")
    assert "北京京华智造科技有限公司" in html and "北京东方物流有限公司" not in html
    html = page(client, "/enterprises?q=东方")
    assert "北京东方物流有限公司" in html and "京华" not in html
    assert "北京海淀测试企业有限公司" not in page(client, "/enterprises?q=海淀")


def test_search_text_is_bounded(client, session, supervisor, make_case):
    make_case()
    session.commit()
    login(client, supervisor)
    html = page(client, "/cases?q=" + "京" * 300)
    assert 'maxlength="100"' in html and "京" * 101 not in html and "京" * 100 in html


# ---------------------------------------------------------------------------------------------------- sort

@pytest.fixture
def sortable(session, supervisor, make_case, make_enterprise, now):
    """Seven cases opened a minute apart with names out of order; some with open deadlines, some without."""
    names = ["北京丙公司", "北京甲公司", "北京戊公司", "北京乙公司", "北京丁公司", "北京己公司", "北京庚公司"]
    cases = []
    for i, name in enumerate(names):
        case = make_case(enterprise=make_enterprise(name=name), at=now + dt.timedelta(minutes=i))
        cases.append(case)
    for case, days in zip(cases, (20, None, 3, 40, None, 3, 10)):
        if days is not None:
            visit(session, case, supervisor, now, days)
    session.commit()
    return cases


def expected_order(session, ids, sort, descending=False) -> list[int]:
    """The order the list must show, computed here from the rows themselves."""
    cases = [session.get(Case, i) for i in ids]
    if sort == "due":
        due = {}
        for d in session.scalars(select(Deadline).where(Deadline.case_id.in_(ids), Deadline.status == "open")):
            due[d.case_id] = min(due.get(d.case_id, d.due_on), d.due_on)
        with_due = sorted(due, key=lambda i: (due[i], i), reverse=descending)
        return with_due + sorted((i for i in ids if i not in due), reverse=descending)
    key = {"opened": lambda c: (c.opened_at, c.id), "reference": lambda c: (c.jurisdiction_id, c.year, c.seq, c.id),
           "name": lambda c: (c.enterprise.name, c.id)}[sort]
    return [c.id for c in sorted(cases, key=key, reverse=descending)]


@pytest.mark.parametrize("sort", ["opened", "reference", "name"])
def test_sort_both_directions(client, session, supervisor, sortable, sort):
    login(client, supervisor)
    ids = [c.id for c in sortable]
    ascending = expected_order(session, ids, sort)
    assert case_ids(page(client, f"/cases?sort={sort}&dir=asc")) == ascending
    assert case_ids(page(client, f"/cases?sort={sort}&dir=desc")) == ascending[::-1]


def test_sort_by_next_due_puts_cases_without_a_deadline_last(client, session, supervisor, sortable):
    login(client, supervisor)
    ids = [c.id for c in sortable]
    shown = case_ids(page(client, "/cases?sort=due"))
    assert shown == expected_order(session, ids, "due") and shown[-2:] == sorted([ids[1], ids[4]])
    assert case_ids(page(client, "/cases?sort=due&dir=desc")) == expected_order(session, ids, "due", True)


def test_default_order_is_newest_first(client, session, supervisor, sortable):
    login(client, supervisor)
    assert case_ids(page(client, "/cases")) == [c.id for c in reversed(sortable)]


# ------------------------------------------------------------------------------------------- keyset pages

@pytest.fixture
def many(session, supervisor, make_case, make_enterprise, now):
    """120 cases, some opened at the same moment (ties broken by id), names repeating."""
    cases = []
    for i in range(120):
        at = now - dt.timedelta(minutes=i // 3)
        cases.append(make_case(enterprise=make_enterprise(name=f"北京连锁{i % 7}号有限公司"), at=at))
        if i % 4 == 0:
            visit(session, cases[-1], supervisor, now, 3 + i % 9)
    session.commit()
    return cases


@pytest.mark.parametrize("query, sort, descending", [
    ("", "opened", True), ("sort=opened&dir=asc", "opened", False), ("sort=name", "name", False),
    ("sort=name&dir=desc", "name", True), ("sort=reference", "reference", False),
    ("sort=reference&dir=desc", "reference", True), ("sort=due", "due", False), ("sort=due&dir=desc", "due", True),
    ("q=连锁&sort=name", "name", False)])
def test_pages_cover_every_row_once_in_order(client, session, supervisor, many, query, sort, descending):
    login(client, supervisor)
    first = page(client, f"/cases?{query}")
    assert len(case_ids(first)) == 50 and "第 1–50 条，共 120 条" in first
    seen = walk(client, f"/cases?{query}")
    assert seen == expected_order(session, [c.id for c in many], sort, descending)
    second = page(client, next_url(first))
    assert "第 51–100 条，共 120 条" in second and "回到第一页" in second
    last = page(client, next_url(second))
    assert "第 101–120 条，共 120 条" in last and 'rel="next"' not in last


def test_export_follows_the_list_order(client, session, supervisor, many):
    login(client, supervisor)
    for query in ("sort=name", "sort=due&dir=desc"):
        listed = walk(client, f"/cases?{query}")
        references = {c.id: c.reference for c in many}
        rows = list(csv.reader(io.StringIO(client.get(f"/cases/export.csv?{query}").data.decode("utf-8-sig"))))
        assert [r[0] for r in rows[1:]] == [references[i] for i in listed]


def test_rows_added_between_page_loads_neither_repeat_nor_go_missing(client, session, supervisor, many,
                                                                     make_case, now):
    login(client, supervisor)
    first = page(client, "/cases")
    seen = case_ids(first)
    newer = make_case(at=now + dt.timedelta(hours=1))     # sorts before everything shown: not on later pages
    older = make_case(at=now - dt.timedelta(days=30))     # sorts after everything: on the last page
    session.commit()
    url = next_url(first)
    while url:
        html = page(client, url)
        seen += case_ids(html)
        url = next_url(html)
    assert len(seen) == len(set(seen)) == 121
    assert set(seen) == {c.id for c in many} | {older.id} and newer.id not in seen


@pytest.mark.parametrize("after", ["garbage", "", "x" * 5000, "eyJsIjoiY2FzZXMifQ.AAAA", "%00", "..", "🙂"])
def test_a_bad_cursor_shows_the_first_page(client, session, supervisor, many, after):
    login(client, supervisor)
    first = case_ids(page(client, "/cases"))
    assert case_ids(page(client, f"/cases?after={after}")) == first


def test_a_tampered_cursor_shows_the_first_page(client, session, supervisor, many):
    login(client, supervisor)
    html = page(client, "/cases")
    first, cursor = case_ids(html), next_url(html).split("after=")[1].split("&")[0]
    payload, signature = cursor.split(".")
    # (The last base64 character of the signature carries unused bits: changing those changes nothing.)
    for i in (0, len(payload) // 2, len(payload) + 1, len(payload) + 1 + len(signature) // 2):
        flipped = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1:]
        assert case_ids(page(client, f"/cases?after={flipped}")) == first
    # The payload re-encoded with another position but the old signature.
    import base64
    import json
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["n"] = 1000
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    assert case_ids(page(client, f"/cases?after={forged}.{signature}")) == first
    # A cursor handed out for another sort does not move this one.
    by_name = next_url(page(client, "/cases?sort=name")).split("after=")[1].split("&")[0]
    assert case_ids(page(client, f"/cases?after={by_name}")) == first
    enterprise_ids = lambda html: ENTERPRISE_LINK.findall(html)  # noqa: E731
    assert enterprise_ids(page(client, f"/enterprises?after={cursor}")) == enterprise_ids(page(client, "/enterprises"))


def _signed(app, list_name, sort, key, shown=50):
    from compliance.web import keyset
    with app.test_request_context():
        return keyset.encode(list_name, sort, key, shown)


def test_a_crafted_cursor_cannot_reach_outside_the_scope(app, client, session, supervisor, many, haidian_case):
    """Even a validly signed cursor only says where to start: scope and filters apply to every page."""
    login(client, supervisor)
    far_past = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    far_future = dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc)
    crafted = [("opened.desc", [far_future, 2**31 - 1]), ("opened.asc", [far_past, 0]),
               ("name.asc", ["", 0]), ("name.desc", ["\uffff", 2**31 - 1]), ("reference.asc", [0, 0, 0, 0]),
               ("due.asc", [0, "1970-01-01", 0]), ("due.asc", [1, None, 0]), ("due.desc", [0, "2999-01-01", 2**31 - 1])]
    for sort_token, key in crafted:
        sort, direction = sort_token.split(".")
        cursor = _signed(app, "cases", sort_token, key)
        seen = walk(client, f"/cases?sort={sort}&dir={direction}&after={cursor}")
        assert haidian_case.id not in seen and set(seen) <= {c.id for c in many}, sort_token
    assert haidian_case.id not in walk(client, "/cases?q=北京")
    cursor = _signed(app, "enterprises", "name.asc", ["", 0])
    assert "北京海淀测试企业有限公司" not in page(client, f"/enterprises?after={cursor}")


def test_page_numbers_are_gone_and_the_count_is_honest(client, session, supervisor, many, monkeypatch):
    login(client, supervisor)
    html = page(client, "/enterprises?page=999")
    assert "第 1–50 条，共 120 条" in html and "第 999" not in html
    from compliance.web import listing
    monkeypatch.setattr(listing, "COUNT_CAP", 100)
    html = page(client, "/cases")
    assert "第 1–50 条，共超过 100 条" in html
    assert "没有符合条件的记录，共 0 条" in page(client, "/cases?q=不存在的企业")


def test_enterprise_pages_walk_by_name(client, session, supervisor, many):
    login(client, supervisor)
    seen = walk(client, "/enterprises", ids=lambda html: [int(i) for i in ENTERPRISE_LINK.findall(html)])
    expected = sorted({c.enterprise for c in many}, key=lambda e: (e.name, e.id))
    assert seen == [e.id for e in expected]


# ------------------------------------------------------------------------------------------ enterprise page

def test_enterprise_page_shows_facts_and_cases_and_is_scoped(client, session, supervisor, make_case,
                                                             make_enterprise, haidian_case):
    enterprise = make_enterprise(name="北京堃昇科技有限公司", member_count=12)
    first, second = make_case(enterprise=enterprise), make_case(enterprise=enterprise, violations=("unpaid_funds",))
    session.commit()
    login(client, supervisor)
    html = page(client, f"/enterprises/{enterprise.id}")
    assert "北京堃昇科技有限公司" in html and enterprise.uscc in html and "陈建国" in html
    assert set(case_ids(html)) == {first.id, second.id}
    assert 'class="actions enterprise-actions"' in html
    assert client.get(f"/enterprises/{haidian_case.enterprise_id}").status_code == 404
    assert client.get("/enterprises/2147483647").status_code == 404
    assert client.get("/enterprises/99999999999").status_code == 404


# ------------------------------------------------------------------------------------------------- exports

@pytest.fixture
def export_data(session, supervisor, make_case, make_enterprise, now, haidian_case):
    wanted = [make_case(enterprise=make_enterprise(name=name), violations=("unpaid_funds",))
              for name in ("=HYPERLINK(\"http://evil.example\",\"点此\")", "+86 北京加号公司", "-减号公司", "@at公司",
                           "北京正常公司")]
    unwanted = make_case(violations=("no_union",))
    session.commit()
    return wanted, unwanted


def test_csv_export_has_a_bom_chinese_headers_and_exactly_the_filtered_rows(client, session, supervisor,
                                                                           export_data, haidian_case):
    wanted, unwanted = export_data
    login(client, supervisor)
    res = client.get("/cases/export.csv?violation=unpaid_funds")
    assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in res.headers["Content-Disposition"] and ".csv" in res.headers["Content-Disposition"]
    assert res.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(res.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["案件编号", "企业名称", "统一社会信用代码/注册号"]
    assert sorted(r[0] for r in rows[1:]) == sorted(c.reference for c in wanted)
    names = {r[1] for r in rows[1:]}
    assert "'=HYPERLINK(\"http://evil.example\",\"点此\")" in names
    assert {"'+86 北京加号公司", "'-减号公司", "'@at公司", "北京正常公司"} <= names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert unwanted.reference not in res.data.decode("utf-8-sig")
    assert haidian_case.reference not in client.get("/cases/export.csv").data.decode("utf-8-sig")


def test_xlsx_export_holds_exactly_the_filtered_rows_with_no_formulas(client, session, supervisor, export_data):
    wanted, unwanted = export_data
    login(client, supervisor)
    res = client.get("/cases/export.xlsx?violation=unpaid_funds")
    assert res.status_code == 200 and res.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(res.data)).active
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert rows[0][0] == "案件编号" and rows[0][-1] == "承办监督员"
    assert sorted(r[0] for r in rows[1:]) == sorted(c.reference for c in wanted)
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert "'=HYPERLINK(\"http://evil.example\",\"点此\")" in {r[1] for r in rows[1:]}
    assert rows[1][6] == dt.datetime(2026, 11, 24)   # opened date as a real date cell


def test_enterprise_exports(client, session, supervisor, export_data, haidian_case):
    login(client, supervisor)
    rows = list(csv.reader(io.StringIO(client.get("/enterprises/export.csv?q=公司").data.decode("utf-8-sig"))))
    assert rows[0][0] == "企业名称" and "'-减号公司" in {r[0] for r in rows[1:]}
    assert "北京海淀测试企业有限公司" not in {r[0] for r in rows[1:]}
    ws = load_workbook(io.BytesIO(client.get("/enterprises/export.xlsx").data)).active
    names = [row[0].value for row in ws.iter_rows(min_row=2)]
    assert "'@at公司" in names and "北京海淀测试企业有限公司" not in names


def test_export_stops_at_the_cap_and_says_so(client, session, supervisor, many, monkeypatch):
    from compliance.web import lists
    monkeypatch.setattr(lists, "EXPORT_CAP", 30)
    monkeypatch.setattr(lists, "CHUNK", 7)
    login(client, supervisor)
    rows = list(csv.reader(io.StringIO(client.get("/cases/export.csv").data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 30 + 1 and "导出上限" in rows[-1][0]
    assert [r[0] for r in rows[1:31]] == [session.get(Case, i).reference for i in walk(client, "/cases")[:30]]
    assert "每次最多导出 30 条" in page(client, "/cases")


# ------------------------------------------------------------------------------------------- query counts

def count_queries(app, client, url) -> int:
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    db.session.expire_all()   # nothing cached from the setup: every row comes from the database
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


@pytest.mark.parametrize("url", ["/cases", "/cases?sort=due", "/cases?sort=name&q=北京", "/enterprises"])
def test_queries_per_page_do_not_grow_with_the_rows_shown(app, client, session, supervisor, make_case,
                                                          make_enterprise, now, url):
    def add(n):
        for i in range(n):
            case = make_case(enterprise=make_enterprise(name=f"北京计数{i}有限公司"), violations=("no_union",
                                                                                                "unpaid_funds"))
            if i % 2:
                visit(session, case, supervisor, now, 5)
        session.commit()

    login(client, supervisor)
    add(10)
    ten = count_queries(app, client, url)
    assert len(case_ids(page(client, url)) or ENTERPRISE_LINK.findall(page(client, url))) == 10
    add(60)
    fifty = count_queries(app, client, url)
    assert len(case_ids(page(client, url)) or ENTERPRISE_LINK.findall(page(client, url))) == 50
    assert ten == fifty, (ten, fifty)


# ------------------------------------------------------------------------------------------------ escaping

def test_an_enterprise_name_is_escaped_everywhere(client, session, supervisor, make_case, make_enterprise, now):
    case = make_case(enterprise=make_enterprise(name=f"北京{XSS}有限公司"))
    visit(session, case, supervisor, now, 2)
    session.commit()
    login(client, supervisor)
    for url in ("/cases", "/cases?q=script", f"/enterprises/{case.enterprise_id}", "/enterprises", "/dashboard", "/"):
        html = page(client, url)
        assert XSS not in html and XSS_ESCAPED in html, url
    html = page(client, "/cases?q=" + XSS)
    assert XSS not in html


def test_lists_carry_no_inline_script_or_style(client, session, supervisor, make_case):
    make_case()
    session.commit()
    login(client, supervisor)
    for url in ("/cases", "/enterprises", "/dashboard"):
        html = page(client, url)
        assert "<script" not in html and " style=" not in html and "javascript:" not in html, url


def test_roles_without_case_access_are_refused(client, session, make_user, city_admin):
    login(client, city_admin)
    for url in ("/cases", "/enterprises", "/dashboard", "/cases/export.csv", "/enterprises/export.xlsx"):
        assert client.get(url).status_code == 403, url
    res = client.get("/")
    assert res.status_code == 302 and res.headers["Location"].endswith("/admin/users")


def test_home_is_the_dashboard_for_case_readers(client, session, supervisor):
    session.commit()
    login(client, supervisor)
    assert "我的工作台" in page(client, "/")

