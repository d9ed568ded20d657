"""What every `compliance` command shares: one-line refusals, looking up the acting user, the schema check."""
from __future__ import annotations

import functools

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

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
        except DBAPIError as exc:
            from compliance.protection import is_refusal, refusal_message
            if not is_refusal(exc):
                raise
            db.session.rollback()
            raise click.ClickException(refusal_message(exc)) from None
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


def migration_url() -> str:
    """The URL migrations run with: COMPLIANCE_MIGRATION_DATABASE_URL (the owner role) when set, else the
    service's own COMPLIANCE_DATABASE_URL (SQLite, or a development database with one role)."""
    return current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["DATABASE_URL"]


def apply_role_grants() -> list[str] | None:
    """PostgreSQL with two roles: as the owner, give the service's role its rights (compliance/protection.py).
    None when there is nothing to grant (SQLite, or one role for both)."""
    from sqlalchemy import make_url

    from compliance.db import make_engine
    from compliance.protection import UnclassifiedTable, apply_grants
    app_url, owner_url = current_app.config["DATABASE_URL"], migration_url()
    if not app_url.startswith("postgresql") or make_url(app_url).username == make_url(owner_url).username:
        return None
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            return apply_grants(conn, make_url(app_url).username)
    except UnclassifiedTable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()


def warn_if_privileged() -> None:
    """Say so on stderr when the service connects as a superuser or the tables' owner (it should not)."""
    from compliance.protection import connection_warning
    with db.engine.connect() as conn:
        warning = connection_warning(conn)
    if warning:
        current_app.logger.warning(warning)
        click.echo(warning, err=True)
