"""Notice pages: the public verification page; for logged-in users the archived PDF, the draft preview, the draft
form, submitting for approval, the approvers' queue (approve with a signatory, or send back with a comment),
issuing one notice or a selection, and withdrawing an issued one.

Each page loads, calls an operation of compliance.operations.notices (which checks who may do what, in which
jurisdiction, and writes the audit), commits once and redirects; a refusal is rolled back and shown next to the
field it names. Lists filter by the user's scope: a notice is acted on only when its case and its issuing
committee both lie in it.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, pgettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

import letters
from compliance.access import Permission, can, in_scope, permissions, require
from compliance.clock import utcnow
from compliance.db import db
from compliance.web.forms import done as _done, refusal_on_form
from compliance.documents import document_store
from compliance.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from compliance.models import Case, CaseEvent, Enterprise, Jurisdiction, Notice, NoticeStatus, User
from compliance.operations import notices as ops
from compliance.web import CONTENT_SECURITY_POLICY, safe_next
from compliance.web.labels import tr
from compliance.web.notice_forms import (ApproveForm, IssueForm, ReturnForm, SelectionForm, SubmitForm, WithdrawForm,
                                         changed_facts, draft_form, field_name, parse_version, selected_ids, stored)

bp = Blueprint("notices", __name__)

#: A verification upload is a notice PDF: a few hundred KB; refuse anything far bigger before reading it.
MAX_VERIFY_UPLOAD = 10 * 1024 * 1024
#: Notices one request issues (about 70 ms each to render): a larger selection goes on chunk by chunk, each chunk
#: its own transaction of whole notices, the browser asking for the next one (static/notices.js).
WEB_CHUNK = 20
#: Rows on the queue and on the list of approved notices.
PAGE_SIZE = 50
#: The draft preview may be shown inside our own pages (the approver's page frames it); nothing else may be.
FRAMEABLE = {"Content-Security-Policy": CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'",
                                                                        "frame-ancestors 'self'"),
             "X-Frame-Options": "SAMEORIGIN"}
#: Refusals a person can correct on the form: rolled back and shown, never an error page.
CORRECTABLE = (ValidationFailed, NotAllowed, Conflict)


def _public_view(notice: Notice) -> dict:
    """Only what the public may see: number, type, issuer, date, addressee, hash."""
    snap = notice.snapshot
    kind = letters.NOTICE_TYPES[notice.notice_type]
    # Who the paper names as its author: the union for a payment demand (BJM 57) and the applicant of a payment
    # order application, the committee otherwise.
    author = (snap.get("union") or snap.get("applicant") or snap["issuer"])["name"]
    return {"number": notice.number, "number_label": kind.number_label, "title": kind.title,
            "issuer": author, "issued_on": snap.get("issued_on"),
            "addressee": snap["addressee"]["name"], "sha256": notice.sha256,
            "withdrawn": notice.status == NoticeStatus.WITHDRAWN.value}


@bp.route("/verify/<code>")
def verify(code: str):
    if len(code) > 40:
        return render_template("verify.html", code=code[:40], notice=None), 404
    notice = db.session.scalar(select(Notice).where(Notice.verification_code == code.strip().upper(),
                                                    Notice.number.is_not(None)))
    if notice is None:
        return render_template("verify.html", code=code, notice=None), 404
    return render_template("verify.html", code=code, notice=_public_view(notice))


@bp.route("/verify", methods=["GET", "POST"])
def verify_upload():
    """Check a PDF file's SHA-256 against the archive."""
    result = None
    if request.method == "POST":
        if request.content_length and request.content_length > MAX_VERIFY_UPLOAD:
            abort(413)
        upload = request.files.get("pdf")
        if upload is None or not upload.filename:
            result = {"error": _("请选择要核验的PDF文件")}
        else:
            data = upload.read(MAX_VERIFY_UPLOAD + 1)
            if len(data) > MAX_VERIFY_UPLOAD:
                abort(413)
            sha = hashlib.sha256(data).hexdigest()
            notice = db.session.scalar(select(Notice).where(Notice.sha256 == sha, Notice.number.is_not(None)))
            result = {"sha256": sha, "notice": _public_view(notice) if notice else None}
    return render_template("verify_upload.html", result=result)


def _notice_in_scope(notice_id: int) -> Notice:
    """A notice the user may read: its case or its issuer in their scope; otherwise the same 404 as absent."""
    if not can(current_user, Permission.VIEW):
        abort(403)
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        abort(404)
    places = (db.session.get(Case, notice.case_id).jurisdiction, db.session.get(Jurisdiction, notice.issuer_id))
    if not any(can(current_user, Permission.VIEW, j) for j in places):
        abort(404)
    return notice


@bp.route("/notices/<id:notice_id>.pdf")
@login_required
def pdf(notice_id: int):
    """The archived bytes of an issued notice, exactly as issued."""
    notice = _notice_in_scope(notice_id)
    if notice.sha256 is None:
        abort(404)
    data = document_store().get(notice.sha256)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=notice-{notice.id}.pdf", "X-Content-SHA256": notice.sha256})


@bp.route("/notices/<id:notice_id>/preview.pdf")
@login_required
def preview(notice_id: int):
    """A draft's watermarked preview (草稿), never numbered; the approver's page shows it in a frame."""
    notice = _notice_in_scope(notice_id)
    if notice.status not in (NoticeStatus.DRAFT.value, NoticeStatus.APPROVED.value, NoticeStatus.REJECTED.value):
        abort(404)
    try:
        data = ops.preview_pdf(notice)
    except DomainError as exc:   # e.g. a character no font covers: said in Chinese, inside the frame too
        db.session.rollback()
        page = render_template("error.html", title=_("无法生成预览"), message=exc.message, status=exc.status)
        return page, exc.status, FRAMEABLE
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=preview-{notice.id}.pdf", **FRAMEABLE})


# ------------------------------------------------------------------------------------------- page helpers

def _need(permission: Permission) -> None:
    """403 unless the signed-in account holds the permission at all (rows outside the scope answer 404)."""
    require(current_user, permission, absent="")


def _acting_on(notice_id: int, permission: Permission) -> Notice:
    """A notice the user may act on: its case and its issuer in scope (else the same 404 as an absent id)."""
    _need(permission)
    notice = db.session.get(Notice, notice_id)
    absent = _("文书 %(id)s 不存在", id=notice_id)
    if notice is None:
        raise NotFound(absent)
    case = db.session.get(Case, notice.case_id)
    require(current_user, permission, case.jurisdiction, db.session.get(Jurisdiction, notice.issuer_id),
            absent=absent)
    return notice


def _listing(*conditions):
    """Notices the user may act on (case and issuer in scope) with what a list shows of each."""
    case_place, issuer_place = aliased(Jurisdiction), aliased(Jurisdiction)
    drafter, submitter, approver = aliased(User), aliased(User), aliased(User)
    path = current_user.jurisdiction.path
    return (select(Notice, Case.reference.label("case_reference"), Enterprise.name.label("enterprise"),
                   drafter.name.label("drafter"), submitter.name.label("submitter"),
                   approver.name.label("approver"), issuer_place.committee_name.label("issuer"))
            .join(Case, Case.id == Notice.case_id)
            .join(Enterprise, Enterprise.id == Case.enterprise_id)
            .join(case_place, case_place.id == Case.jurisdiction_id)
            .join(issuer_place, issuer_place.id == Notice.issuer_id)
            .outerjoin(drafter, drafter.id == Notice.drafted_by_id)
            .outerjoin(submitter, submitter.id == Notice.submitted_by_id)
            .outerjoin(approver, approver.id == Notice.approved_by_id)
            .where(case_place.path.startswith(path, autoescape=True),
                   issuer_place.path.startswith(path, autoescape=True), *conditions))


def _waiting() -> tuple:
    """Drafts submitted for approval."""
    return Notice.status == NoticeStatus.DRAFT.value, Notice.submitted_at.is_not(None)


def _page(total: int) -> tuple[int, int]:
    """(page, pages) from ?page=: anything unreadable is the first page, anything past the end the last."""
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) <= 9 else (pages if raw.isdigit() else 1)
    return min(max(page, 1), pages), pages


def _on_form(form, exc: DomainError) -> int:
    """A refusal next to its field (a fact's dotted key maps to the form's field name)."""
    return refusal_on_form(form, exc, name=field_name(exc.field or ""))


def _title(notice: Notice) -> str:
    return tr(letters.NOTICE_TYPES[notice.notice_type].title)


def _last_return(notice: Notice) -> dict | None:
    """Who sent the draft back, when, with which comment (the latest time)."""
    if not notice.rejection_reason:
        return None
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == notice.case_id,
                                                        CaseEvent.action.in_(("notice.returned", "notice.rejected")))
                                .order_by(CaseEvent.seq.desc()).limit(50))
    event = next((e for e in events if (e.details or {}).get("notice_id") == notice.id), None)
    return {"reason": notice.rejection_reason, "by": event.actor.name if event and event.actor else None,
            "at": event.created_at if event else None}


def _fact_rows(notice: Notice) -> list[dict]:
    """The facts an approver checks: who it is about and to whom, then every declared fact, labelled."""
    snap = notice.snapshot or {}
    rows = [{"label": pgettext("field", "企业"), "kind": "text", "value": (snap.get("enterprise") or {}).get("name", "")},
            {"label": _("统一社会信用代码"), "kind": "text", "value": (snap.get("enterprise") or {}).get("uscc", "")},
            {"label": _("发文机关"), "kind": "text", "value": (snap.get("issuer") or {}).get("name", "")}]
    if notice.withdraws_id is not None and isinstance(snap.get("original"), dict):
        original = snap["original"]
        rows.append({"label": _("被撤回的文书"), "kind": "text",
                     "value": f"《{original.get('title', '')}》{original.get('number') or ''}"})
    for fact in letters.NOTICE_TYPES[notice.notice_type].editable:
        rows.append({"label": fact.label, "kind": fact.type, "value": stored(snap, fact.key)})
    return rows


def notice_state(notice: Notice) -> str:
    """A notice's status as its drafter reads it: a draft is waiting for approval, or was sent back."""
    if notice.status == NoticeStatus.DRAFT.value:
        if notice.submitted_at is not None:
            return _("待审批")
        if notice.rejection_reason:
            return _("已退回修改")
    return tr(NoticeStatus(notice.status).label)


def notice_actions(notice: Notice) -> frozenset[str]:
    """What the signed-in user may do with this notice now (links on the case page): the operations decide again."""
    held = permissions(current_user)
    if not held & {Permission.EDIT_DRAFT, Permission.APPROVE_NOTICE, Permission.ISSUE_NOTICE,
                   Permission.WITHDRAW_NOTICE, Permission.WORK_CASE}:
        return frozenset()
    case = db.session.get(Case, notice.case_id)
    if not in_scope(current_user, case.jurisdiction):
        return frozenset()
    if not in_scope(current_user, db.session.get(Jurisdiction, notice.issuer_id)):
        # a letter of a higher committee: whoever works the case still records how it was served
        serve = notice.status == NoticeStatus.ISSUED.value and Permission.WORK_CASE in held
        return frozenset({"serve"}) if serve else frozenset()
    wanted = {NoticeStatus.DRAFT.value: {"edit": Permission.EDIT_DRAFT, "approve": Permission.APPROVE_NOTICE},
              NoticeStatus.APPROVED.value: {"issue": Permission.ISSUE_NOTICE},
              NoticeStatus.ISSUED.value: {"withdraw": Permission.WITHDRAW_NOTICE,
                                          "serve": Permission.WORK_CASE}}.get(notice.status, {})
    return frozenset(action for action, permission in wanted.items() if permission in held)


def pending_approvals() -> int:
    """Submitted drafts in the approver's scope that they may approve (neither drafted nor edited by them): the
    count in the menu."""
    if Permission.APPROVE_NOTICE not in permissions(current_user):
        return 0
    query = _listing(*_waiting(), or_(Notice.drafted_by_id.is_(None), Notice.drafted_by_id != current_user.id),
                     ~ops.edited_by(current_user.id))
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


@bp.app_template_filter("notice_date")
def notice_date(value) -> str:
    """A stored fact's date as 2026年11月24日 (as the letter prints it; 24 Nov 2026 on English pages); anything else
    as it is."""
    from compliance.web.language import is_english, page_date
    from letters.formatting import cn_date
    if is_english() and isinstance(value, (dt.date, str)):
        try:
            return page_date(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))
        except ValueError:
            pass
    try:
        return cn_date(value)
    except (TypeError, ValueError):
        return str(value)


@bp.app_template_filter("notice_money")
def notice_money(value) -> str:
    """A stored amount as the letter prints it (1,286,400.00); anything else as it is."""
    from letters.formatting import money
    try:
        return money(value)
    except (TypeError, ValueError, ArithmeticError):
        return str(value)


@bp.app_context_processor
def _notice_helpers():
    return {"pending_approvals": pending_approvals, "notice_state": notice_state, "notice_actions": notice_actions}


# ---------------------------------------------------------------------------------------------- drafts

def _draft_page(notice: Notice, form, status: int = 200, *, error: str | None = None):
    """The draft form with what approval still needs, the comment of the last send-back and the actions."""
    is_draft = notice.status == NoticeStatus.DRAFT.value
    case = db.session.get(Case, notice.case_id)
    missing = ops.draft_missing(db.session, notice) if is_draft else {"facts": [], "cited": None}
    kind = letters.NOTICE_TYPES[notice.notice_type]
    fields = [(fact, form[field_name(fact.key)]) for fact in kind.editable] if form is not None else []
    return render_template("notices/edit.html", notice=notice, kind=kind, case=case, form=form, fields=fields,
                           facts=_fact_rows(notice), missing=missing, returned=_last_return(notice),
                           submit=SubmitForm(formdata=None, data={"version": str(notice.version)}),
                           state=notice_state(notice), error=error), status


@bp.route("/notices/<id:notice_id>/edit", methods=["GET", "POST"])
@login_required
def edit(notice_id: int):
    """Complete or correct the draft's declared facts (its type's schema); system facts are not in the form."""
    notice = _acting_on(notice_id, Permission.EDIT_DRAFT)
    if notice.status != NoticeStatus.DRAFT.value:
        return _draft_page(notice, None, 409 if request.method == "POST" else 200,
                           error=_("文书%(state)s，不能再修改", state=tr(NoticeStatus(notice.status).label))
                           if request.method == "POST" else None)
    form = draft_form(notice)
    if request.method == "GET":
        return _draft_page(notice, form)
    status = 422
    if form.validate_on_submit():
        was_waiting = notice.submitted_at is not None
        try:
            changes = changed_facts(notice, form, request.form)
            if not changes:
                flash(_("没有修改任何内容"), "info")
                return redirect(url_for(".edit", notice_id=notice.id))
            ops.update_draft(db.session, notice.id, changes, actor=current_user, now=utcnow(),
                             expected_version=parse_version(form))
        except CORRECTABLE as exc:
            db.session.rollback()
            status = _on_form(form, exc)
        else:
            more = _("。修改后已退出待审批，请核对后重新提交审批") if was_waiting else ""
            return _done(_("已保存%(title)s草稿", title=_title(notice)) + more, url_for(".edit", notice_id=notice.id))
    return _draft_page(notice, form, status)


@bp.post("/notices/<id:notice_id>/submit")
@login_required
def submit(notice_id: int):
    """Put the draft in the approvers' queue (refused, listing them, while facts are missing)."""
    notice = _acting_on(notice_id, Permission.EDIT_DRAFT)
    form = SubmitForm()
    try:
        ops.submit_notice(db.session, notice.id, actor=current_user, now=utcnow(), expected_version=parse_version(form))
    except CORRECTABLE as exc:
        db.session.rollback()
        is_draft = notice.status == NoticeStatus.DRAFT.value
        return _draft_page(notice, draft_form(notice, formdata=None) if is_draft else None, exc.status,
                           error=exc.message)
    return _done(_("已提交审批：%(title)s。审批领导审批后即可签发", title=_title(notice)),
                 url_for(".edit", notice_id=notice.id))


# ----------------------------------------------------------------------------------------------- approvals

@bp.route("/approvals")
@login_required
def approvals():
    """Drafts submitted for approval in the approver's scope, oldest first."""
    _need(Permission.APPROVE_NOTICE)
    query = _listing(*_waiting())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = _page(total)
    rows = db.session.execute(query.add_columns(ops.edited_by(current_user.id).label("edited"))
                              .order_by(Notice.submitted_at, Notice.id).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).all()
    return render_template("notices/approvals.html", rows=rows, total=total, page=page, pages=pages)


def _approval_page(notice: Notice, approve: ApproveForm, send_back: ReturnForm, status: int = 200):
    issuer = db.session.get(Jurisdiction, notice.issuer_id)
    case = db.session.get(Case, notice.case_id)
    drafter = db.session.get(User, notice.drafted_by_id) if notice.drafted_by_id else None
    submitter = db.session.get(User, notice.submitted_by_id) if notice.submitted_by_id else None
    is_draft = notice.status == NoticeStatus.DRAFT.value
    return render_template("notices/approval.html", notice=notice, kind=letters.NOTICE_TYPES[notice.notice_type],
                           case=case, issuer=issuer, drafter=drafter, submitter=submitter, approve=approve,
                           send_back=send_back, facts=_fact_rows(notice), returned=_last_return(notice),
                           missing=ops.draft_missing(db.session, notice) if is_draft else None,
                           own=notice.drafted_by_id == current_user.id,
                           edited=is_draft and current_user.id in ops.editors(db.session, notice),
                           state=notice_state(notice)), status


@bp.route("/approvals/<id:notice_id>", methods=["GET", "POST"])
@login_required
def approval(notice_id: int):
    """The preview beside the facts; approve with the issuer's chair or vice-chair as signatory, or send back."""
    notice = _acting_on(notice_id, Permission.APPROVE_NOTICE)
    issuer = db.session.get(Jurisdiction, notice.issuer_id)
    data = {"version": str(notice.version)}
    approve, send_back = ApproveForm(data={**data, "sign_as": "chair"}), ReturnForm(data=data)
    approve.sign_as.choices = list(ops.signatories(issuer).items())
    if request.method == "GET":
        return _approval_page(notice, approve, send_back)
    action = request.form.get("action", "")
    form = {"approve": approve, "return": send_back}.get(action)
    if form is None:
        raise ValidationFailed(_("请选择“审批通过”或“退回修改”"), field="action")
    if not form.validate_on_submit():
        return _approval_page(notice, approve, send_back, 422)
    title, enterprise = _title(notice), (notice.snapshot.get("enterprise") or {}).get("name", "")
    try:
        if action == "approve":
            done = ops.approve_notice(db.session, notice.id, approver=current_user, now=utcnow(),
                                      expected_version=parse_version(approve), sign_as=approve.sign_as.data or "")
            message = _("已审批：%(title)s（%(enterprise)s），签发人 %(signatory)s。可以签发了", title=title,
                        enterprise=enterprise,
                        signatory=f"{done.snapshot['signatory']['title']} {done.snapshot['signatory']['name']}")
        else:
            ops.return_notice(db.session, notice.id, approver=current_user, reason=send_back.reason.data,
                              now=utcnow(), expected_version=parse_version(send_back))
            message = _("已退回：%(title)s（%(enterprise)s）回到草稿，起草人将看到您的意见", title=title,
                        enterprise=enterprise)
    except CORRECTABLE as exc:
        db.session.rollback()
        status = _on_form(form, exc)
        return _approval_page(notice, approve, send_back, status)
    return _done(message, url_for(".approvals"))


# ---------------------------------------------------------------------------------------------- issuing

@bp.route("/notices/approved")
@login_required
def approved():
    """Approved notices in scope, waiting to be issued: tick one or several and issue them."""
    _need(Permission.ISSUE_NOTICE)
    notice_type = request.args.get("type", "")
    conditions = [Notice.status == NoticeStatus.APPROVED.value]
    if notice_type in letters.NOTICE_TYPES:
        conditions.append(Notice.notice_type == notice_type)
    else:
        notice_type = ""
    query = _listing(*conditions)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = _page(total)
    rows = db.session.execute(query.order_by(Notice.approved_at, Notice.id).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).all()
    return render_template("notices/approved.html", rows=rows, total=total, page=page, pages=pages,
                           notice_type=notice_type, types=sorted(letters.NOTICE_TYPES.values(), key=lambda t: t.title),
                           form=SelectionForm(), chunk=WEB_CHUNK)


@bp.post("/notices/<id:notice_id>/issue")
@login_required
def issue(notice_id: int):
    """Issue one approved notice: number, PDF, archive (from the case page)."""
    notice = _acting_on(notice_id, Permission.ISSUE_NOTICE)
    form = IssueForm()
    done = ops.issue_notice(db.session, notice.id, actor=current_user, now=utcnow(), store=document_store(),
                            expected_version=parse_version(form))
    target = safe_next(request.form.get("next"), url_for("web.case_detail", case_id=notice.case_id))
    return _done(_("已签发 %(number)s（%(title)s）", number=done.number, title=_title(done)), target)


def _issue_chunk(ids: list[int]) -> dict[int, str]:
    """Issue these notices in one transaction; if that is refused, one by one, so each refusal names its notice.

    Returns {id: why it was not issued}. Every notice is issued whole or not at all: its number, PDF, archive row
    and audit event are committed together, and a refused one takes no number.
    """
    store, now = document_store(), utcnow()
    try:
        ops.issue_notices(db.session, ids, actor=current_user, now=now, store=store)
        db.session.commit()
        return {}
    except CORRECTABLE as exc:
        db.session.rollback()
        if len(ids) == 1:
            return {ids[0]: exc.message}
    failures = {}
    for notice_id in ids:
        try:
            ops.issue_notices(db.session, [notice_id], actor=current_user, now=now, store=store)
            db.session.commit()
        except CORRECTABLE as exc:
            db.session.rollback()
            failures[notice_id] = exc.message
    return failures


@bp.post("/notices/issue")
@login_required
def issue_selected():
    """Issue the ticked notices, WEB_CHUNK per request.

    Up to WEB_CHUNK the answer is the result: each notice with its number. A larger selection answers a progress
    page whose form (sent again by static/notices.js, or by a click) issues the next chunk: the selection travels
    in the form, what is left is read from the database, so any worker can take the next step and a closed tab
    leaves the rest approved, ready to be issued later. Ids outside the user's scope are as absent as unknown ones.
    """
    _need(Permission.ISSUE_NOTICE)
    ids = selected_ids(request.form.getlist("ids"))
    if not ids:
        flash(_("请先勾选要签发的文书"), "warning")
        return redirect(url_for(".approved"))
    skipped = set(selected_ids(request.form.getlist("skip")))
    failures: dict[int, str] = {}
    rows = {row.Notice.id: row for row in db.session.execute(_listing(Notice.id.in_(ids)))}
    absent = [notice_id for notice_id in ids if notice_id not in rows]
    if absent:
        raise NotFound(_("文书 %(id)s 不存在", id=_("、").join(map(str, absent))))
    pending = [i for i in ids if rows[i].Notice.status == NoticeStatus.APPROVED.value and i not in skipped]
    if pending:
        failures = _issue_chunk(pending[:WEB_CHUNK])
        skipped |= set(failures)
        db.session.expire_all()
        rows = {row.Notice.id: row for row in db.session.execute(_listing(Notice.id.in_(ids)))}
    left = [i for i in ids if rows[i].Notice.status == NoticeStatus.APPROVED.value and i not in skipped]
    issued = sum(1 for i in ids if rows[i].Notice.number)
    return render_template("notices/issued.html", rows=[rows[i] for i in ids], ids=ids, skipped=sorted(skipped),
                           failures=failures, left=left, issued=issued, form=SelectionForm())


@bp.route("/notices/<id:notice_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(notice_id: int):
    """Draft the withdrawal of an issued notice, with its reason; it then needs approval and issue itself."""
    notice = _acting_on(notice_id, Permission.WITHDRAW_NOTICE)
    form = WithdrawForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                drafted = ops.request_withdrawal(db.session, notice.id, actor=current_user, reason=form.reason.data,
                                                 now=utcnow())
            except CORRECTABLE as exc:
                db.session.rollback()
                status = _on_form(form, exc)
            else:
                return _done(_("已起草撤回通知（撤回 %(number)s）：请核对后提交审批，审批、签发后原文书即作废",
                               number=notice.number),
                             url_for(".edit", notice_id=drafted.id))
    return render_template("notices/withdraw.html", notice=notice, form=form,
                           case=db.session.get(Case, notice.case_id)), status


# ---------------------------------------------------------------------------------------------- service

@bp.route("/notices/<id:notice_id>/service", methods=["GET", "POST"])
@login_required
def service(notice_id: int):
    """Record how and when an issued notice was served (送达), or correct the record; the period that runs from
    the letter's receipt (待送达 until then) starts from the service date."""
    from compliance.models import Attachment, NoticeService
    from compliance.operations import service as service_ops
    from wtforms import SelectChoice

    from compliance.web.notice_forms import ServiceForm
    _need(Permission.WORK_CASE)
    notice = db.session.get(Notice, notice_id)
    absent = _("文书 %(id)s 不存在", id=notice_id)
    if notice is None:
        raise NotFound(absent)
    case = db.session.get(Case, notice.case_id)
    require(current_user, Permission.WORK_CASE, case.jurisdiction, absent=absent)
    current = service_ops.current_service(db.session, notice.id)
    form = ServiceForm()
    servers = {u.id: u for u in [current_user, *case.supervisors] if u.is_active}
    form.served_by.choices = [SelectChoice(str(u.id), u.name) for u in servers.values()]
    evidence = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                  .order_by(Attachment.id)).all()
    form.proof.choices = [SelectChoice("", _("（暂不附）"))] + [SelectChoice(str(a.id), a.filename) for a in evidence]
    if request.method == "GET" and current is None:
        form.served_by.data = str(current_user.id)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            chosen = form.served_by.data or ""
            server = servers.get(int(chosen)) if chosen.isdigit() and len(chosen) < 10 else None
            kwargs = dict(actor=current_user, now=utcnow(), method=form.method.data, served_on=form.served_on.data,
                          served_by=server, tracking_number=form.tracking_number.data or None,
                          proof_attachment_id=form.proof.data or None, recipient=form.recipient.data or "",
                          note=form.note.data or "")
            try:
                if current is None:
                    done = service_ops.record_service(db.session, notice.id, **kwargs)
                else:
                    done = service_ops.correct_service(db.session, notice.id, reason=form.reason.data, **kwargs)
            except CORRECTABLE as exc:
                db.session.rollback()
                status = refusal_on_form(form, exc, name={"proof_attachment_id": "proof"}.get(exc.field or "",
                                                                                                  exc.field or ""))
            else:
                message = _("已记录%(title)s的送达（%(method)s，%(date)s）", title=_title(notice),
                            method=tr(done.method_label), date=f"{done.served_on:%Y-%m-%d}")
                return _done(message, url_for("web.case_detail", case_id=case.id))
    history = db.session.scalars(select(NoticeService).where(NoticeService.notice_id == notice.id)
                                 .order_by(NoticeService.id)).all()
    return render_template("notices/service.html", notice=notice, case=case, form=form, current=current,
                           history=history, evidence={a.id: a for a in evidence}), status
