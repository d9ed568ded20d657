"""Deadline rules (period, counting mode, legal basis) and the due dates they give on the working-day calendar.

Counting follows Civil Code Arts 201–203 and Civil Procedure Law Art 85: the day of the starting event is not
counted, and a last day that falls on a rest day moves to the first working day after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from workflows.calendar import WorkCalendar, as_beijing_date

__all__ = [
    "CONFIGURABLE_FIELDS",
    "DEFAULT_RULES",
    "MAX_PERIOD",
    "Counting",
    "DueDate",
    "PeriodRule",
    "compute_due",
    "load_rules",
]

#: Upper bound on any period: a mistyped configuration must fail loudly, not walk the calendar for ages.
MAX_PERIOD = 3660

#: The fields of a rule that configuration may change.
CONFIGURABLE_FIELDS = frozenset({"period", "counting", "legal_basis", "label"})

_WEEKDAYS = "一二三四五六日"


class Counting(StrEnum):
    """How a period is counted."""

    NATURAL_DAYS = "natural_days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"


@dataclass(frozen=True)
class PeriodRule:
    """A time limit: how long, counted how, and on what legal basis."""

    key: str
    label: str
    period: int
    counting: Counting
    legal_basis: str

    def __post_init__(self) -> None:
        # Configuration arrives as JSON-ish values; check them once, here, with messages an admin can act on.
        if isinstance(self.period, bool) or not isinstance(self.period, int):
            raise ValueError(f"period must be a whole number, not {self.period!r}")
        if not 1 <= self.period <= MAX_PERIOD:
            raise ValueError(f"period must be between 1 and {MAX_PERIOD}, not {self.period}")
        try:
            object.__setattr__(self, "counting", Counting(self.counting))
        except ValueError:
            choices = ", ".join(c.value for c in Counting)
            raise ValueError(f"counting must be one of {choices}, not {self.counting!r}") from None
        for field in ("key", "label", "legal_basis"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{field} must be a non-empty text, not {value!r}")


@dataclass(frozen=True)
class DueDate:
    """The last day on which an act is still in time, with what a supervisor needs to check it."""

    rule: PeriodRule
    start: date
    due: date
    provisional: bool
    extended_from: date | None
    #: Years without official holiday data among the days consulted (why the date is provisional).
    unknown_years: tuple[int, ...] = ()
    #: Name of the holiday the raw last day fell on, when it was moved because of one.
    rest_day_name: str | None = None

    def explain(self) -> str:
        """One Chinese sentence: start, period, counting mode, any move, legal basis, provisional note."""
        text = f"{self.rule.label}：{self._counted()}，{self._outcome()}；依据{self.rule.legal_basis}。"
        if self.provisional:
            years = "、".join(f"{year}年" for year in self.unknown_years) or f"{self.due.year}年"
            text += f"（暂定：{years}节假日安排尚未公布）"
        return text

    def _counted(self) -> str:
        """How the period was counted, in words."""
        start, period = _fmt(self.start), self.rule.period
        if self.rule.counting is Counting.WORKING_DAYS:
            return f"自{start}的次日起算{period}个工作日（不计周末和法定节假日，调休上班日计入）"
        if self.rule.counting is Counting.MONTHS:
            return f"自{start}起算{period}个月（开始的当日不计入，到期月的对应日为最后一日）"
        return f"自{start}的次日起算{period}日（自然日）"

    def _outcome(self) -> str:
        """Where the last day fell and, if it moved, why."""
        raw = self.extended_from or self.due
        clamp = ""
        if self.rule.counting is Counting.MONTHS and raw.day != self.start.day:
            clamp = "到期月没有对应日，以月末日为最后一日，"
        if self.extended_from is None:
            # A working Saturday or Sunday can only be a make-up day: say so, or it looks like an error.
            makeup = ""
            if self.due.weekday() >= 5:
                makeup = "（调休上班日）" if self.rule.counting is Counting.WORKING_DAYS else "，为调休上班日，不顺延"
            return f"{clamp}期满日为{_fmt_day(self.due)}{makeup}"
        return f"{clamp}最后一日{_fmt_day(raw)}为{self._why_rest(raw)}，顺延至{_fmt_day(self.due)}"

    def _why_rest(self, raw: date) -> str:
        """Why the raw last day was a rest day."""
        if self.rest_day_name:
            return f"法定节假日（{self.rest_day_name}）"
        return "休息日" if raw.weekday() >= 5 else "法定节假日"


def _fmt(d: date) -> str:
    """A date as official documents write it: 2026年10月8日."""
    return f"{d.year}年{d.month}月{d.day}日"


def _fmt_day(d: date) -> str:
    """A date with its weekday: 2026年10月8日（星期四）."""
    return f"{_fmt(d)}（星期{_WEEKDAYS[d.weekday()]}）"


def _add_months(start: date, months: int) -> date:
    """The corresponding day `months` later, or that month's last day when it has none (Civil Code Art 202)."""
    years, month_index = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month_index + 1
    first_of_next = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(start.day, (first_of_next - timedelta(days=1)).day))


def _nth_working_day_after(start: date, count: int, calendar: WorkCalendar) -> date:
    """The `count`-th working day strictly after `start`."""
    d = start
    for _ in range(count):
        d = calendar.next_working_day(d)
    return d


def _unknown_years(first: date, last: date, calendar: WorkCalendar) -> tuple[int, ...]:
    """Years without official data among the days from `first` to `last`."""
    return tuple(year for year in range(first.year, last.year + 1) if not calendar.is_known_year(year))


def compute_due(start: date, rule: PeriodRule, calendar: WorkCalendar) -> DueDate:
    """The due date of `rule` for an event on `start`; never raises for years without holiday data."""
    start = as_beijing_date(start)
    if rule.counting is Counting.WORKING_DAYS:
        # Every day walked counts, so all of them decide whether the answer is provisional.
        due = _nth_working_day_after(start, rule.period, calendar)
        unknown = _unknown_years(start + timedelta(days=1), due, calendar)
        return DueDate(rule, start, due, bool(unknown), None, unknown)
    if rule.counting is Counting.MONTHS:
        raw = _add_months(start, rule.period)
    else:
        raw = start + timedelta(days=rule.period)
    if calendar.is_working_day(raw):
        unknown = _unknown_years(raw, raw, calendar)
        return DueDate(rule, start, raw, bool(unknown), None, unknown)
    due = calendar.next_working_day(raw)
    unknown = _unknown_years(raw, due, calendar)
    return DueDate(rule, start, due, bool(unknown), raw, unknown, calendar.holiday_name(raw))


_BEIJING_MEASURES = "《北京市实施〈中华人民共和国工会法〉办法》"

# Keys are referenced by the enforcement ladder and by stored deadlines: never rename one.
# Rules marked [open] rest on practice or on a choice between models; configuration may change them.
DEFAULT_RULES: Mapping[str, PeriodRule] = MappingProxyType(
    {
        rule.key: rule
        for rule in (
            # [open] No statute fixes the period given at the visit; 30 days is local practice.
            PeriodRule(
                key="visit_rectification",
                label="走访告知的整改期限",
                period=30,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{_BEIJING_MEASURES}第二十一条（整改期限为工作惯例）",
            ),
            # [open] Beijing says 15 days (natural days); the Zhejiang model regulation says 15 working days.
            PeriodRule(
                key="opinion_reply",
                label="企业书面答复监督意见书期限",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{_BEIJING_MEASURES}第二十八条第一款",
            ),
            # The 15 working days run from the department's decision, not from the day the letter was sent.
            PeriodRule(
                key="recommendation_reply",
                label="有关部门书面告知监督建议书处理结果期限",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis=f"{_BEIJING_MEASURES}第二十八条第二款、第六十三条第二款",
            ),
            # [open] Art 57 says to demand payment "按照本市规定"; the 15-day period on the notice is practice.
            PeriodRule(
                key="payment_demand",
                label="催缴工会经费的缴纳期限",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{_BEIJING_MEASURES}第五十七条（催缴通知书载明的缴纳期限为工作惯例）",
            ),
            # The debtor's 15 days run from receipt of the 支付令 (Art 227 in the 2023 text; Art 223 before).
            PeriodRule(
                key="payment_order",
                label="债务人清偿或者提出书面异议期限（支付令）",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis="《中华人民共和国民事诉讼法》第二百二十七条第二款、《中华人民共和国工会法》第四十四条",
            ),
            # [open] Follow-up interval for a credit-listing request; mirrors the 15 working days of Art 63.
            PeriodRule(
                key="listing_followup",
                label="跟进信用惩戒提请办理情况期限",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis=f"{_BEIJING_MEASURES}第六十四条、第六十六条（跟进期限为工作惯例）",
            ),
            # [open] An earliest date, not a last day: 6 months after rectification (1 year for serious lists).
            PeriodRule(
                key="credit_repair_wait",
                label="整改后申请信用修复的等待期",
                period=6,
                counting=Counting.MONTHS,
                legal_basis="信用修复工作惯例（一般自整改完成之日起满6个月可申请，严重失信名单一般为1年）",
            ),
        )
    }
)


def load_rules(overrides: Mapping[str, Mapping] | None = None) -> dict[str, PeriodRule]:
    """DEFAULT_RULES with configured changes of period, counting, legal_basis or label applied."""
    rules = dict(DEFAULT_RULES)
    for key, changes in (overrides or {}).items():
        rules[key] = _overridden(rules, key, changes)
    return rules


def _overridden(rules: Mapping[str, PeriodRule], key: str, changes: Mapping) -> PeriodRule:
    """One rule with its configured changes, or a ValueError naming what is wrong."""
    if key not in rules:
        raise ValueError(f"unknown deadline rule {key!r}; known rules: {', '.join(sorted(rules))}")
    if not isinstance(changes, Mapping):
        raise ValueError(f"deadline rule {key!r}: expected a mapping of fields, got {changes!r}")
    unknown = set(changes) - CONFIGURABLE_FIELDS
    if unknown:
        allowed = ", ".join(sorted(CONFIGURABLE_FIELDS))
        names = ", ".join(sorted(map(str, unknown)))
        raise ValueError(f"deadline rule {key!r}: cannot configure {names}; only {allowed}")
    try:
        return replace(rules[key], **changes)
    except ValueError as exc:
        raise ValueError(f"deadline rule {key!r}: {exc}") from exc
