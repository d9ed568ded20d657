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
from workflows.law import cite

__all__ = [
    "CONFIGURABLE_FIELDS",
    "NATURES",
    "STARTS",
    "DEFAULT_RULES",
    "MAX_PERIOD",
    "Counting",
    "DueDate",
    "PeriodRule",
    "awaiting_service",
    "compute_due",
    "load_rules",
    "period_in_words",
]

#: Upper bound on any period: a mistyped configuration must fail loudly, not walk the calendar for ages.
MAX_PERIOD = 3660

#: The fields of a rule that configuration may change.
CONFIGURABLE_FIELDS = frozenset({"period", "counting", "legal_basis", "label"})

_WEEKDAYS = "一二三四五六日"

#: What a period's length rests on, as the UI and the explanation say it.
NATURES = MappingProxyType({
    "statutory": "法定期限",
    "committee": "本会确定的期限",
    "diary": "本会跟进提醒，非法定期限",
    "authority": "责令改正文书确定的期限",
})

#: What starts a period: the step's own event (a date the step records), or the service (送达) of the letter the
#: step drafts: until the service is recorded the period is "awaiting service" (待送达) and has no due date.
STARTS = frozenset({"event", "service"})


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
    #: statutory (法定期限), committee (本会确定的期限), diary (本会跟进提醒) or authority (责令改正文书确定的期限).
    nature: str = "statutory"
    #: "event": the step's date starts it; "service": it waits for the letter's service (待送达).
    starts: str = "event"

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
        if self.nature not in NATURES:
            raise ValueError(f"nature must be one of {', '.join(NATURES)}, not {self.nature!r}")
        if self.starts not in STARTS:
            raise ValueError(f"starts must be one of {', '.join(sorted(STARTS))}, not {self.starts!r}")

    @property
    def nature_label(self) -> str:
        return NATURES[self.nature]

    def in_words(self, document: str = "本文书") -> str:
        """The period as a letter prints it before service: 自收到本意见书之日起15个工作日内."""
        return f"自收到{document}之日起{period_in_words(self)}内"


def period_in_words(rule: PeriodRule) -> str:
    """15个工作日 / 20日 / 3个月."""
    if rule.counting is Counting.WORKING_DAYS:
        return f"{rule.period}个工作日"
    if rule.counting is Counting.MONTHS:
        return f"{rule.period}个月"
    return f"{rule.period}日"


@dataclass(frozen=True)
class DueDate:
    """The last day on which an act is still in time, with what a supervisor needs to check it."""

    rule: PeriodRule
    start: date | None  #: None while awaiting service (待送达)
    due: date | None    #: None while awaiting service (待送达)
    provisional: bool
    extended_from: date | None
    #: Years without official holiday data among the days consulted (why the date is provisional).
    unknown_years: tuple[int, ...] = ()
    #: Name of the holiday the raw last day fell on, when it was moved because of one.
    rest_day_name: str | None = None

    @property
    def awaiting_service(self) -> bool:
        """The period runs from the letter's receipt and its service is not recorded yet: no due date."""
        return self.due is None

    def explain(self) -> str:
        """One Chinese sentence: start, period, counting mode, any move, legal basis, provisional note."""
        if self.due is None:
            nature = "" if self.rule.nature == "statutory" else f"（{self.rule.nature_label}）"
            return (f"{self.rule.label}{nature}：{self.rule.in_words('文书')}，待送达：记录送达日期后"
                    f"自送达之日的次日起算；依据{self.rule.legal_basis}。")
        # A statutory period says so through its article; any other says whose period it is.
        nature = "" if self.rule.nature == "statutory" else f"（{self.rule.nature_label}）"
        text = f"{self.rule.label}{nature}：{self._counted()}，{self._outcome()}；依据{self.rule.legal_basis}。"
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


def awaiting_service(rule: PeriodRule) -> DueDate:
    """A period that runs from the letter's receipt, before its service is recorded (待送达)."""
    return DueDate(rule, None, None, False, None)


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



# Keys are referenced by the enforcement ladder and by stored deadlines: never rename one.
# Rules marked [open] rest on practice or on a choice between models; configuration may change them.
DEFAULT_RULES: Mapping[str, PeriodRule] = MappingProxyType(
    {
        rule.key: rule
        for rule in (
            # [open] No statute fixes the period given at the visit; 30 days is local practice. The visit letter
            # says "逾期未整改的…提出监督意见": the period runs from its receipt.
            PeriodRule(
                key="visit_rectification",
                label="走访告知的整改期限",
                period=30,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('bjm.21')}（整改期限由本会在走访时确定）",
                nature="committee",
                starts="service",
            ),
            # [open] No Beijing statute sets a reply period for these violations (BJM 28(1) lists other
            # infringements); the committee's own period on the model of the Zhejiang regulation Art 22.
            PeriodRule(
                key="opinion_reply",
                label="企业书面答复监督意见书期限",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis=(f"本会确定的期限，参照{cite('zjs.22')}"
                             f"（{cite('bjm.28.1')}未规定本案情形的答复期限）"),
                nature="committee",
                starts="service",
            ),
            # The 15 working days run from the department's decision (recorded by record_decision), not from
            # the day the letter was sent.
            PeriodRule(
                key="recommendation_reply",
                label="有关部门书面告知监督建议书处理结果期限",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis=f"{cite('bjm.28.2', 'bjm.63.2')}（自作出处理决定之日起算）",
            ),
            # Before the department's decision is known, the union's own reminder to ask after it.
            PeriodRule(
                key="recommendation_followup",
                label="跟进有关部门处理监督建议书情况",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis="本会工作安排（法定的15个工作日自有关部门作出处理决定之日起算，决定日期知悉后记录）",
                nature="diary",
            ),
            # [open] Art 57 says to demand payment "按照本市规定"; the 15-day period on the notice is practice.
            PeriodRule(
                key="payment_demand",
                label="催缴工会经费的缴纳期限",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('bjm.57')}（催缴通知书载明的缴纳期限由本会确定）",
                nature="committee",
                starts="service",
            ),
            # The union's written request to bargain: an answer in writing within 20 days of receipt.
            PeriodRule(
                key="bargaining_answer",
                label="企业书面答复集体协商要求期限",
                period=20,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('bjcc.32.2')}（自收到集体协商要求之日起算）",
            ),
            # The court decides whether to accept within 5 days of the application (filing = the application's
            # service on the court).
            PeriodRule(
                key="court_acceptance",
                label="人民法院通知是否受理支付令申请期限",
                period=5,
                counting=Counting.NATURAL_DAYS,
                legal_basis=cite("cpl.226"),
                starts="service",
            ),
            PeriodRule(
                key="court_order_issue",
                label="人民法院发出支付令期限",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('cpl.227.1')}（自受理之日起算）",
            ),
            # The debtor's 15 days run from its receipt of the 支付令 (Art 227(2) in the 2023 text; Art 223 before).
            PeriodRule(
                key="payment_order",
                label="债务人清偿或者提出书面异议期限（支付令）",
                period=15,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('cpl.227.2')}（自债务人收到支付令之日起算）、{cite('tul.44')}",
            ),
            # The period the government's (or 人社's) order to correct sets; the step records it from the order.
            PeriodRule(
                key="correction_order",
                label="责令改正期限",
                period=30,
                counting=Counting.NATURAL_DAYS,
                legal_basis=f"{cite('bjm.64.1', 'bjm.66.1.2')}（期限以责令改正文书载明的为准）",
                nature="authority",
            ),
            # The union's own follow-up interval for a credit-listing request.
            PeriodRule(
                key="listing_followup",
                label="跟进信用惩戒提请办理情况期限",
                period=15,
                counting=Counting.WORKING_DAYS,
                legal_basis=f"{cite('bjm.64.1', 'bjm.66.1.2')}（跟进期限为本会工作安排）",
                nature="diary",
            ),
            # Kept for cases listed before the NDRC rules were applied (stored rows and replay): 6 months from
            # rectification had no source; new cases count from the listing decision (the two rules below).
            PeriodRule(
                key="credit_repair_wait",
                label="整改后申请信用修复的等待期",
                period=6,
                counting=Counting.MONTHS,
                legal_basis="信用修复工作惯例（旧规则：自整改完成之日起满6个月）",
                nature="committee",
            ),
            # NDRC 信用修复管理办法 (令第36号, in force 2026-04-01): minimum publication counted from the decision.
            PeriodRule(
                key="credit_repair_ordinary",
                label="信用修复最短公示期（一般失信信息）",
                period=3,
                counting=Counting.MONTHS,
                legal_basis="国家发展改革委《信用修复管理办法》（令第36号，2026年4月1日起施行）（自认定失信行为的决定作出之日起算）",
            ),
            PeriodRule(
                key="credit_repair_serious",
                label="信用修复最短公示期（严重失信信息）",
                period=12,
                counting=Counting.MONTHS,
                legal_basis="国家发展改革委《信用修复管理办法》（令第36号，2026年4月1日起施行）（自认定失信行为的决定作出之日起算）",
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
