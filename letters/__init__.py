"""Official notices: GB/T 9704 PDF rendering from plain snapshots of facts.

The compliance layer allocates numbers, approves, stores and archives; this package only renders:
``render(key, facts, number=..., verification=...) -> bytes``. See docs/notices.md.
"""

from .examples import example_facts
from .glyphs import MissingGlyph, check_glyphs, fact_text
from .notices import (NOTICE_TYPES, MissingFacts, NoticeType, Verification, format_number,
                      missing_facts)
from .render import render, render_html

__all__ = [
    'NOTICE_TYPES', 'NoticeType', 'MissingFacts', 'MissingGlyph', 'Verification', 'check_glyphs',
    'example_facts', 'fact_text', 'format_number', 'missing_facts', 'render', 'render_html',
]
