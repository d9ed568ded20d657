"""The supervisors' pages: load, check access, call an operation, render."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from compliance.clock import to_beijing
from compliance.db import db
from compliance.errors import DomainError
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
    return cases()


@bp.route("/cases")
@login_required
def cases():
    page = max(request.args.get("page", 1, type=int), 1)
    query = in_scope(select(Case), Case, current_user).order_by(Case.opened_at.desc(), Case.id.desc())
    total = db.session.scalar(in_scope(select(func.count(Case.id)), Case, current_user))
    rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("cases.html", cases=rows, total=total, page=page, page_size=PAGE_SIZE)


@bp.route("/cases/<int:case_id>")
@login_required
def case_detail(case_id: int):
    """One case: where it stands, what may happen next (and why not), deadlines, notices, history."""
    from compliance.clock import utcnow
    from compliance.models import Notice
    from compliance.operations.cases import case_deadlines, case_history, case_options
    case = db.session.get(Case, case_id)
    if case is None or not current_user.jurisdiction.contains(case.jurisdiction):
        abort(404)  # out of scope looks the same as absent
    notices = db.session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)).all()
    return render_template("case.html", case=case, options=case_options(db.session, case, now=utcnow()),
                           deadlines=case_deadlines(db.session, case.id), events=case_history(db.session, case.id),
                           notices=notices)


@bp.route("/enterprises")
@login_required
def enterprises():
    page = max(request.args.get("page", 1, type=int), 1)
    query = in_scope(select(Enterprise), Enterprise, current_user).order_by(Enterprise.name)
    total = db.session.scalar(in_scope(select(func.count(Enterprise.id)), Enterprise, current_user))
    rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("enterprises.html", enterprises=rows, total=total, page=page, page_size=PAGE_SIZE)


def beijing_time(ts, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Template filter: a stored UTC timestamp as Beijing wall time."""
    return to_beijing(ts).strftime(fmt) if ts is not None else ""


def state_label(value: str | None) -> str:
    from workflows.ladder import State
    return State(value).label if value else "—"


def notice_title(notice_type: str) -> str:
    import letters
    return letters.NOTICE_TYPES[notice_type].title


def handle_domain_error(err: DomainError):
    """One handler for every refusal: JSON for API clients, a page for people."""
    db.session.rollback()
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(err.to_dict()), err.status
    return render_template("error.html", error=err), err.status


def handle_stale_data(_exc):
    """Two writers raced past the version check (the loser's flush found the row changed): a conflict."""
    from compliance.errors import Conflict
    return handle_domain_error(Conflict("记录已被他人修改，请刷新后重试"))


def handle_too_large(_exc):
    """An upload over the limit: say so plainly, keep nothing."""
    from compliance.errors import DomainError
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    err = DomainError(f"文件过大：上传上限为 {limit} MB，未保存任何内容")
    err.status, err.code = 413, "too_large"
    return handle_domain_error(err)
