"""The supervisors' pages: load, check access, call an operation, render."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from compliance.access import Permission, can, permissions
from compliance.db import db
from compliance.models import Case

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
    from compliance.web.dashboard import dashboard
    return dashboard()


def _require_view():
    if not can(current_user, Permission.VIEW):
        abort(403)


def page_of(total: int) -> tuple[int, int]:
    """(page, pages) from ?page=: anything unreadable is the first page, anything past the end the last."""
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) <= 9 else (pages if raw.isdigit() else 1)
    return min(max(page, 1), pages), pages


@bp.route("/cases/<id:case_id>")
@login_required
def case_detail(case_id: int):
    """One case: where it stands, what may happen next (with a form for each step, and why not), deadlines,
    notices and the history in Chinese (drawn by compliance.web.casework, which also takes the steps)."""
    from compliance.web.casework import case_page
    _require_view()
    case = db.session.get(Case, case_id)
    if case is None or not can(current_user, Permission.VIEW, case.jurisdiction):
        abort(404)  # out of scope looks the same as absent
    return case_page(case)


# The lists, their exports and the dashboard live beside this module, on the same blueprint.
from compliance.web import dashboard as _dashboard, lists as _lists  # noqa: E402,F401
