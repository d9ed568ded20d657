"""The working-day calendar: official data, admin overrides, and the weekends-only fallback."""

from datetime import date, datetime, timezone

import chinese_calendar
import pytest

from workflows.calendar import HOLIDAY_NAMES_ZH, DayKind, HolidayOverride, WorkCalendar, as_beijing_date

NEW_YEAR_2027 = HolidayOverride(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")


@pytest.fixture
def calendar():
    return WorkCalendar()


def _library_has_data(year):
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@pytest.mark.parametrize("year", [1990, 2003, 2004, 2015, 2025, 2026, 2027, 2099])
def test_known_year_follows_the_library(calendar, year):
    assert calendar.is_known_year(year) is _library_has_data(year)


@pytest.mark.parametrize(("year", "known"), [(2004, True), (2026, True), (2003, False), (2027, False)])
def test_known_year_range_of_chinesecalendar_1_11(calendar, year, known):
    # 1.11.0 ships 2004–2026; this pins the fact the deadline tests below rely on.
    assert calendar.is_known_year(year) is known


def test_complete_year_becomes_known():
    calendar = WorkCalendar([NEW_YEAR_2027], complete_years={2027})
    assert calendar.is_known_year(2027)
    assert not calendar.is_provisional(date(2027, 6, 1))
    assert calendar.is_provisional(date(2028, 6, 1))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(1990, 1, 1), True),  # Monday, fallback
        (date(1990, 1, 6), False),  # Saturday, fallback
        (date(2099, 12, 31), True),  # Thursday, fallback
        (date(2099, 1, 3), False),  # Saturday, fallback
        (date(1, 1, 1), True),  # Monday; the library is never asked about it
    ],
)
def test_years_without_data_fall_back_to_weekends_without_raising(calendar, day, working):
    assert calendar.is_working_day(day) is working
    assert calendar.is_rest_day(day) is not working
    assert calendar.is_provisional(day)
    assert calendar.holiday_name(day) is None


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # National Day, Thursday
        (date(2026, 10, 7), False),  # National Day, Wednesday
        (date(2026, 10, 8), True),  # first working day after National Day
        (date(2026, 10, 10), True),  # make-up Saturday
        (date(2026, 9, 20), True),  # make-up Sunday
        (date(2026, 9, 25), False),  # Mid-autumn, Friday
        (date(2026, 2, 14), True),  # Spring Festival make-up Saturday
        (date(2026, 2, 23), False),  # last day of Spring Festival, Monday
        (date(2026, 2, 28), True),  # Spring Festival make-up Saturday
        (date(2026, 1, 4), True),  # New Year make-up Sunday
        (date(2026, 3, 7), False),  # plain Saturday
        (date(2025, 10, 8), False),  # National Day 2025 ran to Oct 8
        (date(2025, 10, 11), True),  # make-up Saturday 2025
    ],
)
def test_official_days(calendar, day, working):
    assert calendar.is_working_day(day) is working
    assert not calendar.is_provisional(day)


def test_override_beats_chinesecalendar():
    calendar = WorkCalendar(
        [
            HolidayOverride(date(2026, 10, 8), DayKind.HOLIDAY, "临时放假"),
            HolidayOverride(date(2026, 10, 3), DayKind.WORKDAY),
        ]
    )
    assert calendar.is_rest_day(date(2026, 10, 8))
    assert calendar.holiday_name(date(2026, 10, 8)) == "临时放假"
    assert calendar.is_working_day(date(2026, 10, 3))
    assert calendar.holiday_name(date(2026, 10, 3)) is None


def test_override_in_an_incomplete_year_applies_but_stays_provisional():
    calendar = WorkCalendar([NEW_YEAR_2027])
    assert calendar.is_rest_day(date(2027, 1, 1))  # a Friday
    assert calendar.holiday_name(date(2027, 1, 1)) == "元旦"
    assert calendar.is_provisional(date(2027, 1, 1))


def test_makeup_override_in_a_year_without_data():
    calendar = WorkCalendar([HolidayOverride(date(2027, 2, 20), DayKind.WORKDAY, "春节调休")])
    assert calendar.is_working_day(date(2027, 2, 20))  # a Saturday
    assert calendar.holiday_name(date(2027, 2, 20)) is None


def test_override_without_name_keeps_the_official_name():
    calendar = WorkCalendar([HolidayOverride(date(2026, 10, 1), DayKind.HOLIDAY)])
    assert calendar.holiday_name(date(2026, 10, 1)) == "国庆节"


def test_override_kind_accepts_stored_strings():
    override = HolidayOverride(date(2027, 1, 1), "holiday", "元旦")
    assert override.kind is DayKind.HOLIDAY
    assert WorkCalendar([override]).is_rest_day(date(2027, 1, 1))


def test_override_kind_rejects_unknown_values():
    with pytest.raises(ValueError):
        HolidayOverride(date(2027, 1, 1), "vacation")


def test_contradicting_overrides_are_refused():
    with pytest.raises(ValueError, match="2027-01-01"):
        WorkCalendar([NEW_YEAR_2027, HolidayOverride(date(2027, 1, 1), DayKind.WORKDAY)])


def test_repeated_identical_override_is_accepted():
    assert WorkCalendar([NEW_YEAR_2027, NEW_YEAR_2027]).is_rest_day(date(2027, 1, 1))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 1), "元旦"),
        (date(2026, 2, 17), "春节"),
        (date(2026, 4, 5), "清明节"),
        (date(2026, 5, 3), "劳动节"),
        (date(2026, 6, 19), "端午节"),
        (date(2026, 9, 26), "中秋节"),
        (date(2026, 10, 3), "国庆节"),
        (date(2025, 10, 6), "中秋节"),  # inside the 2025 National Day week, but the Mid-autumn day
        (date(2015, 9, 3), "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
        (date(2026, 10, 10), None),  # make-up working day
        (date(2026, 3, 7), None),  # plain Saturday
        (date(2026, 3, 3), None),  # plain Tuesday
        (date(2027, 1, 1), None),  # no data yet
    ],
)
def test_holiday_names(calendar, day, name):
    assert calendar.holiday_name(day) == name


def test_every_library_holiday_has_a_chinese_name():
    assert {holiday.value for holiday in chinese_calendar.Holiday} <= set(HOLIDAY_NAMES_ZH)


@pytest.mark.parametrize(
    ("day", "following"),
    [
        (date(2026, 9, 30), date(2026, 10, 8)),  # across the whole National Day week
        (date(2026, 10, 9), date(2026, 10, 10)),  # make-up Saturday is next
        (date(2026, 2, 13), date(2026, 2, 14)),  # make-up Saturday before Spring Festival
        (date(2026, 2, 14), date(2026, 2, 24)),  # across Spring Festival
        (date(2026, 1, 1), date(2026, 1, 4)),  # New Year ends on Saturday; Sunday is made up
        (date(2026, 12, 31), date(2027, 1, 1)),  # fallback: Friday 2027-01-01 counts as working
    ],
)
def test_next_working_day(calendar, day, following):
    assert calendar.next_working_day(day) == following


def test_datetimes_are_read_as_beijing_dates(calendar):
    # 17:00 UTC on Sep 30 is 01:00 on Oct 1 in Beijing: already National Day.
    late_utc = datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc)
    assert as_beijing_date(late_utc) == date(2026, 10, 1)
    assert calendar.is_rest_day(late_utc)
    assert calendar.is_working_day(datetime(2026, 9, 30, 23, 0))  # naive: already Beijing time
