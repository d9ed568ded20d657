"""The case and enterprise lists, an enterprise's page, and the lists' exports (blueprint `web`)."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from compliance import clock
from compliance.access import Permission, can
from compliance.db import db
from compliance.models import Case, Enterprise
from compliance.scoping import Scope, in_scope
from compliance.web import listing
from compliance.web.cases import bp
from compliance.web.exports import CHUNK, EXPORT_CAP, csv_response, xlsx_response

#: An enterprise's page lists this many of its cases (an enterprise has a handful).
ENTERPRISE_CASES = 200


def _require_view() -> None:
    if not can(current_user, Permission.VIEW):
        abort(403)


def _today():
    return clock.business_date(clock.utcnow())


@bp.app_template_filter("thousands")
def _thousands(value) -> str:
    return f"{value:,}"


def _scope() -> Scope:
    listing.serial_reads(db.session)
    return Scope.of(db.session, current_user)


def _case_filters() -> tuple[listing.CaseFilters, Scope]:
    scope = _scope()
    return listing.CaseFilters.from_args(request.args, user=current_user, scope=scope), scope


@bp.route("/cases")
@login_required
def cases():
    """Cases in the user's jurisdiction: filters, search, sort, keyset pages of 50."""
    _require_view()
    f, scope = _case_filters()
    cursor = listing.decode_case_cursor(request.args.get("after"), f)
    page = listing.case_page(db.session, scope, f, _today(), cursor)
    return render_template("cases.html", page=page, f=f, places=scope.jurisdictions,
                           supervisors=listing.supervisors_in_scope(db.session, scope),
                           stages=listing.STAGES, violations=listing.VIOLATIONS, sorts=listing.CASE_SORTS,
                           export_cap=EXPORT_CAP, max_search=listing.MAX_SEARCH, count_cap=listing.COUNT_CAP)


@bp.route("/enterprises")
@login_required
def enterprises():
    """Enterprises in the user's jurisdiction by name, with search; keyset pages of 50."""
    _require_view()
    scope = _scope()
    f = listing.EnterpriseFilters.from_args(request.args, scope=scope)
    cursor = listing.decode_enterprise_cursor(request.args.get("after"))
    page = listing.enterprise_page(db.session, scope, f, cursor)
    return render_template("enterprises.html", page=page, f=f, places=scope.jurisdictions,
                           export_cap=EXPORT_CAP, max_search=listing.MAX_SEARCH, count_cap=listing.COUNT_CAP)


@bp.route("/enterprises/<id:enterprise_id>")
@login_required
def enterprise_detail(enterprise_id: int):
    """One enterprise: its registered facts and its cases (those in the user's jurisdiction)."""
    _require_view()
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or not can(current_user, Permission.VIEW, enterprise.jurisdiction):
        abort(404)  # out of scope looks the same as absent
    ids = list(db.session.scalars(
        in_scope(select(Case.id), Case, current_user).where(Case.enterprise_id == enterprise.id)
        .order_by(Case.opened_at.desc(), Case.id.desc()).limit(ENTERPRISE_CASES + 1)))
    rows = listing.load_case_rows(db.session, ids[:ENTERPRISE_CASES], _today())
    return render_template("enterprise.html", enterprise=enterprise, rows=rows,
                           more_cases=len(ids) > ENTERPRISE_CASES)


# ----------------------------------------------------------------------------------------------------- exports

CASE_HEADER = ["案件编号", "企业名称", "统一社会信用代码/注册号", "违法情形", "阶段", "辖区", "立案日期", "结案日期",
               "下一期限", "期限届满日", "期限提示", "承办监督员"]
CASE_WIDTHS = [26, 34, 22, 18, 16, 14, 12, 12, 22, 12, 14, 20]
ENTERPRISE_HEADER = ["企业名称", "统一社会信用代码/注册号", "辖区", "地址", "行业", "职工人数", "会员人数", "已建会",
                     "法定代表人", "在办案件", "全部案件"]
ENTERPRISE_WIDTHS = [34, 22, 14, 36, 14, 10, 10, 8, 12, 10, 10]


def _case_export_rows(f: listing.CaseFilters, scope: Scope) -> Iterator[list]:
    """The filtered cases in the list's order, CHUNK at a time; one row past the cap tells the writer to stop."""
    today = _today()
    cursor, produced = None, 0
    while produced <= EXPORT_CAP:
        page = listing.case_page(db.session, scope, f, today, cursor, size=CHUNK, count=False, supervisors=True)
        for row in page.rows:
            case, due = row.case, row.next_due
            hint = "、".join(t for t, on in (("已逾期", due and due.is_overdue), ("暂定", due and due.any_provisional))
                            if on)
            yield [case.reference, case.enterprise.name, case.enterprise.identifier,
                   "、".join(v.label for v in sorted(case.violations)), case.state_enum.label, case.jurisdiction.name,
                   clock.business_date(case.opened_at), clock.business_date(case.closed_at) if case.closed_at else None,
                   due.label if due else None, due.due_on if due else None, hint, "、".join(row.supervisors)]
        # Nothing keeps a written row: the session's identity map holds objects weakly, so memory stays flat.
        produced += len(page.rows)
        if page.next_cursor is None:
            return
        cursor = listing.next_chunk_cursor(page)


def _enterprise_export_rows(f: listing.EnterpriseFilters, scope: Scope) -> Iterator[list]:
    cursor, produced = None, 0
    while produced <= EXPORT_CAP:
        page = listing.enterprise_page(db.session, scope, f, cursor, size=CHUNK, count=False)
        for row in page.rows:
            e = row.enterprise
            yield [e.name, e.identifier, e.jurisdiction.name, e.address, e.industry, e.employee_count,
                   e.member_count, "是" if e.has_union else "否", e.legal_representative, row.open_cases,
                   row.all_cases]
        produced += len(page.rows)
        if page.next_cursor is None:
            return
        cursor = listing.next_chunk_cursor(page)


def _export(fmt: str, stem: str, sheet: str, header: list[str], widths: list[int], rows: Iterator[list]):
    filename = f"{stem}-{_today().isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows, cap=EXPORT_CAP)
    return xlsx_response(filename, sheet, header, rows, cap=EXPORT_CAP, widths=widths)


@bp.route("/cases/export.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/cases/export.csv", defaults={"fmt": "csv"})
@login_required
def export_cases(fmt: str):
    """The filtered case list (same scope, filters and order), at most EXPORT_CAP rows."""
    _require_view()
    f, scope = _case_filters()
    return _export(fmt, "案件", "案件", CASE_HEADER, CASE_WIDTHS, _case_export_rows(f, scope))


@bp.route("/enterprises/export.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/enterprises/export.csv", defaults={"fmt": "csv"})
@login_required
def export_enterprises(fmt: str):
    """The filtered enterprise list, at most EXPORT_CAP rows."""
    _require_view()
    scope = _scope()
    f = listing.EnterpriseFilters.from_args(request.args, scope=scope)
    return _export(fmt, "企业", "企业", ENTERPRISE_HEADER, ENTERPRISE_WIDTHS, _enterprise_export_rows(f, scope))
