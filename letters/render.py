"""Facts → sandboxed Jinja → HTML → WeasyPrint PDF, with bundled assets only."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import threading
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit

import qrcode
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import law, typefaces
from .arrears import compute_arrears
from .formatting import cn_date, cn_month, cn_ordinal, money, money_upper
from .linebreak import title_html, words_html
from .glyphs import MissingGlyph, check_glyphs, fact_text
from .notices import LETTERS_DIR, NOTICE_TYPES, NoticeType, Verification, require_facts

MEMORY_SCHEME = 'letters-mem'
_ALLOWED_SUFFIXES = {'.ttf': 'font/ttf', '.otf': 'font/otf', '.css': 'text/css',
                     '.svg': 'image/svg+xml'}
_MEMORY_TYPES = {'.ttf': 'font/ttf', '.png': 'image/png'}
QR_NAME = 'qr.png'
DRAFT_NUMBER = '（草稿，发文字号于签发时编定）'
# Character width of the text block: 28 characters on 156 mm (GB/T 9704 7.1).
TEXT_WIDTH_PT = 156 / 25.4 * 72


class FetchRefused(ValueError):
    """The notice asked for a resource outside the letters bundle."""


class BundleFetcher(URLFetcher):
    """Serves files inside letters/ (fonts, css) and this document's in-memory fonts; nothing else.

    http(s), data:, file:// outside the bundle and every other scheme are refused, and a refusal
    stops the rendering (``fail_on_errors``) rather than leaving a hole in the document.
    """

    def __init__(self, memory: Mapping[str, bytes] | None = None):
        super().__init__(fail_on_errors=True)
        self._memory = dict(memory or {})

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == MEMORY_SCHEME and parts.path in self._memory:
            suffix = Path(parts.path).suffix
            return URLFetcherResponse(url, self._memory[parts.path],
                                      {'Content-Type': _MEMORY_TYPES.get(suffix, 'font/ttf')})
        if parts.scheme == 'file' and parts.netloc in ('', 'localhost'):
            path = Path(unquote(parts.path)).resolve()
            if (path.is_relative_to(LETTERS_DIR) and path.suffix in _ALLOWED_SUFFIXES
                    and path.is_file()):
                return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                          {'Content-Type': _ALLOWED_SUFFIXES[path.suffix]})
        raise FetchRefused(f'拒绝读取 {url!r}：文书只能使用随程序提供的字体和样式文件')


# ------------------------------------------------------------------------------------------
# Templates

def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(LETTERS_DIR)), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(cn_date=cn_date, cn_month=cn_month, cn_ordinal=cn_ordinal, money=money,
                       money_upper=money_upper, title_lines=title_html, words=words_html,
                       join_cn=lambda items, sep='、': sep.join(str(i) for i in items))
    return env


ENV = _env()


def plain(value):
    """A JSON round-trip: templates only ever see dicts, lists, strings, numbers."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _arrears_line(line) -> dict:
    return {'month': line.month, 'payroll': money(line.payroll), 'funds_due': money(line.funds_due),
            'paid': money(line.paid), 'owed': money(line.owed), 'due_on': line.due_on.isoformat(),
            'days_late': line.days_late, 'late_fee': money(line.late_fee),
            'limitation_ends_on': line.limitation_ends_on.isoformat() if line.limitation_ends_on else ''}


def _arrears_view(arrears: Mapping) -> dict:
    statement = compute_arrears(arrears['months'], arrears['computed_on'], arrears.get('basis'))
    rules = statement.rules
    return {
        'computed_on': statement.computed_on.isoformat(),
        'lines': [_arrears_line(line) for line in statement.lines],
        'first_month': statement.lines[0].month if statement.lines else '',
        'last_month': statement.lines[-1].month if statement.lines else '',
        'total_owed': money(statement.total_owed),
        'total_late_fee': money(statement.total_late_fee),
        'total': money(statement.total),
        'total_upper': money_upper(statement.total),
        'total_owed_upper': money_upper(statement.total_owed),
        # The rules the figures follow (letters/arrears.py): the templates word the letter by them.
        'has_union': rules.has_union,
        'owed_from': rules.owed_from.isoformat() if rules.owed_from else '',
        'due_day_on_time': rules.due_day_on_time,
        'time_barred': [_arrears_line(line) for line in statement.time_barred],
        'not_owed': [line.month for line in statement.not_owed],
    }


def qr_png(data: str) -> bytes:
    """QR code as a 1-bit PNG, generated here (WeasyPrint draws a bitmap far faster than the
    equivalent SVG path)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=1)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format='PNG')
    return out.getvalue()


def mark_size_pt(mark: str) -> float:
    """Largest size (≤ 30 pt) at which the issuer mark fits on one line of the text block."""
    return round(min(30.0, TEXT_WIDTH_PT * 0.97 / max(len(mark), 1)), 1)


def _speaker(facts: Mapping) -> dict:
    union = facts.get('union')
    if isinstance(union, Mapping) and union.get('name'):
        return {'name': union['name'], 'mark': union.get('mark') or union['name']}
    return {'name': facts['issuer']['name'], 'mark': facts['issuer']['mark']}


def build_context(notice_type: NoticeType, facts: Mapping, number: str | None,
                  verification: Verification | None, preview: bool) -> dict:
    facts = plain(facts)
    context = {
        'notice': {'key': notice_type.key, 'title': notice_type.title,
                   'type_code': notice_type.type_code,
                   'template_version': notice_type.template_version},
        'facts': facts,
        'number': number or DRAFT_NUMBER,
        'is_preview': preview,
        # who the notice speaks for: the committee, or the union itself where the law names the union (a payment
        # demand, BJM 57: facts.union)
        'speaker': _speaker(facts),
        'banji_break': '',
        'verification': None,
        'arrears': _arrears_view(facts['arrears']) if 'arrears' in facts else None,
    }
    labels = facts.get('case', {}).get('violations')
    views, basis = law.violation_views(labels, facts.get('legal_basis'), facts.get('case', {}).get('has_union'))
    context.update(violations=views, legal_basis=basis, law=law.LAW,
                   listing=law.listing_grounds(labels, facts.get('listing_basis')),
                   # names printed in a title that a line break must not split
                   title_phrases=[name for name in (
                       (facts.get('enterprise') or {}).get('name'), (facts.get('addressee') or {}).get('name'),
                       (facts.get('original') or {}).get('title')) if isinstance(name, str)])
    context['mark_pt'] = mark_size_pt(context['speaker']['mark'])
    if verification is not None:
        context['verification'] = {'code': verification.code, 'url': verification.url,
                                   'qr': f'{MEMORY_SCHEME}:{QR_NAME}'}
    return context


_TAG = re.compile(r'<(script|style)\b.*?</\1>|<svg\b.*?</svg>|<[^>]+>', re.S | re.I)


def visible_text(markup: str) -> str:
    return html.unescape(_TAG.sub(' ', markup))


def render_html(key: str, facts: Mapping, *, number: str | None,
                verification: Verification | None, preview: bool = False) -> str:
    notice_type = _notice_type(key)
    _check_arguments(number, preview)
    require_facts(notice_type, facts)
    context = build_context(notice_type, facts, number, verification, preview)
    return ENV.get_template(f'{key}/template.html').render(context)


def _notice_type(key: str) -> NoticeType:
    try:
        return NOTICE_TYPES[key]
    except KeyError:
        raise ValueError(f'未知的文书类型：{key!r}') from None


def _check_arguments(number, preview):
    if preview and number is not None:
        raise ValueError('预览稿不编发文字号')
    if not preview and not number:
        raise ValueError('签发的文书须有发文字号（或登记号）')


# ------------------------------------------------------------------------------------------
# WeasyPrint state reused across renders (per thread: FontConfiguration is not thread-safe)

def _font_face_css(faces) -> str:
    return '\n'.join(
        f'@font-face {{ font-family: "{face.family}"; src: url("{url}"); }}'
        for face, url in faces)


FAST_FONT_CSS = _font_face_css((face, face.path.as_uri()) for face in typefaces.FAST_FACES)
NOTICE_CSS_PATH = LETTERS_DIR / 'templates' / 'notice.css'


class _State(threading.local):
    def __init__(self):
        self.fetcher = BundleFetcher()
        self.font_config = FontConfiguration()
        self.font_css = CSS(string=FAST_FONT_CSS, font_config=self.font_config,
                            url_fetcher=self.fetcher)
        self.notice_css = CSS(filename=str(NOTICE_CSS_PATH), url_fetcher=self.fetcher)


_state: _State | None = None
_state_lock = threading.Lock()


def _shared() -> _State:
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                typefaces.install_fast_subsetter()
                _state = _State()
    return _state


def _layout(markup: str, memory: dict[str, bytes]):
    """The laid-out document (WeasyPrint Document) and the font configuration it was laid out with."""
    state = _shared()
    base_url = LETTERS_DIR.as_uri() + '/'
    fetcher = BundleFetcher(memory) if memory else state.fetcher
    needed = typefaces.fallback_split(visible_text(markup))
    if not needed:
        document = HTML(string=markup, base_url=base_url, url_fetcher=fetcher)
        return document.render(stylesheets=[state.font_css, state.notice_css], font_config=state.font_config)
    # Rare characters: a fresh font configuration with per-document micro fonts, so the shared
    # one never grows with one-off fonts.
    memory, faces = dict(memory), []
    for face, codes in needed.items():
        data = typefaces.build_fallback_font(face, codes)
        name = f'{face.role}-{hashlib.sha256(data).hexdigest()[:16]}.ttf'
        memory[name] = data
        faces.append((face, f'{MEMORY_SCHEME}:{name}'))
    fetcher = BundleFetcher(memory)
    font_config = FontConfiguration()
    stylesheets = [
        CSS(string=FAST_FONT_CSS, font_config=font_config, url_fetcher=fetcher),
        CSS(string=_font_face_css(faces), font_config=font_config, url_fetcher=fetcher),
        state.notice_css,
    ]
    document = HTML(string=markup, base_url=base_url, url_fetcher=fetcher)
    return document.render(stylesheets=stylesheets, font_config=font_config)


def _anchor(document, anchor: str) -> tuple[int, float] | None:
    """(1-based page number, top in CSS px) of the element with this id, or None."""
    for number, page in enumerate(document.pages, 1):
        if anchor in page.anchors:
            return number, page.anchors[anchor][1]
    return None


def _page_of(document, anchor: str) -> int | None:
    found = _anchor(document, anchor)
    return found[0] if found else None


#: Where the 版记 goes (classes of .banji-anchor, notice.css; GB/T 9704 7.4, 9.1): the first layout always
#: moves it to the next even page, which is right when the body ends on an odd page (the common one-page
#: notice: text on page 1, 版记 on its back). When the body ends on an even page, a second layout puts it at that
#: page's foot if it fits, else after a blank page (the blank page and the 版记 page unnumbered).
BANJI_NEXT_PAGE = 'to-even'
BANJI_AT_BODY_END = ''
BANJI_AFTER_BLANK = 'after-blank'
_PX_PER_MM = 96 / 25.4
_BLOCK_BOTTOM_PX = (297 - 35) * _PX_PER_MM   # the text block's bottom edge on A4 (notice.css margins)
_FOOTNOTE_GAP_PX = 3 * _PX_PER_MM            # @footnote margin-top


def banji_placement(document) -> str | None:
    """None when the 版记 (if any) is where it belongs, else the placement to lay the notice out with."""
    banji, body_end = _anchor(document, 'banji'), _anchor(document, 'body-end')
    if banji is None or body_end is None:
        return None
    (page, top), (end_page, end_top) = banji, body_end
    if page % 2 == 0 and page - end_page <= 1:
        return None
    if page % 2 == 1:   # (a layout that did not move it) on an odd page: next page, or after a blank one
        return BANJI_NEXT_PAGE if end_page == page else BANJI_AFTER_BLANK
    # The body ends on an even page and the 版记 went two pages on: back to that page's foot if it fits.
    height = _BLOCK_BOTTOM_PX - top
    fits = end_top + _FOOTNOTE_GAP_PX + height <= _BLOCK_BOTTOM_PX - 1
    return BANJI_AT_BODY_END if fits else BANJI_AFTER_BLANK


def _write_pdf(markup: str, memory: dict[str, bytes], relayout=None) -> bytes:
    """Lay out and write; when the 版记 is not on the right even page, lay out again (relayout gives the markup
    for a placement): at most twice in practice, three times only if the fit estimate was wrong."""
    document = _layout(markup, memory)
    if relayout is not None:
        placement = banji_placement(document)
        if placement is not None:
            document = _layout(relayout(placement), memory)
            if placement != BANJI_AFTER_BLANK and (_page_of(document, 'banji') or 0) % 2:
                document = _layout(relayout(BANJI_AFTER_BLANK), memory)
    return document.write_pdf()


def render(key: str, facts: Mapping, *, number: str | None,
           verification: Verification | None, preview: bool = False) -> bytes:
    """The notice as PDF bytes. Raises MissingFacts / MissingGlyph before any layout work."""
    notice_type = _notice_type(key)
    _check_arguments(number, preview)
    require_facts(notice_type, facts)
    extra = (verification.code, verification.url) if verification else ()
    check_glyphs('\n'.join([fact_text(facts), number or '', *extra]))
    context = build_context(notice_type, facts, number, verification, preview)
    template = ENV.get_template(f'{key}/template.html')
    markup = template.render({**context, 'banji_break': BANJI_NEXT_PAGE})
    missing = typefaces.uncovered(visible_text(markup))
    if missing:  # template text itself; the font build covers it, so this is a bug guard
        raise MissingGlyph(missing)
    memory = {QR_NAME: qr_png(verification.url)} if verification else {}
    return _write_pdf(markup, memory, lambda placement: template.render({**context, 'banji_break': placement}))

