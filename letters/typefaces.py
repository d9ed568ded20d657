"""The bundled fonts: what they cover, and the two tricks that keep rendering fast.

1. The four *fast* fonts (GB 2312 + punctuation + the templates' characters, TrueType) are
   registered once per thread in a reused WeasyPrint ``FontConfiguration``. WeasyPrint 70 without
   HarfBuzz-subset subsets every embedded font with fontTools at the end of ``write_pdf``, which
   costs ~0.2 s per 7.7k-glyph font. For our own files only, :func:`install_fast_subsetter`
   replaces that step by :class:`SfntSubsetter`, which copies the used glyph records (gids kept,
   as WeasyPrint's content streams expect) in about a millisecond. Any other font still goes
   through WeasyPrint's own code.
2. Characters outside the fast set come from two *fallback* files (``rare.otf``: the rest of
   Noto Serif CJK SC; ``extb.otf``: CJK Extension B from Hanazono). They are never registered
   whole: :func:`build_fallback_font` cuts a per-document micro font holding just the characters
   the document needs, so an ordinary notice never touches them.
"""

from __future__ import annotations

import logging
import struct
import sys
import threading
from array import array
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterable, Mapping

LOGGER = logging.getLogger(__name__)
FONT_DIR = Path(__file__).resolve().parent / 'fonts'
LITTLE = sys.byteorder == 'little'  # sfnt data is big-endian


@dataclass(frozen=True)
class Face:
    role: str
    family: str
    filename: str

    @property
    def path(self) -> Path:
        return FONT_DIR / self.filename


FAST_FACES = (
    Face('song', 'Letters Song', 'song.ttf'),     # body text (宋体 standing in for 仿宋)
    Face('title', 'Letters Title', 'title.ttf'),  # title and issuer mark (小标宋 stand-in)
    Face('hei', 'Letters Hei', 'hei.ttf'),        # "一、" headings (黑体)
    Face('kai', 'Letters Kai', 'kai.ttf'),        # "（一）" headings (楷体)
)
FALLBACK_FACES = (
    Face('rare', 'Letters Rare', 'rare.otf'),
    Face('extb', 'Letters ExtB', 'extb.otf'),
)
BODY_FACE = FAST_FACES[0]


def _read_cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@cache
def fast_coverage() -> frozenset[int]:
    """Code points every fast font path can print (the body font's cmap)."""
    return _read_cmap(BODY_FACE.path)


@cache
def fallback_coverage() -> tuple[tuple[Face, frozenset[int]], ...]:
    """(face, cmap) of each fallback file that is present, in stack order."""
    return tuple((face, _read_cmap(face.path)) for face in FALLBACK_FACES if face.path.exists())


def is_printable_gap(char: str) -> bool:
    """Whitespace needs no glyph; everything else must be covered."""
    return char.isspace()


def uncovered(text: str) -> list[str]:
    """Characters of ``text`` that no bundled font can print (sorted, unique)."""
    fast = fast_coverage()
    missing = set()
    for char in set(text):
        code = ord(char)
        if code in fast or is_printable_gap(char):
            continue
        if not any(code in cmap for _, cmap in fallback_coverage()):
            missing.add(char)
    return sorted(missing)


def fallback_split(text: str) -> dict[Face, list[int]]:
    """Which fallback face supplies each character of ``text`` that the fast fonts lack."""
    fast = fast_coverage()
    needed: dict[Face, list[int]] = {}
    for code in sorted({ord(c) for c in text}):
        if code in fast or chr(code).isspace():
            continue
        for face, cmap in fallback_coverage():
            if code in cmap:
                needed.setdefault(face, []).append(code)
                break
    return needed


# --------------------------------------------------------------------------------------------
# Per-document micro fonts from the fallback files

_fallback_lock = threading.Lock()


@cache
def _fallback_source(filename: str):
    from fontTools.ttLib import TTFont

    return TTFont(str(FONT_DIR / filename), lazy=True)


def build_fallback_font(face: Face, codes: Iterable[int]) -> bytes:
    """A small TrueType font with just ``codes`` taken from a fallback file."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    codes = sorted(set(codes))
    with _fallback_lock:  # fontTools lazy tables are not thread-safe
        source = _fallback_source(face.filename)
        cmap = source.getBestCmap()
        glyph_set = source.getGlyphSet()
        quadratic = 'glyf' not in source
        order = ['.notdef'] + [f'u{code:05X}' for code in codes]
        sources = ['.notdef'] + [cmap[code] for code in codes]
        glyphs, widths = {}, {}
        for name, source_name in zip(order, sources):
            glyph = glyph_set[source_name]
            pen = TTGlyphPen(None)
            glyph.draw(Cu2QuPen(pen, 1.0, reverse_direction=True) if quadratic else pen)
            glyphs[name] = pen.glyph()
            widths[name] = glyph.width
        upem = source['head'].unitsPerEm
        hhea = source['hhea']
        ascent, descent = hhea.ascent, hhea.descent
    builder = FontBuilder(upem, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({code: f'u{code:05X}' for code in codes})
    builder.setupGlyf(glyphs)
    glyf = builder.font['glyf']
    builder.setupHorizontalMetrics(
        {name: (widths[name], getattr(glyf[name], 'xMin', 0)) for name in order})
    builder.setupHorizontalHeader(ascent=ascent, descent=descent)
    ps_name = face.family.replace(' ', '') + '-Micro'
    builder.setupNameTable({'familyName': face.family, 'styleName': 'Regular', 'psName': ps_name})
    builder.setupOS2(sTypoAscender=ascent, sTypoDescender=descent, usWinAscent=ascent,
                     usWinDescent=-descent)
    builder.setupPost(formatType=3.0)
    builder.setupMaxp()
    from io import BytesIO

    out = BytesIO()
    builder.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Fast retain-gid subsetting of our TrueType files

def _checksum(data: bytes) -> int:
    data = data + b'\0' * (-len(data) % 4)
    words = array('L' if array('I').itemsize < 4 else 'I', data)
    if LITTLE:
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _pad4(data: bytes) -> bytes:
    return data + b'\0' * (-len(data) % 4)


def _cmap_format4(mapping: Mapping[int, int]) -> bytes:
    """A (3,1) format-4 cmap with one segment per character (the subset is small)."""
    codes = sorted(code for code in mapping if code <= 0xFFFE)
    seg_count = len(codes) + 1
    ends = codes + [0xFFFF]
    starts = codes + [0xFFFF]
    deltas = [(mapping[code] - code) & 0xFFFF for code in codes] + [1]
    search_range = 2 * (1 << (seg_count.bit_length() - 1))
    entry_selector = (seg_count.bit_length() - 1)
    range_shift = 2 * seg_count - search_range
    body = struct.pack(f'>{seg_count}H', *ends) + b'\0\0'
    body += struct.pack(f'>{seg_count}H', *starts)
    body += struct.pack(f'>{seg_count}H', *deltas)
    body += b'\0\0' * seg_count
    length = 14 + len(body)
    sub = struct.pack('>7H', 4, length, 0, 2 * seg_count, search_range, entry_selector,
                      range_shift) + body
    return struct.pack('>HHHHI', 0, 1, 3, 1, 12) + sub


class SfntSubsetter:
    """Keeps the used glyphs of a TrueType file made by build.py, with unchanged glyph ids."""

    def __init__(self, data: bytes):
        self.data = data
        num_tables = struct.unpack_from('>H', data, 4)[0]
        self.tables = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from('>4sIII', data, 12 + 16 * i)
            self.tables[tag.decode('latin-1')] = (offset, length)
        head = self.table('head')
        self.long_loca = struct.unpack_from('>h', head, 50)[0] == 1
        self.num_glyphs = struct.unpack_from('>H', self.table('maxp'), 4)[0]
        self.num_hmetrics = struct.unpack_from('>H', self.table('hhea'), 34)[0]
        loca = array('I' if self.long_loca else 'H', self.table('loca'))
        if LITTLE:
            loca.byteswap()
        self.loca = loca if self.long_loca else array('I', (2 * x for x in loca))
        hmtx = array('h', self.table('hmtx'))
        if LITTLE:
            hmtx.byteswap()
        # Expand to one (advance, lsb) pair per glyph.
        advances = list(hmtx[0:2 * self.num_hmetrics:2])
        lsbs = list(hmtx[1:2 * self.num_hmetrics:2]) + list(hmtx[2 * self.num_hmetrics:])
        advances += [advances[-1]] * (self.num_glyphs - len(advances))
        self.hmetrics = [(advances[g] & 0xFFFF, lsbs[g]) for g in range(self.num_glyphs)]
        glyf_offset = self.tables['glyf'][0]
        for gid in range(self.num_glyphs):
            start, end = self.loca[gid], self.loca[gid + 1]
            if end > start and struct.unpack_from('>h', data, glyf_offset + start)[0] < 0:
                raise ValueError('composite glyphs are not supported (rebuild the fonts)')

    def table(self, tag: str) -> bytes:
        offset, length = self.tables[tag]
        return self.data[offset:offset + length]

    def subset(self, to_unicode: Mapping[int, str]) -> bytes:
        keep = {0, *to_unicode}
        count = max(keep) + 1
        if count > self.num_glyphs:
            raise ValueError('glyph id outside the font')
        glyf_offset = self.tables['glyf'][0]
        data = self.data
        parts, loca, position = [], array('I'), 0
        for gid in range(count):
            loca.append(position)
            if gid in keep:
                start, end = self.loca[gid], self.loca[gid + 1]
                record = data[glyf_offset + start:glyf_offset + end]
                record += b'\0' * (-len(record) % 4)
                parts.append(record)
                position += len(record)
        loca.append(position)
        if LITTLE:
            loca.byteswap()
        hmtx = array('h')
        for gid in range(count):
            advance, lsb = self.hmetrics[gid]
            hmtx.extend((advance - 0x10000 if advance > 0x7FFF else advance,
                         lsb if gid in keep else 0))
        if LITTLE:
            hmtx.byteswap()
        head = bytearray(self.table('head'))
        struct.pack_into('>I', head, 8, 0)       # checkSumAdjustment, set below
        struct.pack_into('>h', head, 50, 1)      # long loca
        maxp = bytearray(self.table('maxp'))
        struct.pack_into('>H', maxp, 4, count)
        hhea = bytearray(self.table('hhea'))
        struct.pack_into('>H', hhea, 34, count)
        cmap = {}
        for gid, text in to_unicode.items():
            if len(text) == 1 and ord(text) <= 0xFFFE:
                cmap.setdefault(ord(text), gid)
        tables = {
            'OS/2': self.table('OS/2'), 'cmap': _cmap_format4(cmap), 'glyf': b''.join(parts),
            'head': bytes(head), 'hhea': bytes(hhea), 'hmtx': hmtx.tobytes(),
            'loca': loca.tobytes(), 'maxp': bytes(maxp), 'name': self.table('name'),
            'post': self.table('post')[:32],  # format 3: header only
        }
        return _assemble(tables)


def _assemble(tables: Mapping[str, bytes]) -> bytes:
    tags = sorted(tables)
    num = len(tags)
    entry_selector = num.bit_length() - 1
    search_range = 16 * (1 << entry_selector)
    header = struct.pack('>IHHHH', 0x00010000, num, search_range, entry_selector,
                         num * 16 - search_range)
    offset = 12 + 16 * num
    directory, body = [], []
    head_position = None
    for tag in tags:
        table = tables[tag]
        directory.append(struct.pack('>4sIII', tag.encode('latin-1'), _checksum(table), offset,
                                     len(table)))
        if tag == 'head':
            head_position = offset
        padded = _pad4(table)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b''.join(directory) + b''.join(body))
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    struct.pack_into('>I', font, head_position + 8, adjustment)
    return bytes(font)


@cache
def _fast_subsetters() -> dict[int, list[SfntSubsetter]]:
    by_length: dict[int, list[SfntSubsetter]] = {}
    for face in FAST_FACES:
        subsetter = SfntSubsetter(face.path.read_bytes())
        by_length.setdefault(len(subsetter.data), []).append(subsetter)
    return by_length


def subsetter_for(file_content: bytes) -> SfntSubsetter | None:
    for subsetter in _fast_subsetters().get(len(file_content), ()):
        if subsetter.data == file_content:
            return subsetter
    return None


_installed = False
SUPPORTED_WEASYPRINT = ('70.0',)


def install_fast_subsetter() -> bool:
    """Route the subsetting of our fast fonts to :class:`SfntSubsetter` (idempotent)."""
    global _installed
    if _installed:
        return True
    import weasyprint
    from weasyprint.pdf import fonts as pdf_fonts

    font_class = getattr(pdf_fonts, 'Font', None)
    original = getattr(font_class, 'subset', None)
    if weasyprint.__version__ not in SUPPORTED_WEASYPRINT or original is None:
        LOGGER.warning('WeasyPrint %s is not one letters was checked against: notices render '
                       'correctly but slowly (fonts subset by WeasyPrint)', weasyprint.__version__)
        return False

    def subset(self, to_unicode, hinting):
        subsetter = subsetter_for(self.file_content) if to_unicode else None
        if subsetter is None or self.missing:
            return original(self, to_unicode, hinting)
        try:
            self.file_content = subsetter.subset(to_unicode)
        except Exception:  # pragma: no cover - falls back to the slow, correct path
            LOGGER.exception('fast subsetting of %s failed, using WeasyPrint', self.family)
            original(self, to_unicode, hinting)

    subset.letters_original = original
    font_class.subset = subset
    _installed = True
    return True
