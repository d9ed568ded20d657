"""The facts a person may set on a draft notice: checked against the type's declared schema and normalised.

Each notice type declares its editable facts in letters/<type>/meta.json ("editable"); everything else in
the snapshot is the system's (letters.notices.SYSTEM_FACTS) or does not exist. A change arrives as nested
dicts ({"order_ref": {"number": …}}), dotted keys ({"order_ref.number": …}) or both, from a form, the API
or the command line, so values are read leniently (a string or a list, a JSON number for an amount) and
stored in one canonical form: the form the templates and letters/arrears.py read.
"""
from __future__ import annotations

import copy
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from compliance.errors import ValidationFailed
from letters.notices import (
    NOTICE_TYPES,
    SYSTEM_FACTS,
    EditableFact,
    NoticeType,
    system_fact,
)

#: Characters no notice may print: controls, invisible format characters (a right-to-left override
#: reorders what the PDF shows), lone surrogates (JSON allows them) and Unicode line separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Short items (names, attachments) are typed as one line; these separate them.
_NAME_SEPARATORS = re.compile(r"[,，、；;\s]+")
#: Sentences contain ，、； themselves, so only a line break separates two of them.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
#: Plain digits or thousands groups (as copied from a spreadsheet), at most two decimals; no sign, no exponent.
_AMOUNT = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]{1,2})?")
_ROW_FIELDS = {"month": "工资月份", "payroll": "工资总额", "paid": "已缴金额"}


def normalise_changes(notice_type: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check a draft edit against the type's editable facts; returns {dotted key: normalised value}."""
    kind = NOTICE_TYPES.get(notice_type)
    if kind is None:
        raise ValidationFailed(f"没有“{notice_type}”这种文书", field="notice_type")
    if not isinstance(changes, Mapping):
        raise ValidationFailed("修改内容应为“项目：内容”的形式", field="snapshot")
    schema = {fact.key: fact for fact in kind.editable}
    out: dict[str, Any] = {}
    for key, value in _flatten(changes, schema):
        fact = _editable(kind, schema, key)
        if key in out:  # {"order_ref.number": …} next to {"order_ref": {"number": …}}
            raise ValidationFailed(f"“{fact.label}”填写了两次", field=key)
        out[key] = _NORMALISERS[fact.type](fact, value)
    return out


def apply_changes(snapshot: dict, normalised: dict) -> dict:
    """A deep copy of ``snapshot`` with each dotted key set (intermediate dicts created as needed)."""
    result = copy.deepcopy(snapshot)
    for dotted, value in normalised.items():
        *parents, leaf = dotted.split(".")
        target = result
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[leaf] = copy.deepcopy(value)
    return result


# ------------------------------------------------------------------------------------------
# Keys

def _flatten(changes: Mapping, schema: Mapping[str, EditableFact], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for each leaf of a change given as nested dicts, dotted keys or both."""
    for raw, value in changes.items():
        if not isinstance(raw, str) or not raw:
            raise ValidationFailed("修改内容的项目名应为文字", field="snapshot")
        key = prefix + raw
        # An editable fact's value is taken whole (a dict there is a wrong type, said as such); any
        # other dict is a group whose leaves are checked one by one, so the message names the leaf.
        if isinstance(value, Mapping) and key not in schema:
            yield from _flatten(value, schema, key + ".")
        else:
            yield key, value


def _editable(kind: NoticeType, schema: Mapping[str, EditableFact], key: str) -> EditableFact:
    """The declared fact for ``key``, or a refusal saying whose it is or what may be changed instead."""
    if key in schema:
        return schema[key]
    prefix = system_fact(key)
    if prefix is not None:
        raise ValidationFailed(f"“{SYSTEM_FACTS[prefix]}”由系统填写，不能修改", field=key)
    inner = [fact.label for fact in kind.editable if fact.key.startswith(key + ".")]
    if inner:  # e.g. "enterprise": "…" would replace the name and the code along with the address
        raise ValidationFailed(f"“{key}”不能整体替换，可修改其中的：{'、'.join(inner)}", field=key)
    covered = [label for dotted, label in SYSTEM_FACTS.items() if dotted.startswith(key + ".")]
    if covered:
        raise ValidationFailed(f"“{covered[0]}”由系统填写，不能修改", field=key)
    labels = "、".join(fact.label for fact in kind.editable)
    raise ValidationFailed(f"文书没有“{key}”这一项，可修改的内容：{labels}", field=key)


# ------------------------------------------------------------------------------------------
# Values

def _fail(fact: EditableFact, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=fact.key)


def _line(fact: EditableFact, value: Any, where: str, *, multiline: bool = False) -> str:
    """One string: stripped, without control characters, at most fact.max characters."""
    # A JSON number is accepted as text: the command line reads --set applicant.phone=65001200 as one.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(fact, f"{where}应为文字")
    text = str(value)
    if multiline:
        text = _LINE_BREAK.sub("\n", text)
    elif _LINE_BREAK.search(text.strip()):
        raise _fail(fact, f"{where}应为一行文字，不能换行")
    text = text.strip()
    for position, char in enumerate(text, 1):
        if not (multiline and char == "\n") and unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise _fail(fact, f"{where}第{position}个字符是不可见的控制字符，请删除后重试")
    if len(text) > fact.max:
        raise _fail(fact, f"{where}超过{fact.max}字（共{len(text)}字）")
    return text


def _text(fact: EditableFact, value: Any) -> str:
    return "" if value is None else _line(fact, value, fact.label)


def _paragraph(fact: EditableFact, value: Any) -> str:
    return "" if value is None else _line(fact, value, fact.label, multiline=True)


def _items(fact: EditableFact, value: Any, split: Callable[[str], list[str]]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        raw = split(value)
    elif isinstance(value, (list, tuple)):
        raw = list(value)
    else:
        raise _fail(fact, f"{fact.label}应为文字，或逐项列出")
    for position, item in enumerate(raw, 1):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise _fail(fact, f"{fact.label}第{position}项应为文字")
    # Blank items are dropped first, so "第n项" counts as the printed list does.
    kept = [str(item) for item in raw if str(item).strip()]
    if len(kept) > fact.max_items:
        raise _fail(fact, f"{fact.label}超过{fact.max_items}项（共{len(kept)}项）")
    return [_line(fact, item, f"{fact.label}第{position}项") for position, item in enumerate(kept, 1)]


def _paragraphs(fact: EditableFact, value: Any) -> list[str]:
    return _items(fact, value, _LINE_BREAK.split)


def _names(fact: EditableFact, value: Any) -> list[str]:
    return _items(fact, value, _NAME_SEPARATORS.split)


def _date(fact: EditableFact, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # not known yet; approval asks for it if the type requires it
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise _fail(fact, f"{fact.label}应为有效的日期，格式如2026-09-16{_received(value)}")


def _amount(fact: EditableFact, value: Any, where: str) -> str:
    """A non-negative amount to the fen, as the string letters/arrears.py reads ("1286400.00")."""
    if isinstance(value, bool):
        text = None
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        # A JSON number arrives as a float; its shortest repr is the decimal the person typed.
        text = repr(value) if math.isfinite(value) else None
    elif isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else None
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = None
    if text is None or not _AMOUNT.fullmatch(text):
        raise _fail(fact, f"{where}应为不小于0的金额，最多两位小数，如1286400.00{_received(value)}")
    amount = f"{Decimal(text.replace(',', '')):.2f}"
    if len(amount) > fact.max:
        raise _fail(fact, f"{where}过大（整数部分最多{fact.max - 3}位）")
    return amount


def _money(fact: EditableFact, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _amount(fact, value, fact.label)


def _arrears_months(fact: EditableFact, value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise _fail(fact, f"{fact.label}应逐月列出工资月份和工资总额")
    if len(value) > fact.max_items:
        raise _fail(fact, f"{fact.label}超过{fact.max_items}个月（共{len(value)}个月）")
    rows: dict[str, dict[str, str]] = {}
    for position, row in enumerate(value, 1):
        where = f"{fact.label}第{position}行"
        if not isinstance(row, Mapping):
            raise _fail(fact, f"{where}应包含工资月份和工资总额")
        for name in row:
            if name not in _ROW_FIELDS:
                raise _fail(fact, f"{where}没有“{name}”这一项，可填写：{'、'.join(_ROW_FIELDS.values())}")
        month = row.get("month")
        if not isinstance(month, str) or not _MONTH.fullmatch(month.strip()):
            raise _fail(fact, f"{where}的工资月份应为年-月，格式如2026-01{_received(month)}")
        month = month.strip()
        if month in rows:
            raise _fail(fact, f"{where}的工资月份{month}与前面重复")
        payroll = row.get("payroll")
        if payroll is None or (isinstance(payroll, str) and not payroll.strip()):
            raise _fail(fact, f"{where}缺少工资总额")
        line = {"month": month, "payroll": _amount(fact, payroll, f"{where}的工资总额")}
        paid = row.get("paid")
        if paid is not None and not (isinstance(paid, str) and not paid.strip()):
            line["paid"] = _amount(fact, paid, f"{where}的已缴金额")
        rows[month] = line
    # Stored in month order, as the table prints them.
    return [rows[month] for month in sorted(rows)]


def _received(value: Any) -> str:
    """The short string the person typed, as （收到：…）, so the message shows what was wrong."""
    if isinstance(value, str) and value.strip().isprintable() and len(value) <= 30:
        return f"（收到：{value.strip()}）"
    return ""


_NORMALISERS: dict[str, Callable[[EditableFact, Any], Any]] = {
    "text": _text, "paragraph": _paragraph, "paragraphs": _paragraphs, "names": _names,
    "date": _date, "money": _money, "arrears_months": _arrears_months,
}
