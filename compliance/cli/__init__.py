"""The `compliance` command: database, demo data, users, the server, and the case chores."""
from __future__ import annotations

import getpass
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from compliance.cli.common import one_line_errors, require_current_schema, user_by_login  # noqa: F401
from compliance.db import db


def _create_app():
    from compliance import create_app
    # Commands decide themselves whether the schema must be current (db upgrade must run on an old one).
    return create_app(check_schema=False)


class _Main(FlaskGroup):
    """The command group: a database that cannot be reached is one Chinese line naming it, never a traceback."""

    def invoke(self, ctx):
        from sqlalchemy.exc import InterfaceError, OperationalError
        try:
            return super().invoke(ctx)
        except (OperationalError, InterfaceError):
            message = _unreachable(ctx)
            if message is None:
                raise   # the database is there: a real error, shown as one
            raise click.ClickException(message) from None


def _unreachable(ctx) -> str | None:
    """After a connection-class error: the line saying which database cannot be reached, if one cannot."""
    from flask.cli import ScriptInfo

    from compliance.db import unreachable_message
    try:
        config = ctx.ensure_object(ScriptInfo).load_app().config
    except Exception:
        return None
    candidates = [(config.get("DATABASE_URL"), "COMPLIANCE_DATABASE_URL"),
                  (config.get("MIGRATION_DATABASE_URL"), "COMPLIANCE_MIGRATION_DATABASE_URL")]
    for url, setting in candidates:
        if url:
            message = unreachable_message(url, setting)
            if message is not None:
                return message
    return None


@click.group(cls=_Main, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main():
    """工会劳动法律监督案件管理 (compliance case management)."""


@main.group("db")
def db_group():
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Migrate the database to the latest schema and add the Beijing jurisdictions when missing."""
    _upgrade_and_seed()


def _upgrade_and_seed():
    from compliance.cli.common import apply_role_grants, migration_url
    from compliance.db import make_engine
    from compliance.migrate import current_revision, head_revision, upgrade
    from compliance.seed import seed_jurisdictions
    # Migrations run as the owner role (COMPLIANCE_MIGRATION_DATABASE_URL); the service's role then gets its rights.
    url = migration_url()
    owner_engine = make_engine(url)
    try:
        before = current_revision(owner_engine)
    finally:
        owner_engine.dispose()
    upgrade(url)
    apply_role_grants()
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
    from compliance.models import Jurisdiction
    places = {j.code: j for j in db.session.scalars(select(Jurisdiction))}
    click.echo("演示账号（密码均为 %s）：" % DEMO_PASSWORD)
    for login, name, code, roles, _n in DEMO_USERS:
        place = places.get(code)
        where = (f"{place.parent.name}{place.name}" if place is not None and place.parent is not None
                 and place.parent.parent is not None else place.name if place is not None else code)
        click.echo(f"  {login:<14} {name}  {'、'.join(r.label for r in sorted(roles))}  {where}")


@main.command("create-user")
@click.argument("login")
@click.option("--name", required=True, help="Real name (姓名).")
@click.option("--jurisdiction", "jurisdiction_code", required=True, help="Jurisdiction code, e.g. 110105.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["supervisor", "approver", "admin", "auditor"]))
@click.option("--supervisor-number", default=None, help="劳动法律监督员证号.")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--by", "by_login", default=None,
              help="The admin creating the account (not needed only for the very first admin).")
@with_appcontext
@one_line_errors
def create_user_command(login, name, jurisdiction_code, roles, supervisor_number, email, password_stdin, by_login):
    """Create a user who can log in: the first admin from the shell, every later account by an admin (--by)."""
    from compliance.clock import utcnow
    from compliance.models import Jurisdiction, Role, User, UserRole
    from compliance.operations.accounts import AccessRules, create_account
    from compliance.operations.users import create_user
    require_current_schema()
    jurisdiction = db.session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction_code))
    if jurisdiction is None:
        raise click.ClickException(f"没有代码为 {jurisdiction_code} 的辖区")
    rules = AccessRules.from_config(current_app.config)
    has_admin = db.session.scalar(select(User.id).join(UserRole).where(UserRole.role == Role.ADMIN.value,
                                                                       User.is_active.is_(True)).limit(1))
    if by_login is None and has_admin is not None:
        raise click.ClickException("已有管理员账号：请以管理员身份创建用户（--by 管理员登录名）")
    if by_login is None and (set(roles) != {"admin"} or jurisdiction.parent_id is not None):
        raise click.ClickException("第一个账号须为市级管理员（--jurisdiction 110000 --role admin），其余账号由管理员创建")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("密码: ")
    if by_login is None:
        user = create_user(db.session, login=login, name=name, password=password, jurisdiction=jurisdiction,
                           roles={Role.ADMIN}, email=email, min_password_length=rules.password_min_length)
    else:
        user = create_account(db.session, actor=user_by_login(by_login), login=login, name=name, password=password,
                              jurisdiction=jurisdiction, roles=roles, supervisor_number=supervisor_number,
                              email=email, now=utcnow(), rules=rules, address="cli")
    db.session.commit()
    click.echo(f"已创建用户 {user.login}（{jurisdiction.name}）"
               + ("，首次登录须修改密码" if user.must_change_password else ""))


@main.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: 1 on SQLite, 2×CPU+1 otherwise).")
@with_appcontext
def serve(host, port, workers):
    """Run the service under gunicorn.

    The letters' QR codes print PUBLIC_BASE_URL: required on PostgreSQL (refused, naming the setting, when
    missing or a loopback address); on SQLite (the demo) it defaults to the address served here."""
    from compliance.config import PublicBaseUrlMissing, public_base_url
    from compliance.cli.common import warn_if_privileged
    from compliance.documents import document_store
    from compliance.server import run_gunicorn
    listen = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        base = public_base_url(current_app.config, fallback=f"http://{listen}:{port}")
    except PublicBaseUrlMissing as exc:
        raise click.ClickException(str(exc)) from None
    require_current_schema()
    warn_if_privileged()
    url = current_app.config["DATABASE_URL"]
    if workers is None:
        workers = 1 if url.startswith("sqlite") else 2 * (os.cpu_count() or 1) + 1
    # Let go of the database before forking workers: SQLite's write lock must not stay with this process.
    db.session.rollback()
    db.session.remove()
    document_store().recover(db.engine)   # documents a killed process left in staging
    db.engine.dispose()
    click.echo(f"服务地址 http://{host}:{port}/ （{workers} 个 worker，数据库 {url.split('://')[0]}）；"
               f"文书核验地址 {base}/verify/…")
    run_gunicorn(host=host, port=port, workers=workers, control_socket=current_app.config.get("CONTROL_SOCKET"),
                 config={"PUBLIC_BASE_URL": base})


def register_more_commands() -> None:
    """Later modules add their command groups here (kept import-light for the CLI's start-up)."""
    from compliance.cli import archive, cases, holidays, notices, scheduler
    main.add_command(cases.case_group)
    main.add_command(notices.notices_group)
    main.add_command(holidays.holidays_group)
    main.add_command(cases.diagram_command)
    main.add_command(scheduler.scheduler_command)
    main.add_command(scheduler.run_job_command)
    from compliance.cli import tokens
    main.add_command(tokens.tokens_group)
    from compliance.cli import imports
    main.add_command(imports.import_group)
    main.add_command(imports.export_group)
    main.add_command(archive.documents_group)
    main.add_command(archive.backup_command)
    main.add_command(archive.restore_command)
    db_group.add_command(archive.db_grant)


register_more_commands()


if __name__ == "__main__":
    main()
