"""Union-fund arrears: 2% of each month's payroll and the 5‰-per-day late fee, to the fen.

The law (full texts in docs/funds.md):

* Beijing Measures Art 55(2) (北京市实施《中华人民共和国工会法》办法第五十五条第二款): a unit **with a union** pays
  "每月15日前，按照全部职工上月工资总额的2%"; an unpaid or short-paid amount carries a late fee of
  "欠缴金额日5‰". Trade Union Law Art 43(1)(2) says the same 2% for units that have set up a union.
* Art 55(3): a unit **without a union** pays only where its workers want one, "自上级工会帮助和指导职工筹备组建
  工会之日起" — from the day the higher union starts helping them prepare it. Before that day nothing is owed.
* SPC interpretation Art 7 → Civil Code Art 188: a claim for unpaid funds is subject to the three-year
  limitation. Months beyond it are **flagged and kept out of the totals**, never silently included.

Rules used here (one place, so a supervisor can check the table by hand):

* funds due = payroll × 2%, rounded half-up to the fen; owed = funds due − already paid (≥ 0);
* due date = the 15th of the month after the payroll month. Whether paying *on* the 15th is on time is
  configuration (``FundsRules.due_day_on_time``; "15日前" is read both ways): when it is, the last on-time day
  is the 15th, otherwise the 14th;
* days late = computation date − last on-time day, in natural days (0 if not yet late);
* late fee = owed × 0.5% × days late, rounded half-up to the fen, per month;
* a unit without a union owes for the payroll months from the month in which the higher union started helping
  (``owed_from``); earlier months are listed as not owed. Without that date it owes nothing;
* limitation: the union knows of each month's default on the first day late; the three years end on the
  corresponding day three years later (Civil Code Arts 188, 201, 202; no corresponding day → the month's last
  day). A month whose limitation ended before the claim date (the first demand's date when the case has one,
  since a demand interrupts the limitation — Civil Code Art 195; otherwise the computation date) is flagged
  ``time_barred`` and left out of the totals. The end is not moved off rest days (Art 203), so a month right at
  the edge may be flagged a day or two early: the flag asks a person to look, it decides nothing silently;
* totals are sums of the rounded lines of the months owed, so the printed table adds up.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

FUND_RATE = Decimal('0.02')
LATE_FEE_RATE_PER_DAY = Decimal('0.005')
DUE_DAY = 15
LIMITATION_YEARS = 3
FEN = Decimal('0.01')

#: Line statuses.
OWED = 'owed'
TIME_BARRED = 'time_barred'
BEFORE_UNION_HELP = 'before_union_help'


def to_decimal(value) -> Decimal:
    """Exact Decimal from a str/int/Decimal (floats go through str, never binary)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError('金额应为数字')
    if isinstance(value, (int, str)):
        return Decimal(str(value).replace(',', '').strip())
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError('金额应为数字或数字文本')


def fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_month(value: str) -> tuple[int, int]:
    """'2026-01' → (2026, 1)."""
    year, month = str(value).split('-')[:2]
    year, month = int(year), int(month)
    if not 1 <= month <= 12:
        raise ValueError(f'月份有误：{value!r}（应为YYYY-MM）')
    return year, month


def _date(value) -> dt.date | None:
    if value is None or value == '':
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def add_years(day: dt.date, years: int) -> dt.date:
    """The corresponding day `years` later; 29 February → 28 February (Civil Code Art 202: no corresponding
    day → the last day of the month)."""
    year = day.year + years
    return dt.date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def due_date(month: str) -> dt.date:
    """Funds for a payroll month are due on the 15th of the following month."""
    year, mon = parse_month(month)
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return dt.date(year, mon, DUE_DAY)


@dataclass(frozen=True)
class FundsRules:
    """What decides whether and from when a month is owed; kept in the notice's facts (``arrears.basis``) so an
    issued letter re-renders to the same figures whatever the configuration says later."""

    #: Paying on the 15th itself is on time (config UNION_FUNDS_DUE_DAY_ON_TIME).
    due_day_on_time: bool = True
    #: The unit had a union in the months claimed (TUL 43, BJM 55(2)); False: BJM 55(3) applies.
    has_union: bool = True
    #: For a unit without a union: the day the higher union started helping the workers prepare one.
    owed_from: dt.date | None = None
    #: The date the claim was first made (the first demand); None: the computation date.
    claimed_on: dt.date | None = None

    @classmethod
    def from_facts(cls, basis: Mapping | None) -> FundsRules:
        basis = basis or {}
        return cls(due_day_on_time=bool(basis.get('due_day_on_time', True)),
                   has_union=bool(basis.get('has_union', True)),
                   owed_from=_date(basis.get('owed_from')), claimed_on=_date(basis.get('claimed_on')))

    def to_facts(self) -> dict:
        return {'due_day_on_time': self.due_day_on_time, 'has_union': self.has_union,
                'owed_from': self.owed_from.isoformat() if self.owed_from else None,
                'claimed_on': self.claimed_on.isoformat() if self.claimed_on else None}

    def last_on_time_day(self, month: str) -> dt.date:
        due = due_date(month)
        return due if self.due_day_on_time else due - dt.timedelta(days=1)

    def first_month_owed(self) -> str | None:
        """The first payroll month a unit without a union owes for ('YYYY-MM'); None when it owes for any
        month (a unit with a union) — see owes_nothing for a unit without one and without the date."""
        if self.has_union or self.owed_from is None:
            return None
        return f'{self.owed_from.year:04d}-{self.owed_from.month:02d}'

    @property
    def owes_nothing(self) -> bool:
        """A unit without a union whose workers have had no help from the higher union yet owes nothing."""
        return not self.has_union and self.owed_from is None


@dataclass(frozen=True)
class ArrearsLine:
    month: str            #: payroll month, 'YYYY-MM'
    payroll: Decimal      #: total payroll of that month
    funds_due: Decimal    #: 2% of payroll, to the fen
    paid: Decimal         #: already paid for that month
    owed: Decimal         #: funds_due − paid, never below zero
    due_on: dt.date       #: the 15th of the next month
    days_late: int
    late_fee: Decimal
    status: str = OWED    #: OWED, TIME_BARRED or BEFORE_UNION_HELP
    limitation_ends_on: dt.date | None = None


@dataclass(frozen=True)
class ArrearsStatement:
    computed_on: dt.date
    lines: tuple[ArrearsLine, ...]              #: the months owed (the totals add these up)
    total_owed: Decimal
    total_late_fee: Decimal
    total: Decimal
    rules: FundsRules = FundsRules()
    time_barred: tuple[ArrearsLine, ...] = ()   #: flagged: beyond the three-year limitation, not in the totals
    not_owed: tuple[ArrearsLine, ...] = ()      #: months before the higher union's help (BJM 55(3))

    @property
    def flagged(self) -> bool:
        return bool(self.time_barred)


def compute_line(month: str, payroll, computed_on: dt.date, paid=0,
                 rules: FundsRules | None = None) -> ArrearsLine:
    rules = rules or FundsRules()
    payroll = to_decimal(payroll)
    paid = to_decimal(paid)
    if payroll < 0 or paid < 0:
        raise ValueError('工资总额和已缴金额不能为负数')
    funds_due = fen(payroll * FUND_RATE)
    owed = max(funds_due - paid, Decimal('0.00'))
    due_on = due_date(month)
    last_on_time = rules.last_on_time_day(month)
    days_late = max((computed_on - last_on_time).days, 0)
    late_fee = fen(owed * LATE_FEE_RATE_PER_DAY * days_late)
    limitation_ends_on = add_years(last_on_time + dt.timedelta(days=1), LIMITATION_YEARS)
    first = rules.first_month_owed()
    if rules.owes_nothing or (first is not None and parse_month(month) < parse_month(first)):
        status = BEFORE_UNION_HELP
    elif (rules.claimed_on or computed_on) > limitation_ends_on:
        status = TIME_BARRED
    else:
        status = OWED
    return ArrearsLine(month, payroll, funds_due, fen(paid), owed, due_on, days_late, late_fee, status,
                       limitation_ends_on)


def compute_arrears(months: Iterable[Mapping], computed_on: dt.date | str,
                    rules: FundsRules | Mapping | None = None) -> ArrearsStatement:
    """Lines and totals for rows like ``{"month": "2026-01", "payroll": "812345.67", "paid": "0"}``.

    rules: a FundsRules, or the ``arrears.basis`` mapping of a notice's facts (None: a unit with a union,
    the 15th on time, limitation counted to computed_on).
    """
    if isinstance(computed_on, str):
        computed_on = dt.date.fromisoformat(computed_on)
    if not isinstance(rules, FundsRules):
        rules = FundsRules.from_facts(rules)
    every = tuple(
        compute_line(row['month'], row['payroll'], computed_on, row.get('paid', 0), rules)
        for row in sorted(months, key=lambda row: parse_month(row['month'])))
    lines = tuple(line for line in every if line.status == OWED)
    total_owed = sum((line.owed for line in lines), Decimal('0.00'))
    total_fee = sum((line.late_fee for line in lines), Decimal('0.00'))
    return ArrearsStatement(computed_on, lines, total_owed, total_fee, total_owed + total_fee, rules,
                            tuple(line for line in every if line.status == TIME_BARRED),
                            tuple(line for line in every if line.status == BEFORE_UNION_HELP))
