"""Every quotation in workflows/law.py is the law's own words, at the article, paragraph and item it cites.

The full texts are in docs/law/ (the repository's copy; nothing outside the repository is read).
"""

import re
from pathlib import Path

import pytest

from workflows import law

LAW_DIR = Path(__file__).resolve().parents[2] / 'docs' / 'law'
_ARTICLE = re.compile(r'^第([一二三四五六七八九十百零]+)条\s+(.*)$')
_ITEM = re.compile(r'^（[一二三四五六七八九十]+）')
_INVISIBLE = dict.fromkeys(map(ord, '\u200b\ufeff\u3000'), None)


def normalise(text: str) -> str:
    return ''.join(text.translate(_INVISIBLE).split())


def cn_to_int(word: str) -> int:
    for number in range(1, 1000):
        if law.cn_number(number) == word:
            return number
    raise ValueError(word)


def parse(path: Path) -> dict[int, list[list[str]]]:
    """article → paragraphs → [paragraph text, item 1, item 2, …] (normalised)."""
    articles: dict[int, list[list[str]]] = {}
    current = None
    body = path.read_text(encoding='utf-8').split('<!-- INFO END -->', 1)[1]
    for raw in body.splitlines():
        line = normalise(raw)
        if not line or line.startswith('#') or line.startswith('（节选'):
            continue
        match = _ARTICLE.match(raw.strip().translate(_INVISIBLE))
        if match:
            current = articles.setdefault(cn_to_int(match.group(1)), [])
            current.append([normalise(match.group(2))])
        elif current is not None:
            if _ITEM.match(line):
                current[-1].append(line)
            else:
                current.append([line])
    return articles


@pytest.fixture(scope='module')
def parsed():
    return {key: parse(LAW_DIR / text.file) for key, text in law.TEXTS.items() if text.file}


def test_every_quoted_text_is_in_the_repository():
    for text in law.TEXTS.values():
        if text.file:
            assert (LAW_DIR / text.file).is_file(), text.file
        else:   # cited only: none of its provisions carries a quotation
            assert not any(p.fragments for p in law.PROVISIONS.values() if p.text is text)


def test_cn_number():
    assert [law.cn_number(n) for n in (1, 9, 10, 11, 20, 21, 44, 100, 105, 110, 188, 225, 227)] == [
        '一', '九', '十', '十一', '二十', '二十一', '四十四', '一百', '一百零五', '一百一十', '一百八十八',
        '二百二十五', '二百二十七']
    with pytest.raises(ValueError):
        law.cn_number(0)


@pytest.mark.parametrize('key', sorted(law.PROVISIONS))
def test_quotation_is_verbatim_where_cited(parsed, key):
    provision = law.PROVISIONS[key]
    if not provision.text.file:
        assert not provision.fragments
        return
    articles = parsed[provision.text.key]
    assert provision.article in articles, f'{key}: no such article'
    paragraphs = articles[provision.article]
    if provision.paragraph is None:
        scope = ''.join(''.join(p) for p in paragraphs)
    else:
        assert provision.paragraph <= len(paragraphs), f'{key}: no such paragraph'
        paragraph = paragraphs[provision.paragraph - 1]
        if provision.item is None:
            scope = ''.join(paragraph)
        else:
            assert provision.item < len(paragraph), f'{key}: no such item'
            # the item's words and the paragraph's lead-in before the items
            scope = paragraph[0] + '……' + paragraph[provision.item]
    assert provision.fragments
    position = 0
    for fragment in provision.fragments:
        assert fragment == normalise(fragment), f'{key}: whitespace inside a quotation'
        found = scope.find(fragment, position)
        assert found >= 0, f'{key}: “{fragment}” is not in {provision.citation}'
        position = found + len(fragment)
    if provision.item is not None:
        assert provision.fragments[-1] in paragraph[provision.item]


def test_citations_and_quotes():
    assert law.TEXTS['bjm'].cited == '《北京市实施〈中华人民共和国工会法〉办法》'
    assert law.PROVISIONS['bjm.66.1.2'].ref == '第六十六条第一款第二项'
    assert law.cite('tul.44', 'bjm.55.2', 'bjm.57') == (
        '《中华人民共和国工会法》第四十四条、《北京市实施〈中华人民共和国工会法〉办法》第五十五条第二款、第五十七条')
    quoted = law.quote('bjm.57')
    assert quoted.startswith('《北京市实施〈中华人民共和国工会法〉办法》第五十七条规定：“企业、事业单位')
    assert quoted.endswith('强制执行。”')
    assert law.quote('bjm.66.1.2').endswith('纳入企业信用信息公示系统：……（二）拒绝或者拖延进行平等协商的”。')
    with pytest.raises(KeyError):
        law.cite('bjm.999')


def test_periods_name_their_provisions():
    for period in law.PERIODS.values():
        assert period.provisions and all(key in law.PROVISIONS for key in period.provisions)
        assert period.legal_basis.startswith('《')
    objection = law.PERIODS['court_objection']
    assert (objection.length, objection.counting) == (15, 'natural_days')
    assert objection.legal_basis == '《中华人民共和国民事诉讼法》第二百二十七条第二款'
    # the period's length is the one the quoted words say
    for period in law.PERIODS.values():
        words = ''.join(law.PROVISIONS[key].words for key in period.provisions)
        spelled = {5: '五日', 15: ('十五日', '15个工作日', '十五个工作日'), 20: '二十日', 3: '第一百八十八条'}[period.length]
        assert any(s in words for s in ((spelled,) if isinstance(spelled, str) else spelled)), period.key


def test_a_citation_names_each_text_and_each_article_once_in_a_row():
    from workflows.law import cite
    assert cite('bjm.55.2', 'bjm.55.3', 'bjm.57') == '《北京市实施〈中华人民共和国工会法〉办法》第五十五条第二款、第三款、第五十七条'
    assert cite('tul.43.1.2', 'bjm.55.2') == ('《中华人民共和国工会法》第四十三条第一款第二项、'
                                             '《北京市实施〈中华人民共和国工会法〉办法》第五十五条第二款')
    # an item is never shortened: 第六十三条第一款、第二款 but 第六十六条第一款第二项 stays whole
    assert cite('bjm.63.1', 'bjm.63.2').endswith('第六十三条第一款、第二款')
