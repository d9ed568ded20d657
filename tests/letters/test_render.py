"""Every notice type renders to a GB/T 9704 page; checked by reading the PDF back."""

import re

import pytest

import letters
from letters.formatting import cn_date

from .conftest import MM, VERIFICATION, number_for, pdf_pages, rendered_example, squash

KEYS = sorted(letters.NOTICE_TYPES)
A4 = (595.28, 841.89)


def baseline_top_mm(char, page_height):
    """Top of the ideographic em box (0.88 em above the baseline), from the top edge."""
    baseline = char['matrix'][5]
    return (page_height - (baseline + 0.88 * char['size'])) / MM


@pytest.mark.parametrize('key', KEYS)
def test_every_type_renders_its_facts(key):
    facts = letters.example_facts(key)
    pages = pdf_pages(rendered_example(key))
    text = squash(''.join(page['text'] for page in pages))
    # a court filing (支付令申请书) prints neither number nor red header
    printed = letters.NOTICE_TYPES[key].prints_number
    assert (number_for(key) in text) is printed
    assert squash(facts['addressee']['name']) in text
    assert facts['enterprise']['name'] in text
    assert cn_date(facts['issued_on']) in text
    # the header names the committee, or the union where the law names it (a payment demand, BJM 57)
    assert ((facts.get('union') or facts['issuer'])['name'] in text) is printed or not printed
    assert VERIFICATION.code in text
    for page in pages:
        assert (round(page['width'], 1), round(page['height'], 1)) == (595.3, 841.9)


@pytest.mark.parametrize('key', KEYS)
def test_only_bundled_fonts_are_embedded(key):
    pages = pdf_pages(rendered_example(key))
    fonts = {char['fontname'].split('+', 1)[-1] for page in pages for char in page['chars']}
    assert fonts and all(name.startswith('Letters-') for name in fonts), fonts


@pytest.mark.parametrize('key', KEYS)
def test_text_block_and_margins(key):
    pages = pdf_pages(rendered_example(key))
    for index, page in enumerate(pages):
        body = [c for c in page['chars'] if abs(c['size'] - 16) < 0.01 and c['text'].strip()]
        if not body:  # a page holding only the 版记
            continue
        lefts = [c['x0'] / MM for c in body]
        rights = [c['x1'] / MM for c in body]
        if index == 0:  # the addressee is flush left on the first page
            assert min(lefts) == pytest.approx(28, abs=1)
        assert min(lefts) >= 28 - 0.2
        assert max(rights) <= 184 + 0.3
        # every printed character stays inside the block, page numbers below it
        inside = [c for c in page['chars'] if not re.match(r'[—\d ]', c['text'])]
        assert all(27.5 <= c['x0'] / MM and c['x1'] / MM <= 184.5 for c in inside)


def test_opinion_geometry():
    page, banji_page = pdf_pages(rendered_example('opinion'))  # one page of text, the 版记 on the back
    chars = page['chars']
    mark = [c for c in chars if c['non_stroking_color'] and c['size'] > 22]
    assert mark, 'red issuer mark'
    assert baseline_top_mm(mark[0], page['height']) == pytest.approx(37, abs=1)
    body = [c for c in chars if abs(c['size'] - 16) < 0.01]
    assert body
    # full body lines reach the right edge of the 156 mm block (28 characters a line)
    assert max(c['x1'] for c in body) / MM == pytest.approx(184, abs=1)
    lines = {}
    for c in body:
        lines.setdefault(round(c['top'], 1), []).append(c)
    # a full line of full-width characters holds 28 of them
    full_width = [line for line in lines.values()
                  if all(c['x1'] - c['x0'] > 15 for c in line) and line[-1]['x1'] / MM > 183]
    assert full_width and max(len(line) for line in full_width) == 28
    # line pitch 28.95 pt
    tops = sorted(lines)
    pitches = [b - a for a, b in zip(tops, tops[1:]) if abs(b - a - 28.95) < 3]
    assert pitches and all(p == pytest.approx(28.95, abs=0.1) for p in pitches)
    title = [c for c in chars if c['text'] in '工会劳动法律监督意见书' and abs(c['size'] - 22) < 0.01]
    assert len(title) == len('工会劳动法律监督意见书')
    title_mid = (title[0]['x0'] + title[-1]['x1']) / 2 / MM
    assert title_mid == pytest.approx(28 + 156 / 2, abs=1)
    # the 版记's last rule sits on the bottom of the text block (37 + 225 mm)
    rules = [line['top'] / MM for line in banji_page['lines']] + \
            [rect['bottom'] / MM for rect in banji_page['rects']]
    assert max(rules) == pytest.approx(262, abs=1)
    # headings and body sizes
    assert all(c['size'] == pytest.approx(16, abs=0.5) for c in body)
    page_number = [c for c in chars if c['text'] == '—' and c['top'] / MM > 262]
    assert page_number and all(c['size'] == pytest.approx(14, abs=0.01) for c in page_number)


def test_fonts_by_role():
    page, *_ = pdf_pages(rendered_example('visit'))
    by_text = {}
    for c in page['chars']:
        family = c['fontname'].split('+')[-1].removesuffix('-Bold')
        by_text.setdefault(family, []).append(c['text'])
    assert '工会劳动法律监督宣讲告知书' in ''.join(by_text['Letters-Title'])
    assert '一、走访了解的情况' in ''.join(by_text['Letters-Hei'])
    assert '（一）' in ''.join(by_text['Letters-Kai'])


def test_multi_page_notice_numbers_pages_and_puts_the_banji_last():
    facts = letters.example_facts('payment_demand')
    facts['arrears']['months'] = [
        {'month': f'{2024 + i // 12}-{i % 12 + 1:02d}', 'payroll': f'{900000 + 1000 * i}.00'}
        for i in range(30)]
    pages = pdf_pages(letters.render('payment_demand', facts, number='京朝工监催〔2026〕7号',
                                     verification=VERIFICATION))
    assert len(pages) >= 2
    for index, page in enumerate(pages, 1):
        assert f'— {index} —' in page['text']
        numbers = [c for c in page['chars']
                   if c['text'] == '—' and c['top'] / MM > 262]
        x = numbers[0]['x0'] / MM
        # odd pages: right, one character in; even pages: left
        assert (x > 150) if index % 2 else (x < 60)
    *first, last = pages
    assert '印发' in last['text'] and '抄送' in last['text']
    assert all('印发' not in page['text'] for page in first)
    assert squash('京朝工监催〔2026〕7号') in squash(pages[0]['text'])
    # the table header repeats on every page it spans
    assert all('工资月份' in page['text'] for page in pages if '年1月' in page['text'])


def test_preview_has_draft_watermark_and_no_number():
    facts = letters.example_facts('opinion')
    pages = pdf_pages(letters.render('opinion', facts, number=None, verification=None,
                                     preview=True))
    for page in pages:
        assert {'草', '稿'} <= set(page['text'])
    text = squash(''.join(page['text'] for page in pages))
    assert '发文字号于签发时编定' in text
    assert not re.search(r'〔\d{4}〕\d+号', text.replace(facts['case']['reference'], ''))


def test_payment_demand_prints_the_arrears_table():
    text = squash(''.join(p['text'] for p in pdf_pages(rendered_example('payment_demand'))))
    # Jan 2026: 1,286,400.00 → 25,728.00, 278 days → 35,761.92
    assert '25,728.00' in text and '35,761.92' in text
    assert '合计' in text and '大写' in text


def test_withdrawal_names_the_original():
    facts = letters.example_facts('withdrawal')
    text = squash(''.join(p['text'] for p in pdf_pages(rendered_example('withdrawal'))))
    assert facts['original']['number'] in text
    assert cn_date(facts['original']['issued_on']) in text


def test_qr_code_is_embedded_as_an_image():
    page, *_ = pdf_pages(rendered_example('opinion'))
    assert page['images'], 'QR code image'
