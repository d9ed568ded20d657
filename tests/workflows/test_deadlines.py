"""Deadline computation, checked by hand against the State Council arrangements shipped in chinesecalendar 1.11.0.

The arrangements the cases rely on (rest days unless marked 'make-up', which are working days):
  2025  Spring Festival Jan 28 – Feb 4; National Day + Mid-autumn Oct 1 (Wed) – Oct 8 (Wed);
        make-up Sun Sep 28 and Sat Oct 11.
  2026  New Year Jan 1 (Thu) – Jan 3 (Sat), make-up Sun Jan 4;
        Spring Festival Feb 15 (Sun) – Feb 23 (Mon), make-up Sat Feb 14 and Sat Feb 28;
        Labour Day May 1 (Fri) – May 5 (Tue), make-up Sat May 9;
        Mid-autumn Sep 25 (Fri) – Sep 27 (Sun); National Day Oct 1 (Thu) – Oct 7 (Wed),
        make-up Sun Sep 20 and Sat Oct 10. March and December 2026 have no holiday.
  2027+ no data: Monday–Friday working, unless an admin entered an override.
"""

from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.calendar import DayKind, HolidayOverride, WorkCalendar
from workflows.deadlines import DEFAULT_RULES, Counting, DueDate, PeriodRule, compute_due, load_rules

NEW_YEAR_2027 = HolidayOverride(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")

CALENDARS = {
    "official": WorkCalendar(),
    # An admin entered the 2027 notice (here: only New Year's Day differs from plain weekends).
    "2027 entered": WorkCalendar([NEW_YEAR_2027], complete_years={2027}),
    # One 2027 day entered, but the year's notice not marked complete.
    "2027 partial": WorkCalendar([NEW_YEAR_2027]),
}


def months(n: int) -> PeriodRule:
    return PeriodRule(f"test_{n}_months", f"{n}个月测试期限", n, Counting.MONTHS, "《中华人民共和国民法典》第二百零二条")


# The opinion's reply period as shipped before issue 10 (15 natural days): the counting cases below use it.
NATURAL_15 = PeriodRule("opinion_reply", "企业书面答复监督意见书期限", 15, Counting.NATURAL_DAYS,
                        "《北京市实施〈中华人民共和国工会法〉办法》第二十八条第一款")
NATURAL_30 = DEFAULT_RULES["visit_rectification"]
WORKING_15 = DEFAULT_RULES["recommendation_reply"]
SIX_MONTHS = DEFAULT_RULES["credit_repair_wait"]


class Case(NamedTuple):
    start: date
    rule: PeriodRule
    due: date
    extended_from: date | None
    provisional: bool
    calendar: str = "official"


d = date.fromisoformat

CASES = {
    # ---- natural days: raw = start + period; a rest day moves to the next working day ----
    # Mon Mar 2 + 15 = Tue Mar 17; no holiday in March 2026.
    "natural plain weekday": Case(d("2026-03-02"), NATURAL_15, d("2026-03-17"), None, False),
    # Fri Mar 6 + 15 = Sat Mar 21 → Mon Mar 23.
    "natural ends on Saturday": Case(d("2026-03-06"), NATURAL_15, d("2026-03-23"), d("2026-03-21"), False),
    # Sat Mar 7 + 15 = Sun Mar 22 → Mon Mar 23.
    "natural ends on Sunday": Case(d("2026-03-07"), NATURAL_15, d("2026-03-23"), d("2026-03-22"), False),
    # Fri Sep 18 + 15 = Sat Oct 3, inside Oct 1–7 → Thu Oct 8, past the whole week.
    "natural National Day 2026 mid-week": Case(
        d("2026-09-18"), NATURAL_15, d("2026-10-08"), d("2026-10-03"), False
    ),
    # Wed Sep 16 + 15 = Thu Oct 1, a weekday that is a holiday → Thu Oct 8.
    "natural National Day 2026 first day": Case(
        d("2026-09-16"), NATURAL_15, d("2026-10-08"), d("2026-10-01"), False
    ),
    # Tue Sep 1 + 30 = Thu Oct 1 → Thu Oct 8 (the visit's 30-day period).
    "natural 30 days into National Day 2026": Case(
        d("2026-09-01"), NATURAL_30, d("2026-10-08"), d("2026-10-01"), False
    ),
    # Fri Sep 25 + 15 = Sat Oct 10, the make-up working Saturday: the deadline stays.
    "natural make-up Saturday 2026-10-10 stays": Case(d("2026-09-25"), NATURAL_15, d("2026-10-10"), None, False),
    # Sat Sep 5 + 15 = Sun Sep 20, the make-up working Sunday: stays.
    "natural make-up Sunday 2026-09-20 stays": Case(d("2026-09-05"), NATURAL_15, d("2026-09-20"), None, False),
    # Thu Sep 10 + 15 = Fri Sep 25, Mid-autumn; Sep 26–27 also off → Mon Sep 28.
    "natural Mid-autumn 2026": Case(d("2026-09-10"), NATURAL_15, d("2026-09-28"), d("2026-09-25"), False),
    # Sat Sep 20 2025 + 15 = Sun Oct 5, inside Oct 1–8 → Thu Oct 9.
    "natural National Day 2025": Case(d("2025-09-20"), NATURAL_15, d("2025-10-09"), d("2025-10-05"), False),
    # Fri Sep 26 2025 + 15 = Sat Oct 11, make-up working Saturday: stays.
    "natural make-up Saturday 2025-10-11 stays": Case(d("2025-09-26"), NATURAL_15, d("2025-10-11"), None, False),
    # Sat Sep 13 2025 + 15 = Sun Sep 28, make-up working Sunday: stays.
    "natural make-up Sunday 2025-09-28 stays": Case(d("2025-09-13"), NATURAL_15, d("2025-09-28"), None, False),
    # Sun Feb 1 + 15 = Mon Feb 16, inside Feb 15–23 → Tue Feb 24.
    "natural Spring Festival 2026": Case(d("2026-02-01"), NATURAL_15, d("2026-02-24"), d("2026-02-16"), False),
    # Sun Feb 8 + 15 = Mon Feb 23, the festival's last day → Tue Feb 24.
    "natural Spring Festival last day": Case(d("2026-02-08"), NATURAL_15, d("2026-02-24"), d("2026-02-23"), False),
    # Fri Jan 30 + 15 = Sat Feb 14, make-up working Saturday before the festival: stays.
    "natural make-up Saturday 2026-02-14 stays": Case(d("2026-01-30"), NATURAL_15, d("2026-02-14"), None, False),
    # Thu Dec 18 2025 + 15 = Fri Jan 2 (holiday); Sat Jan 3 holiday; Sun Jan 4 is made up → Sun Jan 4.
    "natural New Year 2026 moves onto make-up Sunday": Case(
        d("2025-12-18"), NATURAL_15, d("2026-01-04"), d("2026-01-02"), False
    ),
    # Thu Apr 16 + 15 = Fri May 1; May 1–5 off → Wed May 6.
    "natural Labour Day 2026": Case(d("2026-04-16"), NATURAL_15, d("2026-05-06"), d("2026-05-01"), False),
    # Thu Dec 17 2026 + 15 = Fri Jan 1 2027: no 2027 data, a Friday counts as working (really New Year's Day).
    "natural into 2027 without data": Case(d("2026-12-17"), NATURAL_15, d("2027-01-01"), None, True),
    # Same, with Jan 1 2027 entered as a holiday and 2027 complete: Fri Jan 1 off, Jan 2–3 weekend → Mon Jan 4.
    "natural into 2027 entered": Case(
        d("2026-12-17"), NATURAL_15, d("2027-01-04"), d("2027-01-01"), False, "2027 entered"
    ),
    # Same override but 2027 not complete: the override is respected, the date stays provisional.
    "natural into 2027 partial": Case(
        d("2026-12-17"), NATURAL_15, d("2027-01-04"), d("2027-01-01"), True, "2027 partial"
    ),
    # Sat Dec 19 2026 + 15 = Sun Jan 3 2027 → Mon Jan 4 by the weekends-only fallback.
    "natural into 2027 weekend": Case(d("2026-12-19"), NATURAL_15, d("2027-01-04"), d("2027-01-03"), True),
    # ---- working days: the period-th working day after the start ----
    # From Mon Mar 2: Mar 3–6 (4), 9–13 (9), 16–20 (14), Mon Mar 23 (15).
    "working plain": Case(d("2026-03-02"), WORKING_15, d("2026-03-23"), None, False),
    # From Mon Sep 28: Sep 29–30 (2), Oct 1–7 off, Oct 8–9 (4), Sat Oct 10 make-up (5), Oct 12–16 (10),
    # Oct 19–23 (15) → Fri Oct 23. Without the make-up Saturday it would be Mon Oct 26.
    "working across National Day 2026": Case(d("2026-09-28"), WORKING_15, d("2026-10-23"), None, False),
    # From Fri Sep 18: Sun Sep 20 make-up (1), Sep 21–24 (5), Sep 25–27 Mid-autumn off, Sep 28–30 (8),
    # Oct 1–7 off, Oct 8–9 (10), Sat Oct 10 make-up (11), Oct 12–15 (15) → Thu Oct 15.
    "working across Mid-autumn and National Day 2026": Case(
        d("2026-09-18"), WORKING_15, d("2026-10-15"), None, False
    ),
    # From Fri Sep 26 2025: Sun Sep 28 make-up (1), Sep 29–30 (3), Oct 1–8 off, Oct 9–10 (5),
    # Sat Oct 11 make-up (6), Oct 13–17 (11), Oct 20–23 (15) → Thu Oct 23.
    "working across National Day 2025": Case(d("2025-09-26"), WORKING_15, d("2025-10-23"), None, False),
    # From Tue Feb 10: Feb 11–13 (3), Sat Feb 14 make-up (4), Feb 15–23 off, Feb 24–27 (8),
    # Sat Feb 28 make-up (9), Mar 2–6 (14), Mon Mar 9 (15).
    "working across Spring Festival 2026": Case(d("2026-02-10"), WORKING_15, d("2026-03-09"), None, False),
    # From Tue Dec 1 2026: Dec 2–4 (3), 7–11 (8), 14–18 (13), Dec 21–22 (15); all within 2026.
    "working within December 2026": Case(d("2026-12-01"), WORKING_15, d("2026-12-22"), None, False),
    # From Mon Dec 21 2026: Dec 22–25 (4), Dec 28–31 (8), Fri Jan 1 2027 counts without data (9),
    # Jan 4–8 (14), Mon Jan 11 (15).
    "working into 2027 without data": Case(d("2026-12-21"), WORKING_15, d("2027-01-11"), None, True),
    # Same with Jan 1 2027 entered as a holiday: Dec 31 is 8th, Jan 4–8 (13), Jan 11–12 (15) → Tue Jan 12.
    "working into 2027 entered": Case(d("2026-12-21"), WORKING_15, d("2027-01-12"), None, False, "2027 entered"),
    # ---- months: the corresponding day (or month end), then the rest-day move ----
    # Jan 31 + 1 month: February has no 31st → Feb 28 2026, a make-up Saturday: stays.
    "months Jan 31 to Feb 28 on make-up Saturday": Case(d("2026-01-31"), months(1), d("2026-02-28"), None, False),
    # Jan 31 2025 + 1 month → Fri Feb 28 2025, after the Jan 28 – Feb 4 festival: stays.
    "months Jan 31 to Feb 28 2025": Case(d("2025-01-31"), months(1), d("2025-02-28"), None, False),
    # Jan 31 2028 + 1 month → Tue Feb 29 2028 (leap year), no 2028 data.
    "months Jan 31 to Feb 29 2028": Case(d("2028-01-31"), months(1), d("2028-02-29"), None, True),
    # Mar 31 + 6 months → Sep 30 (September has 30 days), a Wednesday before the holiday: stays.
    "months to the end of a 30-day month": Case(d("2026-03-31"), SIX_MONTHS, d("2026-09-30"), None, False),
    # Apr 1 + 6 months → Thu Oct 1 (National Day) → Thu Oct 8.
    "months onto National Day 2026": Case(d("2026-04-01"), SIX_MONTHS, d("2026-10-08"), d("2026-10-01"), False),
    # Dec 16 2025 + 2 months → Mon Feb 16 2026 (Spring Festival) → Tue Feb 24.
    "months onto Spring Festival 2026": Case(d("2025-12-16"), months(2), d("2026-02-24"), d("2026-02-16"), False),
    # Jul 10 + 3 months → Sat Oct 10, the make-up working Saturday: stays.
    "months onto make-up Saturday": Case(d("2026-07-10"), months(3), d("2026-10-10"), None, False),
    # Aug 31 2026 + 6 months → Feb 28 2027 (no 29th), a Sunday without data → Mon Mar 1 2027.
    "months into 2027 without data": Case(d("2026-08-31"), SIX_MONTHS, d("2027-03-01"), d("2027-02-28"), True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hand_checked_due_dates(case):
    result = compute_due(case.start, case.rule, CALENDARS[case.calendar])
    assert (result.due, result.extended_from, result.provisional) == (
        case.due,
        case.extended_from,
        case.provisional,
    )
    assert result.start == case.start
    assert result.rule == case.rule


def test_the_table_covers_what_it_claims():
    assert len(CASES) >= 24
    assert {case.rule.counting for case in CASES.values()} == set(Counting)


def test_provisional_names_every_year_without_data():
    result = compute_due(date(2027, 12, 20), WORKING_15, WorkCalendar())
    assert result.provisional
    assert result.unknown_years == (2027, 2028)
    assert result.explain().endswith("（暂定：2027年、2028年节假日安排尚未公布）")


def test_entered_year_leaves_only_the_next_one_provisional():
    calendar = WorkCalendar([NEW_YEAR_2027], complete_years={2027})
    assert compute_due(date(2027, 12, 20), WORKING_15, calendar).unknown_years == (2028,)


@pytest.mark.parametrize("start", [date(1990, 6, 30), date(2099, 12, 25)])
@pytest.mark.parametrize("rule", DEFAULT_RULES.values(), ids=DEFAULT_RULES.keys())
def test_years_without_data_never_raise(start, rule):
    result = compute_due(start, rule, WorkCalendar())
    assert result.provisional
    assert result.due.weekday() < 5


@pytest.mark.parametrize("rule", DEFAULT_RULES.values(), ids=DEFAULT_RULES.keys())
def test_the_uncounted_start_day_does_not_make_a_date_provisional(rule):
    # Dec 31 2003 has no data, but every day consulted lies in 2004, which has.
    assert not compute_due(date(2003, 12, 31), rule, WorkCalendar()).provisional


def test_start_datetime_is_read_as_a_beijing_date():
    # 17:00 UTC on Sep 17 is already Sep 18 in Beijing: the same deadline as a Sep 18 start.
    result = compute_due(datetime(2026, 9, 17, 17, 0, tzinfo=timezone.utc), NATURAL_15, WorkCalendar())
    assert (result.start, result.due) == (date(2026, 9, 18), date(2026, 10, 8))


# ---- explain() ----


def explain(name: str) -> str:
    case = CASES[name]
    return compute_due(case.start, case.rule, CALENDARS[case.calendar]).explain()


def test_explain_a_move_past_a_holiday():
    text = explain("natural National Day 2026 mid-week")
    assert text == (
        "企业书面答复监督意见书期限：自2026年9月18日的次日起算15日（自然日），"
        "最后一日2026年10月3日（星期六）为法定节假日（国庆节），顺延至2026年10月8日（星期四）；"
        "依据《北京市实施〈中华人民共和国工会法〉办法》第二十八条第一款。"
    )


def test_explain_a_weekend_move():
    assert "最后一日2026年3月21日（星期六）为休息日，顺延至2026年3月23日（星期一）" in explain(
        "natural ends on Saturday"
    )


def test_explain_a_make_up_day_that_keeps_the_deadline():
    assert "期满日为2026年10月10日（星期六），为调休上班日，不顺延" in explain(
        "natural make-up Saturday 2026-10-10 stays"
    )


def test_explain_working_days():
    text = explain("working across National Day 2026")
    assert "自2026年9月28日的次日起算15个工作日" in text
    assert "调休上班日计入" in text
    assert "期满日为2026年10月23日（星期五）" in text
    assert "第六十三条第二款" in text


def test_explain_month_end():
    text = explain("months Jan 31 to Feb 28 on make-up Saturday")
    assert "1个月" in text
    assert "以月末日为最后一日" in text


def test_explain_provisional():
    text = explain("natural into 2027 without data")
    assert text.endswith("（暂定：2027年节假日安排尚未公布）")
    assert "暂定" not in explain("natural into 2027 entered")


def test_explain_uses_the_entered_holiday_name():
    assert "为法定节假日（元旦）" in explain("natural into 2027 entered")


def test_due_date_is_immutable():
    result = compute_due(date(2026, 3, 2), NATURAL_15, WorkCalendar())
    with pytest.raises(FrozenInstanceError):
        result.due = date(2026, 3, 18)
    assert isinstance(result, DueDate)


# ---- properties that must hold for every start and period ----

STARTS = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 6, 30))
PERIODS = st.integers(min_value=1, max_value=60)


def _rule(period: int, counting: Counting) -> PeriodRule:
    return PeriodRule("property", "性质测试", period, counting, "测试")


@given(STARTS, PERIODS)
def test_natural_days_land_on_the_first_working_day_from_the_raw_day(start, period):
    calendar = CALENDARS["official"]
    result = compute_due(start, _rule(period, Counting.NATURAL_DAYS), calendar)
    raw = start + timedelta(days=period)
    assert calendar.is_working_day(result.due)
    assert result.due >= raw
    assert all(calendar.is_rest_day(raw + timedelta(days=i)) for i in range((result.due - raw).days))
    assert (result.extended_from is None) == (result.due == raw)


@given(STARTS, PERIODS)
def test_working_days_count_exactly_the_period(start, period):
    calendar = CALENDARS["official"]
    result = compute_due(start, _rule(period, Counting.WORKING_DAYS), calendar)
    walked = [start + timedelta(days=i) for i in range(1, (result.due - start).days + 1)]
    assert sum(calendar.is_working_day(day) for day in walked) == period
    assert calendar.is_working_day(result.due)
    assert result.extended_from is None
    assert result.provisional == any(calendar.is_provisional(day) for day in walked)


@given(STARTS, st.integers(min_value=1, max_value=24))
def test_months_keep_the_day_of_month_when_it_exists(start, period):
    result = compute_due(start, _rule(period, Counting.MONTHS), CALENDARS["official"])
    raw = result.extended_from or result.due
    assert (raw.year * 12 + raw.month) - (start.year * 12 + start.month) == period
    assert raw.day == start.day or (raw.day < start.day and (raw + timedelta(days=1)).day == 1)


# ---- the rule table and its configuration ----


def test_default_rules():
    expected = {
        "visit_rectification": (30, Counting.NATURAL_DAYS),
        "opinion_reply": (15, Counting.WORKING_DAYS),
        "recommendation_reply": (15, Counting.WORKING_DAYS),
        "recommendation_followup": (15, Counting.WORKING_DAYS),
        "payment_demand": (15, Counting.NATURAL_DAYS),
        "bargaining_answer": (20, Counting.NATURAL_DAYS),
        "court_acceptance": (5, Counting.NATURAL_DAYS),
        "court_order_issue": (15, Counting.NATURAL_DAYS),
        "payment_order": (15, Counting.NATURAL_DAYS),
        "correction_order": (30, Counting.NATURAL_DAYS),
        "listing_followup": (15, Counting.WORKING_DAYS),
        "credit_repair_wait": (6, Counting.MONTHS),
        "credit_repair_ordinary": (3, Counting.MONTHS),
        "credit_repair_serious": (12, Counting.MONTHS),
    }
    assert {key: (rule.period, rule.counting) for key, rule in DEFAULT_RULES.items()} == expected
    # What starts each period, and whose period it is (issue 10).
    assert {key for key, rule in DEFAULT_RULES.items() if rule.starts == "service"} == {
        "visit_rectification", "opinion_reply", "payment_demand", "court_acceptance"}
    assert {key: rule.nature for key, rule in DEFAULT_RULES.items() if rule.nature != "statutory"} == {
        "visit_rectification": "committee", "opinion_reply": "committee", "payment_demand": "committee",
        "recommendation_followup": "diary", "listing_followup": "diary", "correction_order": "authority",
        "credit_repair_wait": "committee"}
    assert all(rule.key == key for key, rule in DEFAULT_RULES.items())
    assert all(rule.label and rule.legal_basis for rule in DEFAULT_RULES.values())


def test_default_rules_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        DEFAULT_RULES["opinion_reply"] = DEFAULT_RULES["payment_order"]


def test_load_rules_without_configuration_is_the_default():
    assert load_rules() == dict(DEFAULT_RULES)
    assert load_rules({}) == dict(DEFAULT_RULES)


def test_load_rules_switches_back_to_natural_days():
    rules = load_rules({"opinion_reply": {"counting": "natural_days", "legal_basis": "本会决定"}})
    rule = rules["opinion_reply"]
    assert (rule.period, rule.counting, rule.legal_basis) == (15, Counting.NATURAL_DAYS, "本会决定")
    assert rule.label == DEFAULT_RULES["opinion_reply"].label
    assert (rule.nature, rule.starts) == ("committee", "service")   # configuration cannot change what starts it
    # Sep 18 2026: 15 natural days end Oct 8 (see the table); the shipped 15 working days end Oct 15.
    assert compute_due(date(2026, 9, 18), rule, WorkCalendar()).due == date(2026, 10, 8)
    assert compute_due(date(2026, 9, 18), DEFAULT_RULES["opinion_reply"], WorkCalendar()).due == date(2026, 10, 15)
    assert DEFAULT_RULES["opinion_reply"].counting is Counting.WORKING_DAYS


def test_load_rules_changes_period_and_label():
    rules = load_rules({"credit_repair_wait": {"period": 12, "label": "严重失信名单信用修复等待期"}})
    assert (rules["credit_repair_wait"].period, rules["credit_repair_wait"].label) == (12, "严重失信名单信用修复等待期")
    assert rules["payment_order"] == DEFAULT_RULES["payment_order"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"no_such_rule": {"period": 10}}, "unknown deadline rule 'no_such_rule'"),
        ({"opinion_reply": {"days": 10}}, "cannot configure days"),
        ({"opinion_reply": {"key": "other"}}, "cannot configure key"),
        ({"opinion_reply": {"counting": "weeks"}}, "counting must be one of"),
        ({"opinion_reply": {"period": 0}}, "period must be between"),
        ({"opinion_reply": {"period": -15}}, "period must be between"),
        ({"opinion_reply": {"period": 100_000}}, "period must be between"),
        ({"opinion_reply": {"period": "15"}}, "period must be a whole number"),
        ({"opinion_reply": {"period": 1.5}}, "period must be a whole number"),
        ({"opinion_reply": {"period": True}}, "period must be a whole number"),
        ({"opinion_reply": {"legal_basis": ""}}, "legal_basis must be a non-empty text"),
        ({"opinion_reply": {"label": None}}, "label must be a non-empty text"),
        ({"opinion_reply": 15}, "expected a mapping"),
    ],
)
def test_load_rules_rejects_bad_configuration(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_rules(overrides)


def test_bad_configuration_names_the_rule():
    with pytest.raises(ValueError, match="deadline rule 'payment_demand'"):
        load_rules({"payment_demand": {"period": 0}})
