"""The Chinese working-day calendar: official holiday data, admin overrides, and a weekends-only fallback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "BEIJING",
    "HOLIDAY_NAMES_ZH",
    "DayKind",
    "HolidayOverride",
    "WorkCalendar",
    "as_beijing_date",
]

#: Business dates are Beijing dates, whatever the server's zone.
BEIJING = ZoneInfo("Asia/Shanghai")

#: chinesecalendar's English holiday names → the names the State Council notice uses.
HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


class DayKind(StrEnum):
    """What an override makes of a day: a statutory holiday or a make-up working day (调休)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True)
class HolidayOverride:
    """One day of a State Council holiday notice, as an admin entered it."""

    day: date
    kind: DayKind
    name: str = ""

    def __post_init__(self) -> None:
        # Rows from a form or the database carry plain strings; fail here rather than at lookup time.
        object.__setattr__(self, "day", as_beijing_date(self.day))
        object.__setattr__(self, "kind", DayKind(self.kind))


def as_beijing_date(value: date) -> date:
    """The Beijing calendar date of a date or datetime (naive datetimes are taken as Beijing time)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BEIJING)
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")


@lru_cache(maxsize=None)
def _has_official_data(year: int) -> bool:
    """Whether chinesecalendar ships the State Council arrangement for `year`."""
    if not MINYEAR <= year <= MAXYEAR:
        return False
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:  # the library's way of saying "no data for this year"
        return False
    return True


class WorkCalendar:
    """Working days in mainland China: overrides, then chinesecalendar, then Monday–Friday."""

    def __init__(self, overrides: Iterable[HolidayOverride] = (), complete_years: Iterable[int] = ()):
        self._overrides: dict[date, HolidayOverride] = {}
        for override in overrides:
            self._add_override(override)
        self._complete_years = frozenset(complete_years)

    def _add_override(self, override: HolidayOverride) -> None:
        """Index one override, refusing two different entries for the same day."""
        existing = self._overrides.get(override.day)
        if existing is not None and existing != override:
            # Silently picking one would make a deadline depend on row order.
            raise ValueError(f"two different holiday overrides for {override.day}: {existing} and {override}")
        self._overrides[override.day] = override

    def is_known_year(self, year: int) -> bool:
        """Whether the year's official holiday arrangement is available (shipped or entered in full)."""
        return year in self._complete_years or _has_official_data(year)

    def is_working_day(self, d: date) -> bool:
        """Whether `d` is a working day; never raises for years without data."""
        d = as_beijing_date(d)
        override = self._overrides.get(d)
        if override is not None:
            return override.kind is DayKind.WORKDAY
        if _has_official_data(d.year):
            # Same rule as chinese_calendar.is_workday, without its per-call scan of the whole table.
            return d in chinese_calendar.workdays or (d.weekday() < 5 and d not in chinese_calendar.holidays)
        return d.weekday() < 5

    def is_rest_day(self, d: date) -> bool:
        """Whether `d` is a weekend day that is not made up, or a statutory holiday."""
        return not self.is_working_day(d)

    def is_provisional(self, d: date) -> bool:
        """Whether `d` lies in a year without official data, so answers about it may change."""
        return not self.is_known_year(as_beijing_date(d).year)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d = as_beijing_date(d) + timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def holiday_name(self, d: date) -> str | None:
        """The Chinese name of the statutory holiday on `d`, or None (also for make-up working days)."""
        d = as_beijing_date(d)
        override = self._overrides.get(d)
        if override is not None and override.kind is DayKind.WORKDAY:
            return None
        if override is not None and override.name:
            return override.name
        if _has_official_data(d.year) and d in chinese_calendar.holidays:
            english = chinese_calendar.holidays[d]
            return HOLIDAY_NAMES_ZH.get(english, english)
        return None
