"""The supervisors' pages: load, check access, call an operation, render."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from compliance.access import Permission, can, permissions
from compliance.db import db
from compliance.models import Case, Enterprise
from compliance.scoping import in_scope

bp = Blueprint("web", __name__)

PAGE_SIZE = 50


@bp.route("/healthz")
def healthz():
    """Liveness plus a real database round trip (for load balancers)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # the point is to report any database failure, not to crash
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    return jsonify(status="ok", database="ok")


@bp.route("/")
@login_required
def index():
    """Each role's home: case work for those who read cases, administration for admins."""
    if Permission.VIEW not in permissions(current_user) and Permission.MANAGE_USERS in permissions(current_user):
        return redirect(url_for("admin.users"))
    return cases()


def _require_view():
    if not can(current_user, Permission.VIEW):
        abort(403)


def page_of(total: int) -> tuple[int, int]:
    """(page, pages) from ?page=: anything unreadable is the first page, anything past the end the last."""
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) <= 9 else (pages if raw.isdigit() else 1)
    return min(max(page, 1), pages), pages


@bp.route("/cases")
@login_required
def cases():
    _require_view()
    total = db.session.scalar(in_scope(select(func.count(Case.id)), Case, current_user))
    page, pages = page_of(total)
    query = in_scope(select(Case), Case, current_user).order_by(Case.opened_at.desc(), Case.id.desc())
    rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("cases.html", cases=rows, total=total, page=page, pages=pages)


@bp.route("/cases/<id:case_id>")
@login_required
def case_detail(case_id: int):
    """One case: where it stands, what may happen next (and why not), deadlines, notices, history."""
    from compliance.clock import utcnow
    from compliance.models import Notice
    from compliance.operations.cases import case_deadlines, case_history, case_options
    _require_view()
    case = db.session.get(Case, case_id)
    if case is None or not can(current_user, Permission.VIEW, case.jurisdiction):
        abort(404)  # out of scope looks the same as absent
    notices = db.session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)).all()
    return render_template("case.html", case=case, options=case_options(db.session, case, now=utcnow()),
                           deadlines=case_deadlines(db.session, case.id), events=case_history(db.session, case.id),
                           notices=notices)


@bp.route("/enterprises")
@login_required
def enterprises():
    _require_view()
    total = db.session.scalar(in_scope(select(func.count(Enterprise.id)), Enterprise, current_user))
    page, pages = page_of(total)
    query = in_scope(select(Enterprise), Enterprise, current_user).order_by(Enterprise.name, Enterprise.id)
    rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("enterprises.html", enterprises=rows, total=total, page=page, pages=pages)
