"""The credit-listing request batch (page and command) in the published fields' layout, and the export writers."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from compliance.cli import main
from compliance.exports import LISTING_HEADER, write_csv, write_xlsx
from compliance.models import Notice
from compliance.operations.cases import fire_trigger
from compliance.testing import UNPAID_FUNDS_CLIMB

PASSWORD = "correct horse battery"


def climb(session, case, supervisor, send_letters, now, up_to: str):
    """Take the unpaid-funds climb's steps up to and including `up_to`, every letter sent on the way. A unit
    without a union owes funds from the day the higher union started helping (BJM 55(3)): the case records it."""
    from compliance.operations.funds import record_funds_facts
    if "no_union" in {v.value for v in case.violations}:
        record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                           union_help_started_on="2026-03-02")
    for trigger, inputs in UNPAID_FUNDS_CLIMB:
        fire_trigger(session, case.id, trigger, inputs, actor=supervisor, now=now)
        send_letters(case.id, now)
        if trigger == up_to:
            return


def test_listing_batch_holds_the_published_fields_of_requested_and_listed_enterprises(
        app, client, runner, session, supervisor, make_case, make_enterprise, send_letters, now, tmp_path):
    listed = make_case(violations=("unpaid_funds", "no_union"),
                       enterprise=make_enterprise(name="北京已纳入示例有限公司", address="北京市朝阳区光华路9号",
                                                  legal_representative="周大成"))
    requested = make_case(violations=("unpaid_funds", "no_union"),
                          enterprise=make_enterprise(name="北京已提请示例有限公司"))
    not_yet = make_case(violations=("unpaid_funds",), enterprise=make_enterprise(name="北京尚未提请有限公司"))
    climb(session, listed, supervisor, send_letters, now, "record_listing")
    climb(session, requested, supervisor, send_letters, now, "request_listing")
    fire_trigger(session, not_yet.id, *UNPAID_FUNDS_CLIMB[0], actor=supervisor, now=now)
    letter = session.scalars(select(Notice).where(Notice.case_id == listed.id,
                                                  Notice.notice_type == "listing_request")).one()
    session.commit()

    assert client.post("/login", data={"login": supervisor.login, "password": PASSWORD}).status_code == 302
    res = client.get("/exports/listing-batch.csv")
    assert res.status_code == 200 and "attachment" in res.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.data.decode("utf-8-sig"))))
    assert rows[0] == LISTING_HEADER == ["企业名称", "统一社会信用代码", "企业住所", "法定代表人", "违法事实", "处理情况"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"北京已纳入示例有限公司", "北京已提请示例有限公司"}
    name, code, address, representative, facts, handling = by_name["北京已纳入示例有限公司"]
    assert (code, address, representative) == (listed.enterprise.uscc, "北京市朝阳区光华路9号", "周大成")
    assert facts.startswith("不建会、不缴费：") and "未缴纳工会经费" in facts
    assert letter.number in handling and "北京市朝阳区人力资源和社会保障局于2026年11月24日纳入（朝人社信〔2026〕3号）" in handling
    assert handling.startswith("朝阳区总工会劳动法律监督委员会于2026年11月24日以")   # the district signs it
    assert "纳入（" not in by_name["北京已提请示例有限公司"][5]

    ws = load_workbook(io.BytesIO(client.get("/exports/listing-batch.xlsx").data)).active
    assert [c.value for c in ws[1]] == LISTING_HEADER and ws.max_row == 3

    out = tmp_path / "batch.csv"
    result = runner.invoke(main, ["export", "listing-batch", "--by", supervisor.login, str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == res.data


def test_an_auditor_elsewhere_sees_an_empty_batch_and_others_may_not_download(app, session, make_user):
    from compliance.models import Jurisdiction, Role
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    auditor = make_user(roles={Role.AUDITOR}, jurisdiction=haidian)
    admin = make_user(roles={Role.ADMIN})
    session.commit()
    client = app.test_client()
    client.post("/login", data={"login": auditor.login, "password": PASSWORD})
    rows = list(csv.reader(io.StringIO(client.get("/exports/listing-batch.csv").data.decode("utf-8-sig"))))
    assert rows == [LISTING_HEADER]
    other = app.test_client()
    other.post("/login", data={"login": admin.login, "password": PASSWORD})
    assert other.get("/exports/listing-batch.csv").status_code == 403


def test_writers_quote_formulas_and_say_when_capped():
    out = io.BytesIO()
    capped = write_csv(out, ["名称"], [["=HYPERLINK(\"x\")"], ["+1"], ["正常"]], cap=2)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert capped and rows[1:3] == [["'=HYPERLINK(\"x\")"], ["'+1"]] and "导出上限" in rows[3][0]
    out = io.BytesIO()
    write_xlsx(out, "表", ["名称"], [["@SUM(A1)"]])
    assert load_workbook(out).active["A2"].value == "'@SUM(A1)"
