"""Personal API tokens: made (the secret shown once), listed, revoked, and resolved on each API request.

A token acts as its user: the same roles and jurisdiction, read from the user row on every request (a role
taken away or an account deactivated takes effect at once). A user manages their own tokens; an admin manages
the tokens of the users in their jurisdiction (as they may reset those users' passwords), and every change is
written to the admin audit.

The secret is 32 random bytes; only its SHA-256 is stored. argon2 (the passwords' hash) protects secrets a
person chose, which can be guessed; a 256-bit random secret cannot be, so a slow salted hash would add 50 ms
and a memory-hard computation to every API request, and could not be found by an indexed lookup, for nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.access import Permission, require
from compliance.errors import Forbidden, NotAllowed, NotFound, ValidationFailed
from compliance.models import ApiToken, User
from compliance.operations.accounts import _admin_event

#: Every token starts so: a leaked one is easy to recognise (and to search for in a repository).
SCHEME = "cmpl_"
#: The token's first characters (after the scheme) kept in clear to tell tokens apart.
PREFIX_LENGTH = 8
MAX_NAME = 100
#: Longest token accepted from a request (ours are 5 + 43 characters); anything longer is not looked up.
MAX_TOKEN_LENGTH = 100
DEFAULT_DAYS = 90
MAX_DAYS = 366
#: last_used_at is written at most this often (a write per request would serialise SQLite's readers).
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _owner(session: Session, actor: User | None, user_id: int | None) -> User:
    """The user whose tokens are managed: oneself, or (admins) a user in one's jurisdiction."""
    if actor is None:
        raise Forbidden("须以有效账号操作（--by 登录名）")
    if not actor.is_active:
        raise Forbidden(f"账号 {actor.login} 已停用")
    if user_id is None or user_id == actor.id:
        return actor
    absent = f"用户 {user_id} 不存在"
    target = session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**31 else None
    if target is None:
        require(actor, Permission.MANAGE_USERS, absent=absent)
        raise NotFound(absent)
    require(actor, Permission.MANAGE_USERS, target.jurisdiction, absent=absent)
    return target


def _name(raw) -> str:
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed("令牌名称应为文字", field="name")
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed("请填写令牌名称（例如用在哪个系统）", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"令牌名称不能超过{MAX_NAME}字（现有{len(name)}字）", field="name")
    if any(unicodedata.category(c)[0] == "C" for c in name):
        raise ValidationFailed("令牌名称含有控制字符", field="name")
    return name


def _days(raw) -> int:
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 4:
        raw = int(raw.strip())
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_DAYS:
        raise ValidationFailed(f"有效期应为1至{MAX_DAYS}天", field="days")
    return raw


def create_token(session: Session, *, actor: User, name: str, days: int = DEFAULT_DAYS, now: dt.datetime,
                 user_id: int | None = None, address: str = "") -> tuple[ApiToken, str]:
    """Make a token for the actor (or, for an admin, a user in their jurisdiction); returns it and the secret,
    which is shown this once and never stored."""
    owner = _owner(session, actor, user_id)
    name, days = _name(name), _days(days)
    if not owner.is_active:
        raise NotAllowed(f"账号 {owner.login} 已停用，不能为其创建令牌")
    secret = SCHEME + secrets.token_urlsafe(32)
    token = ApiToken(user_id=owner.id, name=name, prefix=secret[len(SCHEME):len(SCHEME) + PREFIX_LENGTH],
                     token_sha256=token_hash(secret), created_at=now, created_by_id=actor.id,
                     expires_at=now + dt.timedelta(days=days))
    session.add(token)
    session.flush()
    _admin_event(session, actor, "api_token.created", owner, now, address=address, token_id=token.id,
                 name=name, prefix=token.prefix, expires_at=token.expires_at.isoformat())
    session.flush()
    return token, secret


def list_tokens(session: Session, *, actor: User, user_id: int | None = None) -> list[ApiToken]:
    """The owner's tokens, newest first (revoked and expired ones too: the page says so)."""
    owner = _owner(session, actor, user_id)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int, *, actor: User, now: dt.datetime, address: str = "") -> ApiToken:
    """End a token at once: the next request with it answers 401. Revoking a revoked token changes nothing."""
    absent = f"令牌 {token_id} 不存在"
    token = session.get(ApiToken, token_id) if isinstance(token_id, int) and 0 < token_id < 2**31 else None
    if token is None:
        _owner(session, actor, None)
        raise NotFound(absent)
    try:
        _owner(session, actor, token.user_id)
    except NotFound:
        raise NotFound(absent) from None
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by_id = now, actor.id
        _admin_event(session, actor, "api_token.revoked", token.user, now, address=address, token_id=token.id,
                     name=token.name, prefix=token.prefix)
        session.flush()
    return token


def authenticate(session: Session, secret: str | None, *, now: dt.datetime) -> ApiToken | None:
    """The live token for a presented secret (its user active), or None. Marks it used (at most once a minute);
    the caller commits."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH or not secret.isascii():
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_hash(secret))
                           .execution_options(populate_existing=True))
    if token is None or not token.is_live(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return token
