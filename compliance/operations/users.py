"""Building a user row: for seeding, the demo, tests and the first admin. Admins create accounts through
compliance.operations.accounts.create_account, which checks who may and audits it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.errors import ValidationFailed
from compliance.models import Jurisdiction, Role, User, UserRole
from compliance.passwords import hash_password, password_problem

MIN_PASSWORD_LENGTH = 10


def create_user(session: Session, *, login: str, name: str, password: str, jurisdiction: Jurisdiction,
                roles: set[Role] | frozenset[Role], supervisor_number: str | None = None,
                email: str | None = None, min_password_length: int = MIN_PASSWORD_LENGTH) -> User:
    """Create an active user; refuse duplicates and weak passwords with a clear message."""
    login = (login or "").strip().lower()   # logins are case-insensitive: stored lower-cased
    if not login:
        raise ValidationFailed("用户名不能为空", field="login")
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise ValidationFailed(f"用户名“{login}”已存在", field="login")
    if supervisor_number and session.scalar(select(User.id).where(User.supervisor_number == supervisor_number)):
        raise ValidationFailed(f"监督员证号“{supervisor_number}”已被使用", field="supervisor_number")
    problem = password_problem(password or "", login=login, min_length=min_password_length)
    if problem:
        raise ValidationFailed(problem, field="password")
    if not roles:
        raise ValidationFailed("至少需要一个角色", field="roles")
    user = User(login=login, name=name.strip() or login, password_hash=hash_password(password),
                jurisdiction=jurisdiction, supervisor_number=supervisor_number or None, email=email or None,
                role_rows=[UserRole(role=Role(r).value) for r in sorted(roles)])
    session.add(user)
    session.flush()
    return user
