"""Glyph coverage: no notice may be issued with a character the bundled fonts cannot print."""

from __future__ import annotations

from typing import Mapping

from . import typefaces


class MissingGlyph(ValueError):
    """Characters that no bundled font covers; ``chars`` holds them, ``labels`` their U+ codes."""

    def __init__(self, chars):
        self.chars = tuple(chars)
        self.labels = tuple(f'“{c}”（U+{ord(c):04X}）' for c in self.chars)
        super().__init__('文书字体无法排印的字符：' + '、'.join(self.labels))


def fact_text(facts) -> str:
    """Every string and number of a snapshot (values, not keys), one per line."""
    parts: list[str] = []

    def walk(value):
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, bool) or value is None:
            return
        else:
            parts.append(str(value))

    walk(facts)
    return '\n'.join(parts)


def check_glyphs(text_or_facts) -> None:
    """Raise MissingGlyph if any printable character has no glyph in the bundled fonts."""
    text = text_or_facts if isinstance(text_or_facts, str) else fact_text(text_or_facts)
    missing = typefaces.uncovered(text)
    if missing:
        raise MissingGlyph(missing)
