"""The reminders' pages: the inbox (unread count in every page's header), the deadlines across the user's cases,
and, for admins, the outbox's waiting and failed messages.

Pages load and render; marking read and retrying go through compliance.operations.reminders, committed once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import exists, func, select
from sqlalchemy.exc import SQLAlchemyError

from compliance import clock
from compliance.access import Permission, can, permissions, require
from compliance.db import db
from compliance.models import (Case, CaseAssignment, Deadline, DeadlineStatus, Enterprise, InboxMessage,
                               Jurisdiction, OutboxMessage, OutboxStatus, User)
from compliance.operations import reminders as ops
from compliance.scoping import in_scope
from compliance.web import keyset, listing

bp = Blueprint("reminders", __name__)

INBOX_PAGE = 30
OUTBOX_ROWS = 100
MAX_ID = 2**31 - 1

#: How the deadlines page names a deadline's status. A superseded deadline was replaced by the case's next step:
#: its date no longer runs, so it is never shown as merely "ended" beside a date still to come.
STATUS_LABELS = {DeadlineStatus.OPEN.value: _l("进行中"), DeadlineStatus.AWAITING_SERVICE.value: _l("待送达"),
                 DeadlineStatus.MET.value: _l("已履行"), DeadlineStatus.SUPERSEDED.value: _l("已被替代")}
#: "awaiting": periods that run from a letter's receipt whose service is not recorded (no due date, never overdue).
SHOW = {"all": _l("全部进行中"), "week": _l("本周到期"), "overdue": _l("已逾期"), "provisional": _l("暂定"),
        "awaiting": _l("待送达"), "closed": _l("已了结")}


def _id(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def _now() -> dt.datetime:
    return clock.utcnow()


@bp.app_context_processor
def _reminder_helpers():
    return {"inbox_unread": inbox_unread}


def inbox_unread() -> str:
    """The header's unread count: "" for none, "99+" past 99."""
    if not current_user.is_authenticated:
        return ""
    try:
        n = ops.unread_count(db.session, current_user)
    except SQLAlchemyError:   # an error page about the database itself must still render
        return ""
    return "" if n == 0 else ("99+" if n > 99 else str(n))


# ---------------------------------------------------------------------------------------------------- inbox

@bp.route("/inbox")
@login_required
def inbox():
    """The user's messages, newest first, 30 a page."""
    before = _id(request.args.get("before"))
    query = select(InboxMessage).where(InboxMessage.user_id == current_user.id)
    if before is not None:
        query = query.where(InboxMessage.id < before)
    rows = list(db.session.scalars(query.order_by(InboxMessage.id.desc()).limit(INBOX_PAGE + 1)))
    more, rows = len(rows) > INBOX_PAGE, rows[:INBOX_PAGE]
    unread = ops.unread_count(db.session, current_user)
    return render_template("reminders/inbox.html", messages=rows, unread=unread, before=before,
                           older=rows[-1].id if more else None)


@bp.post("/inbox/read")
@login_required
def read():
    """Mark one message read."""
    message_id = _id(request.form.get("id"))
    if message_id is None:
        abort(404)
    ops.mark_read(db.session, message_id, actor=current_user, now=_now())
    db.session.commit()
    before = _id(request.form.get("before"))
    return redirect(url_for(".inbox", before=before) if before else url_for(".inbox"))


@bp.post("/inbox/read-all")
@login_required
def read_all():
    """Mark every message read."""
    n = ops.mark_all_read(db.session, actor=current_user, now=_now())
    db.session.commit()
    flash(_("已将 %(n)s 条消息标为已读", n=n) if n else _("没有未读消息"), "info")
    return redirect(url_for(".inbox"))


# ------------------------------------------------------------------------------------------------ deadlines

@dataclass(frozen=True)
class DeadlineFilters:
    show: str = "all"
    mine: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> DeadlineFilters:
        show = args.get("show", "")
        return cls(show=show if show in SHOW else "all", mine=args.get("mine") in ("1", "on"))

    @property
    def token(self) -> str:
        return f"{self.show}.{int(self.mine)}"

    def params(self) -> dict[str, str]:
        out = {"show": self.show if self.show != "all" else "", "mine": "1" if self.mine else ""}
        return {k: v for k, v in out.items() if v}


@dataclass
class DeadlineRow:
    deadline: Deadline
    case_id: int
    reference: str
    enterprise: str
    ready_since: dt.datetime | None
    today: dt.date

    @property
    def status(self) -> str:
        return STATUS_LABELS.get(self.deadline.status, self.deadline.status)

    @property
    def is_open(self) -> bool:
        return self.deadline.status == DeadlineStatus.OPEN.value

    @property
    def days_late(self) -> int:
        return (self.today - self.deadline.due_on).days if self.is_open else 0

    @property
    def is_due_today(self) -> bool:
        return self.is_open and self.deadline.due_on == self.today


def _deadline_query(f: DeadlineFilters, today: dt.date, user=None):
    """The deadlines page's query (the API's GET /deadlines too, for the token's user)."""
    user = user if user is not None else current_user
    query = in_scope(select(Deadline, Case.reference, Enterprise.name, Case.ready_since)
                     .join(Case, Case.id == Deadline.case_id).join(Enterprise, Enterprise.id == Case.enterprise_id),
                     Case, user)
    if f.show == "closed":
        query = query.where(Deadline.status.in_([DeadlineStatus.MET.value, DeadlineStatus.SUPERSEDED.value]))
    elif f.show == "awaiting":
        query = query.where(Deadline.status == DeadlineStatus.AWAITING_SERVICE.value)
    else:
        query = query.where(Deadline.status == DeadlineStatus.OPEN.value)
    if f.show == "week":
        monday = today - dt.timedelta(days=today.weekday())
        query = query.where(Deadline.due_on >= monday, Deadline.due_on <= monday + dt.timedelta(days=6))
    elif f.show == "overdue":
        query = query.where(Deadline.due_on < today)
    elif f.show == "provisional":
        query = query.where(Deadline.is_provisional.is_(True))
    if f.mine:
        query = query.where(exists().where(CaseAssignment.case_id == Case.id,
                                           CaseAssignment.user_id == user.id))
    return query


@bp.route("/deadlines")
@login_required
def deadlines():
    """Every open deadline in the user's jurisdiction by due date, with its basis and its case; 50 a page."""
    if not can(current_user, Permission.VIEW):
        abort(403)
    today = clock.business_date(_now())
    f = DeadlineFilters.from_args(request.args)
    # Awaiting service has no due date: those rows go in the order they were opened.
    awaiting = f.show == "awaiting"
    kinds = (keyset.as_int,) if awaiting else (keyset.as_date, keyset.as_int)
    cursor = keyset.decode(request.args.get("after"), "deadlines", f.token, kinds)
    query = _deadline_query(f, today)
    total = listing.count_capped(db.session, query.with_only_columns(Deadline.id))
    columns = [Deadline.id] if awaiting else [Deadline.due_on, Deadline.id]
    if cursor is not None:
        query = query.where(keyset.after(columns, cursor.key, False))
    found = db.session.execute(query.order_by(*columns).limit(listing.PAGE_SIZE + 1)).all()
    more, found = len(found) > listing.PAGE_SIZE, found[:listing.PAGE_SIZE]
    rows = [DeadlineRow(deadline=d, case_id=d.case_id, reference=ref, enterprise=name, ready_since=ready, today=today)
            for d, ref, name, ready in found]
    shown_before = cursor.shown if cursor is not None else 0
    page = listing.Page(rows=rows, shown_before=shown_before, total=total)
    if more:
        last = rows[-1].deadline
        key = (last.id,) if awaiting else (last.due_on, last.id)
        page.next_cursor = keyset.encode("deadlines", f.token, key, shown_before + len(rows))
    return render_template("reminders/deadlines.html", page=page, f=f, shows=SHOW, today=today,
                           count_cap=listing.COUNT_CAP, can_work=Permission.WORK_CASE in permissions(current_user))


# --------------------------------------------------------------------------------------------------- outbox

def _outbox_rows(status: str):
    """Messages of one status whose recipients the admin manages (their jurisdiction subtree)."""
    recipient = select(User.id).join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id).where(
        Jurisdiction.path.startswith(current_user.jurisdiction.path, autoescape=True))
    query = (select(OutboxMessage, User.name, User.login).join(User, User.id == OutboxMessage.recipient_id)
             .where(OutboxMessage.status == status, OutboxMessage.recipient_id.in_(recipient)))
    order = [OutboxMessage.next_attempt_at, OutboxMessage.id] if status == OutboxStatus.PENDING.value else [
        OutboxMessage.id.desc()]
    total = listing.count_capped(db.session, query.with_only_columns(OutboxMessage.id))
    return db.session.execute(query.order_by(*order).limit(OUTBOX_ROWS)).all(), total


@bp.route("/admin/outbox")
@login_required
def outbox():
    """Messages that failed for good (with the last error) and those still waiting to go out."""
    require(current_user, Permission.MANAGE_USERS, absent="")
    failed, failed_total = _outbox_rows(OutboxStatus.FAILED.value)
    pending, pending_total = _outbox_rows(OutboxStatus.PENDING.value)
    sent_today = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.status == OutboxStatus.SENT.value,
        OutboxMessage.sent_at >= _now() - dt.timedelta(days=1))) if current_user.jurisdiction.parent_id is None else None
    return render_template("reminders/outbox.html", failed=failed, failed_total=failed_total, pending=pending,
                           pending_total=pending_total, shown=OUTBOX_ROWS, sent_today=sent_today, now=_now(),
                           count_cap=listing.COUNT_CAP)


@bp.post("/admin/outbox/retry")
@login_required
def retry():
    """Send a failed or waiting message at the next delivery run (within a minute)."""
    require(current_user, Permission.MANAGE_USERS, absent="")
    outbox_id = _id(request.form.get("id"))
    if outbox_id is None:
        abort(404)
    row = ops.retry_delivery(db.session, outbox_id, actor=current_user, now=_now())
    db.session.commit()
    flash(_("消息 %(id)s 将在下一次发送时重试（一分钟内）", id=row.id), "info")
    return redirect(url_for(".outbox"))

