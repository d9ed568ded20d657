"""Notice types (one folder per type with meta.json and template.html) and document numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

LETTERS_DIR = Path(__file__).resolve().parent
ADDRESSEE_KINDS = ('enterprise', 'authority', 'court')


@dataclass(frozen=True)
class NoticeType:
    key: str
    title: str                    #: the type's Chinese name, e.g. 工会劳动法律监督意见书
    type_code: str                #: one character in the 发文字号, e.g. 意
    template_version: str         #: bump when the wording of template.html changes
    required_facts: tuple[str, ...]  #: dotted keys that must be present and non-empty
    addressee_kind: str           #: enterprise | authority | court


@dataclass(frozen=True)
class Verification:
    code: str  #: printed under the QR code; looked up on the public verification page
    url: str   #: encoded in the QR code


class MissingFacts(ValueError):
    """The snapshot lacks facts the notice type requires."""

    def __init__(self, key: str, missing: tuple[str, ...]):
        self.key = key
        self.missing = missing
        super().__init__(f'{key}: missing required facts: {", ".join(missing)}')


def _load_types() -> Mapping[str, NoticeType]:
    types = {}
    for meta_path in sorted(LETTERS_DIR.glob('*/meta.json')):
        meta = json.loads(meta_path.read_text(encoding='utf-8'))
        key = meta_path.parent.name
        if meta['key'] != key:
            raise ValueError(f'{meta_path}: key {meta["key"]!r} differs from its folder')
        if len(meta['type_code']) != 1:
            raise ValueError(f'{meta_path}: type_code must be one character')
        if meta['addressee_kind'] not in ADDRESSEE_KINDS:
            raise ValueError(f'{meta_path}: bad addressee_kind')
        types[key] = NoticeType(key, meta['title'], meta['type_code'],
                                str(meta['template_version']), tuple(meta['required_facts']),
                                meta['addressee_kind'])
    codes = [t.type_code for t in types.values()]
    if len(set(codes)) != len(codes):
        raise ValueError('type codes must be distinct')
    return MappingProxyType(types)


NOTICE_TYPES: Mapping[str, NoticeType] = _load_types()

_MISSING = object()


def lookup(facts: Mapping, dotted: str):
    value = facts
    for part in dotted.split('.'):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def missing_facts(notice_type: NoticeType, facts: Mapping) -> tuple[str, ...]:
    missing = []
    for dotted in notice_type.required_facts:
        value = lookup(facts, dotted)
        if value is _MISSING or value is None or value == '' or value == [] or value == {}:
            missing.append(dotted)
    return tuple(missing)


def require_facts(notice_type: NoticeType, facts: Mapping) -> None:
    missing = missing_facts(notice_type, facts)
    if missing:
        raise MissingFacts(notice_type.key, missing)


_ISSUER_CODE = re.compile(r'^\S{1,12}$')


def format_number(issuer_code: str, type_code: str, year: int, seq: int) -> str:
    """京工监 + 意 + 2026 + 12 → 京工监意〔2026〕12号 (no leading zeros, no 第)."""
    if not _ISSUER_CODE.match(issuer_code or ''):
        raise ValueError(f'bad issuer code {issuer_code!r}')
    if len(type_code) != 1 or type_code.isspace():
        raise ValueError(f'type code must be one character, not {type_code!r}')
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f'bad year {year!r}')
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f'sequence must be a positive integer, not {seq!r}')
    return f'{issuer_code}{type_code}〔{year}〕{seq}号'
