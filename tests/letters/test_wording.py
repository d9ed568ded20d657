"""Issue 10's acceptance test for wording: every notice type rendered and read back with pdfplumber."""
import datetime as dt
import re

import pytest

import letters
from tests.letters.conftest import pdf_pages, rendered_example

THIRD_PARTY = sorted(k for k, t in letters.NOTICE_TYPES.items() if t.addressee_kind != 'enterprise')
_DUE = re.compile(r'于(\d{4})年(\d{1,2})月(\d{1,2})日前完成整改')


def read(key):
    return ''.join(''.join(page['text'].split()) for page in pdf_pages(rendered_example(key)))


def test_the_third_party_types_are_the_authorities_and_the_court():
    assert set(THIRD_PARTY) == {'recommendation', 'tax_referral', 'payment_order', 'listing_request'}


@pytest.mark.parametrize('key', THIRD_PARTY)
def test_letters_to_third_parties_never_address_the_enterprise(key):
    text = read(key)
    assert letters.example_facts(key)['enterprise']['name'] in text
    assert '你单位' not in text and '贵单位' not in text


@pytest.mark.parametrize('key', sorted(letters.NOTICE_TYPES))
def test_no_rectification_date_before_the_letters_own_date(key):
    facts = letters.example_facts(key)
    issued = dt.date.fromisoformat(facts['issued_on'])
    for match in _DUE.finditer(read(key)):
        assert dt.date(*map(int, match.groups())) > issued


def test_list_items_end_with_a_semicolon_except_the_last():
    facts = letters.example_facts('rectification_closing')
    facts['rectification'] = ['已成立工会委员会；', '已补缴工会经费。', '已签订集体合同']
    data = letters.render('rectification_closing', facts, number='京朝工监结〔2026〕3号', verification=None)
    text = ''.join(''.join(page['text'].split()) for page in pdf_pages(data))
    assert '（一）已成立工会委员会；（二）已补缴工会经费；（三）已签订集体合同。' in text


def test_a_withdrawal_sent_to_an_authority_does_not_address_the_enterprise():
    facts = letters.example_facts('withdrawal')
    facts['addressee'] = {'name': '北京市朝阳区人力资源和社会保障局'}
    data = letters.render('withdrawal', facts, number='京朝工监撤〔2026〕1号', verification=None)
    text = ''.join(''.join(page['text'].split()) for page in pdf_pages(data))
    assert '你单位' not in text and '本会于' in text
    to_enterprise = ''.join(''.join(page['text'].split()) for page in pdf_pages(rendered_example('withdrawal')))
    assert '向你单位发出的' in to_enterprise
