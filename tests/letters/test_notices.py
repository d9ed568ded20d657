import pytest

import letters
from letters.formatting import cn_date, cn_ordinal, money, money_upper


def test_format_number_examples():
    assert letters.format_number('京工监', '意', 2026, 12) == '京工监意〔2026〕12号'
    assert letters.format_number('京朝工监', '催', 2027, 1) == '京朝工监催〔2027〕1号'
    assert letters.format_number('京工监', '建', 2026, 105) == '京工监建〔2026〕105号'


@pytest.mark.parametrize('args', [
    ('京工监', '意见', 2026, 1), ('京工监', '意', 2026, 0), ('京工监', '意', 26, 1),
    ('', '意', 2026, 1), ('京工监', '意', 2026, '1'), ('京工监', '意', 2026, True),
])
def test_format_number_rejects(args):
    with pytest.raises(ValueError):
        letters.format_number(*args)


def test_notice_types_are_complete_and_distinct():
    assert set(letters.NOTICE_TYPES) == {
        'visit', 'payment_demand', 'opinion', 'recommendation', 'tax_referral', 'payment_order',
        'listing_request', 'credit_repair', 'rectification_closing', 'withdrawal'}
    codes = [t.type_code for t in letters.NOTICE_TYPES.values()]
    assert len(set(codes)) == len(codes)
    assert letters.NOTICE_TYPES['opinion'].type_code == '意'
    assert letters.NOTICE_TYPES['recommendation'].addressee_kind == 'authority'
    assert letters.NOTICE_TYPES['payment_order'].addressee_kind == 'court'
    for key, notice_type in letters.NOTICE_TYPES.items():
        assert not letters.missing_facts(notice_type, letters.example_facts(key)), key


def test_missing_facts_are_named():
    facts = letters.example_facts('opinion')
    del facts['findings']   # (the periods print in words from the case's rule: no date is required)
    facts['enterprise']['uscc'] = ''
    with pytest.raises(letters.MissingFacts) as raised:
        letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None)
    assert raised.value.missing == ('enterprise.uscc', 'findings')
    assert 'findings' in str(raised.value)


def test_number_and_preview_arguments():
    facts = letters.example_facts('opinion')
    with pytest.raises(ValueError):
        letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None,
                       preview=True)
    with pytest.raises(ValueError):
        letters.render('opinion', facts, number=None, verification=None)
    with pytest.raises(ValueError):
        letters.render('nonsense', facts, number='x', verification=None)


def test_chinese_formatting():
    assert cn_date('2026-11-24') == '2026年11月24日'
    assert cn_date('2026-01-05') == '2026年1月5日'
    assert money('1234567.8') == '1,234,567.80'
    assert money_upper('12345.67') == '壹万贰仟叁佰肆拾伍元陆角柒分'
    assert money_upper('100000') == '壹拾万元整'
    assert money_upper('1001.01') == '壹仟零壹元零壹分'
    assert money_upper('10.50') == '壹拾元伍角整'
    assert money_upper('0.05') == '伍分'
    assert money_upper('20000300') == '贰仟万零叁佰元整'
    assert [cn_ordinal(n) for n in (1, 10, 12, 20, 21)] == ['一', '十', '十二', '二十', '二十一']
