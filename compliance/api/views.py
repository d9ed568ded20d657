"""The /api/v1 resources. Reads use the web lists' own query code (compliance.web.listing, keyset pages);
every change goes through an operation (compliance.operations), inside the caller's scope, and is committed here.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, current_app, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select

import letters
from compliance import clock
from compliance.access import Permission, in_scope, permissions, require
from compliance.api import idempotency, setup_blueprint
from compliance.api import schemas as s
from compliance.db import db
from compliance.documents import DocumentMissing, document_store
from compliance.errors import NotFound, ValidationFailed
from compliance.models import (Attachment, Case, CaseEvent, Deadline, Enterprise, InboxMessage, Jurisdiction, Notice,
                               NoticeStatus, User)
from compliance.operations import attachments as attachment_ops
from compliance.operations import cases as case_ops
from compliance.operations import notices as notice_ops
from compliance.operations import reminders as reminder_ops
from compliance.operations import service as service_ops
from compliance.operations.enterprises import register_enterprise
from compliance.scoping import Scope
from compliance.snapshots import plain
from compliance.web import listing
from workflows.ladder import State
from workflows.states import TRIGGERS

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="执法案件管理 REST API")
setup_blueprint(bp)

ERRORS_READ = (401, 403, 404, 429)
ERRORS_WRITE = (401, 403, 404, 409, 413, 422, 429)


def problems(*codes: int):
    """Document the problem+json answers an operation may give."""
    def decorate(func):
        for code in codes:
            func = bp.alt_response(code, schema=s.ProblemSchema, content_type="application/problem+json",
                                   description=_DESCRIPTIONS.get(code, ""))(func)
        return func
    return decorate


_DESCRIPTIONS = {400: "请求体无法解析", 401: "没有有效的 API 令牌", 403: "角色无此权限", 404: "不存在或不在辖区范围内",
                 409: "版本已过期，或当前阶段不允许（附原因）", 413: "请求内容过大", 422: "校验未通过（附各字段的错误）",
                 429: "请求过于频繁"}


def _user() -> User:
    return g.api_user


def _now() -> dt.datetime:
    return clock.utcnow()


def _today() -> dt.date:
    return clock.business_date(_now())


def _scope() -> Scope:
    listing.serial_reads(db.session)
    return Scope.of(db.session, _user())


def _jur(j: Jurisdiction) -> dict:
    return {"id": j.id, "code": j.code, "name": j.name}


# ------------------------------------------------------------------------------------------------ who

@bp.get("/me")
@bp.response(200, s.MeSchema)
@problems(401, 429)
def me():
    """令牌所代表的用户：角色、权限与辖区。"""
    user, token = _user(), g.api_token
    return {"id": user.id, "login": user.login, "name": user.name, "roles": sorted(r.value for r in user.roles),
            "permissions": sorted(p.value for p in permissions(user)), "jurisdiction": _jur(user.jurisdiction),
            "token": {"id": token.id, "name": token.name, "prefix": token.prefix,
                      "expires_at": token.expires_at.isoformat()}}


# ------------------------------------------------------------------------------------------------ enterprises

def _enterprise(e: Enterprise, counts: tuple[int, int] | None = None) -> dict:
    out = {"id": e.id, "name": e.name, "uscc": e.uscc, "registration_number": e.registration_number,
           "identifier": e.identifier, "jurisdiction": _jur(e.jurisdiction), "address": e.address,
           "legal_representative": e.legal_representative, "industry": e.industry,
           "ownership_type": e.ownership_type, "employee_count": e.employee_count, "member_count": e.member_count,
           "has_union": bool(e.has_union),
           "monthly_payroll": None if e.monthly_payroll is None else f"{e.monthly_payroll:.2f}",
           "established_on": e.established_on, "contact_name": e.contact_name, "contact_phone": e.contact_phone}
    if counts is not None:
        out["open_cases"], out["all_cases"] = counts
    return out


def _args(args: dict, *names: str) -> dict[str, str]:
    """Parsed query arguments back as the web list reads them (strings)."""
    out = {}
    for name in names:
        value = args.get(name)
        if value is None:
            continue
        out[name] = ("1" if value else "") if isinstance(value, bool) else str(value)
    return out


@bp.get("/enterprises")
@bp.arguments(s.EnterpriseListArgs, location="query", unknown=RAISE)
@bp.response(200, s.EnterprisePage)
@problems(*ERRORS_READ, 422)
def list_enterprises(args):
    """辖区内的企业，按名称排序；与网页列表相同的搜索与辖区筛选，键集分页。"""
    require(_user(), Permission.VIEW, absent="")
    scope = _scope()
    f = listing.EnterpriseFilters.from_args(_args(args, "q", "place"), scope=scope)
    cursor = listing.decode_enterprise_cursor(args.get("after"))
    page = listing.enterprise_page(db.session, scope, f, cursor, size=args["limit"])
    return {"items": [_enterprise(r.enterprise, (r.open_cases, r.all_cases)) for r in page.rows],
            "next_cursor": page.next_cursor, "total": page.total}


def _readable_enterprise(enterprise_id: int) -> Enterprise:
    absent = f"企业 {enterprise_id} 不存在"
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        require(_user(), Permission.VIEW, absent=absent)
        raise NotFound(absent)
    require(_user(), Permission.VIEW, enterprise.jurisdiction, absent=absent)
    return enterprise


@bp.get("/enterprises/<id:enterprise_id>")
@bp.response(200, s.EnterpriseSchema)
@problems(*ERRORS_READ)
def get_enterprise(enterprise_id: int):
    """一家企业的登记信息。"""
    return _enterprise(_readable_enterprise(enterprise_id))


@bp.post("/enterprises")
@bp.arguments(s.EnterpriseCreate)
@bp.response(201, s.EnterpriseSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def create_enterprise(data):
    """登记一家企业（监督员，本人辖区内）。"""
    def operation():
        jurisdiction = db.session.get(Jurisdiction, data.pop("jurisdiction_id"))
        if jurisdiction is None:
            require(_user(), Permission.REGISTER_ENTERPRISE, absent="该辖区不存在")
            raise NotFound("该辖区不存在")
        enterprise = register_enterprise(db.session, actor=_user(), jurisdiction=jurisdiction, now=_now(), **data)
        return 201, s.EnterpriseSchema().dump(_enterprise(enterprise))
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ cases

def _case(row: listing.CaseRow, *, facts: bool = True) -> dict:
    case, due = row.case, row.next_due
    out = {"id": case.id, "reference": case.reference, "version": case.version, "state": case.state,
           "state_label": State(case.state).label, "violations": sorted(v.value for v in case.violations),
           "summary": case.summary, "enterprise": {"id": case.enterprise.id, "name": case.enterprise.name,
                                                   "identifier": case.enterprise.identifier},
           "jurisdiction": _jur(case.jurisdiction), "opened_at": case.opened_at, "closed_at": case.closed_at,
           "next_due": None if due is None else {"due_on": due.due_on, "label": due.label,
                                                  "is_provisional": due.is_provisional, "is_overdue": due.is_overdue},
           "supervisors": row.supervisors}
    if facts:
        out["facts"] = plain({f: getattr(case, f) for f in Case._FACT_FIELDS})
    return out


def _case_body(case: Case) -> dict:
    [row] = listing.load_case_rows(db.session, [case.id], _today(), supervisors=True)
    return _case(row)


@bp.get("/cases")
@bp.arguments(s.CaseListArgs, location="query", unknown=RAISE)
@bp.response(200, s.CasePage)
@problems(*ERRORS_READ, 422)
def list_cases(args):
    """辖区内的案件：与网页列表相同的筛选（阶段、违法情形、辖区、承办人、逾期、暂定）、搜索与排序，键集分页。"""
    require(_user(), Permission.VIEW, absent="")
    scope = _scope()
    f = listing.CaseFilters.from_args(_args(args, "q", "stage", "violation", "place", "supervisor", "overdue",
                                            "provisional", "sort", "dir"), user=_user(), scope=scope)
    cursor = listing.decode_case_cursor(args.get("after"), f)
    page = listing.case_page(db.session, scope, f, _today(), cursor, size=args["limit"], supervisors=True)
    return {"items": [_case(r, facts=False) for r in page.rows], "next_cursor": page.next_cursor,
            "total": page.total}


def _readable_case(case_id: int) -> Case:
    absent = f"案件 {case_id} 不存在"
    case = db.session.get(Case, case_id)
    if case is None:
        require(_user(), Permission.VIEW, absent=absent)
        raise NotFound(absent)
    require(_user(), Permission.VIEW, case.jurisdiction, absent=absent)
    return case


@bp.get("/cases/<id:case_id>")
@bp.response(200, s.CaseSchema)
@problems(*ERRORS_READ)
def get_case(case_id: int):
    """一个案件：阶段、版本、事实、下一期限。"""
    return _case_body(_readable_case(case_id))


@bp.post("/cases")
@bp.arguments(s.CaseCreate)
@bp.response(201, s.CaseSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def create_case(data):
    """立案（监督员）：企业、违法情形、承办监督员。"""
    def operation():
        user = _user()
        enterprise = db.session.get(Enterprise, data["enterprise_id"])
        if enterprise is None:
            require(user, Permission.OPEN_CASE, absent="该企业不存在")
            raise NotFound("该企业不存在")
        supervisors = []
        for user_id in dict.fromkeys(data["supervisor_ids"]):
            other = db.session.get(User, user_id)
            if other is None or not in_scope(user, other.jurisdiction):
                raise ValidationFailed(f"用户 {user_id} 不存在", field="supervisor_ids")
            supervisors.append(other)
        case = case_ops.open_case(db.session, enterprise=enterprise, violations=data["violations"], opened_by=user,
                                  now=_now(), supervisors=supervisors, summary=data["summary"])
        return 201, s.CaseSchema().dump(_case_body(case))
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ transitions

def _options(case: Case) -> dict:
    options = case_ops.case_options(db.session, case, now=_now())
    triggers = []
    for o in options:
        spec = TRIGGERS[o.trigger]
        triggers.append({"trigger": o.trigger, "label": o.label, "allowed": o.allowed, "reason": o.reason,
                         "dest": o.dest.value if o.dest else None,
                         "inputs": [{"name": f.name, "label": f.label, "kind": f.kind, "required": f.required,
                                     "max_length": f.max_length, "help": f.help} for f in spec.fields]})
    return {"case_id": case.id, "state": case.state, "version": case.version, "triggers": triggers}


@bp.get("/cases/<id:case_id>/transitions")
@bp.response(200, s.OptionsSchema)
@problems(*ERRORS_READ)
def list_transitions(case_id: int):
    """阶梯上的每一步：现在是否允许、不允许的原因、需要的输入。"""
    return _options(_readable_case(case_id))


def _deadline(d: Deadline) -> dict:
    return {"id": d.id, "case_id": d.case_id, "rule_key": d.rule_key, "label": d.label, "period": d.period,
            "counting": d.counting, "legal_basis": d.legal_basis, "start_on": d.start_on, "due_on": d.due_on,
            "extended_from": d.extended_from, "is_provisional": bool(d.is_provisional),
            "explanation": d.explanation, "status": d.status, "closed_at": d.closed_at}


def _event(e: CaseEvent, names: dict[int, str]) -> dict:
    return {"id": e.id, "seq": e.seq, "action": e.action, "trigger": e.trigger, "from_state": e.from_state,
            "to_state": e.to_state, "reason": e.reason, "actor": names.get(e.actor_id) if e.actor_id else None,
            "created_at": e.created_at, "details": plain(e.details or {})}


def _names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _notice_title(notice_type: str) -> str:
    kind = letters.NOTICE_TYPES.get(notice_type)
    return kind.title if kind else notice_type


@bp.post("/cases/<id:case_id>/transitions")
@bp.arguments(s.TransitionRequest)
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(201, s.TransitionResult)
@problems(400, *ERRORS_WRITE)
def fire_transition(data, case_id: int):
    """走一步（监督员）：触发、输入、说明；带 expected_version 防止覆盖他人的修改；接受 Idempotency-Key。

    不允许时 409，problem 的 detail 是原因（与 GET …/transitions 的 reason 相同）。
    """
    def operation():
        result = case_ops.fire_trigger(db.session, case_id, data["trigger"], data["inputs"], actor=_user(),
                                       now=_now(), expected_version=data.get("expected_version"),
                                       reason=data["reason"])
        event = _event(result.event, {_user().id: _user().name})
        return 201, s.TransitionResult().dump({
            "case": _case_body(result.case), "event": event,
            "deadlines_started": [_deadline(d) for d in result.started], "deadlines_closed": result.closed,
            "notices_drafted": [{"id": n.id, "notice_type": n.notice_type, "title": _notice_title(n.notice_type),
                                 "status": n.status} for n in result.notices]})
    return idempotency.run(operation)


@bp.get("/cases/<id:case_id>/deadlines")
@bp.response(200, s.DeadlineSchema(many=True))
@problems(*ERRORS_READ)
def list_deadlines(case_id: int):
    """案件的期限（进行中与已了结），按产生顺序。"""
    case = _readable_case(case_id)
    return [_deadline(d) for d in case_ops.case_deadlines(db.session, case.id)]


@bp.get("/deadlines")
@bp.arguments(s.DeadlineListArgs, location="query", unknown=RAISE)
@bp.response(200, s.DeadlinePage)
@problems(*ERRORS_READ, 422)
def list_all_deadlines(args):
    """辖区内的期限，按届满日排序：与网页“期限”页相同的筛选（本周、逾期、暂定、已了结、本人承办），键集分页。"""
    from compliance.web import keyset
    from compliance.web.reminders import DeadlineFilters, _deadline_query
    require(_user(), Permission.VIEW, absent="")
    listing.serial_reads(db.session)
    f = DeadlineFilters.from_args(_args(args, "show", "mine"))
    cursor = keyset.decode(args.get("after"), "deadlines", f.token, (keyset.as_date, keyset.as_int))
    query = _deadline_query(f, _today(), _user())
    total = listing.count_capped(db.session, query.with_only_columns(Deadline.id))
    columns = [Deadline.due_on, Deadline.id]
    if cursor is not None:
        query = query.where(keyset.after(columns, cursor.key, False))
    size = args["limit"]
    found = db.session.execute(query.order_by(*columns).limit(size + 1)).all()
    more, found = len(found) > size, found[:size]
    shown = (cursor.shown if cursor is not None else 0) + len(found)
    next_cursor = (keyset.encode("deadlines", f.token, (found[-1][0].due_on, found[-1][0].id), shown)
                   if more else None)
    return {"items": [{**_deadline(d), "reference": reference, "enterprise": name} for d, reference, name, _r in found],
            "next_cursor": next_cursor, "total": total}


@bp.get("/cases/<id:case_id>/events")
@bp.response(200, s.EventSchema(many=True))
@problems(*ERRORS_READ)
def list_events(case_id: int):
    """案件的办理记录（只追加），按顺序。"""
    case = _readable_case(case_id)
    events = case_ops.case_history(db.session, case.id)
    names = _names(e.actor_id for e in events)
    return [_event(e, names) for e in events]


# ------------------------------------------------------------------------------------------------ notices

def _notice(n: Notice, *, full: bool = False) -> dict:
    issuer = db.session.get(Jurisdiction, n.issuer_id)
    out = {"id": n.id, "case_id": n.case_id, "notice_type": n.notice_type, "title": _notice_title(n.notice_type),
           "status": n.status, "version": n.version, "number": n.number, "issuer": _jur(issuer),
           "drafted_at": n.drafted_at, "submitted_at": n.submitted_at, "approved_at": n.approved_at,
           "issued_at": n.issued_at, "rejection_reason": n.rejection_reason or "", "sha256": n.sha256,
           "verification_code": n.verification_code, "withdraws_id": n.withdraws_id,
           "pdf_url": url_for("api.notice_pdf", notice_id=n.id) if n.sha256 else None}
    if full:
        kind = letters.NOTICE_TYPES.get(n.notice_type)
        out["facts"] = plain(n.snapshot or {})
        out["editable"] = [{"key": f.key, "label": f.label, "type": f.type, "max": f.max}
                           for f in (kind.editable if kind else ())]
        if n.status == NoticeStatus.DRAFT.value:
            out["missing"] = [key for key, _label in notice_ops.draft_missing(db.session, n)["facts"]]
        out["services"] = _services(service_ops.service_history(db.session, n.id)) if n.issued_at is not None else []
        out["service"] = next((r for r in out["services"] if r["is_current"]), None)
    return out


def _services(rows) -> list[dict]:
    """A notice's service records (送达), oldest first, with who served and recorded them and why one was corrected."""
    rows = list(rows)
    if not rows:
        return []
    names = _names([r.served_by_id for r in rows] + [r.recorded_by_id for r in rows])
    reasons = dict(db.session.execute(select(CaseEvent.id, CaseEvent.reason).where(
        CaseEvent.id.in_([r.event_id for r in rows if r.event_id is not None]))).all())
    return [{"id": r.id, "notice_id": r.notice_id, "method": r.method, "method_label": r.method_label,
             "served_on": r.served_on, "served_by": {"id": r.served_by_id, "name": names.get(r.served_by_id, "")},
             "recipient": r.recipient or "", "tracking_number": r.tracking_number,
             "proof_attachment_id": r.proof_attachment_id, "note": r.note or "", "deadline_id": r.deadline_id,
             "event_id": r.event_id,
             "recorded_by": ({"id": r.recorded_by_id, "name": names.get(r.recorded_by_id, "")}
                             if r.recorded_by_id is not None else None),
             "recorded_at": r.recorded_at, "is_current": r.is_current, "supersedes_id": r.supersedes_id,
             "superseded_at": r.superseded_at,
             "correction_reason": (reasons.get(r.event_id) or "") if r.supersedes_id is not None else ""}
            for r in rows]


def _readable_notice(notice_id: int) -> Notice:
    """A notice the user may read: its case or its issuer in scope (as the web's); otherwise as absent."""
    absent = f"文书 {notice_id} 不存在"
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        require(_user(), Permission.VIEW, absent=absent)
        raise NotFound(absent)
    places = (db.session.get(Case, notice.case_id).jurisdiction, db.session.get(Jurisdiction, notice.issuer_id))
    place = next((j for j in places if in_scope(_user(), j)), places[0])
    require(_user(), Permission.VIEW, place, absent=absent)   # out of scope: as absent; in scope: the role
    return notice


@bp.get("/cases/<id:case_id>/notices")
@bp.response(200, s.NoticeList)
@problems(*ERRORS_READ)
def list_notices(case_id: int):
    """案件的文书（草稿、已审批、已签发、已撤回）。"""
    case = _readable_case(case_id)
    rows = db.session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id))
    return {"items": [_notice(n) for n in rows]}


@bp.get("/notices/<id:notice_id>")
@bp.response(200, s.NoticeSchema)
@problems(*ERRORS_READ)
def get_notice(notice_id: int):
    """一份文书：状态、文号、事实、可编辑项与尚缺的事实。"""
    return _notice(_readable_notice(notice_id), full=True)


@bp.get("/notices/<id:notice_id>/pdf")
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
             description="签发时存档的 PDF，逐字节不变（X-Content-SHA256 为其哈希）")
@problems(*ERRORS_READ)
def notice_pdf(notice_id: int):
    """已签发文书的存档 PDF。未签发的文书没有 PDF（404）。"""
    notice = _readable_notice(notice_id)
    if notice.sha256 is None:
        raise NotFound(f"文书 {notice_id} 尚未签发，没有存档的 PDF")
    try:
        data = document_store().get(notice.sha256)
    except DocumentMissing:
        current_app.logger.error("notice %s: archived PDF missing or damaged", notice.id)
        raise
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=notice-{notice.id}.pdf", "X-Content-SHA256": notice.sha256})


@bp.get("/notices/<id:notice_id>/preview")
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
             description="草稿的预览（带“草稿”水印，无文号），每次按当前事实生成")
@problems(*ERRORS_READ, 422)
def notice_preview(notice_id: int):
    """未签发文书（草稿、已审批、已退回）的预览 PDF。已签发的请取 …/pdf。"""
    notice = _readable_notice(notice_id)
    if notice.status not in (NoticeStatus.DRAFT.value, NoticeStatus.APPROVED.value, NoticeStatus.REJECTED.value):
        raise NotFound(f"文书 {notice_id} 已{NoticeStatus(notice.status).label}，没有预览；请下载签发的 PDF")
    data = notice_ops.preview_pdf(notice)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=preview-{notice.id}.pdf"})


def _notice_change(change) -> Response:
    def operation():
        notice = change()
        db.session.flush()
        return 200, s.NoticeSchema().dump(_notice(notice, full=True))
    return idempotency.run(operation)


@bp.patch("/notices/<id:notice_id>/draft")
@bp.arguments(s.DraftUpdate)
@bp.response(200, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def update_draft(data, notice_id: int):
    """修改草稿的可编辑事实（点分键）。已提交审批的草稿因此退出审批队列。"""
    return _notice_change(lambda: notice_ops.update_draft(db.session, notice_id, data["facts"], actor=_user(),
                                                          now=_now(), expected_version=data.get("expected_version")))


@bp.post("/notices/<id:notice_id>/submit")
@bp.arguments(s.VersionRequest)
@bp.response(200, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def submit_notice(data, notice_id: int):
    """把完整的草稿提交审批。"""
    return _notice_change(lambda: notice_ops.submit_notice(db.session, notice_id, actor=_user(), now=_now(),
                                                           expected_version=data.get("expected_version")))


@bp.post("/notices/<id:notice_id>/approve")
@bp.arguments(s.ApproveRequest)
@bp.response(200, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def approve_notice(data, notice_id: int):
    """审批草稿（审批领导，不能审批自己起草的）；sign_as 选择主任或副主任署名。"""
    return _notice_change(lambda: notice_ops.approve_notice(db.session, notice_id, approver=_user(), now=_now(),
                                                            expected_version=data.get("expected_version"),
                                                            sign_as=data["sign_as"]))


@bp.post("/notices/<id:notice_id>/issue")
@bp.arguments(s.VersionRequest)
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(200, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
def issue_notice(data, notice_id: int):
    """签发已审批的文书：编号、生成 PDF 并存档；接受 Idempotency-Key（重试不会再编一个号）。"""
    return _notice_change(lambda: notice_ops.issue_notice(db.session, notice_id, actor=_user(), now=_now(),
                                                          store=document_store(),
                                                          expected_version=data.get("expected_version")))


@bp.post("/notices/<id:notice_id>/return")
@bp.arguments(s.ReturnRequest)
@bp.response(200, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def return_notice(data, notice_id: int):
    """退回起草人（审批领导）：待审批或已审批未签发的文书退回为草稿，附退回意见；不占用文号。"""
    return _notice_change(lambda: notice_ops.return_notice(db.session, notice_id, approver=_user(),
                                                           reason=data["reason"], now=_now(),
                                                           expected_version=data.get("expected_version")))


@bp.post("/notices/<id:notice_id>/withdraw")
@bp.arguments(s.WithdrawRequest)
@bp.response(201, s.NoticeSchema)
@problems(400, *ERRORS_WRITE)
@bp.doc(parameters=[idempotency.PARAMETER])
def withdraw_notice(data, notice_id: int):
    """起草已签发文书的撤回通知，附撤回理由；回答为新的撤回通知草稿（须再经审批、签发，原文书随之作废）。

    原文书已有待签发的撤回通知、或尚未签发时 409。"""
    def operation():
        withdrawal = notice_ops.request_withdrawal(db.session, notice_id, actor=_user(), reason=data["reason"],
                                                   now=_now())
        return 201, s.NoticeSchema().dump(_notice(withdrawal, full=True))
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ service

def _served_by(notice_id: int, served_by_id: int | None) -> User:
    """The user named as having served the notice (default: the token's user). The notice's case is checked to be
    in scope first, so an id outside it answers 404 whatever the body says; a user outside the caller's scope is
    as unknown as an absent one. The operation checks the rest (an active supervisor of the case's area)."""
    user = _user()
    absent = f"文书 {notice_id} 不存在"
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        require(user, Permission.WORK_CASE, absent=absent)
        raise NotFound(absent)
    require(user, Permission.WORK_CASE, db.session.get(Case, notice.case_id).jurisdiction, absent=absent)
    if served_by_id is None:
        return user
    other = db.session.get(User, served_by_id)
    if other is None or not in_scope(user, other.jurisdiction):
        raise ValidationFailed(f"用户 {served_by_id} 不存在", field="served_by_id")
    return other


def _service_change(notice_id: int, data: dict, record, **extra) -> dict:
    """Record (or correct) a service through the operation; the record, the notice and the deadline it started."""
    served_by = _served_by(notice_id, data["served_by_id"])
    try:
        service = record(db.session, notice_id, actor=_user(), now=_now(), method=data["method"],
                         served_on=data["served_on"], served_by=served_by, tracking_number=data["tracking_number"],
                         proof_attachment_id=data["proof_attachment_id"], recipient=data["recipient"],
                         note=data["note"], **extra)
    except ValidationFailed as exc:
        if exc.field == "served_by":   # the body names the server by id
            raise ValidationFailed(exc.message, field="served_by_id", **exc.details) from None
        raise
    db.session.flush()
    notice = db.session.get(Notice, notice_id)
    # A correction after the period ended points at that deadline without restarting it: only a start counts.
    started = (db.session.get(CaseEvent, service.event_id).details or {}).get("started")
    deadline = db.session.get(Deadline, started["deadline_id"]) if started else None
    [record_out] = [r for r in _services(service_ops.service_history(db.session, notice_id)) if r["id"] == service.id]
    return {"service": record_out, "notice": _notice(notice, full=True),
            "deadline": _deadline(deadline) if deadline is not None else None}


@bp.post("/notices/<id:notice_id>/service")
@bp.arguments(s.ServiceRequest)
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(201, s.ServiceResult)
@problems(400, *ERRORS_WRITE)
def record_service(data, notice_id: int):
    """记录已签发文书的送达（办理该案件的监督员）：方式、日期、送达人、签收人、邮寄单号、送达回证。

    自送达之日起计算的期限（待送达）随之开始，回答中的 deadline 即为该期限。邮寄送达须填邮寄单号；送达日期不得早于
    签发日期、不得晚于今天（422，附原因）。已记录送达的文书 409：更正请用 PUT。接受 Idempotency-Key。"""

    def operation():
        return 201, s.ServiceResult().dump(_service_change(notice_id, data, service_ops.record_service))
    return idempotency.run(operation)


@bp.put("/notices/<id:notice_id>/service")
@bp.arguments(s.ServiceCorrection)
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(200, s.ServiceResult)
@problems(400, *ERRORS_WRITE)
def correct_service(data, notice_id: int):
    """更正送达记录（附更正理由）：原记录保留并标为已更正，新记录生效；期限仍在进行的，从新的送达日期重新计算。

    尚未记录送达的文书 409（请用 POST）。接受 Idempotency-Key。"""

    def operation():
        return 200, s.ServiceResult().dump(_service_change(notice_id, data, service_ops.correct_service,
                                                           reason=data["reason"]))
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ attachments

def _attachment(a: Attachment) -> dict:
    return {"id": a.id, "case_id": a.case_id, "event_id": a.event_id, "filename": a.filename,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "description": a.description or "",
            "uploaded_at": a.uploaded_at, "content_url": url_for("api.attachment_content", attachment_id=a.id)}


@bp.get("/cases/<id:case_id>/attachments")
@bp.response(200, s.AttachmentList)
@problems(*ERRORS_READ)
def list_attachments(case_id: int):
    """案件的证据材料（照片、PDF），按上传顺序。"""
    case = _readable_case(case_id)
    return {"items": [_attachment(a) for a in attachment_ops.case_attachments(db.session, case)]}


@bp.post("/cases/<id:case_id>/attachments")
@bp.arguments(s.AttachmentForm, location="form", unknown=RAISE)
@bp.arguments(s.AttachmentFile, location="files")
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(201, s.AttachmentSchema)
@problems(400, *ERRORS_WRITE)
def upload_attachment(form, files, case_id: int):
    """上传一份证据（multipart/form-data：file、description、event_id）。只接受 JPEG、PNG、HEIC 照片或 PDF。"""
    upload = files["file"]
    limit = int(current_app.config.get("EVIDENCE_MAX_BYTES", attachment_ops.EVIDENCE_MAX_BYTES))

    def operation():
        if not hasattr(upload, "stream"):
            raise ValidationFailed("请以 multipart/form-data 上传文件", field="file")
        data = upload.stream.read(limit + 1)
        attachment = attachment_ops.attach_evidence(
            db.session, case_id, data=data, filename=upload.filename or "", description=form["description"],
            actor=_user(), now=_now(), event_id=form["event_id"], store=document_store(), max_bytes=limit)
        return 201, s.AttachmentSchema().dump(_attachment(attachment))
    return idempotency.run(operation)


@bp.get("/attachments/<id:attachment_id>")
@bp.response(200, s.AttachmentSchema)
@problems(*ERRORS_READ)
def get_attachment(attachment_id: int):
    """一份证据的登记信息。"""
    attachment, _kind = attachment_ops.evidence_file(db.session, attachment_id, actor=_user())
    return _attachment(attachment)


@bp.get("/attachments/<id:attachment_id>/content")
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream",
             description="上传时的原始字节（Content-Type 为上传时识别的类型）")
@problems(*ERRORS_READ)
def attachment_content(attachment_id: int):
    """证据文件本身，核对过 SHA-256。"""
    attachment, kind = attachment_ops.evidence_file(db.session, attachment_id, actor=_user())
    data = document_store().get(attachment.sha256, suffix=kind.suffix)
    from compliance.web.evidence import content_disposition
    return Response(data, mimetype=kind.content_type, headers={
        "Content-Disposition": content_disposition(attachment.filename, kind.suffix, attachment.id, inline=False),
        "X-Content-SHA256": attachment.sha256})


# ------------------------------------------------------------------------------------------------ reminders

def _message(m: InboxMessage) -> dict:
    return {"id": m.id, "title": m.title, "body": m.body, "link": m.link, "created_at": m.created_at,
            "read_at": m.read_at}


@bp.get("/reminders")
@bp.arguments(s.ReminderListArgs, location="query", unknown=RAISE)
@bp.response(200, s.MessagePage)
@problems(401, 422, 429)
def list_reminders(args):
    """本人的提醒（站内消息），最新的在前；before 翻页。"""
    user = _user()
    query = select(InboxMessage).where(InboxMessage.user_id == user.id)
    if args.get("before") is not None:
        query = query.where(InboxMessage.id < args["before"])
    if args.get("unread"):
        query = query.where(InboxMessage.read_at.is_(None))
    rows = list(db.session.scalars(query.order_by(InboxMessage.id.desc()).limit(args["limit"] + 1)))
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]
    return {"items": [_message(m) for m in rows], "next_before": rows[-1].id if more else None,
            "unread": reminder_ops.unread_count(db.session, user)}


@bp.post("/reminders/<id:message_id>/read")
@bp.response(200, s.MessageSchema)
@problems(401, 404, 409, 429)
@bp.doc(parameters=[idempotency.PARAMETER])
def read_reminder(message_id: int):
    """把一条提醒标为已读。"""
    def operation():
        message = reminder_ops.mark_read(db.session, message_id, actor=_user(), now=_now())
        return 200, s.MessageSchema().dump(_message(message))
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ imports

@bp.post("/imports/<any(enterprises, cases):kind>")
@bp.arguments(s.ImportForm, location="form", unknown=RAISE)
@bp.arguments(s.ImportFile, location="files")
@bp.doc(parameters=[idempotency.PARAMETER])
@bp.response(200, s.ImportReportSchema)
@problems(400, *ERRORS_WRITE)
def import_file(form, files, kind: str):
    """导入企业或案件的电子表格（multipart/form-data：file、mode、dry_run）。

    回答为导入报告：读取、正确、有误、已导入的行数，以及每一条有误的行的行号与原因（全部列出）。dry_run 默认为
    true（只检查）；mode 为 all-or-nothing 时有一行有误即不导入任何数据，为 good-rows 时导入其余正确的行。
    不在本人辖区的行按有误处理。"""
    from compliance.operations.imports import import_file as run_import, settings
    upload = files["file"]
    limits = settings(current_app.config)
    # The role first (nothing of the file is read for a user who may not import), then the size (413).
    require(_user(), Permission.REGISTER_ENTERPRISE if kind == "enterprises" else Permission.OPEN_CASE, absent="")
    if not hasattr(upload, "stream"):
        raise ValidationFailed("请以 multipart/form-data 上传文件", field="file")
    data = upload.stream.read(limits["max_bytes"] + 1)
    upload.stream.seek(0)
    if len(data) > limits["max_bytes"]:
        from werkzeug.exceptions import RequestEntityTooLarge
        raise RequestEntityTooLarge(f"文件过大：上传上限为 {limits['max_bytes'] // (1024 * 1024)} MB，请分成几个文件导入")

    def operation():
        filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
        with db.session.begin_nested() as savepoint:
            report = run_import(db.session, actor=_user(), kind=kind, data=data, filename=filename,
                                mode=form["mode"], dry_run=form["dry_run"], now=_now(),
                                address=(request.remote_addr or "")[:45], **limits)
            if not report.written:
                savepoint.rollback()   # a dry run, or nothing imported: nothing stays written
        return 200, s.ImportReportSchema().dump(report.to_dict())
    return idempotency.run(operation)


# ------------------------------------------------------------------------------------------------ exports

def _export_file(fmt: str, stem: str, sheet: str, header: list[str], widths: list[int], rows) -> Response:
    from compliance.web.exports import csv_response, xlsx_response
    filename = f"{stem}-{_today().isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, sheet, header, rows, widths=widths)


_FILE_RESPONSE = {"type": "string", "format": "binary"}
_FILE_DESCRIPTION = ("电子表格文件：format=csv 为 text/csv（UTF-8 带 BOM），xlsx 为 Excel 工作簿；"
                     "至多 100,000 行，超出时末行说明已截断")
#: A file export's 200, in both of its media types (flask-smorest's @response documents one).
_FILE_200 = {"200": {"description": _FILE_DESCRIPTION, "content": {
    media: {"schema": _FILE_RESPONSE}
    for media in ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}}}


@bp.get("/exports/cases")
@bp.arguments(s.CaseExportArgs, location="query", unknown=RAISE)
@bp.doc(responses=_FILE_200)
@problems(401, 403, 422, 429)
def export_cases(args):
    """导出案件列表：与 GET /cases 相同的辖区、筛选与排序（不分页）。"""
    from compliance.web.lists import CASE_HEADER, CASE_WIDTHS, _case_export_rows
    require(_user(), Permission.VIEW, absent="")
    scope = _scope()
    f = listing.CaseFilters.from_args(_args(args, "q", "stage", "violation", "place", "supervisor", "overdue",
                                            "provisional", "sort", "dir"), user=_user(), scope=scope)
    return _export_file(args["format"], "案件", "案件", CASE_HEADER, CASE_WIDTHS, _case_export_rows(f, scope))


@bp.get("/exports/enterprises")
@bp.arguments(s.EnterpriseExportArgs, location="query", unknown=RAISE)
@bp.doc(responses=_FILE_200)
@problems(401, 403, 422, 429)
def export_enterprises(args):
    """导出企业列表：与 GET /enterprises 相同的辖区、搜索与辖区筛选（不分页）。"""
    from compliance.web.lists import ENTERPRISE_HEADER, ENTERPRISE_WIDTHS, _enterprise_export_rows
    require(_user(), Permission.VIEW, absent="")
    scope = _scope()
    f = listing.EnterpriseFilters.from_args(_args(args, "q", "place"), scope=scope)
    return _export_file(args["format"], "企业", "企业", ENTERPRISE_HEADER, ENTERPRISE_WIDTHS,
                        _enterprise_export_rows(f, scope))


@bp.get("/exports/listing-batch")
@bp.arguments(s.ListingBatchArgs, location="query", unknown=RAISE)
@bp.doc(responses=_FILE_200)
@problems(401, 403, 422, 429)
def export_listing_batch(args):
    """信用惩戒提请批次：辖区内已提请或已纳入、尚未修复的案件，按公示字段排列。"""
    from compliance.exports import LISTING_HEADER, LISTING_WIDTHS, listing_batch_rows
    require(_user(), Permission.VIEW, absent="")
    scope = _scope()
    return _export_file(args["format"], "信用惩戒提请批次", "信用惩戒提请", LISTING_HEADER, LISTING_WIDTHS,
                        listing_batch_rows(db.session, scope))
