"""What the database itself protects, and which rights the service's PostgreSQL role has on each table.

Two layers keep the archive whole ("nothing lost, nothing altered"):

* Triggers (migrations 0008 and 0011, both engines) refuse: any UPDATE or DELETE of an audit row (case_events,
  admin_events), of a stored document's row (stored_documents) or of an evidence attachment (attachments); any
  change to an issued notice's legal fields; any status change of an issued notice except issued → withdrawn
  (what issuing its withdrawal notice does); DELETE of an issued or withdrawn notice; DELETE of a service record
  (notice_services) and any UPDATE of one except marking it superseded, once (what correcting it does); on
  PostgreSQL also TRUNCATE of those tables. Drafts and approved notices stay editable.
* On PostgreSQL two roles: the OWNER role runs the migrations and owns every table (only an owner may disable or
  drop a trigger); the APPLICATION role, which `compliance serve` and the scheduler connect as, gets exactly the
  rights of its table's class below, and never TRUNCATE, TRIGGER or REFERENCES. `compliance db upgrade` applies
  them (apply_grants) after every migration, so a new table is governed by the one line that classifies it.

Classifying a new table: add its name to exactly one of the sets below. A table no set names makes
apply_grants refuse (and tests/compliance/test_archive_protection.py fail), so none slips through with rights
nobody chose. Tables a migration creates before grants are applied get only SELECT, INSERT (the owner's default
privileges): nothing can be lost in between.
"""
from __future__ import annotations

import re

from sqlalchemy import text

#: Rows are written once and never changed or removed: the audit trail and the archive.
APPEND_ONLY = frozenset({"case_events", "admin_events", "stored_documents", "attachments"})
#: Rows change, but are never deleted; triggers freeze what must not change (an issued notice's legal fields).
#: notice_services (migration 0006): a correction supersedes a service record, which is kept; the only UPDATE
#: its triggers (0011) let through is that supersession (superseded_at from NULL to a time, once).
NO_DELETE = frozenset({"notices", "notice_services"})
#: Ordinary working data: the service inserts, updates and deletes.
#: api_tokens, api_idempotency_keys (migration 0009): revoked tokens and expired keys are working data.
MUTABLE = frozenset({
    "jurisdictions", "enterprises", "cases", "case_violations", "case_assignments", "deadlines",
    "holiday_overrides", "holiday_years", "sequence_counters", "users", "user_roles", "user_sessions",
    "login_throttles", "reminders", "outbox", "inbox_messages", "api_tokens", "api_idempotency_keys",
})
#: The service only reads (Alembic's bookkeeping: the schema check at start-up).
READ_ONLY = frozenset({"alembic_version"})

PRIVILEGES = {
    "append_only": "SELECT, INSERT",
    "no_delete": "SELECT, INSERT, UPDATE",
    "mutable": "SELECT, INSERT, UPDATE, DELETE",
    "read_only": "SELECT",
}

#: SQLSTATE of every refusal raised by the PostgreSQL triggers (class "CM": compliance, archive).
REFUSAL_SQLSTATE = "CM001"
#: Every trigger message (both engines) starts with this, so the service recognises a refusal on SQLite too.
REFUSAL_PREFIX = "档案保护："


class UnclassifiedTable(RuntimeError):
    """A table is in the database but in none of the classes above."""


def table_class(table: str) -> str:
    for name, tables in (("append_only", APPEND_ONLY), ("no_delete", NO_DELETE), ("mutable", MUTABLE),
                         ("read_only", READ_ONLY)):
        if table in tables:
            return name
    raise UnclassifiedTable(
        f"数据表 {table} 尚未分类：请在 compliance/protection.py 中把它加入 APPEND_ONLY、NO_DELETE、MUTABLE 或 "
        f"READ_ONLY 之一 (table {table} is not classified in compliance/protection.py)")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_statements(tables, app_role: str, owner_role: str | None = None, *, dialect: str = "postgresql") -> list[str]:
    """The statements giving app_role exactly its rights on each table (idempotent: REVOKE ALL first).

    On SQLite there are no roles: the triggers are all the protection, and this returns nothing.
    owner_role: also set the owner's default privileges, so a table a later migration creates starts with
    SELECT, INSERT only for the service until it is classified.
    """
    if dialect != "postgresql":
        return []
    app = quote_ident(app_role)
    out = [f"GRANT USAGE ON SCHEMA public TO {app}"]
    for table in sorted(tables):
        rights = PRIVILEGES[table_class(table)]
        out.append(f"REVOKE ALL ON TABLE public.{quote_ident(table)} FROM {app}")
        out.append(f"GRANT {rights} ON TABLE public.{quote_ident(table)} TO {app}")
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}")
    if owner_role:
        owner = quote_ident(owner_role)
        out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT ON TABLES "
                   f"TO {app}")
        out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
                   f"TO {app}")
    return out


def database_tables(connection) -> list[str]:
    """The tables of the public schema (PostgreSQL) or the database (SQLite)."""
    if connection.dialect.name == "postgresql":
        return list(connection.scalars(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")))
    return list(connection.scalars(text(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")))


def apply_grants(connection, app_role: str) -> list[str]:
    """Give the application role its rights on every table (run as the owner, after migrating); return them.

    Refuses (UnclassifiedTable) before changing anything when a table is not classified.
    """
    if connection.dialect.name != "postgresql":
        return []
    owner = connection.scalar(text("SELECT current_user"))
    if owner == app_role:
        raise ValueError(f"迁移用户与应用用户都是 {app_role}：请用属主角色迁移，应用角色运行服务"
                         f" (migrations and the service use the same role {app_role})")
    tables = database_tables(connection)
    for table in tables:
        table_class(table)
    statements = grant_statements(tables, app_role, owner)
    for statement in statements:
        connection.execute(text(statement))
    return statements


def role_setup_sql(owner_role: str, app_role: str, database: str, *, owner_password: str | None = None,
                   app_password: str | None = None) -> list[str]:
    """What a PostgreSQL superuser runs once (docs/deploy.md): the two roles and the database the owner owns."""
    def login(role, password):
        pw = f" PASSWORD '{password.replace(chr(39), chr(39) * 2)}'" if password else ""
        return f"CREATE ROLE {quote_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION{pw}"
    db_ = quote_ident(database)
    return [
        login(owner_role, owner_password),
        login(app_role, app_password),
        f"CREATE DATABASE {db_} OWNER {quote_ident(owner_role)} ENCODING 'UTF8' TEMPLATE template0",
        f"REVOKE ALL ON DATABASE {db_} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db_} TO {quote_ident(app_role)}",
    ]


def connection_warning(connection) -> str | None:
    """A warning when the service connects with more power than the application role (superuser, table owner)."""
    if connection.dialect.name != "postgresql":
        return None
    row = connection.execute(text(
        "SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
        "       EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = r.rolname) "
        "FROM pg_roles r WHERE r.rolname = current_user")).one()
    name, superuser, _bypass, owner = row
    if superuser or owner:
        what = "超级用户" if superuser else "数据表属主"
        return (f"警告：服务以数据库{what} {name} 身份连接，可绕过档案保护（禁用触发器、清空表）。"
                f"生产环境请让 COMPLIANCE_DATABASE_URL 使用应用角色，见 docs/deploy.md"
                f" (connected as {'a superuser' if superuser else 'the table owner'} {name}: use the application role)")
    return None


def is_refusal(exc: BaseException) -> bool:
    """Whether a database error is one of the archive triggers' refusals (or, on PostgreSQL, a missing right on a
    protected table: the application role may not UPDATE/DELETE/TRUNCATE what the archive keeps)."""
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate == REFUSAL_SQLSTATE:
        return True
    if sqlstate == "42501":   # insufficient_privilege, e.g. "permission denied for table case_events"
        named = re.search(r'\btable "?([A-Za-z0-9_]+)"?', str(orig))
        return bool(named) and named.group(1) in APPEND_ONLY | NO_DELETE
    return REFUSAL_PREFIX in str(orig)


def refusal_message(exc: BaseException) -> str:
    """The Chinese sentence a user is shown for a refusal."""
    orig = getattr(exc, "orig", exc)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    if REFUSAL_PREFIX in first:
        return first[first.index(REFUSAL_PREFIX):]
    return f"{REFUSAL_PREFIX}已归档的记录不能修改或删除，未保存任何更改"
