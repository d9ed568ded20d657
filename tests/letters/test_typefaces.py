import io

from fontTools.ttLib import TTFont

from letters import typefaces


def test_fast_subsetter_keeps_glyph_ids_and_outlines():
    face = typefaces.FAST_FACES[0]
    original = TTFont(str(face.path))
    cmap = original.getBestCmap()
    order = original.getGlyphOrder()
    wanted = {original.getGlyphID(cmap[ord(c)]): c for c in '监督意见书京〔〕12'}
    subset = typefaces.SfntSubsetter(face.path.read_bytes()).subset(wanted)
    small = TTFont(io.BytesIO(subset))
    assert small['maxp'].numGlyphs == max(wanted) + 1
    small_order = small.getGlyphOrder()
    small_cmap = small.getBestCmap()
    for gid, char in wanted.items():
        assert small_cmap[ord(char)] == small_order[gid]
        ours, theirs = small['glyf'][small_order[gid]], original['glyf'][order[gid]]
        assert ours.getCoordinates(small['glyf'])[0] == theirs.getCoordinates(original['glyf'])[0]
        assert small['hmtx'][small_order[gid]] == original['hmtx'][order[gid]]
    unused = next(g for g in range(1, max(wanted)) if g not in wanted)
    assert small['glyf'][small_order[unused]].numberOfContours == 0
    assert len(subset) < 60_000


def test_fallback_micro_font():
    face, cmap = typefaces.fallback_coverage()[1]
    codes = {0x2A6A5, min(cmap)}
    data = typefaces.build_fallback_font(face, codes)
    font = TTFont(io.BytesIO(data))
    assert set(font.getBestCmap()) == codes
    assert font['maxp'].numGlyphs == 3
    assert font['glyf'][font.getBestCmap()[0x2A6A5]].numberOfContours > 0
