import io
from functools import cache

import pdfplumber
import pytest

import letters

NUMBER_ISSUER = '京朝工监'
VERIFICATION = letters.Verification('7KQ2-M9XD-3F', 'https://verify.example.org/n/7KQ2M9XD3F')
MM = 72 / 25.4


def number_for(key, seq=12):
    return letters.format_number(NUMBER_ISSUER, letters.NOTICE_TYPES[key].type_code, 2026, seq)


@cache
def rendered_example(key):
    """PDF bytes of the example notice (rendered once per test session)."""
    return letters.render(key, letters.example_facts(key), number=number_for(key),
                          verification=VERIFICATION)


def pdf_pages(data):
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [{'width': page.width, 'height': page.height, 'chars': page.chars,
                 'text': page.extract_text() or '', 'lines': page.lines, 'rects': page.rects,
                 'images': page.images}
                for page in pdf.pages]


def squash(text):
    return ''.join(text.split())


@pytest.fixture
def verification():
    return VERIFICATION
