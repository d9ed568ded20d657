"""Entering a year's holidays: provisional deadlines become official, the case and its audit trail follow."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from compliance.testing import refuse_after_visit, serve_issued
from compliance.cli import main
from compliance.errors import NotAllowed, ValidationFailed
from compliance.models import Case, Deadline, HolidayOverrideRow, HolidayYear
from compliance.operations.cases import case_deadlines, case_history, fire_trigger, replay_case, stored_replay
from compliance.operations.holidays import enter_holiday_year
from workflows.calendar import DayKind, HolidayOverride

BEIJING = dt.timezone(dt.timedelta(hours=8))
SOURCE = "国务院办公厅关于2027年部分节假日安排的通知"

# A made-up 2027 arrangement (the real one is not out yet). 元旦 Fri 1 January to Mon 4 January, made up on
# Saturday 9 January; 春节 Fri 5 to Sat 13 February, made up on Sunday 31 January and Sunday 14 February.
HOLIDAYS_2027 = """\
# 元旦
2027-01-01,holiday,元旦
2027-01-02,holiday,元旦
2027-01-03,holiday,元旦
2027-01-04,holiday,元旦
2027-01-09,workday,元旦调休
# 春节
2027-01-31,调休,春节调休
2027-02-05,节假日,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-12,holiday,春节
2027-02-13,holiday,春节
2027-02-14,workday,春节调休
"""


def days_2027():
    kinds = {"holiday": DayKind.HOLIDAY, "节假日": DayKind.HOLIDAY, "workday": DayKind.WORKDAY,
             "调休": DayKind.WORKDAY}
    lines = [line.split(",") for line in HOLIDAYS_2027.splitlines() if line and not line.startswith("#")]
    return [HolidayOverride(dt.date.fromisoformat(d), kinds[k], name) for d, k, name in lines]


def beijing(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A Beijing wall-clock moment, handed over in UTC as the app does."""
    local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=BEIJING)
    return local.astimezone(dt.timezone.utc)


def stored_2027(session):
    return (session.scalar(select(func.count()).select_from(HolidayOverrideRow)
                           .where(HolidayOverrideRow.day.between(dt.date(2027, 1, 1), dt.date(2027, 12, 31)))),
            session.get(HolidayYear, 2027))


@pytest.fixture
def natural_days(app, monkeypatch):
    """The opinion's reply period configured as 15 natural days (the shipped default is 15 working days): one
    last day that a holiday entered later moves, which is what these tests are about."""
    monkeypatch.setitem(app.config, "DEADLINE_RULES", {"opinion_reply": {"counting": "natural_days"}})


@pytest.fixture
def opinion_case(session, make_case, supervisor, send_letters, natural_days):
    """A no-union case visited on 1 December 2026 whose opinion went out on Sunday 20 December 2026, Beijing time,
    and was served the same day."""
    case = make_case(at=beijing("2026-12-01"))
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-12-01", "findings": "职工52人，尚未建立工会",
                                                    "supervisors": ["王芳", "李强"]},
                 actor=supervisor, now=beijing("2026-12-01"))
    # 00:30 in Beijing is still 19 December in UTC: the business date must be the Beijing one.
    refuse_after_visit(session, case.id, actor=supervisor, now=beijing("2026-12-20", 0, 30))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=beijing("2026-12-20", 0, 30))
    send_letters(case.id, beijing("2026-12-20", 0, 30))   # approved and issued the same night
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 12, 20), now=beijing("2026-12-20", 0, 40))
    return case


def opinion_deadline(session, case) -> Deadline:
    [deadline] = [d for d in case_deadlines(session, case.id) if d.rule_key == "opinion_reply"]
    return deadline


def test_a_deadline_running_into_2027_is_provisional(session, opinion_case):
    deadline = opinion_deadline(session, opinion_case)
    # Start 2026-12-20 is not counted; the 15th natural day is Monday 2027-01-04, a working day if only weekends
    # are known. 2027 has no official data, so the date may still move.
    assert (deadline.start_on, deadline.due_on, deadline.extended_from) == (
        dt.date(2026, 12, 20), dt.date(2027, 1, 4), None)
    assert deadline.is_provisional and deadline.status == "open"
    assert "暂定" in deadline.explanation and "2027年" in deadline.explanation
    assert opinion_case.opinion_reply_due == dt.date(2027, 1, 4)


def test_entering_2027_makes_the_deadline_official_and_moves_it(session, opinion_case, supervisor, city_admin):
    version = opinion_case.version
    events_before = len(case_history(session, opinion_case.id))

    changed = enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                                 now=beijing("2026-12-22"))

    session.expire_all()
    deadline = opinion_deadline(session, opinion_case)
    assert [d.id for d in changed] == [deadline.id]
    # 2027-01-04 is now 元旦: the last day moves to the next working day, Tuesday 2027-01-05.
    assert (deadline.due_on, deadline.extended_from, deadline.is_provisional) == (
        dt.date(2027, 1, 5), dt.date(2027, 1, 4), False)
    assert "元旦" in deadline.explanation and "暂定" not in deadline.explanation
    case = session.get(Case, opinion_case.id)
    assert case.opinion_reply_due == dt.date(2027, 1, 5)  # the guard of issue_recommendation reads this
    assert case.version == version + 1

    events = case_history(session, case.id)
    assert len(events) == events_before + 1
    recomputed = events[-1]
    assert (recomputed.seq, recomputed.action, recomputed.trigger) == (events_before + 1,
                                                                      "case.deadlines_recomputed", None)
    assert (recomputed.from_state, recomputed.to_state) == ("opinion_issued", "opinion_issued")
    assert recomputed.actor_id == city_admin.id and SOURCE in recomputed.reason
    assert recomputed.details["deadlines"] == [{"id": deadline.id, "rule": "opinion_reply", "from": "2027-01-04",
                                                "to": "2027-01-05", "provisional": False}]
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_the_recomputed_due_date_is_what_the_ladder_decides_on(session, opinion_case, supervisor, city_admin):
    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))
    version = session.get(Case, opinion_case.id).version
    # On the old provisional date 2027-01-05 would already be past the deadline; now it is its last day.
    with pytest.raises(NotAllowed, match="2027年1月5日"):
        fire_trigger(session, opinion_case.id, "issue_recommendation", {}, actor=supervisor,
                     now=beijing("2027-01-05"), expected_version=version)
    result = fire_trigger(session, opinion_case.id, "issue_recommendation", {}, actor=supervisor,
                          now=beijing("2027-01-06"), expected_version=version)
    assert result.case.state == "recommendation_issued"
    assert replay_case(session, opinion_case.id) == stored_replay(session, result.case)


def test_entering_the_same_year_twice_changes_nothing_more(session, opinion_case, supervisor, city_admin):
    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))
    session.expire_all()
    case = session.get(Case, opinion_case.id)
    state = (case.version, len(case_history(session, case.id)), opinion_deadline(session, case).due_on,
             stored_2027(session)[0])

    again = enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                               now=beijing("2026-12-23"))

    session.expire_all()
    case = session.get(Case, opinion_case.id)
    assert again == []
    assert (case.version, len(case_history(session, case.id)), opinion_deadline(session, case).due_on,
            stored_2027(session)[0]) == state
    assert stored_2027(session)[1].source == SOURCE


def test_a_day_both_holiday_and_workday_is_refused_and_nothing_stored(session, opinion_case, supervisor, city_admin):
    days = days_2027() + [HolidayOverride(dt.date(2027, 1, 4), DayKind.WORKDAY, "元旦调休")]
    with pytest.raises(ValidationFailed, match="2027-01-04 同时被标为节假日和调休工作日"):
        enter_holiday_year(session, year=2027, days=days, source=SOURCE, actor=city_admin,
                           now=beijing("2026-12-22"))
    session.expire_all()
    assert stored_2027(session) == (0, None)
    deadline = opinion_deadline(session, opinion_case)
    assert (deadline.due_on, deadline.is_provisional) == (dt.date(2027, 1, 4), True)


def test_a_day_of_another_year_is_refused(session, supervisor, city_admin):
    with pytest.raises(ValidationFailed, match="2026-12-31"):
        enter_holiday_year(session, year=2027, days=[HolidayOverride(dt.date(2026, 12, 31), DayKind.HOLIDAY, "x")],
                           source=SOURCE, actor=city_admin, now=beijing("2026-12-22"))
    assert stored_2027(session) == (0, None)


# ------------------------------------------------------------------------------------------------ the CLI

def enter(runner, path, *extra):
    return runner.invoke(main, ["holidays", "enter", "2027", str(path), "--source", SOURCE, *extra],
                         catch_exceptions=False)


def test_cli_enters_the_year_and_recomputes(runner, session, opinion_case, supervisor, tmp_path, city_admin):
    session.commit()  # the CLI commits or rolls back the session; keep the fixtures either way
    path = tmp_path / "2027.txt"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    first = enter(runner, path, "--by", city_admin.login)
    assert first.exit_code == 0, first.output
    assert "已录入2027年节假日安排 16 天；重算暂定期限 1 个。" in first.output
    assert f"案件 {opinion_case.id}" in first.output and "2027-01-05" in first.output
    session.expire_all()
    assert stored_2027(session)[0] == 16
    assert opinion_deadline(session, opinion_case).due_on == dt.date(2027, 1, 5)

    again = enter(runner, path, "--by", city_admin.login)
    assert again.exit_code == 0, again.output
    assert "重算暂定期限 0 个" in again.output
    session.expire_all()
    assert stored_2027(session)[0] == 16
    assert [e.action for e in case_history(session, opinion_case.id)].count("case.deadlines_recomputed") == 1


@pytest.mark.parametrize("bad, message", [
    ("2027-01-32,holiday,元旦", "第3行日期“2027-01-32”无效（应为 YYYY-MM-DD）"),
    ("2027-01-04,rest,元旦", "第3行类型“rest”无效（holiday/节假日 或 workday/调休）"),
    ("2027-01-04", "第3行“2027-01-04”应为：日期,holiday|workday,名称"),
])
def test_cli_bad_line_is_one_line_and_stores_nothing(runner, session, opinion_case, bad, message, tmp_path,
                                                    city_admin):
    session.commit()
    path = tmp_path / "2027.txt"
    path.write_text("# 元旦\n2027-01-01,holiday,元旦\n" + bad + "\n2027-01-09,workday,元旦调休\n", encoding="utf-8")
    out = enter(runner, path, "--by", city_admin.login)
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [f"Error: {message}"]
    session.expire_all()
    assert stored_2027(session) == (0, None)
    assert opinion_deadline(session, opinion_case).is_provisional


def test_cli_conflicting_day_is_one_line_and_stores_nothing(runner, session, opinion_case, tmp_path, city_admin):
    session.commit()
    path = tmp_path / "2027.txt"
    path.write_text(HOLIDAYS_2027 + "2027-01-04,workday,元旦调休\n", encoding="utf-8")
    out = enter(runner, path, "--by", city_admin.login)
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == ["Error: 2027-01-04 同时被标为节假日和调休工作日"]
    session.expire_all()
    assert stored_2027(session) == (0, None)
    assert opinion_deadline(session, opinion_case).due_on == dt.date(2027, 1, 4)


def test_only_a_city_admin_enters_the_national_calendar(session, opinion_case, supervisor, make_user):
    from compliance.errors import Forbidden
    from compliance.models import Jurisdiction, Role
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    district_admin = make_user(roles={Role.ADMIN}, jurisdiction=chaoyang)
    for actor in (supervisor, district_admin):
        with pytest.raises(Forbidden, match="录入节假日安排"):
            enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=actor,
                               now=beijing("2026-12-22"))
    assert stored_2027(session) == (0, None)
    assert opinion_deadline(session, opinion_case).is_provisional


def test_a_superseded_provisional_deadline_is_recomputed_too(session, make_case, supervisor, city_admin, send_letters,
                                                             natural_days):
    """Its 暂定 mark goes, and the replay (which counts every deadline on today's calendar) still agrees."""
    case = make_case(at=beijing("2026-12-10"))
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-12-10", "findings": "职工52人，尚未建立工会",
                                                    "supervisors": ["王芳", "李强"]},
                 actor=supervisor, now=beijing("2026-12-10"))
    send_letters(case.id, beijing("2026-12-10"))   # the visit letter goes out and is served the same day
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 12, 10), now=beijing("2026-12-10"))
    refuse_after_visit(session, case.id, actor=supervisor, now=beijing("2026-12-20"))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=beijing("2026-12-20"))
    [visit] = [d for d in case_deadlines(session, case.id) if d.rule_key == "visit_rectification"]
    # 2026-12-10 + 30 days = Saturday 2027-01-09: on weekends only that moves to Monday 2027-01-11.
    assert (visit.status, visit.due_on, visit.extended_from, visit.is_provisional) == (
        "superseded", dt.date(2027, 1, 11), dt.date(2027, 1, 9), True)

    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2026-12-22"))

    session.expire_all()
    visit = session.get(Deadline, visit.id)
    # Saturday 2027-01-09 is a make-up working day in the entered arrangement: the period ends on it.
    assert (visit.status, visit.due_on, visit.extended_from, visit.is_provisional) == (
        "superseded", dt.date(2027, 1, 9), None, False)
    assert "调休上班日" in visit.explanation
    case = session.get(Case, case.id)
    [recomputed] = [e for e in case_history(session, case.id) if e.action == "case.deadlines_recomputed"]
    # the opinion's period waits for its service (待送达): no date to recompute
    assert [d["rule"] for d in recomputed.details["deadlines"]] == ["visit_rectification"]
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_a_step_taken_on_a_provisional_date_still_replays(session, opinion_case, supervisor, city_admin):
    # On 2027-01-05 the provisional reply period (to 2027-01-04) had lapsed, so the recommendation was lawful.
    fire_trigger(session, opinion_case.id, "issue_recommendation", {}, actor=supervisor, now=beijing("2027-01-05"))
    # The 2027 arrangement, entered late, makes 2027-01-04 a holiday: the period now ends on 2027-01-05.
    enter_holiday_year(session, year=2027, days=days_2027(), source=SOURCE, actor=city_admin,
                       now=beijing("2027-01-08"))
    session.expire_all()
    case = session.get(Case, opinion_case.id)
    assert replay_case(session, case.id) == stored_replay(session, case)
