"""Password hashing with argon2id (argon2-cffi's recommended parameters) and the password policy."""
from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Longer inputs are refused before hashing (a megabyte "password" would only cost the server).
MAX_PASSWORD_LENGTH = 128
_COMMON = Path(__file__).parent / "data" / "common-passwords.txt"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("no account has this password: the hash only spends the same work")


def spend_verification(password: str) -> None:
    """Do the work of one verification against a hash no account has (unknown logins cost what known ones do)."""
    verify_password(_dummy_hash(_hasher), password)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, login: str, min_length: int) -> str | None:
    """Why this password is refused (a Chinese sentence), or None when it is acceptable."""
    if len(password) < min_length:
        return f"密码至少{min_length}位"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码不能超过{MAX_PASSWORD_LENGTH}位"
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return "密码不能含有控制字符"
    if login and len(login) >= 3 and login.lower() in password.lower():
        return "密码不能包含用户名"
    if len(set(password)) < 4:
        return "密码过于简单（至少含4个不同字符）"
    if password.lower() in common_passwords():
        return "该密码是常见弱密码，请换一个"
    return None
