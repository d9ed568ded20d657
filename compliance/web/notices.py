"""Notice pages: the public verification page, and the archived PDF and draft preview for logged-in users."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

import letters
from compliance.access import Permission, can
from compliance.db import db
from compliance.documents import document_store
from compliance.models import Jurisdiction, Notice, NoticeStatus

bp = Blueprint("notices", __name__)

#: A verification upload is a notice PDF: a few hundred KB; refuse anything far bigger before reading it.
MAX_VERIFY_UPLOAD = 10 * 1024 * 1024


def _public_view(notice: Notice) -> dict:
    """Only what the public may see: number, type, issuer, date, addressee, hash."""
    snap = notice.snapshot
    return {"number": notice.number, "title": letters.NOTICE_TYPES[notice.notice_type].title,
            "issuer": snap["issuer"]["name"], "issued_on": snap.get("issued_on"),
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
            result = {"error": "请选择要核验的PDF文件"}
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
    from compliance.models import Case
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
    """A draft's watermarked preview (草稿), never numbered."""
    from compliance.operations.notices import preview_pdf
    notice = _notice_in_scope(notice_id)
    if notice.status not in (NoticeStatus.DRAFT.value, NoticeStatus.APPROVED.value, NoticeStatus.REJECTED.value):
        abort(404)
    return Response(preview_pdf(notice), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=preview-{notice.id}.pdf"})
