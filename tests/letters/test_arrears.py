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


# ------------------------------------------------------------------------------------------
# The rules of issue 10: the 15th by configuration, the limitation flag, BJM 55(3) for a unit without a union.

from letters.arrears import (BEFORE_UNION_HELP, OWED, TIME_BARRED, FundsRules, add_years)  # noqa: E402

ON_TIME = FundsRules(due_day_on_time=True)
STRICT = FundsRules(due_day_on_time=False)


@pytest.mark.parametrize('rules, computed_on, days, fee', [
    # 100,000.00 × 2% = 2,000.00 owed; a day late costs 2,000.00 × 0.5% = 10.00
    (ON_TIME, dt.date(2026, 2, 14), 0, '0.00'),
    (ON_TIME, dt.date(2026, 2, 15), 0, '0.00'),     # paying on the 15th is on time …
    (ON_TIME, dt.date(2026, 2, 16), 1, '10.00'),
    (STRICT, dt.date(2026, 2, 14), 0, '0.00'),
    (STRICT, dt.date(2026, 2, 15), 1, '10.00'),     # … or one day late ("15日前" read strictly)
    (STRICT, dt.date(2026, 2, 16), 2, '20.00'),
    (ON_TIME, dt.date(2026, 3, 17), 30, '300.00'),  # 2,000.00 × 0.005 × 30
    (STRICT, dt.date(2026, 3, 17), 31, '310.00'),
])
def test_the_15th_is_on_time_or_late_by_configuration(rules, computed_on, days, fee):
    line = compute_line('2026-01', '100000.00', computed_on, rules=rules)
    assert line.funds_due == Decimal('2000.00')
    assert (line.days_late, line.late_fee) == (days, Decimal(fee))


def test_a_months_two_percent_and_the_late_fee_over_n_days():
    # 2,345,678.90 × 2% = 46,913.578 → 46,913.58; 2026-03-15 → 2026-06-23 is 100 days;
    # 46,913.58 × 0.005 × 100 = 23,456.79
    line = compute_line('2026-02', '2345678.90', dt.date(2026, 6, 23))
    assert (line.funds_due, line.days_late, line.late_fee) == (Decimal('46913.58'), 100, Decimal('23456.79'))


def test_add_years_keeps_the_corresponding_day_or_takes_the_months_last():
    assert add_years(dt.date(2023, 2, 16), 3) == dt.date(2026, 2, 16)
    assert add_years(dt.date(2024, 2, 29), 3) == dt.date(2027, 2, 28)


@pytest.mark.parametrize('rules, computed_on, status', [
    # January 2023 is due by 2023-02-15; late from 2023-02-16; three years end on 2026-02-16.
    (ON_TIME, dt.date(2026, 2, 16), OWED),
    (ON_TIME, dt.date(2026, 2, 17), TIME_BARRED),
    # Strictly read, it is late from 2023-02-15: the three years end on 2026-02-15.
    (STRICT, dt.date(2026, 2, 15), OWED),
    (STRICT, dt.date(2026, 2, 16), TIME_BARRED),
    # A demand made on 2026-01-10 interrupted the limitation: still owed when computed later.
    (FundsRules(claimed_on=dt.date(2026, 1, 10)), dt.date(2026, 6, 1), OWED),
    (FundsRules(claimed_on=dt.date(2026, 2, 17)), dt.date(2026, 6, 1), TIME_BARRED),
])
def test_limitation_cut_off_at_three_years(rules, computed_on, status):
    line = compute_line('2023-01', '100000', computed_on, rules=rules)
    assert line.status == status
    assert line.limitation_ends_on == (dt.date(2026, 2, 15) if rules is STRICT else dt.date(2026, 2, 16))


def test_time_barred_months_are_flagged_and_kept_out_of_the_totals():
    statement = compute_arrears([{'month': '2023-01', 'payroll': '100000'},
                                 {'month': '2023-02', 'payroll': '100000'},
                                 {'month': '2026-01', 'payroll': '50000'}], '2026-03-16')
    # 2023-01 ended 2026-02-16 (barred); 2023-02 ends 2026-03-16 (still owed on that day).
    assert [line.month for line in statement.time_barred] == ['2023-01']
    assert statement.flagged
    assert [line.month for line in statement.lines] == ['2023-02', '2026-01']
    # 2023-02: 2,000.00, 2023-03-15 → 2026-03-16 is 1,097 days → 10,970.00;
    # 2026-01: 1,000.00, 2026-02-15 → 2026-03-16 is 29 days → 145.00
    assert statement.total_owed == Decimal('3000.00')
    assert statement.total_late_fee == Decimal('11115.00')
    assert statement.total == Decimal('14115.00')


def test_a_unit_without_a_union_owes_from_the_month_the_higher_union_started_helping():
    rules = FundsRules(has_union=False, owed_from=dt.date(2025, 11, 10))
    rows = [{'month': m, 'payroll': '100000'} for m in ('2025-09', '2025-10', '2025-11', '2025-12')]
    statement = compute_arrears(rows, '2026-01-15', rules)
    assert [line.month for line in statement.not_owed] == ['2025-09', '2025-10']
    assert all(line.status == BEFORE_UNION_HELP for line in statement.not_owed)
    assert [line.month for line in statement.lines] == ['2025-11', '2025-12']
    # 2025-11: due 2025-12-15, 31 days → 2,000.00 × 0.005 × 31 = 310.00; 2025-12: due 2026-01-15, on time
    assert statement.total_owed == Decimal('4000.00')
    assert statement.total_late_fee == Decimal('310.00')


def test_a_unit_without_a_union_and_without_help_owes_nothing():
    statement = compute_arrears([{'month': '2026-01', 'payroll': '100000'}], '2026-06-01',
                                {'has_union': False, 'owed_from': None})
    assert statement.lines == () and statement.total == Decimal('0.00')
    assert [line.month for line in statement.not_owed] == ['2026-01']


def test_a_unit_with_a_union_owes_every_month_whatever_the_help_date():
    # TUL 43 / BJM 55(2): the help date of Art 55(3) does not apply to a unit with a union.
    rules = FundsRules(has_union=True, owed_from=dt.date(2026, 5, 1))
    statement = compute_arrears([{'month': '2026-01', 'payroll': '100000'}], '2026-02-15', rules)
    assert [line.month for line in statement.lines] == ['2026-01'] and not statement.not_owed


def test_rules_round_trip_through_the_facts_and_default_for_old_snapshots():
    rules = FundsRules(due_day_on_time=False, has_union=False, owed_from=dt.date(2025, 11, 10),
                       claimed_on=dt.date(2026, 1, 2))
    assert FundsRules.from_facts(rules.to_facts()) == rules
    assert FundsRules.from_facts(None) == FundsRules()
    assert FundsRules.from_facts({}) == FundsRules(due_day_on_time=True, has_union=True)
