"""Rebuild the bundled notice fonts from the upstream font files.

Run: ``.venv/bin/python letters/fonts/build.py [--sources DIR]`` (about two minutes).

Upstream files (all SIL Open Font License 1.1):

* Noto Serif CJK / Noto Sans CJK (``NotoSerifCJK-Regular.ttc``, ``NotoSerifCJK-Bold.ttc``,
  ``NotoSansCJK-Bold.ttc``): Debian ``fonts-noto-cjk`` (``/usr/share/fonts/opentype/noto/``)
  or https://github.com/notofonts/noto-cjk (``Serif/OTC``, ``Sans/OTC``).
* LXGW WenKai (``LXGWWenKai-Regular.ttf``): Debian ``fonts-lxgw-wenkai``
  (``/usr/share/fonts/truetype/lxgw-wenkai/``) or https://github.com/lxgw/LxgwWenKai releases.
* Hanazono (``HanaMinA.ttf``, ``HanaMinB.ttf``): Debian ``fonts-hanazono``
  (``/usr/share/fonts/truetype/hanazono/``) or https://glyphwiki.org/hanazono/.

``--sources DIR`` searches DIR (recursively) before the Debian paths.

What it makes (see docs/notices.md, "Fonts"):

* four *fast* fonts, each holding the same "fast set" (GB 2312, punctuation, Latin, digits and every
  character used by the notice templates), with TrueType outlines (CFF is converted with cu2qu
  because WeasyPrint/fontTools subset TrueType far faster), no layout tables, no hinting, and
  simple glyphs only (the renderer's subsetter copies glyph records as they are);
* two *fallback* fonts, kept as CFF because they are only read glyph by glyph when a document
  needs them: ``rare`` (every other character of Noto Serif CJK SC except Hangul syllables) and
  ``extb`` (CJK Extension B from Hanazono, converted to CFF and subroutinized when the optional
  build-time tool ``cffsubr`` is installed).

Every file gets its own family name (never the upstream reserved names, and never one family split
by unicode-range: WeasyPrint 70 mixes glyphs between such files).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

HERE = Path(__file__).resolve().parent
LETTERS = HERE.parent

DEBIAN_DIRS = (
    Path('/usr/share/fonts/opentype/noto'),
    Path('/usr/share/fonts/truetype/lxgw-wenkai'),
    Path('/usr/share/fonts/truetype/hanazono'),
)

# (output file, family name, upstream file, face index in a collection, kind)
FAST_FONTS = (
    ('song.ttf', 'Letters Song', 'NotoSerifCJK-Regular.ttc', 'Noto Serif CJK SC'),
    ('title.ttf', 'Letters Title', 'NotoSerifCJK-Bold.ttc', 'Noto Serif CJK SC'),
    ('hei.ttf', 'Letters Hei', 'NotoSansCJK-Bold.ttc', 'Noto Sans CJK SC'),
    ('kai.ttf', 'Letters Kai', 'LXGWWenKai-Regular.ttf', None),
)
RARE_FONT = ('rare.otf', 'Letters Rare', 'NotoSerifCJK-Regular.ttc', 'Noto Serif CJK SC')
EXTB_FONT = ('extb.otf', 'Letters ExtB', ('HanaMinA.ttf', 'HanaMinB.ttf'), None)

EXT_B = range(0x20000, 0x2A6E0)
HANGUL = (range(0x1100, 0x1200), range(0x3130, 0x3190), range(0xA960, 0xA980),
          range(0xAC00, 0xD7B0), range(0xD7B0, 0xD800))
# Non-Han ranges of the fast set (only the code points the upstream font has are kept).
FAST_RANGES = (
    range(0x20, 0x7F), range(0xA0, 0x100), range(0x2010, 0x2070), range(0x2100, 0x2190),
    range(0x2460, 0x2500), range(0x3000, 0x3040), range(0x3200, 0x3300), range(0xFE30, 0xFE50),
    range(0xFF01, 0xFFEF),
)
TEMPLATE_SUFFIXES = ('.html', '.css', '.json', '.py')


def gb2312() -> set[int]:
    """Code points of the GB 2312 character set."""
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((hi, lo)).decode('gb2312')))
            except UnicodeDecodeError:
                pass
    return chars


def template_chars() -> set[int]:
    """Every non-ASCII character written in the letters package's own files."""
    chars = set()
    for path in LETTERS.rglob('*'):
        if path.suffix in TEMPLATE_SUFFIXES and 'fonts' not in path.relative_to(LETTERS).parts:
            chars.update(ord(c) for c in path.read_text(encoding='utf-8') if ord(c) > 0x7F)
    return {c for c in chars if not chr(c).isspace()}


def fast_set() -> set[int]:
    chars = gb2312() | template_chars() | {0x3007}
    for r in FAST_RANGES:
        chars.update(r)
    return chars


def find_source(name: str, search: list[Path]) -> Path:
    for folder in search:
        if folder.is_file() and folder.name == name:
            return folder
        hits = sorted(folder.rglob(name)) if folder.is_dir() else []
        if hits:
            return hits[0]
    raise SystemExit(f'upstream font {name} not found in {", ".join(map(str, search))}')


def open_face(path: Path, family: str | None) -> TTFont:
    if path.suffix.lower() in ('.ttc', '.otc'):
        for face in TTCollection(str(path)).fonts:
            if face['name'].getDebugName(1) == family:
                return face
        raise SystemExit(f'{family} not in {path}')
    return TTFont(str(path))


def subset_font(font: TTFont, unicodes, desubroutinize: bool = True) -> None:
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'BASE', 'JSTF', 'VORG', 'vhea', 'vmtx',
                            'FFTM', 'prop', 'gasp', 'DSIG', 'meta']
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.name_languages = [0x409]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = desubroutinize
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)


def rename(font: TTFont, family: str, upstream: str) -> None:
    """Give the derived font its own names (OFL: no Reserved Font Name on a modified version)."""
    name = font['name']
    ps = family.replace(' ', '') + '-Regular'
    for record in list(name.names):
        if record.nameID in (1, 3, 4, 6, 16, 17, 18, 21, 22):
            name.removeNames(nameID=record.nameID)
    for name_id, value in ((1, family), (2, 'Regular'), (3, f'{ps};letters-build'), (4, family),
                           (6, ps), (10, f'Subset of {upstream} made by letters/fonts/build.py')):
        name.setName(value, name_id, 3, 1, 0x409)
    if 'CFF ' in font:
        cff = font['CFF ']
        cff.cff.fontNames = [ps]
        top = cff.cff.topDictIndex[0]
        for attr in ('FullName', 'FamilyName'):
            if hasattr(top, attr):
                setattr(top, attr, family)
    font['post'].formatType = 3.0
    font['post'].extraNames = []
    font['post'].mapping = {}


def to_truetype(font: TTFont) -> None:
    """Replace CFF outlines by quadratic glyf outlines; decompose composites; drop hinting."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    cff = 'CFF ' in font
    for name in order:
        pen = TTGlyphPen(None)
        if cff:
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        else:
            recording = DecomposingRecordingPen(glyph_set)
            glyph_set[name].draw(recording)
            recording.replay(pen)
        glyphs[name] = pen.glyph()
    glyf = newTable('glyf')
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font['glyf'] = glyf
    font['loca'] = newTable('loca')
    for tag in ('CFF ', 'fpgm', 'prep', 'cvt ', 'hdmx', 'LTSH', 'VDMX'):
        if tag in font:
            del font[tag]
    maxp = newTable('maxp')
    maxp.tableVersion = 0x00010000
    maxp.numGlyphs = len(order)
    for attr in ('maxPoints', 'maxContours', 'maxCompositePoints', 'maxCompositeContours',
                 'maxTwilightPoints', 'maxStorage', 'maxFunctionDefs', 'maxInstructionDefs',
                 'maxStackElements', 'maxSizeOfInstructions', 'maxComponentElements',
                 'maxComponentDepth'):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font['maxp'] = maxp
    font['head'].glyphDataFormat = 0
    font.sfntVersion = '\x00\x01\x00\x00'
    # Recompute bounding boxes and maxp point counts.
    for name in order:
        glyphs[name].recalcBounds(glyf)
    font.recalcBBoxes = True


def build_fast(out: str, family: str, source: Path, face: str | None) -> str:
    started = time.time()
    font = open_face(source, face)
    wanted = fast_set() & set(font.getBestCmap())
    subset_font(font, wanted)
    rename(font, family, font['name'].getDebugName(4) or source.name)
    to_truetype(font)
    font.save(HERE / out)
    return f'{out}: {len(wanted)} characters, {time.time() - started:.0f} s'


def build_rare(out: str, family: str, source: Path, face: str) -> str:
    started = time.time()
    font = open_face(source, face)
    fast = fast_set()
    wanted = {c for c in font.getBestCmap()
              if c not in fast and not any(c in r for r in HANGUL)}
    # Keep the subroutines: this file is only read a few glyphs at a time.
    subset_font(font, wanted, desubroutinize=False)
    rename(font, family, font['name'].getDebugName(4) or source.name)
    font.save(HERE / out)
    return f'{out}: {len(wanted)} characters, {time.time() - started:.0f} s'


def build_extb(out: str, family: str, sources: list[Path], rare: Path) -> str:
    """CJK Extension B from Hanazono (A has a few thousand, B the rest), as one CFF font."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.qu2cuPen import Qu2CuPen
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    started = time.time()
    covered = set(TTFont(str(rare), lazy=True).getBestCmap())
    charstrings, cmap, widths = {}, {}, {}
    notdef = T2CharStringPen(1024, None)
    charstrings['.notdef'] = notdef.getCharString()
    widths['.notdef'] = (1024, 0)
    copyright_notice = ''
    for source in sources:
        font = TTFont(str(source))
        copyright_notice = copyright_notice or font['name'].getDebugName(0)
        glyph_set = font.getGlyphSet()
        for code, glyph_name in sorted(font.getBestCmap().items()):
            if code not in EXT_B or code in cmap or code in covered:
                continue
            name = f'u{code:05X}'
            glyph = glyph_set[glyph_name]
            pen = T2CharStringPen(glyph.width, None)
            glyph.draw(Qu2CuPen(pen, 1.0, all_cubic=True))
            charstrings[name] = pen.getCharString()
            widths[name] = (glyph.width, 0)
            cmap[code] = name
    order = ['.notdef'] + [cmap[c] for c in sorted(cmap)]
    ps = family.replace(' ', '') + '-Regular'
    builder = FontBuilder(1024, isTTF=False)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    builder.setupCFF(ps, {'FullName': family, 'FamilyName': family}, charstrings, {})
    builder.setupHorizontalMetrics(widths)
    builder.setupHorizontalHeader(ascent=901, descent=-123)
    builder.setupNameTable({
        'copyright': copyright_notice, 'familyName': family, 'styleName': 'Regular',
        'uniqueFontIdentifier': f'{ps};letters-build', 'fullName': family, 'psName': ps,
        'description': 'CJK Extension B subset of HanaMinA/HanaMinB made by letters/fonts/build.py',
        'licenseDescription': 'SIL Open Font License 1.1',
        'licenseInfoURL': 'https://openfontlicense.org',
    })
    builder.setupOS2(sTypoAscender=901, sTypoDescender=-123, usWinAscent=901, usWinDescent=123)
    builder.setupPost()
    builder.font['post'].formatType = 3.0
    try:
        import cffsubr
    except ImportError:
        note = 'not subroutinized (pip install cffsubr to shrink it)'
    else:
        cffsubr.subroutinize(builder.font)
        note = 'subroutinized'
    builder.save(HERE / out)
    return f'{out}: {len(cmap)} characters, {note}, {time.time() - started:.0f} s'


LICENCES = {
    'OFL-Noto-CJK.txt': ('Noto Serif CJK SC, Noto Sans CJK SC (song, title, hei, rare)',
                         'Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font '
                         "Name 'Source'.", 'https://github.com/notofonts/noto-cjk'),
    'OFL-LXGW-WenKai.txt': ('LXGW WenKai (kai)',
                            'Copyright 2021-2022 lxgw (calxgw2018@gmail.com), with Reserved Font '
                            'Names "霞鹜" and "LXGW".', 'https://github.com/lxgw/LxgwWenKai'),
    'OFL-Hanazono.txt': ('Hanazono Mincho A/B (extb); dual-licensed, used here under the OFL',
                         'Copyright (c) 2011, GlyphWiki Project (kamichi@fonts.jp), with Reserved '
                         'Font Name "Hanazono Font", "HanaMinA", "HanaMinB", "花園フォント", '
                         '"花園明朝A", and "花園明朝B".', 'https://glyphwiki.org/hanazono/'),
}
DEBIAN_OFL = Path('/usr/share/doc/fonts-lxgw-wenkai/copyright')


def ofl_text() -> str:
    """The SIL OFL 1.1 text, from Debian's copyright file or a licence file already shipped."""
    if DEBIAN_OFL.exists():
        block = DEBIAN_OFL.read_text(encoding='utf-8').split('License: OFL-1.1\n', 2)[-1]
        lines = []
        for line in block.splitlines():
            if line and not line.startswith(' '):
                break
            line = line[1:]
            lines.append('' if line == '.' else line)
        return '\n'.join(lines).strip() + '\n'
    shipped = (HERE / 'OFL-Noto-CJK.txt').read_text(encoding='utf-8')
    return shipped[shipped.index('SIL OPEN FONT LICENSE'):]


def write_licences() -> None:
    text = ofl_text()
    for filename, (fonts, notice, source) in LICENCES.items():
        header = (f'Fonts: {fonts}\nUpstream: {source}\n{notice}\n\nThe files in this folder are '
                  'Modified Versions (subsets, converted outlines, renamed families) made by '
                  'build.py.\nThis Font Software is licensed under the SIL Open Font License, '
                  'Version 1.1.\n\n')
        (HERE / filename).write_text(header + text, encoding='utf-8')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sources', type=Path, action='append', default=[],
                        help='folder or file searched for the upstream fonts before Debian paths')
    parser.add_argument('--only', action='append', help='build only these output files')
    args = parser.parse_args(argv)
    search = [*args.sources, *DEBIAN_DIRS]
    jobs = []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for out, family, upstream, face in FAST_FONTS:
            if not args.only or out in args.only:
                jobs.append(pool.submit(build_fast, out, family, find_source(upstream, search),
                                        face))
        out, family, upstream, face = RARE_FONT
        if not args.only or out in args.only:
            jobs.append(pool.submit(build_rare, out, family, find_source(upstream, search), face))
        for job in jobs:
            print(job.result(), flush=True)
    out, family, upstreams, _ = EXTB_FONT
    if not args.only or out in args.only:
        print(build_extb(out, family, [find_source(u, search) for u in upstreams],
                         HERE / RARE_FONT[0]), flush=True)
    write_licences()
    for path in sorted(HERE.glob('*.[ot]tf')):
        print(f'{path.name}: {path.stat().st_size / 1e6:.1f} MB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
