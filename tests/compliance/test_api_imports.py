"""Spreadsheet import and exports through the REST API (/api/v1/imports/…, /api/v1/exports/…)."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from compliance.models import Enterprise, Jurisdiction, Role
from tests.compliance.test_api import PROBLEM, ApiClient, make_token  # noqa: F401 (fixture)
from tests.compliance.test_imports import HEADER, code, csv_bytes, place_name


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Enterprise))


@pytest.fixture
def api(app, make_token, supervisor):
    return ApiClient(app.test_client(), make_token(supervisor))


@pytest.fixture
def rows(jurisdiction):
    district, street = place_name(jurisdiction)
    return [[code(), f"北京接口导入{i}科技有限公司", district, street, f"北京市朝阳区建国路{i}号", "陈建国", str(50 + i),
             "2015-03-01"] for i in range(5)]


def _upload(api, data, *, kind="enterprises", headers=None, **fields):
    form = {"file": (io.BytesIO(data), "企业.csv"), **{k: str(v).lower() for k, v in fields.items()}}
    return api.post(f"/imports/{kind}", data=form, content_type="multipart/form-data", headers=headers)


def test_a_dry_run_reports_each_bad_row_with_its_number_and_writes_nothing(api, session, rows):
    rows[2][0] = "not-a-code"
    before = _count(session)
    res = _upload(api, csv_bytes([HEADER, *rows]))    # dry_run defaults to true
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert body["dry_run"] is True and body["rows"] == 5 and body["good"] == 4 and body["imported"] == 0
    assert body["bad_count"] == 1 and [b["row"] for b in body["bad"]] == [4] and body["bad"][0]["reason"]
    assert _count(session) == before


def test_all_or_nothing_writes_nothing_with_one_bad_row_and_good_rows_imports_the_rest(api, session, rows):
    rows[0][1] = ""
    data = csv_bytes([HEADER, *rows])
    before = _count(session)
    res = _upload(api, data, dry_run=False, mode="all-or-nothing")
    assert res.status_code == 200 and res.get_json()["imported"] == 0 and res.get_json()["bad"][0]["row"] == 2
    assert _count(session) == before
    res = _upload(api, data, dry_run=False, mode="good-rows")
    body = res.get_json()
    assert res.status_code == 200 and body["imported"] == 4 and body["audit_id"], body
    assert _count(session) == before + 4


def test_rows_outside_the_users_scope_are_refused(api, session, rows):
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    rows[1][2], rows[1][3] = haidian.name, ""
    res = _upload(api, csv_bytes([HEADER, *rows]), dry_run=False, mode="good-rows")
    body = res.get_json()
    assert res.status_code == 200 and body["imported"] == 4
    assert [b["row"] for b in body["bad"]] == [3] and "管辖范围" in body["bad"][0]["reason"]


def test_a_retry_with_the_same_idempotency_key_imports_once(api, session, rows):
    data = csv_bytes([HEADER, *rows])
    before = _count(session)
    first = _upload(api, data, dry_run=False, headers={"Idempotency-Key": "import-1"})
    again = _upload(api, data, dry_run=False, headers={"Idempotency-Key": "import-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == first.get_json()
    assert first.get_json()["imported"] == 5 and _count(session) == before + 5


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.APPROVER])
def test_roles_that_may_not_import_get_403(app, session, make_user, make_token, rows, role):
    api = ApiClient(app.test_client(), make_token(make_user(roles={role})))
    before = _count(session)
    for kind in ("enterprises", "cases"):
        res = _upload(api, csv_bytes([HEADER, *rows]), kind=kind, dry_run=False)
        assert res.status_code == 403 and res.mimetype == PROBLEM
    assert _count(session) == before


def test_a_file_that_is_not_a_table_is_422_and_an_unknown_kind_404(api):
    res = _upload(api, b"\x00\x01 not a spreadsheet")
    assert res.status_code == 422 and res.mimetype == PROBLEM and res.get_json()["detail"]
    assert _upload(api, b"x", kind="users").status_code == 404
    res = _upload(api, b"x", mode="some")
    assert res.status_code == 422 and res.mimetype == PROBLEM


def test_a_file_over_the_limit_is_413(app, api, rows):
    app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        res = _upload(api, csv_bytes([HEADER, *rows * 40]))
    finally:
        del app.config["IMPORT_MAX_BYTES"]
    assert res.status_code == 413 and res.mimetype == PROBLEM


def _csv(res) -> list[list[str]]:
    return list(csv.reader(io.StringIO(res.get_data().decode("utf-8-sig"))))


def test_exports_respect_scope_and_filters(api, session, make_enterprise, make_case, make_user, jurisdiction):
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    mine = make_case(violations=("no_union",))
    other = make_case(violations=("unpaid_funds",))
    away = make_enterprise(jurisdiction=haidian)
    session.commit()
    res = api.get("/exports/cases?format=csv")
    assert res.status_code == 200 and res.mimetype == "text/csv", res.get_data(as_text=True)[:300]
    refs = {r[0] for r in _csv(res)[1:]}
    assert {mine.reference, other.reference} <= refs
    res = api.get("/exports/cases?format=csv&violation=unpaid_funds")
    assert {r[0] for r in _csv(res)[1:]} == {other.reference}
    res = api.get("/exports/enterprises?format=xlsx")
    assert res.status_code == 200 and res.mimetype.endswith("spreadsheetml.sheet")
    names = {row[0] for row in load_workbook(io.BytesIO(res.get_data()), read_only=True).active.iter_rows(
        min_row=2, values_only=True)}
    assert mine.enterprise.name in names and away.name not in names
    res = api.get("/exports/listing-batch?format=csv")
    assert res.status_code == 200 and _csv(res)[0][0] == "企业名称"
    res = api.get("/exports/cases?format=pdf")
    assert res.status_code == 422 and res.mimetype == PROBLEM
    res = api.get("/exports/cases?nonsense=1")
    assert res.status_code == 422 and res.mimetype == PROBLEM
