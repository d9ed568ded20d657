"""No silent holes: rare characters come from the fallback fonts, anything else is refused."""

import sys
from pathlib import Path

import pytest

import letters
from letters import typefaces

from .conftest import VERIFICATION, pdf_pages, squash

RARE = '堃喆昇玥'
EXT_B = '𠀾𪚥'


def test_rare_names_render_from_the_fallback_fonts():
    facts = letters.example_facts('opinion')
    facts['enterprise']['legal_representative'] = '李堃'
    facts['signatory']['name'] = '王喆'
    facts['addressee']['name'] = facts['enterprise']['name'] = '北京昇玥𠀾𪚥科技有限公司'
    data = letters.render('opinion', facts, number='京朝工监意〔2026〕13号',
                          verification=VERIFICATION)
    pages = pdf_pages(data)
    text = squash(''.join(page['text'] for page in pages))
    assert '北京昇玥𠀾𪚥科技有限公司' in text
    assert '王喆' in text
    fonts = {c['text']: c['fontname'].split('+')[-1] for p in pages for c in p['chars']}
    for char in '喆昇玥':
        assert fonts[char].startswith('Letters-Rare'), (char, fonts[char])
    assert fonts['𪚥'].startswith('Letters-ExtB')
    assert fonts['𠀾'].startswith(('Letters-Rare', 'Letters-ExtB'))
    # ordinary characters still come from the fast fonts
    assert fonts['北'] == 'Letters-Song' and fonts['见'].startswith('Letters-Title')


def test_ordinary_documents_never_touch_the_fallback_fonts():
    assert not typefaces.fallback_split(letters.fact_text(letters.example_facts('opinion')))
    needed = typefaces.fallback_split('李堃𪚥')
    assert {face.role: codes for face, codes in needed.items()} == {
        'rare': [ord('堃')], 'extb': [ord('𪚥')]}


@pytest.mark.parametrize('char', ['\ue000', '\U00030000', '\u0378', '\x07', '\U000F0001'])
def test_uncovered_characters_raise_missing_glyph(char):
    facts = letters.example_facts('opinion')
    facts['enterprise']['name'] += char
    with pytest.raises(letters.MissingGlyph) as raised:
        letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None)
    assert raised.value.chars == (char,)
    assert f'U+{ord(char):04X}' in str(raised.value)


def test_check_glyphs_accepts_text_or_facts():
    letters.check_glyphs('北京市' + RARE + EXT_B + ' \n\t')
    letters.check_glyphs(letters.example_facts('payment_order'))
    with pytest.raises(letters.MissingGlyph) as raised:
        letters.check_glyphs({'a': ['ok', {'b': 'x\ue001y\ue000'}], 'n': 3})
    assert raised.value.chars == ('\ue000', '\ue001')


def test_fact_text_collects_values_not_keys():
    text = letters.fact_text({'name': '甲', 'list': ['乙', {'k': 3}], 'flag': True, 'none': None})
    assert text.split('\n') == ['甲', '乙', '3']


def test_templates_only_use_fast_characters():
    """A template edit that adds a character outside the fast fonts needs a font rebuild."""
    sys.path.insert(0, str(Path(typefaces.FONT_DIR)))
    try:
        import build
    finally:
        sys.path.pop(0)
    missing = [chr(c) for c in build.template_chars() if c not in typefaces.fast_coverage()]
    assert not missing, f'run letters/fonts/build.py: {missing}'


def test_fonts_are_distinct_families_within_budget():
    families = [face.family for face in typefaces.FAST_FACES + typefaces.FALLBACK_FACES]
    assert len(set(families)) == len(families)
    total = sum(face.path.stat().st_size for face in
                typefaces.FAST_FACES + typefaces.FALLBACK_FACES)
    assert total < 40e6
    licences = {p.name for p in typefaces.FONT_DIR.glob('*.txt')}
    assert {'OFL-Noto-CJK.txt', 'OFL-LXGW-WenKai.txt', 'OFL-Hanazono.txt'} <= licences
