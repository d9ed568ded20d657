"""Enterprise operations: register an enterprise under supervision.

The name, address and legal representative print on notices, so they are checked against the bundled fonts now,
not when a letter is about to go out; the identifier is checked by its standard (GB 32100 check character, or
the old 15-digit 注册号) and must not be registered twice.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.access import Permission, can, require
from compliance.clock import business_date
from compliance.errors import ValidationFailed
from compliance.identifiers import InvalidIdentifier, normalize_registration_number, normalize_uscc
from compliance.models import Enterprise, Jurisdiction, User
from compliance.operations.accounts import unprintable

#: field → (Chinese label, most characters). Name and address are tighter than their columns: a notice prints
#: them on one or two lines (the drafts accept an address of at most 200 characters too).
TEXT_FIELDS = {
    "name": ("企业名称", 100),
    "address": ("企业住所", 200),
    "legal_representative": ("法定代表人", 50),
    "industry": ("所属行业", 100),
    "ownership_type": ("经济类型", 50),
    "contact_name": ("联系人", 50),
    "contact_phone": ("联系电话", 50),
}
#: What notices print about the enterprise: every character must have a glyph in the bundled fonts.
PRINTED = ("name", "address", "legal_representative")
#: The identifier as typed: an 18-character USCC or a 15-digit 注册号, with spaces or dashes at most.
MAX_IDENTIFIER = 40
#: More people than any employer has; the column is a 32-bit integer.
MAX_PEOPLE = 10_000_000
#: The payroll column holds 16 digits, two after the point.
MAX_PAYROLL = Decimal("99999999999999.99")
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
_SPACES = re.compile(r"[\s\u3000-]+")
_AMOUNT = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]{1,2})?")


def parse_identifier(raw: str | None) -> tuple[str | None, str | None]:
    """(uscc, registration number) from what was typed: 15 digits are an old 注册号, anything else a USCC."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed("请填写统一社会信用代码（或旧的15位注册号）", field="uscc")
    if len(text) > MAX_IDENTIFIER:
        raise ValidationFailed(f"统一社会信用代码应为18位，填写的内容有{len(text)}个字符", field="uscc")
    try:
        if _SPACES.sub("", text).isdigit() and len(_SPACES.sub("", text)) == 15:
            return None, normalize_registration_number(text)
        return normalize_uscc(text), None
    except InvalidIdentifier as exc:
        raise ValidationFailed(str(exc), field="uscc") from None


def find_registered(session: Session, uscc: str | None, registration_number: str | None) -> Enterprise | None:
    """The enterprise already registered under this identifier, if any."""
    clauses = [Enterprise.uscc == uscc] if uscc else []
    clauses += [Enterprise.registration_number == registration_number] if registration_number else []
    return session.scalar(select(Enterprise).where(or_(*clauses)).limit(1)) if clauses else None


def _duplicate(actor: User, existing: Enterprise) -> ValidationFailed:
    """The refusal names the enterprise; its id (for a link) only when the actor may see it."""
    visible = can(actor, Permission.VIEW, existing.jurisdiction)
    where = f"（{existing.jurisdiction.name}）" if visible else "（不在您的辖区内）"
    return ValidationFailed(f"该代码已登记：{existing.identifier} 为“{existing.name}”{where}，不能重复登记",
                            field="uscc", existing_id=existing.id if visible else None)


def _text(field: str, raw: Any) -> str:
    label, limit = TEXT_FIELDS[field]
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed(f"{label}应为文字", field=field)
    value = (raw or "").strip()
    if len(value) > limit:
        raise ValidationFailed(f"{label}不能超过{limit}个字符（现有{len(value)}个）", field=field)
    # isprintable() is False for every forbidden category (and for spaces other than " "): a quick pass first.
    bad = [] if value.isprintable() else sorted({c for c in value if unicodedata.category(c) in _FORBIDDEN})
    if bad:
        codes = "、".join(f"U+{ord(c):04X}" for c in bad)
        raise ValidationFailed(f"{label}含有无法显示的控制字符或换行（{codes}），请删除后重新填写", field=field)
    if field in PRINTED:
        import letters
        try:
            letters.check_glyphs(value)
        except letters.MissingGlyph as exc:
            raise ValidationFailed(f"{label}含有文书字体无法排印的字符：{unprintable(exc)}。该内容将印在文书上，"
                                   "请改用规范汉字", field=field) from None
    return value


def _count(field: str, label: str, raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 9:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_PEOPLE:
        raise ValidationFailed(f"{label}应为0至{MAX_PEOPLE}之间的整数", field=field)
    return raw


def _payroll(raw: Any) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    message = "上月工资总额应为以元为单位的金额，最多两位小数，例如 523000.00"
    if isinstance(raw, str):
        text = raw.strip().removesuffix("元").strip()
        if len(text) > 25 or not _AMOUNT.fullmatch(text):
            raise ValidationFailed(message, field="monthly_payroll")
        raw = Decimal(text.replace(",", ""))
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
        raise ValidationFailed(message, field="monthly_payroll")
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationFailed(message, field="monthly_payroll") from None
    if not Decimal(0) <= value <= MAX_PAYROLL:
        raise ValidationFailed(f"上月工资总额应在0至{MAX_PAYROLL:,}元之间", field="monthly_payroll")
    return value


def _established(raw: Any, today: dt.date) -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = dt.date.fromisoformat(raw.strip()) if len(raw.strip()) == 10 else None
        except ValueError:
            raw = None
    if not isinstance(raw, dt.date) or isinstance(raw, dt.datetime):
        raise ValidationFailed("成立日期应为“年-月-日”格式，例如2015-03-01", field="established_on")
    if raw > today:
        raise ValidationFailed("成立日期不能晚于今天", field="established_on")
    return raw


def register_enterprise(session: Session, *, actor: User, uscc: str, name: str, jurisdiction: Jurisdiction,
                        now: dt.datetime, address: str = "", legal_representative: str = "",
                        employee_count: Any = None, member_count: Any = None, has_union: bool = False,
                        monthly_payroll: Any = None, industry: str = "", ownership_type: str = "",
                        established_on: Any = None, contact_name: str = "", contact_phone: str = "") -> Enterprise:
    """Register an enterprise in a jurisdiction of the actor's scope; refuse bad or already registered identifiers."""
    require(actor, Permission.REGISTER_ENTERPRISE, jurisdiction, absent="该辖区不存在")
    code, registration_number = parse_identifier(uscc)
    texts = {field: _text(field, value) for field, value in (
        ("name", name), ("address", address), ("legal_representative", legal_representative),
        ("industry", industry), ("ownership_type", ownership_type), ("contact_name", contact_name),
        ("contact_phone", contact_phone))}
    if not texts["name"]:
        raise ValidationFailed("请填写企业名称", field="name")
    employees = _count("employee_count", "职工人数", employee_count)
    members = _count("member_count", "工会会员人数", member_count)
    if employees is not None and members is not None and members > employees:
        raise ValidationFailed(f"工会会员人数（{members}）不能多于职工人数（{employees}）", field="member_count")
    existing = find_registered(session, code, registration_number)
    if existing is not None:
        raise _duplicate(actor, existing)
    enterprise = Enterprise(uscc=code, registration_number=registration_number, jurisdiction=jurisdiction,
                            employee_count=employees, member_count=members, has_union=bool(has_union),
                            monthly_payroll=_payroll(monthly_payroll),
                            established_on=_established(established_on, business_date(now)),
                            created_at=now, updated_at=now, **texts)
    try:
        with session.begin_nested():   # someone registered the same code a moment ago: the same refusal
            session.add(enterprise)
            session.flush()
    except IntegrityError:
        existing = find_registered(session, code, registration_number)
        if existing is None:
            raise
        raise _duplicate(actor, existing) from None
    return enterprise
