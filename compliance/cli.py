"""The `compliance` command: database, demo data, users, the server, and the case chores."""
from __future__ import annotations

import functools
import getpass
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from compliance.db import db
from compliance.errors import DomainError


def _create_app():
    from compliance import create_app
    # Commands decide themselves whether the schema must be current (db upgrade must run on an old one).
    return create_app(check_schema=False)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main():
    """工会劳动法律监督案件管理 (compliance case management)."""


def one_line_errors(func):
    """Turn refusals into a one-line message and exit status 1, never a traceback; roll back first."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            raise click.ClickException(getattr(exc, "message", None) or str(exc)) from None
    return wrapper


def user_by_login(login: str):
    """The user with this login, or a one-line error."""
    from compliance.models import User
    user = db.session.scalar(select(User).where(User.login == login))
    if user is None:
        raise click.ClickException(f"没有用户 {login}")
    return user


def require_current_schema():
    from compliance.migrate import SchemaOutOfDate, ensure_schema_current
    try:
        ensure_schema_current(current_app, db.session.connection())
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None


@main.group("db")
def db_group():
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Migrate the database to the latest schema and add the Beijing jurisdictions when missing."""
    _upgrade_and_seed()


def _upgrade_and_seed():
    from compliance.migrate import current_revision, head_revision, upgrade
    from compliance.seed import seed_jurisdictions
    url = current_app.config["DATABASE_URL"]
    before = current_revision(db.engine)
    upgrade(url)
    added = seed_jurisdictions(db.session)
    db.session.commit()
    head = head_revision()
    state = "已是最新" if before == head else f"已从 {before or '空库'} 升级"
    click.echo(f"数据库结构{state}（{head}）；新增辖区 {added} 个。")


@main.command("init-db")
@with_appcontext
def init_db():
    """Same as `db upgrade`: create or migrate the schema, seed the jurisdictions."""
    _upgrade_and_seed()


@db_group.command("current")
@with_appcontext
def db_current():
    """Print the database's schema revision and the code's head."""
    from compliance.migrate import current_revision, head_revision
    click.echo(f"database: {current_revision(db.engine) or '(empty)'}  code head: {head_revision()}")


@main.command("demo-data")
@with_appcontext
@one_line_errors
def demo_data():
    """Load demo streets, users, enterprises and cases (does nothing if they are already there)."""
    from compliance.demo import DEMO_PASSWORD, load_demo
    from compliance.documents import document_store
    require_current_schema()
    created = load_demo(db.session, store=document_store())
    if not created:
        db.session.rollback()
        click.echo("演示数据已存在，未做更改。")
        return
    db.session.commit()
    click.echo(f"已载入演示数据：{created}。演示账号密码均为 {DEMO_PASSWORD}")


@main.command("demo-logins")
@with_appcontext
def demo_logins():
    """Print the demo accounts."""
    from compliance.demo import DEMO_PASSWORD, DEMO_USERS
    click.echo("演示账号（密码均为 %s）：" % DEMO_PASSWORD)
    for login, name, _j, roles, _n in DEMO_USERS:
        click.echo(f"  {login:<14} {name}  {'、'.join(r.label for r in roles)}")


@main.command("create-user")
@click.argument("login")
@click.option("--name", required=True, help="Real name (姓名).")
@click.option("--jurisdiction", "jurisdiction_code", required=True, help="Jurisdiction code, e.g. 110105.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["supervisor", "approver", "admin", "auditor"]))
@click.option("--supervisor-number", default=None, help="劳动法律监督员证号.")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@one_line_errors
def create_user_command(login, name, jurisdiction_code, roles, supervisor_number, email, password_stdin):
    """Create a user who can log in."""
    from compliance.models import Jurisdiction, Role
    from compliance.operations.users import create_user
    require_current_schema()
    jurisdiction = db.session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction_code))
    if jurisdiction is None:
        raise click.ClickException(f"没有代码为 {jurisdiction_code} 的辖区")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码: ")
    user = create_user(db.session, login=login, name=name, password=password, jurisdiction=jurisdiction,
                       roles={Role(r) for r in roles}, supervisor_number=supervisor_number, email=email)
    db.session.commit()
    click.echo(f"已创建用户 {user.login}（{jurisdiction.name}）")


@main.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: 1 on SQLite, 2×CPU+1 otherwise).")
@with_appcontext
def serve(host, port, workers):
    """Run the service under gunicorn."""
    from compliance.server import run_gunicorn
    require_current_schema()
    url = current_app.config["DATABASE_URL"]
    if workers is None:
        workers = 1 if url.startswith("sqlite") else 2 * (os.cpu_count() or 1) + 1
    # Let go of the database before forking workers: SQLite's write lock must not stay with this process.
    db.session.rollback()
    db.session.remove()
    db.engine.dispose()
    click.echo(f"服务地址 http://{host}:{port}/ （{workers} 个 worker，数据库 {url.split('://')[0]}）")
    run_gunicorn(host=host, port=port, workers=workers)


def register_more_commands() -> None:
    """Later modules add their command groups here (kept import-light for the CLI's start-up)."""
    from compliance import case_cli, holiday_cli, notices_cli
    main.add_command(case_cli.case_group)
    main.add_command(notices_cli.notices_group)
    main.add_command(holiday_cli.holidays_group)
    main.add_command(case_cli.diagram_command)


register_more_commands()


if __name__ == "__main__":
    main()
