"""Bulk import of enterprises and cases through compliance.operations.imports, with files made here: GBK and UTF-8
CSV, XLSX with a title row and merged two-row headers, blank rows, dates as Excel serials and as text, numbers
stored as text, and a tenth of the rows bad in every way the report names."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from compliance.errors import Conflict, Forbidden, ValidationFailed
from compliance.identifiers import uscc_check_char
from compliance.imports import bad_rows_file, read_sheet, template
from compliance.models import AdminEvent, Case, CaseEvent, Enterprise, Jurisdiction, Role
from compliance.operations.imports import import_file

HEADER = ["统一社会信用代码", "企业名称", "所在区", "街道/乡镇", "地址", "法定代表人", "职工人数", "成立日期"]


def code(n: int | None = None, region: str = "110105") -> str:
    """A valid made-up USCC, unique per call unless n is given."""
    n = uuid.uuid4().int % 10**9 if n is None else n
    body = f"91{region}{n:09d}"
    return body + uscc_check_char(body)


def bad_code(n: int | None = None) -> str:
    good = code(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


def csv_bytes(rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def count(session, model=Enterprise) -> int:
    return session.scalar(select(func.count()).select_from(model))


def place_name(street: Jurisdiction) -> tuple[str, str]:
    return street.parent.name, street.name


@pytest.fixture
def rows(jurisdiction):
    """Twenty good rows in the test street of 朝阳区."""
    district, street = place_name(jurisdiction)
    return [[code(), f"北京导入样例{i}科技有限公司", district, street, f"北京市朝阳区建国路{i}号", "陈建国", str(50 + i),
             "2015-03-01"] for i in range(20)]


def run(session, actor, data, now, **kw):
    kw.setdefault("kind", "enterprises")
    kw.setdefault("filename", "企业.csv")
    return import_file(session, actor=actor, data=data, now=now, **kw)


# ------------------------------------------------------------------------------------------------ encodings

@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_csv_in_every_encoding_excel_writes_is_read_and_imported(session, supervisor, rows, now, encoding):
    data = csv_bytes([HEADER, *rows], encoding)
    before = count(session)
    report = run(session, supervisor, data, now, dry_run=False)
    assert (report.rows, report.good, report.bad, report.imported) == (20, 20, [], 20)
    assert count(session) == before + 20
    stored = session.scalar(select(Enterprise).where(Enterprise.uscc == rows[3][0]))
    assert (stored.name, stored.address, stored.employee_count, stored.established_on) == (
        "北京导入样例3科技有限公司", "北京市朝阳区建国路3号", 53, dt.date(2015, 3, 1))
    assert stored.jurisdiction.name == rows[3][3]
    assert report.encoding == {"gbk": "gb18030", "gb18030": "gb18030"}.get(encoding, encoding)


def test_a_tab_separated_utf16_file_as_excel_saves_unicode_text(session, supervisor, rows, now):
    data = "\r\n".join("\t".join(r) for r in [HEADER, *rows]).encode("utf-16")
    report = run(session, supervisor, data, now, filename="企业.txt")
    assert (report.rows, report.good, report.bad) == (20, 20, [])


# ------------------------------------------------------------------------------------------------------ XLSX

def xlsx_with_everything(rows: list[list]) -> bytes:
    """A title row merged across, a two-row header (group headings merged across, 企业名称 merged down), blank
    rows, 成立日期 as a date cell, an Excel serial number and text, 职工人数 as numbers and as text."""
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年朝阳区重点企业名单（第一批）"])
    ws.merge_cells("A1:H1")
    ws.append(["统一社会信用代码", "企业名称", "所在地", None, "基本情况", None, None, None])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:D2")
    ws.merge_cells("E2:H2")
    ws.append([None, None, "所在区", "街道/乡镇", "地址", "法定代表人（必填）", "职工人数（人）", "成立日期"])
    for i, row in enumerate(rows):
        values = list(row)
        if i % 3 == 0:
            values[7] = dt.datetime(2015, 3, 1)                        # a date cell
        elif i % 3 == 1:
            values[7] = (dt.date(2015, 3, 1) - dt.date(1899, 12, 30)).days   # serial 42064, a plain number
        else:
            values[7] = "2015年3月1日"
        values[6] = int(values[6]) if i % 2 else values[6]              # a number, or a number stored as text
        ws.append(values)
        if i % 7 == 0:
            ws.append([])                                              # blank rows
            ws.append([None, "  ", None])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_with_a_title_row_merged_headers_blank_rows_and_dates_in_every_form(session, supervisor, rows, now):
    data = xlsx_with_everything(rows)
    report = run(session, supervisor, data, now, filename="名单.xlsx", dry_run=False)
    assert report.format == "xlsx" and report.header_row == 3
    assert (report.rows, report.good, report.bad, report.imported) == (20, 20, [], 20)
    stored = session.scalars(select(Enterprise).where(Enterprise.uscc.in_([r[0] for r in rows]))).all()
    assert {e.established_on for e in stored} == {dt.date(2015, 3, 1)}
    assert sorted(e.employee_count for e in stored) == list(range(50, 70))


def test_row_numbers_are_the_files_own_with_blank_and_title_rows_counted(session, supervisor, rows, now):
    rows[0][0] = bad_code()
    rows[5][2] = "火星区"
    data = xlsx_with_everything(rows)
    report = run(session, supervisor, data, now, filename="名单.xlsx")
    # header on row 3; data row i sits at 4 + i + 2 × (blank pairs before it, one pair after rows 0 and 7 …)
    wb = load_workbook(io.BytesIO(data))
    where = {r[0].value: r[0].row for r in wb.active.iter_rows(min_row=4) if r[0].value}
    assert [(b.row, b.reason[:8]) for b in report.bad] == [(where[rows[0][0]], "统一社会信用代码"),
                                                           (where[rows[5][0]], "未知的区：“火星")]


# ---------------------------------------------------------------------------------------- bad rows reported

def test_a_tenth_of_the_rows_bad_each_reported_with_its_row_number_and_reason(session, supervisor, make_user,
                                                                              make_enterprise, jurisdiction, now):
    district, street = place_name(jurisdiction)
    registered = make_enterprise()
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    good = [[code(), f"北京十分之一测试{i}有限公司", district, street, "北京市朝阳区建国路1号", "陈建国", "80",
             "2015-03-01"] for i in range(90)]
    dup = good[10][0]
    bad = [
        [bad_code(), "校验位错误有限公司", district, street, "", "", "", ""],
        ["12345", "位数不对有限公司", district, street, "", "", "", ""],
        [code(), "未知区有限公司", "火星区", "", "", "", "", ""],
        [code(), "未知街道有限公司", district, "不存在的街道", "", "", "", ""],
        [dup, "文件内重复有限公司", district, street, "", "", "", ""],
        [registered.uscc, "库内重复有限公司", district, street, "", "", "", ""],
        [code(), "", district, street, "", "", "", ""],
        [code(), "辖区外有限公司", haidian.name, "", "", "", "", ""],
        [code(), "人数不对有限公司", district, street, "", "", "一百二十", ""],
        [code(), "日期不对有限公司", district, street, "", "", "", "去年春天"],
    ]
    table = [HEADER]
    for i in range(90):
        table.append(good[i])
        if i % 9 == 8:
            table.append(bad[i // 9])
    row_of = {tuple(r): n for n, r in enumerate(table, start=1)}
    before = count(session)
    report = run(session, supervisor, csv_bytes(table, "gbk"), now)
    assert (report.rows, report.good, len(report.bad), report.imported) == (100, 90, 10, 0)
    reasons = {b.row: b.reason for b in report.bad}
    expected = {
        0: "统一社会信用代码校验位错误", 1: "统一社会信用代码应为18位", 2: "未知的区：“火星区”",
        3: f"{district}下没有名为“不存在的街道”的街道/乡镇", 4: f"与第{row_of[tuple(good[10])]}行的统一社会信用代码重复",
        5: "该代码已登记", 6: "请填写企业名称", 7: "不在您的管辖范围内（海淀区）", 8: "职工人数应为",
        9: "成立日期无法识别",
    }
    for i, start in expected.items():
        row = row_of[tuple(bad[i])]
        assert reasons[row].startswith(start), (i, reasons[row])
    assert count(session) == before   # a dry run writes nothing

    # all-or-nothing: nothing at all, not even the 90 good rows
    report = run(session, supervisor, csv_bytes(table, "gbk"), now, dry_run=False, mode="all-or-nothing")
    assert (report.imported, report.good, len(report.bad)) == (0, 90, 10)
    assert count(session) == before
    assert session.scalar(select(func.count()).select_from(AdminEvent).where(AdminEvent.action == "import.enterprises",
                                                                         AdminEvent.actor_id == supervisor.id)) == 0

    # good rows: the 90, and one audit record
    report = run(session, supervisor, csv_bytes(table, "gbk"), now, dry_run=False, mode="good-rows")
    assert (report.imported, len(report.bad)) == (90, 10)
    assert count(session) == before + 90
    audit = session.get(AdminEvent, report.audit_id)
    assert audit.action == "import.enterprises" and audit.actor_id == supervisor.id
    assert audit.details["imported"] == 90 and audit.details["bad_rows"] == 10

    # the bad rows come back in the uploaded format (GBK CSV) with the reason; fixed, they import
    content, name, mimetype = bad_rows_file(report)
    assert name == "企业-有误的行.csv" and "gb18030" in mimetype
    back = list(csv.reader(io.StringIO(content.decode("gb18030"))))
    assert back[0] == [*HEADER, "错误原因", "原行号"]
    assert [r[1] for r in back[1:]] == [r[1] for r in bad]
    assert back[1][-2].startswith("统一社会信用代码校验位错误")
    again = run(session, supervisor, content, now)
    assert again.ignored_columns == [] and again.rows == 10


def test_nothing_half_imported_in_all_or_nothing_mode_when_the_database_refuses_midway(session, supervisor, rows,
                                                                                      now, monkeypatch):
    """A failure while the rows are being written (here: the third chunk) leaves none of them."""
    from compliance.operations import imports as ops
    monkeypatch.setattr(ops, "CHUNK", 5)
    rows[13][0] = rows[2][0]   # slipped past the checks, e.g. registered by someone else meanwhile
    original = ops._Enterprises.check_together

    def skip_duplicate_check(self):
        pass
    monkeypatch.setattr(ops._Enterprises, "check_together", skip_duplicate_check)
    before = count(session)
    with pytest.raises(Conflict):
        run(session, supervisor, csv_bytes([HEADER, *rows]), now, dry_run=False)
    assert count(session) == before
    monkeypatch.setattr(ops._Enterprises, "check_together", original)


def test_a_street_supervisor_may_import_only_into_their_street(session, make_user, jurisdiction, now, rows):
    street_user = make_user(jurisdiction=jurisdiction)
    rows[0][3] = ""              # 朝阳区 itself: above the street
    report = run(session, street_user, csv_bytes([HEADER, *rows]), now)
    assert [(b.row, b.reason) for b in report.bad] == [(2, "不在您的管辖范围内（朝阳区）")]


@pytest.mark.parametrize("role", [Role.APPROVER, Role.ADMIN, Role.AUDITOR])
def test_roles_that_may_not_register_enterprises_are_refused_before_the_file_is_read(session, make_user, now, role):
    with pytest.raises(Forbidden):
        run(session, make_user(roles={role}), b"not even a table", now)
    with pytest.raises(Forbidden):
        run(session, make_user(roles={role}), b"not even a table", now, kind="cases")


# ------------------------------------------------------------------------------------------ files refused

@pytest.mark.parametrize("data, message", [
    (b"", "空的"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 Excel"),
    (b"PK\x03\x04broken zip", "已损坏"),
    ("序号,备注说明\n1,乙\n".encode(), "找不到表头"),
    ("企业名称,地址\n甲,乙\n".encode(), "缺少必填列：统一社会信用代码、所在区"),
    (b"%PDF-1.4 whatever", "只能导入"),
    (b"a,b\x00,c\n", "空字符"),
])
def test_files_that_are_not_a_table_are_refused_in_one_chinese_sentence(session, supervisor, now, data, message):
    with pytest.raises(ValidationFailed, match=message):
        run(session, supervisor, data, now)


def test_row_cell_and_size_limits(session, supervisor, rows, now):
    with pytest.raises(ValidationFailed, match="超过10行的上限"):
        run(session, supervisor, csv_bytes([HEADER, *rows]), now, max_rows=10)
    with pytest.raises(ValidationFailed, match="文件过大"):
        run(session, supervisor, csv_bytes([HEADER, *rows]), now, max_bytes=100)
    rows[4][4] = "长" * 3000
    report = run(session, supervisor, csv_bytes([HEADER, *rows]), now)
    assert [(b.row, b.reason) for b in report.bad] == [(6, "地址超过2000个字符")]
    rows[4][4] = "长" * 201
    report = run(session, supervisor, csv_bytes([HEADER, *rows]), now)
    assert [(b.row, b.reason[:12]) for b in report.bad] == [(6, "企业住所不能超过200个")]


def test_a_csv_row_the_csv_module_cannot_parse_is_one_bad_row(session, supervisor, rows, now):
    limit = csv.field_size_limit()
    table = csv_bytes([HEADER, *rows[:3]]) + b'"' + b"x" * (limit + 10) + b'",a\r\n' + csv_bytes(rows[3:6])
    report = run(session, supervisor, table, now)
    assert report.good == 6   # the rows after the unparsable one are read on
    assert [(b.row, b.reason[:9]) for b in report.bad] == [(5, "第5行无法解析（单")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(st.lists(st.text(max_size=30), max_size=10), max_size=8).map(
                          lambda t: csv_bytes([HEADER, *t], "utf-8")),
                      st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b)))
def test_no_input_gives_anything_but_a_report_or_a_chinese_refusal(session, supervisor, now, data):
    try:
        report = run(session, supervisor, data, now)
    except ValidationFailed as exc:
        assert exc.message and not exc.message.isascii()
    else:
        assert report.imported == 0 and all(b.reason for b in report.bad)


def test_the_templates_import_cleanly_once_the_example_is_real(session, supervisor, jurisdiction, now):
    for fmt in ("xlsx", "csv"):
        sheet = read_sheet(template("enterprises", fmt), "enterprises")
        assert sheet.header_row == 1 and not sheet.ignored
        assert set(sheet.columns) >= {"uscc", "name", "district", "street", "address", "established_on"}
        sheet = read_sheet(template("cases", fmt), "cases")
        assert set(sheet.columns) >= {"uscc", "violations", "opened_on", "summary"}


# ---------------------------------------------------------------------------------------------------- cases

CASE_HEADER = ["统一社会信用代码", "企业名称", "违法情形", "立案日期", "案情摘要", "承办监督员"]


def test_cases_import_with_dates_in_every_form_numbering_and_one_opening_event_each(
        session, supervisor, make_enterprise, make_user, jurisdiction, now):
    firms = [make_enterprise() for _ in range(12)]
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    stranger = make_enterprise(jurisdiction=haidian)
    colleague = make_user(supervisor_number=f"京朝监{uuid.uuid4().hex[:6]}")
    wb = Workbook()
    ws = wb.active
    ws.append(["案件导入"])
    ws.append(CASE_HEADER)
    for i, e in enumerate(firms[:10]):
        opened = [dt.datetime(2026, 11, 2), 46330, "2026/11/3", None][i % 4]   # 46330 = 2026-11-04
        ws.append([e.uscc, e.name, "不建会、不缴费" if i % 2 else "不建会", opened, f"摘要{i}",
                   colleague.supervisor_number if i == 0 else supervisor.login])
    ws.append([firms[0].uscc, "", "不建会", "2026-11-05", "", ""])                    # same firm, same violation
    ws.append([firms[10].uscc, "", "乱写", "", "", ""])                               # unknown violation
    ws.append([stranger.uscc, "", "不建会", "", "", ""])                              # outside the scope
    ws.append([code(), "", "不建会", "", "", ""])                                     # not registered
    ws.append([firms[11].uscc, "", "不协商", "2027-01-01", "", ""])                   # in the future
    ws.append([firms[11].uscc, "", "不协商", "", "", "nobody.here"])                  # unknown supervisor
    out = io.BytesIO()
    wb.save(out)
    cases_before, events_before = count(session, Case), count(session, CaseEvent)
    report = run(session, supervisor, out.getvalue(), now, kind="cases", filename="案件.xlsx", dry_run=False,
                 mode="good-rows")
    assert (report.rows, report.imported) == (16, 10)
    assert [(b.row, b.reason[:10]) for b in report.bad] == [
        (13, "与第3行重复：同一企"), (14, "未知的违法情形：乱写"), (15, "企业未登记或不在您的"), (16, "企业未登记或不在您的"),
        (17, "立案日期不能晚于今天"), (18, "没有登录名或监督员证")]
    assert count(session, Case) == cases_before + 10
    assert count(session, CaseEvent) == events_before + 10
    cases = session.scalars(select(Case).where(Case.id.in_(report.imported_ids)).order_by(Case.id)).all()
    assert [c.enterprise_id for c in cases] == [e.id for e in firms[:10]]
    assert {c.state for c in cases} == {"registered"}
    from compliance.clock import business_date
    assert [business_date(c.opened_at) for c in cases[:4]] == [dt.date(2026, 11, 2), dt.date(2026, 11, 4),
                                                                dt.date(2026, 11, 3), business_date(now)]
    seqs = sorted(c.seq for c in cases)
    assert seqs == list(range(seqs[0], seqs[0] + 10))   # consecutive numbers of the street's 2026 cases
    assert cases[0].reference == f"{jurisdiction.issuer_code}案〔2026〕{cases[0].seq}号"
    assert [u.id for u in cases[0].supervisors] == [colleague.id]
    assert cases[1].violations == {"no_union", "unpaid_funds"}
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == cases[0].id))
    assert (event.seq, event.action, event.to_state) == (1, "case.opened", "registered")
    assert event.details["imported"]["row"] == 3

    # the same file again: every row is now a duplicate of an open case
    again = run(session, supervisor, out.getvalue(), now, kind="cases", filename="案件.xlsx")
    assert again.good == 0 and again.bad[0].reason.startswith("该企业已有未结案件")


def test_the_step_after_an_imported_case_works_as_after_open_case(session, supervisor, make_enterprise, now):
    from compliance.operations.cases import fire_trigger, replay_case, stored_replay
    from compliance.testing import VISIT
    e = make_enterprise()
    report = run(session, supervisor, csv_bytes([CASE_HEADER, [e.uscc, "", "不建会", "", "", ""]]), now,
                 kind="cases", dry_run=False)
    [case_id] = report.imported_ids
    result = fire_trigger(session, case_id, "record_visit", VISIT, actor=supervisor, now=now)
    assert result.event.seq == 2
    assert replay_case(session, case_id) == stored_replay(session, session.get(Case, case_id))


def test_a_two_row_header_read_from_its_upper_row_takes_the_lower_rows_names(session, supervisor, rows, now):
    """Most headings merged down over both rows, one group heading (所在地) merged across 所在区 and 街道/乡镇."""
    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "所在地", None, "地址"])
    ws.append([None, None, "所在区", "街道/乡镇", None])
    for cell in ("A1:A2", "B1:B2", "C1:D1", "E1:E2"):
        ws.merge_cells(cell)
    for row in rows[:5]:
        ws.append(row[:5])
    out = io.BytesIO()
    wb.save(out)
    report = run(session, supervisor, out.getvalue(), now, filename="x.xlsx")
    assert (report.header_row, report.rows, report.good, report.bad) == (1, 5, 5, [])
    assert report.header == ["统一社会信用代码", "企业名称", "所在区", "街道/乡镇", "地址"]


def test_districts_and_streets_as_people_write_them(session, supervisor, make_user, jurisdiction, now):
    from compliance.models import JurisdictionLevel
    from compliance.seed import add_jurisdiction
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    street = add_jurisdiction(session, code=f"T{uuid.uuid4().hex[:10]}", name="望京街道",
                              level=JurisdictionLevel.STREET, parent=chaoyang, federation_name="望京街道总工会",
                              issuer_code="京朝望工监")
    district_user = make_user(jurisdiction=chaoyang)
    table = [HEADER, [code(), "甲有限公司", "北京市朝阳区", "望京", "", "", "", ""],
             [code(), "乙有限公司", "朝阳", "望京街道", "", "", "", ""],
             [code(), "丙有限公司", " 朝阳区 ", "", "", "", "", ""],
             [code(), "丁有限公司", "经开区", "", "", "", "", ""]]
    report = run(session, district_user, csv_bytes(table), now, dry_run=False, mode="good-rows")
    assert report.imported == 3 and [(b.row, b.reason) for b in report.bad] == [
        (5, "不在您的管辖范围内（北京经济技术开发区）")]
    places = dict(session.execute(select(Enterprise.name, Enterprise.jurisdiction_id)
                                  .where(Enterprise.name.in_(["甲有限公司", "乙有限公司", "丙有限公司"]))).all())
    assert places == {"甲有限公司": street.id, "乙有限公司": street.id, "丙有限公司": chaoyang.id}
