"""What every `compliance` command shares: one-line refusals, looking up the acting user, the schema check."""
from __future__ import annotations

import functools

import click
from flask import current_app
from sqlalchemy import select

from compliance.db import db
from compliance.errors import DomainError


@functools.lru_cache(maxsize=1)
def _typed_names() -> frozenset[str]:
    """The names a command-line user types: step inputs (--input) and draft facts (--set)."""
    import letters
    from workflows.states import TRIGGERS
    names = {f.name for spec in TRIGGERS.values() for f in spec.fields}
    names |= {fact.key for kind in letters.NOTICE_TYPES.values() for fact in kind.editable}
    return frozenset(names)


def one_line_errors(func):
    """Turn refusals into a one-line message and exit status 1, never a traceback; roll back first."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            message = getattr(exc, "message", None) or str(exc)
            field = getattr(exc, "field", None)
            if field and field not in message and field in _typed_names():
                message += f"（{field}）"   # the name a command-line user types in --input / --set
            raise click.ClickException(message) from None
    return wrapper


def user_by_login(login: str):
    """The user with this login, or a one-line error."""
    from compliance.models import User
    user = db.session.scalar(select(User).where(User.login == (login or "").strip().lower()))
    if user is None:
        raise click.ClickException(f"没有用户 {login}")
    return user


def require_current_schema():
    from compliance.migrate import SchemaOutOfDate, ensure_schema_current
    try:
        ensure_schema_current(current_app, db.session.connection())
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None


#: A row id on the command line: a positive 32-bit integer, so a typo never reaches the database as an overflow.
ID = click.IntRange(1, 2**31 - 1)
