"""Enterprise identifiers: 统一社会信用代码 (GB 32100-2015) and the older 15-digit 注册号."""
from __future__ import annotations

import re

#: GB 32100-2015 alphabet: digits and capitals without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: Position 1: registering authority. 9 = market regulation, 8 = trade unions, A/N/Y = others
#: (python-stdnum rejects A, N and Y, which is why we do not use it).
_AUTHORITIES = set("123456789ANY")
_WHITESPACE = re.compile(r"[\s\u3000-]+")
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF5B)}


class InvalidIdentifier(ValueError):
    """An identifier that fails its standard; the message is for the supervisor."""


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str) -> str:
    """Validate a 统一社会信用代码 and return it upper-cased without spaces; raise InvalidIdentifier."""
    if raw is None:
        raise InvalidIdentifier("统一社会信用代码不能为空")
    code = _WHITESPACE.sub("", str(raw)).upper()
    # Full-width digits and letters are common in pasted text.
    code = code.translate(_FULL_WIDTH)
    if len(code) != 18:
        raise InvalidIdentifier(f"统一社会信用代码应为18位，“{code}”为{len(code)}位")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise InvalidIdentifier(f"统一社会信用代码含有不允许的字符：{'、'.join(bad)}（不使用I、O、S、V、Z）")
    if code[0] not in _AUTHORITIES:
        raise InvalidIdentifier(f"统一社会信用代码第1位（登记管理部门）“{code[0]}”无效")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(f"统一社会信用代码校验位错误：第18位应为“{expected}”，实为“{code[17]}”")
    return code


def is_valid_uscc(raw: str) -> bool:
    """True when raw is a valid USCC after normalisation."""
    try:
        normalize_uscc(raw)
    except InvalidIdentifier:
        return False
    return True


def normalize_registration_number(raw: str) -> str:
    """Validate an old 15-digit 工商注册号 (ISO 7064 MOD 11,10 check digit)."""
    code = _WHITESPACE.sub("", str(raw or ""))
    if len(code) != 15 or not code.isdigit():
        raise InvalidIdentifier(f"注册号应为15位数字，“{code}”不符合")
    product = 10
    for digit in code[:14]:
        total = (product + int(digit)) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    if int(code[14]) != check:
        raise InvalidIdentifier(f"注册号校验位错误：第15位应为“{check}”")
    return code
