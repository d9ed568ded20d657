"""Union-fund arrears: 2% of each month's payroll and the 5‰-per-day late fee, to the fen.

Beijing Measures Art 55 (北京市实施《中华人民共和国工会法》办法第五十五条): the funds for a month are
2% of that month's total payroll and fall due on the 15th of the following month ("每月15日前，
按照全部职工上月工资总额的2%"); an unpaid or short-paid amount carries a late fee of 5‰ of the
amount owed per day ("按照欠缴金额日5‰缴纳滞纳金").

Rules used here (one place, so a supervisor can check the table by hand):

* funds due = payroll × 2%, rounded half-up to the fen; owed = funds due − already paid (≥ 0);
* due date = the 15th of the month after the payroll month; paying on the 15th is on time;
* days late = computation date − due date, in natural days (0 if not yet due);
* late fee = owed × 0.5% × days late, rounded half-up to the fen, per month;
* totals are sums of the rounded lines, so the printed table adds up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

FUND_RATE = Decimal('0.02')
LATE_FEE_RATE_PER_DAY = Decimal('0.005')
DUE_DAY = 15
FEN = Decimal('0.01')


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


def due_date(month: str) -> dt.date:
    """Funds for a payroll month are due on the 15th of the following month."""
    year, mon = parse_month(month)
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return dt.date(year, mon, DUE_DAY)


@dataclass(frozen=True)
class ArrearsLine:
    month: str            #: payroll month, 'YYYY-MM'
    payroll: Decimal      #: total payroll of that month
    funds_due: Decimal    #: 2% of payroll, to the fen
    paid: Decimal         #: already paid for that month
    owed: Decimal         #: funds_due − paid, never below zero
    due_on: dt.date
    days_late: int
    late_fee: Decimal


@dataclass(frozen=True)
class ArrearsStatement:
    computed_on: dt.date
    lines: tuple[ArrearsLine, ...]
    total_owed: Decimal
    total_late_fee: Decimal
    total: Decimal


def compute_line(month: str, payroll, computed_on: dt.date, paid=0) -> ArrearsLine:
    payroll = to_decimal(payroll)
    paid = to_decimal(paid)
    if payroll < 0 or paid < 0:
        raise ValueError('工资总额和已缴金额不能为负数')
    funds_due = fen(payroll * FUND_RATE)
    owed = max(funds_due - paid, Decimal('0.00'))
    due_on = due_date(month)
    days_late = max((computed_on - due_on).days, 0)
    late_fee = fen(owed * LATE_FEE_RATE_PER_DAY * days_late)
    return ArrearsLine(month, payroll, funds_due, fen(paid), owed, due_on, days_late, late_fee)


def compute_arrears(months: Iterable[Mapping], computed_on: dt.date | str) -> ArrearsStatement:
    """Lines and totals for rows like ``{"month": "2026-01", "payroll": "812345.67", "paid": "0"}``."""
    if isinstance(computed_on, str):
        computed_on = dt.date.fromisoformat(computed_on)
    lines = tuple(
        compute_line(row['month'], row['payroll'], computed_on, row.get('paid', 0))
        for row in sorted(months, key=lambda row: parse_month(row['month'])))
    total_owed = sum((line.owed for line in lines), Decimal('0.00'))
    total_fee = sum((line.late_fee for line in lines), Decimal('0.00'))
    return ArrearsStatement(computed_on, lines, total_owed, total_fee, total_owed + total_fee)
