"""我的工作台: what waits for the user, and the figures a federation reports, all within the user's jurisdiction.

A fixed number of queries whatever the data: each list is one LIMITed query, each figure one aggregate. Charts
are SVG drawn here (bars; no script), each with its numbers as a table for screen readers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import abort, render_template
from flask_babel import gettext as _, pgettext
from flask_login import current_user, login_required
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from compliance import clock
from compliance.access import Permission, can, permissions
from compliance.db import db
from compliance.models import (Case, CaseViolation, Deadline, DeadlineStatus, Enterprise, Notice,
                               NoticeStatus, User)
from compliance.operations.notices import edited_by
from compliance.scoping import Scope
from compliance.web import listing
from compliance.web.cases import bp
from compliance.web.labels import tr
from compliance.web.language import page_month
from workflows.ladder import State, Violation

#: Rows each list on the dashboard shows (the counts say how many there are).
LIST_ROWS = 10
MONTHS = 12
#: Cases that ended with the enterprise putting things right (a listed one goes on to credit repair).
RECTIFIED = (State.RECTIFIED.value, State.CREDIT_REPAIRED.value)


@dataclass
class DeadlineItem:
    case_id: int
    reference: str
    enterprise: str
    label: str
    due_on: dt.date
    is_provisional: bool
    is_overdue: bool


@dataclass
class NoticeItem:
    notice_id: int
    notice_type: str
    case_id: int
    reference: str
    enterprise: str
    at: dt.datetime | None
    reason: str = ""


@dataclass
class Bar:
    series: int
    value: int
    y: float
    width: float
    title: str


@dataclass
class ChartRow:
    label: str
    short: str
    values: list[int]
    y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    """A horizontal bar chart in a 360-unit-wide viewBox: about one unit per CSS pixel on a 390 px phone."""

    key: str
    title: str
    series: list[str]
    rows: list[ChartRow]
    height: float
    unit: str = ""
    note: str = ""

    WIDTH = 360
    LABEL = 118     #: label column (nine 12-unit characters fit)
    VALUES = 46     #: room for the number after the longest bar
    BAR = 13
    LEGEND = 20

    @property
    def bar_x(self) -> int:
        return self.LABEL

    @property
    def legend(self) -> list[tuple[int, str, int]]:
        """(series, name, x) for a legend line when there is more than one series."""
        return [(i, name, self.LABEL + i * 90) for i, name in enumerate(self.series)] if len(self.series) > 1 else []


def _shorten(label: str, em: float = 9) -> str:
    """A label cut to about `em` character widths (CJK 1, others ~0.55), with "…" when cut."""
    widths = [1.0 if ord(c) > 0x2E80 else 0.55 for c in label]
    if sum(widths) <= em:
        return label
    out, used = "", 0.0
    for char, w in zip(label, widths):
        if used + w > em - 1:
            break
        out, used = out + char, used + w
    return out + "…"


def bar_chart(key: str, title: str, data: list[tuple[str, list[int]]], series: list[str], *, unit: str | None = None,
              note: str = "") -> Chart:
    """Lay out the bars: every row one bar per series, lengths relative to the largest value."""
    unit = unit if unit is not None else _("件")
    top = Chart.LEGEND if len(series) > 1 else 4
    area = Chart.WIDTH - Chart.LABEL - Chart.VALUES
    peak = max((v for _label, values in data for v in values), default=0) or 1
    row_height = len(series) * (Chart.BAR + 2) + 10
    rows = []
    for n, (label, values) in enumerate(data):
        y = top + n * row_height
        short = _shorten(label)
        row = ChartRow(label=label, short=short, values=values, y=y)
        for s, value in enumerate(values):
            width = 0 if value == 0 else max(round(value / peak * area, 1), 1.5)
            name = _("%(series)s：", series=series[s]) if len(series) > 1 else ""
            row.bars.append(Bar(series=s, value=value, y=y + 5 + s * (Chart.BAR + 2), width=width,
                                title=f"{label} {name}{value:,} {unit}"))
        rows.append(row)
    return Chart(key=key, title=title, series=series, rows=rows, height=top + len(data) * row_height + 4, unit=unit,
                 note=note)


def beijing_week(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the (Beijing) week holding `today`."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=6)


def month_starts(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The first days of the last `months` months (this one last), and of the month after it: months + 1 dates."""
    year, month = today.year, today.month
    firsts = []
    for _month in range(months):
        firsts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    last = firsts[-1]
    firsts.append(dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1))
    return firsts


def _utc_midnight(day: dt.date) -> dt.datetime:
    """Beijing midnight starting `day`, in UTC (what the timestamp columns hold)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.BEIJING).astimezone(dt.timezone.utc)


def _open(d) -> object:
    return d.status == DeadlineStatus.OPEN.value


def _open_deadlines(d, scope: Scope):
    """Open deadlines of the scope's open cases (a closed case's deadlines are over, whatever their rows say)."""
    return (_open(d), scope.where(Case), Case.closed_at.is_(None))


def _deadline_items(session: Session, scope: Scope, today: dt.date, *conditions) -> list[DeadlineItem]:
    d = aliased(Deadline)
    query = (select(d.label, d.due_on, d.is_provisional, Case.id, Case.reference, Enterprise.name)
             .select_from(d).join(Case, Case.id == d.case_id).join(Enterprise, Enterprise.id == Case.enterprise_id))
    query = (query.where(*_open_deadlines(d, scope), *(c(d) for c in conditions))
             .order_by(d.due_on, d.case_id, d.id).limit(LIST_ROWS))
    return [DeadlineItem(case_id=case_id, reference=ref, enterprise=name, label=label, due_on=due, is_provisional=prov,
                         is_overdue=due < today)
            for label, due, prov, case_id, ref, name in session.execute(query)]


def _deadline_counts(session: Session, scope: Scope, today: dt.date, monday: dt.date, sunday: dt.date) -> dict:
    d = aliased(Deadline)
    query = (select(func.count().filter(and_(d.due_on >= monday, d.due_on <= sunday)),
                    func.count().filter(d.due_on < today), func.count().filter(d.is_provisional))
             .select_from(d).join(Case, Case.id == d.case_id))
    week, overdue, provisional = session.execute(
        query.where(*_open_deadlines(d, scope), or_(d.due_on <= sunday, d.is_provisional))).one()
    return {"week": week, "overdue": overdue, "provisional": provisional}


def _notices(session: Session, scope: Scope, *conditions, issuer_in_scope: bool, newest: str) -> tuple[list, int]:
    query = (select(Notice.id, Notice.notice_type, Case.id, Case.reference, Enterprise.name, Notice.submitted_at,
                    Notice.drafted_at, Notice.rejection_reason)
             .select_from(Notice).join(Case, Case.id == Notice.case_id)
             .join(Enterprise, Enterprise.id == Case.enterprise_id)
             .where(Notice.status == NoticeStatus.DRAFT.value, scope.where(Case), *conditions))
    if issuer_in_scope:   # an approver acts only on letters of committees in their jurisdiction
        query = query.where(Notice.issuer_id.in_(scope.ids))
    order = Notice.submitted_at if newest == "submitted" else Notice.drafted_at
    items = [NoticeItem(notice_id=nid, notice_type=kind, case_id=cid, reference=ref, enterprise=name,
                        at=submitted if newest == "submitted" else drafted, reason=reason)
             for nid, kind, cid, ref, name, submitted, drafted, reason in
             session.execute(query.order_by(order, Notice.id).limit(LIST_ROWS))]
    return items, listing.count_capped(session, query.with_only_columns(Notice.id))


def _by_place(scope: Scope, counts: dict[int, int]) -> list[tuple[str, list[int]]]:
    """Cases per jurisdiction one level below the user's (districts for the city, streets for a district)."""
    own, places = scope.jurisdictions[0], scope.by_id()
    children = [j for j in scope.jurisdictions if j.parent_id == own.id]
    totals = {j.id: 0 for j in children}
    own_total = 0
    for jurisdiction_id, n in counts.items():
        place = places.get(jurisdiction_id)
        if place is None:
            continue
        rest = place.path[len(own.path):].split("/", 1)[0]
        if rest and int(rest) in totals:
            totals[int(rest)] += n
        else:
            own_total += n
    data = [(j.name, [totals[j.id]]) for j in children]
    if own_total or not children:
        data.insert(0, (_("%(name)s（本级）", name=own.name), [own_total]))
    return data


def _monthly(session: Session, scope: Scope, column, starts: list[dt.date]) -> list[int]:
    bounds = [_utc_midnight(day) for day in starts]
    sums = [func.count().filter(and_(column >= bounds[i], column < bounds[i + 1])) for i in range(len(starts) - 1)]
    query = select(*sums).where(scope.where(Case), column >= bounds[0], column < bounds[-1])
    return list(session.execute(query).one())


@dataclass
class Dashboard:
    today: dt.date
    week: tuple[dt.date, dt.date]
    my_cases: listing.Page
    counts: dict
    due_this_week: list[DeadlineItem]
    overdue: list[DeadlineItem]
    provisional: list[DeadlineItem]
    sent_back: list[NoticeItem]
    sent_back_total: int
    awaiting: list[NoticeItem] | None
    awaiting_total: int
    charts: list[Chart]
    funds_rectified: int
    total_cases: int

    @classmethod
    def load(cls, session: Session, user: User, today: dt.date) -> Dashboard:
        listing.serial_reads(session)
        scope = Scope.of(session, user)
        monday, sunday = beijing_week(today)
        mine = listing.CaseFilters(stage="open", supervisor="me", supervisor_id=user.id, sort="due", descending=False)
        my_cases = listing.case_page(session, scope, mine, today, size=LIST_ROWS)
        counts = _deadline_counts(session, scope, today, monday, sunday)
        week = _deadline_items(session, scope, today, lambda d: d.due_on >= monday, lambda d: d.due_on <= sunday)
        overdue = _deadline_items(session, scope, today, lambda d: d.due_on < today)
        provisional = _deadline_items(session, scope, today, lambda d: d.is_provisional)
        sent_back, sent_back_total = _notices(
            session, scope, Notice.drafted_by_id == user.id, Notice.submitted_at.is_(None),
            Notice.rejection_reason != "", issuer_in_scope=False, newest="drafted")
        awaiting, awaiting_total = None, 0
        if Permission.APPROVE_NOTICE in permissions(user):
            awaiting, awaiting_total = _notices(
                session, scope, Notice.submitted_at.is_not(None),
                or_(Notice.drafted_by_id.is_(None), Notice.drafted_by_id != user.id), ~edited_by(user.id),
                issuer_in_scope=True, newest="submitted")

        # The figures: stage × jurisdiction in one pass, months opened and closed, funds cases rectified.
        by_state: dict[str, int] = {}
        by_jurisdiction: dict[int, int] = {}
        for jurisdiction_id, state, n in session.execute(
                select(Case.jurisdiction_id, Case.state, func.count()).where(scope.where(Case))
                .group_by(Case.jurisdiction_id, Case.state)):
            by_state[state] = by_state.get(state, 0) + n
            by_jurisdiction[jurisdiction_id] = by_jurisdiction.get(jurisdiction_id, 0) + n
        starts = month_starts(today)
        opened = _monthly(session, scope, Case.opened_at, starts)
        closed = _monthly(session, scope, Case.closed_at, starts)
        # Unpaid-funds cases closed by rectification in the same twelve months (no amount is recorded yet).
        cv = aliased(CaseViolation)
        funds = session.scalar(select(func.count(Case.id)).where(
            scope.where(Case), Case.closed_at >= _utc_midnight(starts[0]), Case.state.in_(RECTIFIED),
            exists().where(cv.case_id == Case.id, cv.violation == Violation.UNPAID_FUNDS.value)))

        level = {"city": _("按区"), "district": _("按街道、乡镇")}.get(user.jurisdiction.level, _("按辖区"))
        charts = [
            bar_chart("stage", _("案件阶段分布"), [(tr(s.label), [by_state.get(s.value, 0)]) for s in State],
                      [_("案件")]),
            bar_chart("place", _("案件分布（%(level)s）", level=level), _by_place(scope, by_jurisdiction), [_("案件")]),
            bar_chart("months", _("近%(n)s个月立案与结案", n=MONTHS),
                      [(page_month(day), [opened[i], closed[i]]) for i, day in enumerate(starts[:-1])],
                      [pgettext("chart", "立案"), pgettext("chart", "结案")], note=_("按北京时间的立案、结案日期统计")),
        ]
        return cls(today=today, week=(monday, sunday), my_cases=my_cases, counts=counts, due_this_week=week,
                   overdue=overdue, provisional=provisional, sent_back=sent_back, sent_back_total=sent_back_total,
                   awaiting=awaiting, awaiting_total=awaiting_total, charts=charts, funds_rectified=funds or 0,
                   total_cases=sum(by_state.values()))


@bp.route("/dashboard")
@login_required
def dashboard():
    """我的工作台."""
    if not can(current_user, Permission.VIEW):
        abort(403)
    today = clock.business_date(clock.utcnow())
    return render_template("dashboard.html", d=Dashboard.load(db.session, current_user, today))
