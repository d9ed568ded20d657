"""Chinese formatting of snapshot values: dates, months, money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .arrears import fen, to_decimal

_DIGITS = '零壹贰叁肆伍陆柒捌玖'
_SMALL_UNITS = ('', '拾', '佰', '仟')
_BIG_UNITS = ('', '万', '亿', '万亿')


#: How a preview prints a fact still to be filled in (compliance.operations.notices.preview_pdf): the filters
#: pass it through as it is, so a draft with a missing date or month still renders.
PLACEHOLDER = '【待填写'


def _placeholder(value) -> bool:
    return isinstance(value, str) and value.startswith(PLACEHOLDER)


def as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def cn_date(value) -> str:
    """'2026-11-24' → '2026年11月24日' (Arabic numerals, no leading zeros: GB/T 9704)."""
    if value in (None, ''):
        return ''
    if _placeholder(value):
        return value
    day = as_date(value)
    return f'{day.year}年{day.month}月{day.day}日'


def cn_month(value) -> str:
    """'2026-01' → '2026年1月'."""
    if value in (None, ''):
        return ''
    if _placeholder(value):
        return value
    year, month = str(value).split('-')[:2]
    return f'{int(year)}年{int(month)}月'


def money(value) -> str:
    """1234567.8 → '1,234,567.80'."""
    if _placeholder(value):
        return value
    return f'{fen(to_decimal(value)):,.2f}'


def money_upper(value) -> str:
    """Amount in capital numerals as written on legal documents: 壹万贰仟叁佰肆拾伍元陆角柒分."""
    if _placeholder(value):
        return value
    amount = fen(to_decimal(value))
    if amount < 0:
        raise ValueError('金额不能为负数')
    yuan = int(amount)
    cents = int((amount - yuan) * 100)
    jiao, fen_ = divmod(cents, 10)
    if yuan == 0 and cents == 0:
        return '零元整'
    out = _integer_upper(yuan) + '元' if yuan else ''
    if cents == 0:
        return out + '整'
    if jiao:
        out += _DIGITS[jiao] + '角'
    elif yuan:
        out += '零'
    if fen_:
        out += _DIGITS[fen_] + '分'
    else:
        out += '整'
    return out


def _integer_upper(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    out = ''
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(out)
            continue
        if need_zero or (out and group < 1000):
            out += '零'
        out += _group_upper(group) + _BIG_UNITS[index]
        need_zero = False
    return out


def _group_upper(group: int) -> str:
    digits = f'{group:04d}'.lstrip('0')
    out, zero = '', False
    for position, char in enumerate(digits):
        digit = int(char)
        unit = _SMALL_UNITS[len(digits) - position - 1]
        if digit == 0:
            zero = True
            continue
        if zero:
            out += '零'
            zero = False
        out += _DIGITS[digit] + unit
    return out


def percent(value: Decimal) -> str:
    return f'{value * 100:g}%'


def cn_ordinal(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for "一、" and "（一）" numbering)."""
    digits = '零一二三四五六七八九'
    number = int(number)
    if not 0 < number < 100:
        raise ValueError(f'序号超出范围：{number}')
    tens, ones = divmod(number, 10)
    return (('' if tens == 1 else digits[tens]) + '十' if tens else '') + (digits[ones] if ones else '')
