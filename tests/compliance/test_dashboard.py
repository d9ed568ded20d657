"""我的工作台: every number on it equals a count made here from the rows themselves; scope; fixed query count.

The business date is pinned to the `now` fixture: Tuesday 2026-11-24 (Beijing), week 11-23 … 11-29.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from compliance import clock
from compliance.db import db
from compliance.models import Case, CaseAssignment, CaseViolation, Deadline, Jurisdiction, Notice, Role
from compliance.operations.cases import fire_trigger, open_case
from compliance.operations.notices import return_notice, submit_notice
from compliance.testing import VISIT, start_visit_period
from compliance.web.dashboard import beijing_week, month_starts
from workflows.ladder import State

PASSWORD = "correct horse battery"
TODAY = dt.date(2026, 11, 24)


@pytest.fixture(autouse=True)
def business_day(monkeypatch, now):
    monkeypatch.setattr(clock, "utcnow", lambda: now)


def login(client, user):
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302


def dashboard(client) -> str:
    res = client.get("/dashboard")
    assert res.status_code == 200
    return res.get_data(as_text=True)


def visit(session, case, who, now, days):
    """The visit with a period of `days`, its letter taken as served on the visit day (2026-11-20)."""
    result = fire_trigger(session, case.id, "record_visit", {**VISIT, "rectification_days": days}, actor=who, now=now)
    start_visit_period(session, case, dt.date(2026, 11, 20))
    return result


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def tile(html, label) -> int:
    return int(re.search(rf"<strong>([\d,]+)\+?</strong> {label}", html).group(1).replace(",", ""))


def heading(html, label) -> int:
    return int(re.search(rf"{label}（([\d,]+)）", html).group(1).replace(",", ""))


def table_row(html, chart, label) -> list[int]:
    """The numbers of one row of a chart's screen-reader table."""
    figure = html[html.index(f'id="chart-{chart}"'):]
    figure = figure[:figure.index("</figure>")]
    cells = re.search(rf'<th scope="row">{re.escape(label)}</th>((?:<td>\d+</td>)+)</tr>', figure).group(1)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]


@pytest.fixture
def street_cases(session, supervisor, make_user, make_case, make_enterprise, now, approver):
    """Cases of the test street in every situation the dashboard counts, and a 海淀 case that must never count."""
    other = make_user()
    overdue = make_case()
    visit(session, overdue, supervisor, now, 2)                      # due Mon 11-23: this week, overdue
    this_week = make_case(violations=("no_bargaining",))
    visit(session, this_week, supervisor, now, 5)                    # due Wed 11-25
    theirs = open_case(session, enterprise=make_enterprise(), violations=["no_union"], opened_by=supervisor,
                       supervisors=[other], now=now)
    visit(session, theirs, other, now, 60)                           # due 2027-01-19: provisional
    registered = make_case(violations=("unpaid_funds",))
    paid = make_case(violations=("unpaid_funds", "no_union"))
    fire_trigger(session, paid.id, "rectify", {"action_taken": "补缴经费并建会", "rectified_on": "2026-11-24",
                                               "attachment_ref": "凭证.pdf"}, actor=supervisor, now=now)
    earlier = make_case(at=now - dt.timedelta(days=75))              # opened in September
    # Notices: the visit letter of `overdue` sent back to its drafter; that of `this_week` waiting for approval.
    [returned] = session.scalars(select(Notice).where(Notice.case_id == overdue.id)).all()
    submit_notice(session, returned.id, actor=supervisor, now=now)
    return_notice(session, returned.id, approver=approver, reason="请补充走访发现的问题", now=now)
    [waiting] = session.scalars(select(Notice).where(Notice.case_id == this_week.id)).all()
    submit_notice(session, waiting.id, actor=supervisor, now=now)
    # Out of scope: 海淀, overdue, submitted.
    haidian = place(session, "110108")
    away = make_user(jurisdiction=haidian)
    far = open_case(session, enterprise=make_enterprise(jurisdiction=haidian), violations=["unpaid_funds"],
                    opened_by=away, supervisors=[away], now=now)
    visit(session, far, away, now, 2)
    [far_notice] = session.scalars(select(Notice).where(Notice.case_id == far.id)).all()
    submit_notice(session, far_notice.id, actor=away, now=now)
    session.commit()
    return {"overdue": overdue, "this_week": this_week, "theirs": theirs, "registered": registered, "paid": paid,
            "earlier": earlier, "returned": returned, "waiting": waiting, "far": far}


def independent_counts(session, user) -> dict:
    """What the dashboard must say, computed from all rows in Python (no query shared with the page)."""
    path = user.jurisdiction.path
    cases = [c for c in session.scalars(select(Case)) if c.jurisdiction.path.startswith(path)]
    open_ids = {c.id for c in cases if c.closed_at is None}
    deadlines = [d for d in session.scalars(select(Deadline)) if d.case_id in open_ids and d.status == "open"]
    monday, sunday = beijing_week(TODAY)
    mine = {a.case_id for a in session.scalars(select(CaseAssignment)) if a.user_id == user.id}
    unpaid = {v.case_id for v in session.scalars(select(CaseViolation)) if v.violation == "unpaid_funds"}
    months = month_starts(TODAY)

    def month_of(ts):
        day = clock.business_date(ts)
        return dt.date(day.year, day.month, 1)

    return {
        "mine": sum(1 for c in cases if c.id in mine and c.closed_at is None),
        "week": sum(1 for d in deadlines if monday <= d.due_on <= sunday),
        "overdue": sum(1 for d in deadlines if d.due_on < TODAY),
        "provisional": sum(1 for d in deadlines if d.is_provisional),
        "states": {s.label: sum(1 for c in cases if c.state == s.value) for s in State},
        "opened": {m: sum(1 for c in cases if month_of(c.opened_at) == m) for m in months[:-1]},
        "closed": {m: sum(1 for c in cases if c.closed_at and month_of(c.closed_at) == m) for m in months[:-1]},
        "funds": sum(1 for c in cases if c.rectified_on is not None and c.id in unpaid and c.closed_at is not None
                     and month_of(c.closed_at) >= months[0]),
        "total": len(cases),
    }


def test_every_number_equals_an_independent_count(client, session, supervisor, street_cases):
    login(client, supervisor)
    html = dashboard(client)
    expected = independent_counts(session, supervisor)
    assert expected["week"] == 2 and expected["overdue"] == 1 and expected["provisional"] == 1   # the setup worked
    assert tile(html, "我承办的在办案件") == expected["mine"] == 4
    assert tile(html, "本周到期") == heading(html, "本周到期") == expected["week"]
    assert tile(html, "已逾期") == heading(html, "已逾期") == expected["overdue"]
    assert tile(html, "暂定期限") == heading(html, "暂定期限") == expected["provisional"]
    for label, n in expected["states"].items():
        assert table_row(html, "stage", label) == [n], label
    for month in month_starts(TODAY)[:-1]:
        label = f"{month.year}年{month.month}月"
        assert table_row(html, "months", label) == [expected["opened"][month], expected["closed"][month]], label
    assert table_row(html, "months", "2026年9月") == [1, 0] and table_row(html, "months", "2026年11月")[1] == 1
    assert f"近12个月整改（补缴）结案的欠缴工会经费案件：<strong>{expected['funds']}</strong> 件" in html
    assert expected["funds"] == 1
    assert "待记录金额" in html and "元" not in html[html.index('id="figures"'):]
    assert f"统计（共 {expected['total']} 件案件）" in html
    # The street user's own jurisdiction is the only place.
    assert table_row(html, "place", f"{supervisor.jurisdiction.name}（本级）") == [expected["total"]]


def test_lists_show_the_right_rows_and_nothing_out_of_scope(client, session, supervisor, street_cases):
    login(client, supervisor)
    html = dashboard(client)
    s = street_cases
    week = html[html.index('id="week"'):html.index('id="overdue"')]
    assert s["overdue"].reference in week and s["this_week"].reference in week and s["theirs"].reference not in week
    overdue = html[html.index('id="overdue"'):html.index('id="provisional"')]
    assert s["overdue"].reference in overdue and s["this_week"].reference not in overdue
    provisional = html[html.index('id="provisional"'):html.index('id="notices"')]
    assert s["theirs"].reference in provisional and "2027年1月19日" in provisional
    mine = html[html.index('id="mine"'):html.index('id="week"')]
    assert s["theirs"].reference not in mine and s["paid"].reference not in mine
    # Sorted by the next deadline: the overdue case first, cases without one last.
    assert mine.index(s["overdue"].reference) < mine.index(s["this_week"].reference) < mine.index(
        s["registered"].reference)
    notices = html[html.index('id="notices"'):html.index('id="figures"')]
    assert heading(notices, "被退回、待我修改后重新提交") == 1 and "请补充走访发现的问题" in notices
    assert f'href="/notices/{s["returned"].id}/edit"' in notices
    assert s["overdue"].reference in notices
    assert "等待我审批" not in notices                 # a supervisor approves nothing
    assert s["far"].reference not in html


def test_approver_sees_submitted_drafts_of_the_jurisdiction_only(client, session, approver, street_cases):
    login(client, approver)
    html = dashboard(client)
    notices = html[html.index('id="notices"'):html.index('id="figures"')]
    waiting = notices[notices.index("等待我审批"):]
    assert heading(notices, "已提交、等待我审批") == 1
    assert street_cases["this_week"].reference in waiting
    assert f'href="/approvals/{street_cases["waiting"].id}"' in waiting
    assert street_cases["overdue"].reference not in waiting     # sent back: no longer waiting
    assert street_cases["far"].reference not in html            # 海淀: outside the approver's district


def test_district_user_sees_cases_per_street(client, session, make_user, supervisor, street_cases, jurisdiction):
    chaoyang = place(session, "110105")
    auditor = make_user(jurisdiction=chaoyang, roles={Role.AUDITOR})
    session.commit()
    login(client, auditor)
    html = dashboard(client)
    expected = independent_counts(session, auditor)
    assert "案件分布（按街道、乡镇）" in html
    assert table_row(html, "place", jurisdiction.name) == [expected["total"]]
    assert expected["total"] == independent_counts(session, supervisor)["total"]   # 海淀 not counted
    assert tile(html, "已逾期") == expected["overdue"] == 1


def test_city_user_sees_cases_per_district(client, session, make_user, street_cases):
    city = place(session, "110000")
    auditor = make_user(jurisdiction=city, roles={Role.AUDITOR})
    session.commit()
    login(client, auditor)
    html = dashboard(client)
    expected = independent_counts(session, auditor)
    assert "案件分布（按区）" in html
    assert table_row(html, "place", "朝阳区") == [expected["total"] - 1]
    assert table_row(html, "place", "海淀区") == [1]
    assert table_row(html, "place", "东城区") == [0]


def test_charts_are_svg_with_titles_and_a_table(client, session, supervisor, street_cases):
    login(client, supervisor)
    html = dashboard(client)
    assert html.count('<svg class="chart-svg"') == 3 and html.count('<table class="sr-only">') == 3
    visited = independent_counts(session, supervisor)["states"]["已走访宣讲"]
    assert visited == 3 and f'<title>已走访宣讲 {visited} 件</title>' in html
    assert '<title>2026年11月 立案：' in html and 'aria-hidden="true"' in html
    assert "<script" not in html and " style=" not in html


def test_an_empty_jurisdiction_shows_zeros(client, session, make_user):
    login(client, make_user())
    html = dashboard(client)
    assert tile(html, "我承办的在办案件") == 0 and tile(html, "已逾期") == 0
    assert "您目前没有承办的在办案件" in html and "统计（共 0 件案件）" in html


def test_queries_do_not_grow_with_the_data(app, client, session, supervisor, make_case, make_enterprise, now,
                                           approver):
    def count() -> int:
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            dashboard(client)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    def add(n):
        for i in range(n):
            case = make_case(enterprise=make_enterprise(), violations=("unpaid_funds",))
            visit(session, case, supervisor, now, (2, 5, 60)[i % 3])
        session.commit()

    login(client, supervisor)
    add(2)
    few = count()
    add(30)
    many = count()
    assert few == many, (few, many)
