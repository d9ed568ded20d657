"""Evidence pages: upload a photo (the phone's camera) or a PDF to a case, list a case's evidence, download a file.

The upload form and the list are Jinja includes (evidence/_upload.html, evidence/_list.html) that the case page
embeds; they fetch what they show through the helpers this blueprint puts in every template's context, so the
case page needs nothing but the include line. The operation (compliance.operations.attachments) decides what
is accepted; these pages load, call it, commit once, and redirect or show its refusal next to the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext as _lp
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length

from compliance.access import Permission, can
from compliance.clock import to_beijing, utcnow
from compliance.db import db
from compliance.documents import DocumentMissing, StoreUnavailable, document_store
from compliance.errors import NotAllowed, ValidationFailed
from compliance.models import Attachment, Case, CaseEvent, User
from compliance.operations import attachments as ops
from compliance.web.labels import tr

bp = Blueprint("evidence", __name__)


class EvidenceForm(FlaskForm):
    # Two file inputs: a phone opens its camera straight away for `capture`, and then offers no way to pick a
    # PDF or an earlier photo; the second input does that. One of them is sent.
    photo = FileField(_l("拍照上传（手机将打开相机）"))
    file = FileField(_l("或从相册、文件中选择照片或 PDF"))
    description = StringField(_l("说明"), validators=[Length(max=ops.MAX_DESCRIPTION,
                                                             message=_l("说明不能超过%(n)s字", n=ops.MAX_DESCRIPTION))])
    event_id = SelectField(_l("所属步骤"), validate_choice=False)


# ------------------------------------------------------------------------------------------ helpers

_EVENT_LABELS = {
    "case.opened": _lp("event", "立案"),
    "case.assigned": _lp("event", "调整承办监督员"),
    "case.deadlines_recomputed": _lp("event", "重新计算期限"),
    "notice.issued": _lp("event", "签发"),
    "notice.approved": _lp("event", "审批"),
    "notice.rejected": _lp("event", "退回"),
    "notice.withdrawn": _lp("event", "撤回"),
    "notice.draft_updated": _lp("event", "修改草稿"),
    "notice.withdrawal_drafted": _lp("event", "起草撤回通知"),
    "notice.submitted": _lp("event", "提交审批"),
    "notice.returned": _lp("event", "退回"),
}


def step_label(event: CaseEvent) -> str:
    """A step as a supervisor names it: "第3步 记录走访", "第5步 签发 监督意见书"."""
    from workflows.ladder import TRIGGERS
    if event.trigger in TRIGGERS:
        label = tr(TRIGGERS[event.trigger].label)
    else:
        label = str(_EVENT_LABELS.get(event.action, _lp("event", "其他记录")))   # never a raw action code
        notice_type = (event.details or {}).get("notice_type")
        if event.action.startswith("notice.") and notice_type:
            import letters
            spec = letters.NOTICE_TYPES.get(notice_type)
            label = _("%(action)s%(title)s", action=label, title=tr(spec.title) if spec else notice_type)
    return _("第%(n)s步 %(step)s", n=event.seq, step=label)


def _step_choices(case: Case) -> list[tuple[str, str]]:
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action != ops.ACTION)
                                .order_by(CaseEvent.seq.desc())).all()
    return [("", _("不关联具体步骤（整个案件）"))] + [
        (str(e.id), _("%(step)s（%(when)s）", step=step_label(e), when=f"{to_beijing(e.created_at):%Y-%m-%d %H:%M}"))
        for e in events]


def evidence_form(case: Case) -> EvidenceForm:
    """A blank upload form for a case."""
    form = EvidenceForm(formdata=None)
    form.event_id.choices = _step_choices(case)
    return form


@dataclass(frozen=True)
class EvidenceRow:
    attachment: Attachment
    uploader: str
    step: str | None

    @property
    def size(self) -> str:
        size = self.attachment.size
        if size >= 1024 * 1024:
            return f"{size / (1024 * 1024):.1f} MB"
        return f"{size / 1024:.0f} KB" if size >= 1024 else _("%(n)s 字节", n=size)

    @property
    def kind(self) -> str:
        kind = ops.KINDS.get(self.attachment.content_type)
        return kind.label if kind else self.attachment.content_type


def evidence_rows(case: Case) -> list[EvidenceRow]:
    """The case's evidence with who uploaded it and the step it belongs to (one query)."""
    rows = db.session.execute(
        select(Attachment, User.name, CaseEvent)
        .outerjoin(User, User.id == Attachment.uploaded_by_id)
        .outerjoin(CaseEvent, CaseEvent.id == Attachment.event_id)
        .where(Attachment.case_id == case.id).order_by(Attachment.uploaded_at, Attachment.id)).all()
    return [EvidenceRow(a, name or "—", step_label(e) if e is not None else None) for a, name, e in rows]


@bp.app_context_processor
def _template_helpers():
    """What evidence/_list.html and evidence/_upload.html call when the page gave them nothing."""
    return {"case_evidence": evidence_rows, "new_evidence_form": evidence_form,
            "evidence_max_mb": _max_bytes() / (1024 * 1024)}


def _max_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES") or ops.EVIDENCE_MAX_BYTES)


def _need(permission: Permission) -> None:
    if not can(current_user, permission):
        abort(403)


def _viewable_case(case_id: int) -> Case:
    """A case the user may read; outside their scope it is as absent as no case (404)."""
    case = db.session.get(Case, case_id)
    if case is None or not can(current_user, Permission.VIEW, case.jurisdiction):
        abort(404)
    return case


def _page(case: Case, form: EvidenceForm, status: int = 200):
    return render_template("evidence/page.html", case=case, evidence_form=form,
                           evidence_rows=evidence_rows(case)), status


# ------------------------------------------------------------------------------------------ pages

@bp.get("/cases/<id:case_id>/evidence")
@login_required
def case_evidence(case_id: int):
    """A case's evidence and, for those who work the case, the upload form."""
    _need(Permission.VIEW)
    case = _viewable_case(case_id)
    return _page(case, evidence_form(case))


def _chosen_upload(form: EvidenceForm):
    """The one file sent (camera or picker), or a message saying what is wrong."""
    sent = [f.data for f in (form.photo, form.file) if f.data is not None and f.data.filename]
    if not sent:
        return None, _("请拍照或选择要上传的文件")
    if len(sent) > 1:
        return None, _("一次只能上传一个文件：请只拍照或只选择文件")
    return sent[0], None


def _chosen_step(form: EvidenceForm) -> tuple[int | None, bool]:
    raw = (form.event_id.data or "").strip()
    if not raw:
        return None, True
    if raw.isdigit() and len(raw) <= 10:
        return int(raw), True
    return None, False


@bp.post("/cases/<id:case_id>/evidence")
@login_required
def upload(case_id: int):
    """Store a photo or PDF as evidence of the case (or one of its steps), then back to the case."""
    _need(Permission.WORK_CASE)
    case = _viewable_case(case_id)
    form = EvidenceForm()
    form.event_id.choices = _step_choices(case)
    if not form.validate_on_submit():
        return _page(case, form, 422)
    upload_, problem = _chosen_upload(form)
    event_id, readable = _chosen_step(form)
    if problem is not None:
        form.file.errors = [*form.file.errors, problem]
        return _page(case, form, 422)
    if not readable:
        form.event_id.errors = [*form.event_id.errors, _("所选步骤不是本案件的办理步骤，请重新选择")]
        return _page(case, form, 422)
    limit = _max_bytes()
    data = upload_.stream.read(limit + 1)
    try:
        attachment = ops.attach_evidence(db.session, case.id, data=data, filename=upload_.filename or "",
                                         description=form.description.data or "", actor=current_user, now=utcnow(),
                                         event_id=event_id, store=document_store(), max_bytes=limit)
    except (ValidationFailed, NotAllowed) as exc:
        db.session.rollback()
        target = {"description": form.description, "event_id": form.event_id}.get(exc.field or "", form.file)
        target.errors = [*target.errors, exc.message]
        return _page(case, form, exc.status)
    except StoreUnavailable as exc:
        # The document store could not be written: nothing reached the database.
        db.session.rollback()
        current_app.logger.warning("evidence for case %s: the document store could not be written (%s)", case_id,
                                   exc.details.get("errno"))
        # the operation's sentence stays Chinese (as every operation's refusal does)
        return render_template("error.html", title=_("文件保存失败"), message=exc.message, status=503), 503
    db.session.commit()
    given = ops.clean_filename(upload_.filename)
    kind = ops.KINDS[attachment.content_type]
    message = _("已上传证据“%(name)s”（%(kind)s，SHA-256 %(hash)s…）", name=attachment.filename, kind=tr(kind.label),
                hash=attachment.sha256[:12])
    if given and given != attachment.filename:
        message += _("。原文件名“%(given)s”与文件内容不符或过长，已按实际类型保存为“%(name)s”", given=given,
                     name=attachment.filename)
    flash(message, "info")
    return redirect(url_for("web.case_detail", case_id=case.id, _anchor="evidence"))


_ASCII_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()-]*")


def content_disposition(name: str, suffix: str, attachment_id: int, *, inline: bool) -> str:
    """`inline`/`attachment` with a plain ASCII name for old clients and the real one per RFC 5987 (filename*)."""
    disposition = "inline" if inline else "attachment"
    name = ops.clean_filename(name) or f"evidence-{attachment_id}{suffix}"
    fallback = name if _ASCII_SAFE.fullmatch(name) else f"evidence-{attachment_id}{suffix}"
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"
    return value


@bp.get("/evidence/<id:attachment_id>")
@login_required
def download(attachment_id: int):
    """The stored bytes, checked against their SHA-256, with the type found at upload (inline; ?download=1 saves)."""
    _need(Permission.VIEW)
    attachment, kind = ops.evidence_file(db.session, attachment_id, actor=current_user)
    try:
        data = document_store().get(attachment.sha256, suffix=kind.suffix)
    except DocumentMissing as exc:
        current_app.logger.error("evidence %s: %s", attachment.id, exc)
        return render_template("error.html", title=_("文件缺失"),
                               message=_("该证据文件在文档库中缺失或已损坏（哈希不符），请联系管理员。"), status=500), 500
    inline = request.args.get("download") != "1"
    return Response(data, mimetype=kind.content_type, headers={
        "Content-Disposition": content_disposition(attachment.filename, kind.suffix, attachment.id, inline=inline),
        "X-Content-SHA256": attachment.sha256})
