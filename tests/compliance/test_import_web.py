"""The import page (upload, dry-run report, confirm once, bad rows, templates) and the `compliance import` command."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from compliance.cli import main
from compliance.models import AdminEvent, Enterprise, Role
from tests.compliance.test_imports import HEADER, bad_code, code, csv_bytes, place_name

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    return tmp_path / "imports"


def login(client, user):
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Enterprise))


@pytest.fixture
def table(jurisdiction):
    district, street = place_name(jurisdiction)
    rows = [[code(), f"北京网页导入{i}有限公司", district, street, "北京市朝阳区建国路1号", "陈建国", "30", "2015-03-01"]
            for i in range(9)]
    rows.insert(4, [bad_code(), "校验位错误有限公司", district, street, "", "", "", ""])
    return [HEADER, *rows]


def upload(client, data: bytes, name="企业名单.csv", mode="all-or-nothing", kind="enterprises"):
    return client.post("/imports", data={"kind": kind, "mode": mode, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(res) -> str:
    return re.search(r'name="token" value="([^"]+)"', res.get_data(as_text=True)).group(1)


def test_upload_reports_every_bad_row_then_imports_once(client, session, supervisor, table, import_folder):
    login(client, supervisor)
    before = count(session)
    res = upload(client, csv_bytes(table, "gbk"))
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "共读取 10 行：正确 9 行，有误 1 行。（试导入，未写入任何数据）" in body
    assert '<td data-label="行号">6</td>' in body and "统一社会信用代码校验位错误" in body
    assert count(session) == before
    token = token_of(res)

    # all-or-nothing with a bad row: nothing, and the upload stays available for the other mode
    res = client.post("/imports/confirm", data={"token": token, "mode": "all-or-nothing"})
    assert res.status_code == 200 and "按“全部正确才导入”，未导入任何数据" in res.get_data(as_text=True)
    assert count(session) == before

    bad = client.get(f"/imports/bad-rows?token={token}")
    assert bad.status_code == 200 and "attachment" in bad.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(bad.data.decode("gb18030"))))
    assert rows[0][-2:] == ["错误原因", "原行号"] and rows[1][1] == "校验位错误有限公司" and rows[1][-1] == "6"

    res = client.post("/imports/confirm", data={"token": token, "mode": "good-rows"})
    assert res.status_code == 200 and "已导入企业 9 条" in res.get_data(as_text=True)
    assert count(session) == before + 9
    assert session.scalar(select(func.count()).select_from(AdminEvent).where(
        AdminEvent.action == "import.enterprises", AdminEvent.actor_id == supervisor.id)) == 1

    # a second confirmation (double click, reload, another tab) imports nothing
    again = client.post("/imports/confirm", data={"token": token, "mode": "good-rows"})
    assert again.status_code == 404 and "只能导入一次" in again.get_data(as_text=True)
    assert count(session) == before + 9
    assert not list(import_folder.glob("*.upload")) and not list(import_folder.glob("*.claimed"))


def test_an_upload_belongs_to_its_uploader(app, client, session, supervisor, make_user, table):
    login(client, supervisor)
    token = token_of(upload(client, csv_bytes(table[:3])))
    other = app.test_client()
    login(other, make_user())
    assert other.post("/imports/confirm", data={"token": token, "mode": "good-rows"}).status_code == 404
    assert other.get(f"/imports/bad-rows?token={token}").status_code == 404
    assert client.post("/imports/confirm", data={"token": "../../etc/passwd", "mode": "good-rows"}).status_code == 404


def test_xlsx_upload_and_its_bad_rows_as_xlsx(client, session, supervisor, table):
    from openpyxl import Workbook
    wb = Workbook()
    for row in table:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    login(client, supervisor)
    token = token_of(upload(client, out.getvalue(), name="名单.xlsx"))
    res = client.get(f"/imports/bad-rows?token={token}")
    assert res.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(res.data)).active
    values = list(ws.values)
    assert values[0][-2:] == ("错误原因", "原行号") and values[1][1] == "校验位错误有限公司"


@pytest.mark.parametrize("data, name, status, message", [
    (b"\x00\x01\x02garbage", "x.csv", 422, "空字符"),
    (b"PK\x03\x04not a zip", "x.xlsx", 422, "已损坏"),
    ("序号,备注\n1,2\n".encode(), "x.csv", 422, "找不到表头"),
])
def test_files_that_cannot_be_read_are_refused_on_the_page(client, supervisor, data, name, status, message):
    login(client, supervisor)
    res = upload(client, data, name=name)
    assert res.status_code == status and message in res.get_data(as_text=True)


def test_no_file_and_a_file_too_large(app, client, supervisor, table, monkeypatch):
    login(client, supervisor)
    res = client.post("/imports", data={"kind": "enterprises"}, content_type="multipart/form-data")
    assert res.status_code == 422 and "请选择要导入的" in res.get_data(as_text=True)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    big = csv_bytes(table) + b"x" * (2 * 1024 * 1024)
    res = upload(client, big)
    assert res.status_code == 413 and "文件过大：上传上限为 1 MB" in res.get_data(as_text=True)


def test_templates_download_and_read_back(client, supervisor):
    login(client, supervisor)
    for kind in ("enterprises", "cases"):
        res = client.get(f"/imports/template?kind={kind}&format=xlsx")
        assert res.status_code == 200 and res.data[:2] == b"PK"
        res = client.get(f"/imports/template?kind={kind}&format=csv")
        assert res.data.startswith(b"\xef\xbb\xbf")
    page = client.get("/imports?kind=cases").get_data(as_text=True)
    assert "违法情形" in page and "承办监督员" in page


@pytest.mark.parametrize("role", [Role.APPROVER, Role.AUDITOR, Role.ADMIN])
def test_roles_without_the_permission_get_403(client, make_user, table, role):
    login(client, make_user(roles={role}))
    assert client.get("/imports").status_code == 403
    assert upload(client, csv_bytes(table)).status_code == 403


# ------------------------------------------------------------------------------------------------------ CLI

def invoke(runner, *args):
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_cli_dry_run_then_good_rows_with_the_bad_rows_file(runner, session, supervisor, table, tmp_path):
    path = tmp_path / "企业.csv"
    path.write_bytes(csv_bytes(table, "gbk"))
    session.commit()   # a dry run rolls the shared session back: keep the rows made here
    before = count(session)
    dry = invoke(runner, "import", "enterprises", str(path), "--dry-run", "--by", supervisor.login)
    assert dry.exit_code == 3 and "第6行：统一社会信用代码校验位错误" in dry.output
    assert count(session) == before
    out = tmp_path / "bad.csv"
    done = invoke(runner, "import", "enterprises", str(path), "--mode", "good-rows", "--bad-rows", str(out),
                  "--by", supervisor.login)
    assert done.exit_code == 3 and "已导入企业 9 条" in done.output, done.output
    assert count(session) == before + 9
    assert out.read_bytes().decode("gb18030").splitlines()[1].startswith(table[5][0])


def test_cli_refusals_are_one_line(runner, session, supervisor, tmp_path, make_user):
    auditor = make_user(roles={Role.AUDITOR})
    session.commit()
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    res = invoke(runner, "import", "enterprises", str(path), "--by", supervisor.login)
    assert res.exit_code == 1 and res.output.strip() == "Error: 上传的文件是空的"
    path.write_bytes(b"a,b\n")
    res = invoke(runner, "import", "cases", str(path), "--by", auditor.login)
    assert res.exit_code == 1 and "不能立案" in res.output


def test_cli_template_then_export_enterprises_with_a_filter(runner, session, supervisor, make_enterprise,
                                                            tmp_path):
    res = invoke(runner, "import", "template", "cases", str(tmp_path / "t.xlsx"))
    assert res.exit_code == 0 and load_workbook(tmp_path / "t.xlsx").active["C1"].value == "违法情形*"
    mine = make_enterprise(name="北京导出筛选甲有限公司")
    make_enterprise(name="北京另一家有限公司")
    session.commit()
    out = tmp_path / "e.csv"
    res = invoke(runner, "export", "enterprises", "--q", "导出筛选", "--by", supervisor.login, str(out))
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [mine.name]
    res = invoke(runner, "export", "cases", "--format", "xlsx", "--stage", "open", "--by", supervisor.login,
                 str(tmp_path / "c.xlsx"))
    assert res.exit_code == 0 and load_workbook(tmp_path / "c.xlsx").active["A1"].value == "案件编号"


def test_the_import_is_one_entry_of_the_admins_audit(app, client, session, supervisor, make_user, table):
    from compliance.models import Jurisdiction
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    admin = make_user(roles={Role.ADMIN}, jurisdiction=chaoyang)
    login(client, supervisor)
    token = token_of(upload(client, csv_bytes(table), name="朝阳名单.csv"))
    client.post("/imports/confirm", data={"token": token, "mode": "good-rows"})
    other = app.test_client()
    login(other, admin)
    page = other.get("/admin/audit").get_data(as_text=True)
    assert page.count("批量导入企业") == 1
    assert "文件：朝阳名单.csv" in page and "导入条数：9" in page and "有误行数：1" in page
