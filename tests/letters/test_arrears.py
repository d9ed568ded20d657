import datetime as dt
from decimal import Decimal

import pytest

from letters.arrears import compute_arrears, compute_line, due_date


def test_due_on_the_15th_of_the_next_month():
    assert due_date('2026-01') == dt.date(2026, 2, 15)
    assert due_date('2025-12') == dt.date(2026, 1, 15)


def test_five_days_late_hand_checked():
    # 100,000.00 × 2% = 2,000.00; due 2026-02-15; 5 days to 2026-02-20; 2,000 × 0.5% × 5 = 50.00
    line = compute_line('2026-01', '100000.00', dt.date(2026, 2, 20))
    assert (line.funds_due, line.days_late, line.late_fee) == (Decimal('2000.00'), 5,
                                                                 Decimal('50.00'))


def test_paying_on_the_15th_is_on_time():
    line = compute_line('2026-01', '100000', dt.date(2026, 2, 15))
    assert line.days_late == 0 and line.late_fee == Decimal('0.00')
    before = compute_line('2026-01', '100000', dt.date(2026, 2, 1))
    assert before.days_late == 0 and before.owed == Decimal('2000.00')


def test_long_arrears_hand_checked():
    # 1,286,400.00 × 2% = 25,728.00; 2026-02-15 → 2026-11-20 is 278 days;
    # 25,728.00 × 0.005 × 278 = 35,761.92
    line = compute_line('2026-01', '1286400.00', dt.date(2026, 11, 20))
    assert line.days_late == 278
    assert line.late_fee == Decimal('35761.92')


def test_rounding_half_up_to_the_fen():
    assert compute_line('2026-03', '1302716.35', dt.date(2026, 4, 1)).funds_due == \
        Decimal('26054.33')  # 26,054.327
    # 333.33 owed for one day: 1.66665 → 1.67
    line = compute_line('2026-01', '16666.50', dt.date(2026, 2, 16))
    assert line.owed == Decimal('333.33') and line.late_fee == Decimal('1.67')


def test_partial_and_over_payment():
    part = compute_line('2026-04', '1311020.00', dt.date(2026, 5, 25), paid='10000.00')
    # 26,220.40 − 10,000.00 = 16,220.40; 10 days × 0.5% = 811.02
    assert part.owed == Decimal('16220.40') and part.late_fee == Decimal('811.02')
    over = compute_line('2026-04', '1000', dt.date(2026, 6, 1), paid='50')
    assert over.owed == Decimal('0.00') and over.late_fee == Decimal('0.00')


def test_statement_totals_add_up_and_sort_months():
    statement = compute_arrears(
        [{'month': '2026-02', 'payroll': '50000'}, {'month': '2026-01', 'payroll': 100000}],
        '2026-03-20')
    assert [line.month for line in statement.lines] == ['2026-01', '2026-02']
    # Jan: 2,000.00, 33 days → 330.00; Feb: 1,000.00, 5 days → 25.00
    assert statement.total_owed == Decimal('3000.00')
    assert statement.total_late_fee == Decimal('355.00')
    assert statement.total == Decimal('3355.00')


def test_float_input_is_taken_by_its_decimal_text():
    assert compute_line('2026-01', 0.1, dt.date(2026, 1, 1)).funds_due == Decimal('0.00')
    assert compute_line('2026-01', 1234.5, dt.date(2026, 1, 1)).funds_due == Decimal('24.69')


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        compute_line('2026-13', '1', dt.date(2026, 1, 1))
    with pytest.raises(ValueError):
        compute_line('2026-01', '-1', dt.date(2026, 1, 1))
    with pytest.raises(TypeError):
        compute_line('2026-01', True, dt.date(2026, 1, 1))
