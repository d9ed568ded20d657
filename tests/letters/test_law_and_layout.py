"""Issue 10: the law as the law module words it, words kept whole across lines, the 版记 on an even page, the
payment-order application as a court filing, refusals in Chinese. Every check reads the PDF back."""

import re
from pathlib import Path

import pytest

import letters
from letters import linebreak
from letters.notices import NOTICE_TYPES
from workflows import law

from .conftest import MM, VERIFICATION, number_for, pdf_pages, rendered_example, squash

KEYS = sorted(NOTICE_TYPES)
LETTERS_DIR = Path(letters.__file__).resolve().parent
CN_NUM = '一二三四五六七八九十百零'
ALL_WORDS = {squash(p.words) for p in law.PROVISIONS.values()}
ALL_REFS = {p.ref for p in law.PROVISIONS.values()}


def text_of(pages):
    """The pages' text run together, page numbers left out."""
    return squash(''.join(re.sub(r'—\s*\d+\s*—', '', page['text']) for page in pages))


def render_pages(key, facts, number=None):
    return pdf_pages(letters.render(key, facts, number=number or number_for(key), verification=VERIFICATION))


def lines_of(chars, size):
    """Printed lines of characters of one size, top to bottom, as strings."""
    rows = {}
    for c in chars:
        if abs(c['size'] - size) < 0.01 and c['text'].strip():
            rows.setdefault(round(c['top']), []).append(c)
    return [''.join(c['text'] for c in sorted(row, key=lambda c: c['x0'])) for _, row in sorted(rows.items())]


def assert_breaks_between_words(lines, phrases=()):
    words = linebreak.segment(''.join(lines), phrases)
    bounds, at = set(), 0
    for word in words:
        at += len(word)
        bounds.add(at)
    at = 0
    for line in lines[:-1]:
        at += len(line)
        assert at in bounds, f'line broken inside a word: {lines}'


# ------------------------------------------------------------------------------------------------ the law

def test_templates_write_no_article_number_themselves():
    """Every article number a notice prints comes from workflows/law.py."""
    for path in LETTERS_DIR.glob('*/template.html'):
        assert not re.search(f'第[{CN_NUM}]+条', path.read_text(encoding='utf-8')), path
    for path in (LETTERS_DIR / 'templates').iterdir():
        assert not re.search(f'第[{CN_NUM}]+条', path.read_text(encoding='utf-8')), path


@pytest.mark.parametrize('key', KEYS)
def test_quotations_and_citations_equal_the_law_module(key):
    text = text_of(pdf_pages(rendered_example(key)))
    quotes = re.findall(r'规定：“(.*?)”', text)
    for quoted in quotes:
        assert quoted in ALL_WORDS, f'{key}: quotation not in workflows/law.py: {quoted}'
    for ref in re.findall(f'第[{CN_NUM}]+条(?:第[{CN_NUM}]+款)?(?:第[{CN_NUM}]+项)?', text):
        if re.search(f'{re.escape(ref)}[^规的、和，。]*?(?:规定|的规定)', text) is None:
            continue
        assert any(r.startswith(ref) or ref.startswith(r) for r in ALL_REFS), f'{key}: {ref}'


def test_the_opinion_quotes_nothing_it_paraphrases():
    text = text_of(pdf_pages(rendered_example('visit')))
    for key in ('tul.11.1', 'tul.12.2', 'bjm.9.1', 'bjm.11.3', 'tul.43.1.2', 'tul.44', 'bjm.55.2', 'bjm.57'):
        provision = law.PROVISIONS[key]
        assert squash(provision.quoted(with_title=False)) in text, key


def test_listing_request_for_unpaid_funds_cites_only_the_stated_basis():
    facts = letters.example_facts('listing_request')
    facts['case']['violations'] = ['不缴费']
    assert letters.missing_facts(NOTICE_TYPES['listing_request'], facts) == ('listing_basis',)
    facts['listing_basis'] = '《某某市社会信用条例》第二十条'
    text = text_of(render_pages('listing_request', facts))
    assert '本会提请的依据为：《某某市社会信用条例》第二十条' in text
    assert '第六十四条' not in text and '第六十六条' not in text
    # even on a case that also has obstruction: the stated basis is the request's only ground
    facts['case']['violations'] = ['不建会', '不缴费']
    text = text_of(render_pages('listing_request', facts))
    assert '第六十四条' not in text and '第六十六条' not in text


@pytest.mark.parametrize('label, cited, not_cited', [
    ('不建会', 'bjm.64.1', 'bjm.66.1.2'), ('不协商', 'bjm.66.1.2', 'bjm.64.1')])
def test_listing_request_cites_the_listing_article_of_its_violation(label, cited, not_cited):
    facts = letters.example_facts('listing_request')
    facts['case']['violations'] = [label]
    text = text_of(render_pages('listing_request', facts))
    assert squash(law.quote(cited)) in text
    assert law.PROVISIONS[not_cited].ref not in text


# ------------------------------------------------------------------------------------ words kept whole

LONG_NAME = '北京京华智造高端装备科技发展有限公司'


@pytest.mark.parametrize('key', ['listing_request', 'tax_referral'])
def test_long_titles_break_between_words(key):
    facts = letters.example_facts(key)
    facts['enterprise']['name'] = LONG_NAME
    page = render_pages(key, facts)[0]
    title = lines_of(page['chars'], 22)
    assert len(title) >= 2
    assert_breaks_between_words(title, [LONG_NAME])
    widths = [len(line) for line in title]
    assert max(widths) - min(widths) <= 12  # balanced, not a full line and a stub


def test_the_reported_breaks_are_gone():
    facts = letters.example_facts('listing_request')
    title = lines_of(render_pages('listing_request', facts)[0]['chars'], 22)
    joined = '／'.join(title)
    assert '劳／动' not in joined and '纳入劳／' not in joined
    facts = letters.example_facts('tax_referral')
    facts['enterprise']['name'] = '北京京华智造科技'
    title = '／'.join(lines_of(render_pages('tax_referral', facts)[0]['chars'], 22))
    assert '工／会' not in title


@pytest.mark.parametrize('printed_by', ['北京市朝阳区总工会劳动法律监督委员会办公室',
                                        '北京市石景山区总工会劳动法律监督委员会办公室',
                                        '北京经济技术开发区总工会劳动法律监督委员会办公室'])
def test_the_issuer_line_breaks_between_words(printed_by):
    facts = letters.example_facts('opinion')
    facts['printed_by'] = printed_by
    pages = render_pages('opinion', facts)
    last = pages[-1]
    # the 印发机关 cell: 14 pt characters left of the date
    cell = [c for c in last['chars'] if abs(c['size'] - 14) < 0.01 and c['x0'] / MM < 140
            and c['top'] / MM < 262 and c['text'] in printed_by]
    lines = [line for line in lines_of(cell, 14) if line and line in printed_by]
    assert ''.join(lines) == printed_by and len(lines) == 2   # the line is longer than the cell
    assert_breaks_between_words(lines)
    # everything inside the text block (28–184 mm), the date column included
    assert all(28 - 0.5 <= c['x0'] / MM and c['x1'] / MM <= 184.5 for c in last['chars'] if c['top'] / MM < 262)


# ------------------------------------------------------------------------------- the 版记 on an even page

def banji_page(pages):
    hits = [i for i, page in enumerate(pages, 1) if '印发' in page['text']]
    assert len(hits) == 1
    return hits[0]


def numbered(page):
    return bool(re.search(r'—\s*\d+\s*—', page['text']))


@pytest.mark.parametrize('key', [k for k in KEYS if NOTICE_TYPES[k].prints_number])
def test_banji_is_on_the_last_even_page(key):
    pages = pdf_pages(rendered_example(key))
    at = banji_page(pages)
    assert at == len(pages) and at % 2 == 0


def opinion_of_length(long_findings, short_findings=0):
    facts = letters.example_facts('opinion')
    facts['findings'] = [facts['findings'][0] * 2] * long_findings + ['经查属实。'] * short_findings
    return facts


# (long findings, short findings) → how the example lays out: body ends on page 1 (版记 on its back), on
# page 2 with room at its foot, on page 2 without room (blank page 3), on page 3 (版记 on page 4)
LENGTHS = {(1, 0): 'back', (6, 0): 'foot', (6, 2): 'foot', (6, 3): 'blank', (6, 5): 'back'}


@pytest.mark.parametrize('lengths, expected', sorted(LENGTHS.items()))
def test_banji_moves_to_an_even_page_and_blank_pages_are_unnumbered(lengths, expected):
    pages = render_pages('opinion', opinion_of_length(*lengths))
    at = banji_page(pages)
    assert at == len(pages) and at % 2 == 0
    body = [i for i, page in enumerate(pages, 1) if any(abs(c['size'] - 16) < 0.01 for c in page['chars'])]
    last_body = max(body)
    for number, page in enumerate(pages[:last_body], 1):
        assert f'— {number} —' in page['text']
    if at == last_body:        # at the foot of the body's last page, an even one
        placement = 'foot'
    elif at == last_body + 1:  # alone on the back of the body's last page: numbered like the others
        placement = 'back'
        assert f'— {at} —' in pages[at - 1]['text']
    else:                      # a blank page between: it and the 版记 page carry no number (GB/T 9704 9.1)
        assert at == last_body + 2
        placement = 'blank'
        assert not pages[at - 2]['text'].strip() and not pages[at - 2]['chars']
        assert not numbered(pages[at - 1])
    assert placement == expected
    # the 版记's last rule on the bottom edge of the text block
    rules = [line['top'] / MM for line in pages[at - 1]['lines']] + \
            [rect['bottom'] / MM for rect in pages[at - 1]['rects']]
    assert max(rules) == pytest.approx(262, abs=1)


def test_a_one_page_notice_is_laid_out_once(monkeypatch):
    """Speed: the common case (text on page 1, 版记 on its back) needs no second layout."""
    import importlib
    render_module = importlib.import_module('letters.render')
    layouts = []
    original = render_module._layout
    monkeypatch.setattr(render_module, '_layout', lambda *a: layouts.append(1) or original(*a))
    letters.render('opinion', opinion_of_length(1), number='京朝工监意〔2026〕1号', verification=None)
    assert len(layouts) == 1


# ---------------------------------------------------------------------------- the payment-order application

def test_payment_order_application_is_a_court_filing():
    facts = letters.example_facts('payment_order')
    number = number_for('payment_order')
    pages = pdf_pages(rendered_example('payment_order'))
    text = text_of(pages)
    assert NOTICE_TYPES['payment_order'].prints_number is False
    assert NOTICE_TYPES['payment_order'].number_label == '登记号'
    assert number not in text and not re.search(r'京朝工监令', text)
    red = [c for page in pages for c in page['chars']
           if c['non_stroking_color'] and tuple(round(v, 2) for v in c['non_stroking_color'])[:3] != (0, 0, 0)
           and c['text'].strip() and c['size'] > 10]
    assert not red, 'no red header'
    assert not any(line['stroking_color'] and line['stroking_color'][:1] != (0,) for page in pages
                   for line in page['lines'] if line['top'] / MM < 80 and line['width'] > 300)
    assert '抄送' not in text and '印发' not in text
    assert facts['issuer']['mark'] not in text
    assert text.startswith('支付令申请书')
    assert f"申请人：{facts['applicant']['name']}" in text
    assert f"法定代表人：{facts['applicant']['representative']}" in text
    assert f"被申请人：{facts['enterprise']['name']}" in text
    assert re.search(r'请求事项请求贵院向被申请人发出支付令，督促被申请人给付申请人.*合计人民币[\d,.]+元', text)
    assert '截至2026年11月20日' in text
    assert '事实与理由' in text and '证据' in text
    assert text.index('此致') < text.index(squash(facts['addressee']['name']) + '申请人')
    assert squash(law.quote('spc.3')) in text and squash(law.quote('cpl.225')) in text


# ------------------------------------------------------------------------------------- Chinese refusals

def test_refusals_speak_chinese():
    facts = letters.example_facts('opinion')
    facts['enterprise']['name'] += '😀'
    with pytest.raises(letters.MissingGlyph) as raised:
        letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None)
    message = str(raised.value)
    assert message == '文书字体无法排印的字符：“😀”（U+1F600）'
    facts = letters.example_facts('opinion')
    del facts['findings']
    with pytest.raises(letters.MissingFacts) as raised:
        letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None)
    assert '缺少' in str(raised.value)
    for call in (lambda: letters.render('nonsense', facts, number='x', verification=None),
                 lambda: letters.format_number('京工监', '意', 2026, 0)):
        with pytest.raises(ValueError) as raised:
            call()
        assert not re.search(r'[A-Za-z]{4,}', str(raised.value).replace('nonsense', '')), str(raised.value)


def test_basic_court_of_the_enterprise_district():
    from letters.courts import basic_court
    assert basic_court('北京市朝阳区酒仙桥路10号院3号楼5层') == '北京市朝阳区人民法院'
    assert basic_court('北京市石景山区鲁谷路1号') == '北京市石景山区人民法院'
    assert basic_court('北京经济技术开发区荣华中路1号') is None
    assert basic_court('') is None
    facts = letters.example_facts('payment_order')
    assert facts['addressee']['name'] == basic_court(facts['enterprise']['address'])


def test_payment_demand_is_made_in_the_unions_name():
    facts = letters.example_facts('payment_demand')
    page = pdf_pages(rendered_example('payment_demand'))[0]
    mark = ''.join(c['text'] for c in page['chars'] if c['size'] > 22)
    assert mark == facts['union']['name']  # the red mark names the union (BJM 57), not its committee
    text = text_of(pdf_pages(rendered_example('payment_demand')))
    assert facts['issuer']['name'] not in text  # nor does the signature name the committee
    del facts['union']  # without the fact, the committee as before
    page = render_pages('payment_demand', facts)[0]
    assert ''.join(c['text'] for c in page['chars'] if c['size'] > 22) == facts['issuer']['mark']


def test_segmentation_keeps_names_and_marks_with_their_words():
    assert linebreak.segment('关于撤回《工会劳动法律监督意见书》的通知', ['工会劳动法律监督意见书']) == [
        '关于', '撤回', '《工会劳动法律监督意见书》', '的', '通知']
    assert linebreak.segment('北京市朝阳区总工会劳动法律监督委员会办公室') == [
        '北京市', '朝阳区', '总工会', '劳动法律监督委员会', '办公室']
    lines = linebreak.balanced_lines(linebreak.segment('工会劳动法律监督意见书'))
    assert [''.join(line) for line in lines] == ['工会劳动法律监督意见书']
