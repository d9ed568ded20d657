"""Line breaks that keep words whole (GB/T 9704-2012 7.3.1: 回行时，要做到词意完整，排列对称).

WeasyPrint, like every CSS engine, may break Chinese text between any two characters ("纳入劳／动保障",
"监督委／员会办公室"). Titles and the 版记's 印发机关 line are split here into words (a small domain word
list, greedy longest match; names from the facts kept whole when they fit) and each word is wrapped in a
``<span class="w">`` that does not break (notice.css): the engine can then break only between words.
Titles are also broken here, into balanced lines (``title_html``), since a centred title should be
symmetrical, not a full line and a remainder.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markupsafe import Markup

#: Words of titles, issuers and authorities (longest match wins; an unknown run of characters is one word).
WORDS = frozenset('''
关于 提请 将 纳入 劳动保障 守法诚信档案 及 企业信用信息公示系统 企业 信用 信息 公示 系统 的 函 通知 通知书
告知书 意见书 建议书 申请书 支付令 欠缴 工会经费 经费 依法 开展 稽查 税务 对 撤回 工会 劳动法律 监督 宣讲 催缴
整改 结案 信用修复 和 与 、 予以 处理 情况 有关 事项 责令 改正 拒不 档案 名单 列入
北京市 北京 天津市 上海市 重庆市 中华人民共和国
东城区 西城区 朝阳区 海淀区 丰台区 石景山区 门头沟区 房山区 通州区 顺义区 昌平区 大兴区 怀柔区 平谷区 密云区 延庆区
北京经济技术开发区 经济技术开发区 开发区 街道 乡镇 地区 镇 乡
总工会 工会联合会 联合会 委员会 工作委员会 办公室 劳动法律监督委员会
人力资源和社会保障局 人力资源社会保障局 人力资源 社会保障局 市场监督管理局 国家税务总局 税务局 人民法院 人民政府
有限公司 有限责任公司 股份有限公司 分公司 子公司 公司 集团 控股 科技 技术 信息技术 发展 贸易 商贸 咨询 服务 管理
文化 传媒 网络 建筑 工程 物业 餐饮 实业 投资 电子 制造 物流 医疗 健康 教育 设计 软件 房地产 开发 建设
'''.split())
_MAX_WORD = max(map(len, WORDS))
#: characters that never start a line (kept with the word before) / never end one (kept with the word after)
_CLOSING = set('，。、；：？！）》〉」』〕】”’…—·%')
_OPENING = set('（《〈「『〔【“‘')
_ASCII_RUN = re.compile(r'[A-Za-z0-9.\-_/&]+')
_BR = re.compile(r'<br\s*/?>', re.I)
_TAG = re.compile(r'<[^>]+>')

#: Title: 2号 (22 pt) on the 156 mm text block = 20.1 characters; one character of margin for the estimate.
TITLE_EM = 20.0


def char_em(char: str) -> float:
    """Width estimate in em: full-width characters 1, others (Latin, digits) 0.6."""
    return 1.0 if ord(char) >= 0x2E80 or char in '—…“”‘’' else 0.6


def width_em(text: str) -> float:
    return sum(char_em(c) for c in text)


def _segment_plain(text: str, words: frozenset[str], longest: int) -> list[str]:
    out: list[str] = []
    unknown = ''
    i = 0
    while i < len(text):
        match = _ASCII_RUN.match(text, i)
        if match:
            token = match.group()
        else:
            token = ''
            for size in range(min(longest, len(text) - i), 1, -1):
                if text[i:i + size] in words:
                    token = text[i:i + size]
                    break
        if token:
            if unknown:
                out.append(unknown)
                unknown = ''
            out.append(token)
            i += len(token)
            continue
        char = text[i]
        if char in words or char in _CLOSING or char in _OPENING or char.isspace():
            if unknown:
                out.append(unknown)
                unknown = ''
            out.append(char)
        else:
            unknown += char
            if len(unknown) == 6:   # an unknown run never grows past a few characters
                out.append(unknown)
                unknown = ''
        i += 1
    if unknown:
        out.append(unknown)
    return out


def segment(text: str, phrases=(), max_em: float = TITLE_EM) -> list[str]:
    """Words of ``text``: ``phrases`` (names from the facts) whole when they fit ``max_em``, the rest by the
    word list; punctuation attached so that no line starts with a closing or ends with an opening mark."""
    whole = sorted({p for p in phrases if p and width_em(p) <= max_em * 0.8}, key=len, reverse=True)
    pieces: list[str] = []
    rest = text
    while rest:
        best = None
        for phrase in whole:
            at = rest.find(phrase)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, phrase)
        if best is None:
            pieces += _segment_plain(rest, WORDS, _MAX_WORD)
            break
        at, phrase = best
        pieces += _segment_plain(rest[:at], WORDS, _MAX_WORD)
        pieces.append(phrase)
        rest = rest[at + len(phrase):]
    # glue punctuation and spaces
    words: list[str] = []
    pending_open = ''
    for piece in pieces:
        if piece.isspace():
            continue
        if all(c in _OPENING for c in piece):
            pending_open += piece
            continue
        piece = pending_open + piece
        pending_open = ''
        if words and all(c in _CLOSING for c in piece):
            words[-1] += piece
        else:
            words.append(piece)
    if pending_open:
        if words:
            words[-1] += pending_open
        else:
            words.append(pending_open)
    return words


def balanced_lines(words: list[str], max_em: float = TITLE_EM) -> list[list[str]]:
    """The fewest lines of at most ``max_em``, as even as possible (least sum of squared line widths)."""
    widths = [width_em(w) for w in words]
    n = len(words)
    # best[i] = (lines, cost, previous break) for words[:i]
    best: list[tuple[int, float, int] | None] = [None] * (n + 1)
    best[0] = (0, 0.0, 0)
    for end in range(1, n + 1):
        line = 0.0
        for start in range(end - 1, -1, -1):
            line += widths[start]
            if line > max_em and start < end - 1:
                break
            if best[start] is None:
                continue
            lines, cost, _ = best[start]
            candidate = (lines + 1, cost + line * line, start)
            if best[end] is None or candidate[:2] < best[end][:2]:
                best[end] = candidate
    out: list[list[str]] = []
    end = n
    while end > 0:
        start = best[end][2]
        out.insert(0, words[start:end])
        end = start
    return out


def words_html(text: str, phrases=()) -> Markup:
    """``text`` as unbreakable word spans (the engine breaks between them only)."""
    return Markup(''.join(f'<span class="w">{html.escape(w, quote=False)}</span>'
                          for w in segment(text, phrases)))


@lru_cache(maxsize=512)
def _title_html(text: str, phrases: tuple[str, ...], max_em: float) -> str:
    lines = balanced_lines(segment(text, phrases, max_em), max_em)
    return '<br>'.join(''.join(f'<span class="w">{html.escape(w, quote=False)}</span>' for w in line)
                       for line in lines)


def title_html(markup, phrases=(), max_em: float = TITLE_EM) -> Markup:
    """A title (rendered template text; any ``<br>`` in it is dropped) broken into balanced lines of whole
    words."""
    text = html.unescape(_TAG.sub('', _BR.sub('', str(markup))))
    text = ''.join(text.split())
    return Markup(_title_html(text, tuple(p for p in phrases if p), max_em))


def plain_text(markup) -> str:
    """The text of rendered template markup, tags dropped (for reading titles back in tests)."""
    return ''.join(html.unescape(_TAG.sub('', _BR.sub('', str(markup)))).split())
