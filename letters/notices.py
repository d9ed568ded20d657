"""Notice types (one folder per type with meta.json and template.html) and document numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

LETTERS_DIR = Path(__file__).resolve().parent
ADDRESSEE_KINDS = ('enterprise', 'authority', 'court')

#: Facts the system fills from the case file, the issuing committee, approval, issue and the archive
#: (dotted prefix → Chinese name). A person never sets them on a draft, so no meta.json may declare
#: one editable: the red header, the number and the identity of the enterprise are not a drafter's to
#: change. applicant.name is the issuing committee's federation, and legal_basis is quoted from
#: letters/law.py for the case's violations.
SYSTEM_FACTS: Mapping[str, str] = MappingProxyType({
    'issuer': '发文机关', 'number': '发文字号', 'verification': '核验码', 'issued_on': '成文日期',
    'printed_on': '印发日期', 'printed_by': '印发机关', 'signatory': '签发人', 'case': '案件信息',
    'enterprise.name': '企业名称', 'enterprise.uscc': '统一社会信用代码',
    'opinion_ref': '所依据的监督意见书', 'demand_ref': '所依据的催缴通知书',
    'original': '被撤回的文书', 'withdraws': '被撤回的文书', 'applicant.name': '申请人名称',
    'legal_basis': '法律依据', 'bank': '收款账户（取自发文机关的文书抬头）',
    'listing_basis': '提请依据', 'union': '工会（以工会名义发出的文书）',
    # A period that runs from the letter's receipt, in words (自收到本意见书之日起15个工作日内): from the case's rule.
    'rectification_period': '整改期限', 'reply_period': '书面答复期限', 'payment_period': '缴纳期限',
})

#: Kinds of editable fact (see compliance/drafts.py for how each is read and normalised).
EDITABLE_TYPES = ('text', 'paragraph', 'paragraphs', 'names', 'date', 'money', 'arrears_months')
LIST_TYPES = ('paragraphs', 'names', 'arrears_months')
DEFAULT_MAX_ITEMS = 20
DATE_LENGTH = 10  # YYYY-MM-DD: a date entry needs no "max" in meta.json
_EDITABLE_FIELDS = {'key', 'label', 'type', 'max', 'max_items'}
_DOTTED_KEY = re.compile(r'^[a-z_]+(\.[a-z_]+)*$')


@dataclass(frozen=True)
class EditableFact:
    """One fact a person may set on a draft, as declared under "editable" in meta.json."""

    key: str              #: dotted key in the snapshot, e.g. order_ref.number
    label: str            #: Chinese name used in forms and messages, e.g. 责令改正文号
    type: str             #: one of EDITABLE_TYPES
    max: int              #: characters of one value: of each item in a list, of each amount in money
    max_items: int | None = None  #: items (rows) a list type may hold; None for single values


@dataclass(frozen=True)
class NoticeType:
    key: str
    title: str                    #: the type's Chinese name, e.g. 工会劳动法律监督意见书
    type_code: str                #: one character in the 发文字号, e.g. 意
    template_version: str         #: bump when the wording of template.html changes
    required_facts: tuple[str, ...]  #: dotted keys that must be present and non-empty
    addressee_kind: str           #: enterprise | authority | court
    editable: tuple[EditableFact, ...] = ()  #: facts a person may set on a draft of this type
    #: False for a filing that is not a 公文 (支付令申请书): no red header and no number on the page; the
    #: registry still gives it one, shown in the service as ``number_label``
    prints_number: bool = True
    number_label: str = '发文字号'  #: what the service calls the registry number of this type (登记号 if unprinted)


@dataclass(frozen=True)
class Verification:
    code: str  #: printed under the QR code; looked up on the public verification page
    url: str   #: encoded in the QR code


class MissingFacts(ValueError):
    """The snapshot lacks facts the notice type requires."""

    def __init__(self, key: str, missing: tuple[str, ...]):
        self.key = key
        self.missing = missing
        super().__init__(f'文书（{key}）缺少必需的事实：{"、".join(missing)}')


def system_fact(dotted: str) -> str | None:
    """The SYSTEM_FACTS prefix that ``dotted`` is or falls under, or None."""
    for prefix in SYSTEM_FACTS:
        if dotted == prefix or dotted.startswith(prefix + '.'):
            return prefix
    return None


def _load_editable(meta_path: Path, entries) -> tuple[EditableFact, ...]:
    if not isinstance(entries, list):
        raise TypeError(f'{meta_path}: editable must be a list')
    facts: list[EditableFact] = []
    for entry in entries:
        where = f'{meta_path}: editable {entry.get("key") if isinstance(entry, dict) else entry!r}'
        if not isinstance(entry, dict) or not {'key', 'label', 'type'} <= set(entry):
            raise ValueError(f'{where}: needs key, label and type')
        if set(entry) - _EDITABLE_FIELDS:
            raise ValueError(f'{where}: unknown fields {sorted(set(entry) - _EDITABLE_FIELDS)}')
        key, kind = entry['key'], entry['type']
        if not isinstance(key, str) or not _DOTTED_KEY.match(key):
            raise ValueError(f'{where}: key must be a dotted name')
        if kind not in EDITABLE_TYPES:
            raise ValueError(f'{where}: unknown type {kind!r}')
        if not isinstance(entry['label'], str) or not entry['label'].strip():
            raise ValueError(f'{where}: label must be non-empty text')
        # A key above a system fact (e.g. "enterprise") would replace it along with its siblings.
        if system_fact(key) or any(prefix.startswith(key + '.') for prefix in SYSTEM_FACTS):
            raise ValueError(f'{where}: {key} is filled by the system, never by a person')
        size = entry.get('max', DATE_LENGTH if kind == 'date' else None)
        count = entry.get('max_items', DEFAULT_MAX_ITEMS if kind in LIST_TYPES else None)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f'{where}: max must be a positive integer')
        if kind in ('money', 'arrears_months') and size < len('0.00'):
            raise ValueError(f'{where}: max is the length of an amount such as 0.00')
        if kind not in LIST_TYPES and 'max_items' in entry:
            raise ValueError(f'{where}: max_items applies to list types only')
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f'{where}: max_items must be a positive integer')
        facts.append(EditableFact(key, entry['label'].strip(), kind, size, count))
    keys = [fact.key for fact in facts]
    if len(set(keys)) != len(keys):
        raise ValueError(f'{meta_path}: duplicate editable keys')
    # Labels name the fact in messages; two alike would leave the drafter guessing which one is meant.
    if len({fact.label for fact in facts}) != len(facts):
        raise ValueError(f'{meta_path}: duplicate editable labels')
    # One key inside another (visit and visit.place) would make a change mean two things.
    for key in keys:
        if any(other.startswith(key + '.') for other in keys):
            raise ValueError(f'{meta_path}: editable {key} contains another editable key')
    return tuple(facts)


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
                                meta['addressee_kind'],
                                _load_editable(meta_path, meta.get('editable', [])),
                                bool(meta.get('prints_number', True)),
                                str(meta.get('number_label', '发文字号')))
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


def _empty(value) -> bool:
    return value is _MISSING or value is None or value == '' or value == [] or value == {}


#: Violations whose listing request quotes a listing article (BJM 64, 66); any other needs a stated basis.
_LISTING_LABELS = ('不建会', '不协商')


def missing_facts(notice_type: NoticeType, facts: Mapping) -> tuple[str, ...]:
    missing = [dotted for dotted in notice_type.required_facts if _empty(lookup(facts, dotted))]
    if notice_type.key == 'listing_request':
        # Unpaid funds have no listing article: the request needs the basis the user states.
        labels = lookup(facts, 'case.violations')
        labels = labels if isinstance(labels, list) else []
        if not any(label in _LISTING_LABELS for label in labels) and _empty(lookup(facts, 'listing_basis')):
            missing.append('listing_basis')
    return tuple(missing)


def require_facts(notice_type: NoticeType, facts: Mapping) -> None:
    missing = missing_facts(notice_type, facts)
    if missing:
        raise MissingFacts(notice_type.key, missing)


_ISSUER_CODE = re.compile(r'^\S{1,12}$')


def format_number(issuer_code: str, type_code: str, year: int, seq: int) -> str:
    """京工监 + 意 + 2026 + 12 → 京工监意〔2026〕12号 (no leading zeros, no 第)."""
    if not _ISSUER_CODE.match(issuer_code or ''):
        raise ValueError(f'机关代字有误：{issuer_code!r}（1至12个非空白字符）')
    if len(type_code) != 1 or type_code.isspace():
        raise ValueError(f'文种代字应为一个字符，而不是{type_code!r}')
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f'年份有误：{year!r}')
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f'顺序号应为正整数，而不是{seq!r}')
    return f'{issuer_code}{type_code}〔{year}〕{seq}号'
