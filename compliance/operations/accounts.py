"""Accounts: logging in (with throttling), sessions kept in the database, passwords, and what admins do to users.

Logging in and resuming a session are the only operations without an actor: they establish one. Everything
an admin does is checked by compliance.access and written to the append-only AdminEvent audit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.access import Permission, permissions, require
from compliance.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from compliance.models import AdminEvent, Jurisdiction, LoginThrottle, Role, User, UserRole, UserSession
from compliance.passwords import MAX_PASSWORD_LENGTH, hash_password, password_problem, spend_verification, verify_password


class LoginRefused(DomainError):
    """Wrong login or password, or a deactivated account: one message for all, so logins cannot be probed."""

    status = 200
    code = "login_failed"


class LoginThrottled(DomainError):
    status = 429
    code = "throttled"


@dataclass(frozen=True)
class AccessRules:
    """The configurable numbers of sessions and login throttling (see compliance.config.Defaults)."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    max_age: dt.timedelta = dt.timedelta(hours=12)
    free_failures: int = 3
    lock_failures: int = 10
    address_free_failures: int = 20
    address_lock_failures: int = 100
    lock_for: dt.timedelta = dt.timedelta(minutes=15)
    max_delay: int = 60
    window: dt.timedelta = dt.timedelta(minutes=60)
    password_min_length: int = 10

    @classmethod
    def from_config(cls, config: Mapping) -> AccessRules:
        return cls(idle=dt.timedelta(minutes=float(config.get("SESSION_IDLE_MINUTES", 30))),
                   max_age=dt.timedelta(hours=float(config.get("SESSION_MAX_HOURS", 12))),
                   free_failures=int(config.get("LOGIN_FREE_FAILURES", 3)),
                   lock_failures=int(config.get("LOGIN_LOCK_FAILURES", 10)),
                   address_free_failures=int(config.get("LOGIN_ADDRESS_FREE_FAILURES", 20)),
                   address_lock_failures=int(config.get("LOGIN_ADDRESS_LOCK_FAILURES", 100)),
                   lock_for=dt.timedelta(minutes=float(config.get("LOGIN_LOCK_MINUTES", 15))),
                   max_delay=int(config.get("LOGIN_MAX_DELAY_SECONDS", 60)),
                   window=dt.timedelta(minutes=float(config.get("LOGIN_FAILURE_WINDOW_MINUTES", 60))),
                   password_min_length=int(config.get("PASSWORD_MIN_LENGTH", 10)))

    def limits(self, scope: str) -> tuple[int, int]:
        """(failures before delays, failures that lock) for a scope."""
        if scope == "address":
            return self.address_free_failures, self.address_lock_failures
        return self.free_failures, self.lock_failures


# ------------------------------------------------------------------------------------------------ login

#: Longest login anyone has; longer input is not looked up (and counts as a failure like any other).
MAX_LOGIN_LENGTH = 64


def _throttle_keys(login: str, address: str) -> list[tuple[str, str]]:
    return [("account", login.strip().lower()[:100]), ("address", (address or "unknown")[:100])]


def _delay(failures: int, free: int, rules: AccessRules) -> int:
    """Seconds the next attempt must wait after `failures` failures: 0, then 1, 2, 4 … capped."""
    if failures < free:
        return 0
    return min(2 ** (failures - free), rules.max_delay)


def throttle_state(row: LoginThrottle, rules: AccessRules, now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """("locked" | "waiting" | "free", until when) for a throttle row."""
    if row.locked_until is not None and row.locked_until > now:
        return "locked", row.locked_until
    if now - row.last_failure_at > rules.window:
        return "free", None
    until = row.last_failure_at + dt.timedelta(seconds=_delay(row.failures, rules.limits(row.scope)[0], rules))
    return ("waiting", until) if until > now else ("free", None)


def _check_throttles(session: Session, keys: list[tuple[str, str]], rules: AccessRules, now: dt.datetime) -> None:
    rows = session.scalars(select(LoginThrottle).where(
        LoginThrottle.scope.in_([s for s, _ in keys]), LoginThrottle.key.in_([k for _, k in keys]))).all()
    for row in rows:
        if (row.scope, row.key) not in keys:
            continue
        state, until = throttle_state(row, rules, now)
        if state == "locked":
            minutes = max(1, int((until - now).total_seconds() + 59) // 60)
            what = "该账号" if row.scope == "account" else "您所在的网络地址"
            raise LoginThrottled(f"{what}登录失败次数过多，已临时锁定，请{minutes}分钟后再试，或请管理员解锁。",
                                 retry_after=int((until - now).total_seconds()) + 1)
        if state == "waiting":
            seconds = int((until - now).total_seconds()) + 1
            raise LoginThrottled(f"登录失败次数过多，请{seconds}秒后再试。", retry_after=seconds)


def _record_failure(session: Session, keys: list[tuple[str, str]], user: User | None, rules: AccessRules,
                    now: dt.datetime) -> None:
    for scope, key in keys:
        row = session.get(LoginThrottle, (scope, key))
        if row is None:
            row = LoginThrottle(scope=scope, key=key, failures=0, first_failure_at=now, last_failure_at=now)
            session.add(row)
            try:
                with session.begin_nested():
                    session.flush()
            except IntegrityError:   # a concurrent failure created it first: count on that row
                row = session.get(LoginThrottle, (scope, key), populate_existing=True)
        elif now - row.last_failure_at > rules.window or (row.locked_until is not None and row.locked_until <= now):
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        session.execute(update(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
                        .values(failures=LoginThrottle.failures + 1, last_failure_at=now))
        session.refresh(row)
        if row.failures >= rules.limits(scope)[1] and row.locked_until is None:
            row.locked_until = now + rules.lock_for
            session.add(AdminEvent(action="login.locked", actor_id=None,
                                   target_user_id=user.id if (user is not None and scope == "account") else None,
                                   jurisdiction_id=user.jurisdiction_id if (user is not None and scope == "account")
                                   else None,
                                   details={"scope": scope, "key": key, "failures": row.failures,
                                            "locked_until": row.locked_until.isoformat()},
                                   address=keys[1][1][:45], created_at=now))
    session.flush()


def attempt_login(session: Session, *, login: str, password: str, address: str, now: dt.datetime,
                  rules: AccessRules) -> User:
    """The user, or LoginRefused / LoginThrottled. The caller commits either way (failures must be counted).

    Unknown logins, deactivated accounts and wrong passwords cost the same argon2 work and get the same answer.
    """
    login = (login or "").strip()
    password = password or ""
    keys = _throttle_keys(login, address)
    _check_throttles(session, keys, rules, now)
    user = None
    if 0 < len(login) <= MAX_LOGIN_LENGTH:
        user = session.scalar(select(User).where(User.login == login.lower()))
    if user is not None and len(password) <= MAX_PASSWORD_LENGTH:
        ok = verify_password(user.password_hash, password)
    else:
        spend_verification(password[:MAX_PASSWORD_LENGTH])
        ok = False
    if not ok or user is None or not user.is_active:
        _record_failure(session, keys, user, rules, now)
        raise LoginRefused("用户名或密码错误")
    session.execute(delete(LoginThrottle).where(LoginThrottle.scope == "account", LoginThrottle.key == keys[0][1]))
    return user


# --------------------------------------------------------------------------------------------- sessions

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, *, address: str, user_agent: str, now: dt.datetime,
                  rules: AccessRules) -> str:
    """A new signed-in session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_sha256=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                            expires_at=now + rules.max_age, address=(address or "")[:45],
                            user_agent=(user_agent or "")[:200]))
    session.flush()
    return token


#: last_seen_at is written at most this often (a write per request would serialise SQLite readers).
TOUCH_EVERY = dt.timedelta(seconds=60)


def resume_session(session: Session, token: str | None, *, now: dt.datetime, rules: AccessRules) -> UserSession | None:
    """The live session for a cookie's token, or None (ended, idle too long, too old, account deactivated)."""
    if not token or len(token) > 100:
        return None
    # populate_existing: a session that lives across requests (a script, a test) must see an ending at once.
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _token_hash(token))
                         .execution_options(populate_existing=True))
    if row is None or row.ended_at is not None:
        return None
    reason = None
    if not row.user.is_active:
        reason = "deactivated"
    elif now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at > rules.idle:
        reason = "idle"
    if reason is not None:
        row.ended_at, row.ended_reason = now, reason
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(session: Session, token: str | None, *, reason: str, now: dt.datetime) -> None:
    """Log out: the cookie's session can never be used again, even if the cookie was copied."""
    if not token:
        return
    session.execute(update(UserSession).where(UserSession.token_sha256 == _token_hash(token),
                                              UserSession.ended_at.is_(None))
                    .values(ended_at=now, ended_reason=reason))


def _end_user_sessions(session: Session, user: User, *, reason: str, now: dt.datetime,
                       keep_token: str | None = None) -> int:
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep_token:
        query = query.where(UserSession.token_sha256 != _token_hash(keep_token))
    return session.execute(query.values(ended_at=now, ended_reason=reason)).rowcount or 0


def live_sessions(session: Session, user: User, *, now: dt.datetime, rules: AccessRules) -> list[UserSession]:
    """The user's sessions that could still be used (for the account page and admins)."""
    rows = session.scalars(select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
                                                     UserSession.expires_at > now)
                           .order_by(UserSession.last_seen_at.desc())).all()
    return [r for r in rows if now - r.last_seen_at <= rules.idle]


# -------------------------------------------------------------------------------------------- passwords

def check_password(password: str, *, login: str, rules: AccessRules) -> None:
    problem = password_problem(password or "", login=login, min_length=rules.password_min_length)
    if problem:
        raise ValidationFailed(problem, field="password")


def change_password(session: Session, user: User, *, current: str, new: str, now: dt.datetime, rules: AccessRules,
                    keep_token: str | None = None, address: str = "") -> int:
    """The user changes their own password; every other session of theirs ends. Returns how many ended."""
    if len(current or "") > MAX_PASSWORD_LENGTH or not verify_password(user.password_hash, current or ""):
        raise ValidationFailed("当前密码不正确", field="current")
    if new == current:
        raise ValidationFailed("新密码不能与当前密码相同", field="password")
    check_password(new, login=user.login, rules=rules)
    user.password_hash = hash_password(new)
    user.password_changed_at, user.must_change_password = now, False
    ended = _end_user_sessions(session, user, reason="password_changed", now=now, keep_token=keep_token)
    _admin_event(session, user, "user.password_changed", user, now, address=address, sessions_ended=ended)
    session.flush()
    return ended


# ------------------------------------------------------------------------------------------------ admin

def _admin_event(session: Session, actor: User | None, action: str, target: User | None, now: dt.datetime, *,
                 jurisdiction: Jurisdiction | None = None, address: str = "", **details) -> AdminEvent:
    from compliance.snapshots import plain
    event = AdminEvent(actor_id=actor.id if actor else None, action=action,
                       target_user_id=target.id if target else None,
                       jurisdiction_id=(jurisdiction.id if jurisdiction is not None
                                        else target.jurisdiction_id if target is not None else None),
                       details=plain(details), address=(address or "")[:45], created_at=now)
    session.add(event)
    return event


def _managed_user(session: Session, actor: User, user_id: int) -> User:
    user = session.get(User, user_id)
    absent = f"用户 {user_id} 不存在"
    if user is None:
        raise NotFound(absent)
    require(actor, Permission.MANAGE_USERS, user.jurisdiction, absent=absent)
    return user


_TEXT_LIMITS = {"login": ("用户名", 64), "name": ("姓名", 50), "supervisor_number": ("监督员证号", 32),
                "email": ("电子邮箱", 200)}


def _text(field: str, value: str | None, *, required: bool = False) -> str | None:
    label, limit = _TEXT_LIMITS[field]
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{label}不能超过{limit}个字符", field=field)
    if any(ord(c) < 32 for c in value):
        raise ValidationFailed(f"{label}含有控制字符", field=field)
    if field == "login" and value and not all(c.isalnum() or c in "._-@" for c in value):
        raise ValidationFailed("用户名只能含字母、数字和 . _ - @", field=field)
    if field == "email" and value and ("@" not in value or " " in value):
        raise ValidationFailed("电子邮箱格式不正确", field=field)
    return value or None


def _roles(roles: Iterable[str | Role]) -> set[Role]:
    try:
        out = {Role(r) for r in roles}
    except ValueError:
        raise ValidationFailed("未知的角色", field="roles") from None
    if not out:
        raise ValidationFailed("至少需要一个角色", field="roles")
    return out


def create_account(session: Session, *, actor: User, login: str, name: str, password: str,
                   jurisdiction: Jurisdiction, roles: Iterable[str | Role], supervisor_number: str | None = None,
                   email: str | None = None, now: dt.datetime, rules: AccessRules, address: str = "") -> User:
    """An admin creates an account in their scope; the user must choose their own password at first login."""
    from compliance.operations.users import create_user
    require(actor, Permission.MANAGE_USERS, jurisdiction, absent="辖区不存在")
    user = create_user(session, login=_text("login", login, required=True), name=_text("name", name, required=True),
                       password=password, jurisdiction=jurisdiction, roles=_roles(roles),
                       supervisor_number=_text("supervisor_number", supervisor_number),
                       email=_text("email", email), min_password_length=rules.password_min_length)
    user.must_change_password = True
    user.created_at = now
    _admin_event(session, actor, "user.created", user, now, address=address, login=user.login,
                 roles=sorted(r.value for r in user.roles), jurisdiction_name=jurisdiction.name)
    session.flush()
    return user


def update_account(session: Session, *, actor: User, user_id: int, name: str, email: str | None,
                   supervisor_number: str | None, roles: Iterable[str | Role], jurisdiction: Jurisdiction,
                   now: dt.datetime, address: str = "") -> User:
    """Change a user's name, contact, roles or jurisdiction (both the old and the new one in the admin's scope)."""
    user = _managed_user(session, actor, user_id)
    require(actor, Permission.MANAGE_USERS, jurisdiction, absent="辖区不存在")
    new_roles = _roles(roles)
    if user.id == actor.id and Role.ADMIN not in new_roles:
        raise NotAllowed("不能取消自己的管理员角色（请由另一名管理员操作）")
    values = {"name": _text("name", name, required=True), "email": _text("email", email),
              "supervisor_number": _text("supervisor_number", supervisor_number)}
    if values["supervisor_number"] and session.scalar(select(User.id).where(
            User.supervisor_number == values["supervisor_number"], User.id != user.id)):
        raise ValidationFailed(f"监督员证号“{values['supervisor_number']}”已被使用", field="supervisor_number")
    changes = {}
    for key, value in values.items():
        if getattr(user, key) != value:
            changes[key] = [getattr(user, key), value]
            setattr(user, key, value)
    if user.jurisdiction_id != jurisdiction.id:
        changes["jurisdiction"] = [user.jurisdiction.name, jurisdiction.name]
        user.jurisdiction = jurisdiction
    if new_roles != user.roles:
        changes["roles"] = [sorted(r.value for r in user.roles), sorted(r.value for r in new_roles)]
        user.role_rows = [UserRole(role=r.value) for r in sorted(new_roles)]
    if changes:
        _admin_event(session, actor, "user.updated", user, now, address=address, changes=changes)
    session.flush()
    return user


def set_active(session: Session, *, actor: User, user_id: int, active: bool, now: dt.datetime,
               address: str = "") -> User:
    """Deactivate (every session ends at once) or reactivate an account."""
    user = _managed_user(session, actor, user_id)
    if user.id == actor.id and not active:
        raise NotAllowed("不能停用自己的账号")
    if user.is_active == active:
        return user
    user.is_active = active
    ended = 0 if active else _end_user_sessions(session, user, reason="deactivated", now=now)
    _admin_event(session, actor, "user.activated" if active else "user.deactivated", user, now, address=address,
                 sessions_ended=ended)
    session.flush()
    return user


def reset_password(session: Session, *, actor: User, user_id: int, password: str, now: dt.datetime,
                   rules: AccessRules, address: str = "") -> User:
    """An admin sets a temporary password: the user's sessions end, their lock lifts, and they choose a new one."""
    user = _managed_user(session, actor, user_id)
    check_password(password, login=user.login, rules=rules)
    user.password_hash = hash_password(password)
    user.password_changed_at, user.must_change_password = now, True
    ended = _end_user_sessions(session, user, reason="password_reset", now=now)
    session.execute(delete(LoginThrottle).where(LoginThrottle.scope == "account",
                                                LoginThrottle.key == user.login.lower()))
    _admin_event(session, actor, "user.password_reset", user, now, address=address, sessions_ended=ended)
    session.flush()
    return user


def sign_out_everywhere(session: Session, *, actor: User, user_id: int, now: dt.datetime,
                        keep_token: str | None = None, address: str = "") -> int:
    """End every session of a user (an admin for anyone in scope; anyone for themselves)."""
    if user_id == actor.id:
        user = actor
    else:
        user = _managed_user(session, actor, user_id)
    ended = _end_user_sessions(session, user, reason="signed_out_everywhere", now=now, keep_token=keep_token)
    _admin_event(session, actor, "user.signed_out_everywhere", user, now, address=address, sessions_ended=ended)
    session.flush()
    return ended


def unlock_login(session: Session, *, actor: User, scope: str, key: str, now: dt.datetime, address: str = "") -> None:
    """Lift a login lock or delay. An account's lock: an admin over that account; an address's: city admins."""
    row = session.get(LoginThrottle, (scope, key))
    absent = "该登录限制不存在"
    if row is None:
        raise NotFound(absent)
    # The key is the login as typed, lower-cased (_throttle_keys): "ZhangSan" is throttled under "zhangsan".
    owners = (session.scalars(select(User).where(func.lower(User.login) == key)).all()
              if scope == "account" else [])
    if not owners:   # an address, or a login no account has: the city's admins
        city = session.scalar(select(Jurisdiction).where(Jurisdiction.parent_id.is_(None)))
        require(actor, Permission.MANAGE_USERS, city, absent=absent)
    else:
        require(actor, Permission.MANAGE_USERS, *(u.jurisdiction for u in owners), absent=absent)
    user = owners[0] if len(owners) == 1 else None
    session.delete(row)
    _admin_event(session, actor, "login.unlocked", user, now, address=address, scope=scope, key=key,
                 failures=row.failures)
    session.flush()


#: What an issuer's letterhead holds (key, Chinese label, max length); `bank.*` is the union-funds account.
LETTERHEAD_FIELDS = (
    ("committee_name", "委员会名称（发文机关标志）", 100), ("address", "地址", 200), ("contact", "联系人及电话", 100),
    ("phone", "办公电话", 50), ("chair", "委员会主任（签发人）", 50), ("vice_chair", "委员会副主任", 50),
    ("federation_chair", "总工会主席（法定代表人）", 50), ("bank.account_name", "收款户名", 100),
    ("bank.bank", "开户银行", 100), ("bank.account_no", "银行账号", 50),
)


def letterhead_values(issuer: Jurisdiction) -> dict[str, str]:
    """The letterhead as flat form values."""
    head = issuer.letterhead or {}
    out = {"committee_name": issuer.committee_name}
    for key, _label, _limit in LETTERHEAD_FIELDS[1:]:
        if key.startswith("bank."):
            out[key] = str((head.get("bank") or {}).get(key[5:], "") or "")
        else:
            out[key] = str(head.get(key, "") or "")
    return out


def update_letterhead(session: Session, *, actor: User, jurisdiction_id: int, values: Mapping[str, str],
                      now: dt.datetime, address: str = "") -> Jurisdiction:
    """Change what a committee's notices print about it; the change is audited field by field.

    Issued notices keep the letterhead they were issued with (their snapshot is frozen).
    """
    issuer = session.get(Jurisdiction, jurisdiction_id)
    absent = f"发文机关 {jurisdiction_id} 不存在"
    if issuer is None:
        raise NotFound(absent)
    require(actor, Permission.MANAGE_ISSUERS, issuer, absent=absent)
    unknown = set(values) - {k for k, _l, _m in LETTERHEAD_FIELDS}
    if unknown:
        raise ValidationFailed(f"文书抬头没有这些项：{'、'.join(sorted(unknown))}", field=sorted(unknown)[0])
    before = letterhead_values(issuer)
    clean = dict(before)
    for key, label, limit in LETTERHEAD_FIELDS:
        if key not in values:
            continue
        value = (values[key] or "").strip()
        if len(value) > limit:
            raise ValidationFailed(f"{label}不能超过{limit}个字符", field=key)
        if any(ord(c) < 32 for c in value):
            raise ValidationFailed(f"{label}含有控制字符", field=key)
        clean[key] = value
    if not clean["committee_name"]:
        raise ValidationFailed("请填写委员会名称", field="committee_name")
    _check_printable(clean)
    changes = {k: [before[k], clean[k]] for k in clean if clean[k] != before[k]}
    if not changes:
        return issuer
    issuer.committee_name = clean["committee_name"]
    head = dict(issuer.letterhead or {})
    bank = dict(head.get("bank") or {})
    for key, value in clean.items():
        if key == "committee_name":
            continue
        if key.startswith("bank."):
            bank[key[5:]] = value
        else:
            head[key] = value
    head["bank"] = bank
    issuer.letterhead = head
    _admin_event(session, actor, "issuer.letterhead_changed", None, now, jurisdiction=issuer, address=address,
                 issuer=issuer.committee_name, changes=changes)
    session.flush()
    return issuer


def unprintable(exc) -> str:
    """The characters a MissingGlyph names, as a Chinese list: “😀”（U+1F600）."""
    return "、".join(f"“{c}”（U+{ord(c):04X}）" for c in exc.chars)


def _check_printable(values: Mapping[str, str]) -> None:
    """A letterhead prints on every notice: a character no bundled font has is refused now, not at issue."""
    import letters
    labels = {k: label for k, label, _m in LETTERHEAD_FIELDS}
    for key, value in values.items():
        try:
            letters.check_glyphs(value)
        except letters.MissingGlyph as exc:
            raise ValidationFailed(f"{labels.get(key, key)}含有文书字体无法排印的字符：{unprintable(exc)}",
                                   field=key) from None


def visible_admin_events(session: Session, actor: User, *, limit: int = 200) -> list[AdminEvent]:
    """The admin audit an admin may read: changes in their subtree (city admins: everything)."""
    require(actor, Permission.MANAGE_USERS, absent="")
    query = select(AdminEvent).order_by(AdminEvent.id.desc()).limit(limit)
    if actor.jurisdiction.parent_id is not None:
        query = query.join(Jurisdiction, Jurisdiction.id == AdminEvent.jurisdiction_id).where(
            Jurisdiction.path.startswith(actor.jurisdiction.path, autoescape=True))
    return list(session.scalars(query))


def can_manage(actor: User, target: User) -> bool:
    return Permission.MANAGE_USERS in permissions(actor) and target.jurisdiction.path.startswith(
        actor.jurisdiction.path)
