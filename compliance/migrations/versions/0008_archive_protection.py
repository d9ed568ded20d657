"""the archive enforced by the database: immutability triggers and the PostgreSQL owner and application roles (issue 11)

Triggers, both engines: an issued (or withdrawn) notice keeps its legal fields and is never deleted; its status
may only go issued → withdrawn; stored documents and evidence attachments are append-only; the audit trails'
refusals get the same wording and, on PostgreSQL, one SQLSTATE (CM001). PostgreSQL also refuses TRUNCATE of
those tables. The roles' rights are not here: `compliance db upgrade` applies them after migrating
(compliance/protection.py), because the application role's name is the deployment's.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa  # noqa: F401


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Inlined, not imported from the models or compliance.protection: a migration must not change when they do.
SQLSTATE = 'CM001'
ISSUED = "('issued', 'withdrawn')"
#: Every column of notices as of this revision except status (issued → withdrawn allowed) and version (the
#: optimistic lock, bumped by that change). A column added later is not frozen unless its migration adds it.
FROZEN = ('id', 'case_id', 'notice_type', 'issuer_id', 'snapshot', 'template_version', 'drafted_by_id',
          'drafted_at', 'drafted_event_id', 'submitted_at', 'submitted_by_id', 'approved_by_id', 'approved_at',
          'rejection_reason', 'issued_by_id', 'issued_at', 'year', 'seq', 'number', 'verification_code', 'sha256',
          'withdraws_id')

MSG = {
    'case_events': '档案保护：案件办理记录只能追加，不能修改或删除 (case_events is append-only)',
    'admin_events': '档案保护：管理操作记录只能追加，不能修改或删除 (admin_events is append-only)',
    'stored_documents': '档案保护：已存档的文书文件不能修改或删除 (stored_documents is append-only)',
    'attachments': '档案保护：已上传的证据材料不能修改或删除 (attachments is append-only)',
    'notices_truncate': '档案保护：文书表不能清空 (notices cannot be truncated)',
    'frozen': '档案保护：已签发文书的文号、类型、签发机关、日期、文件哈希和内容不能更改 (an issued notice is frozen)',
    'status': '档案保护：已签发的文书只能因撤回通知书签发而改为“已撤回” (issued notices only become withdrawn)',
    'delete': '档案保护：已签发的文书不能删除 (an issued notice cannot be deleted)',
}
APPEND_ONLY = ('case_events', 'admin_events', 'stored_documents', 'attachments')
TRUNCATE_GUARDED = APPEND_ONLY + ('notices',)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    op.execute(f"CREATE FUNCTION archive_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = TG_ARGV[0]; END $$")
    # The audit trails (0001, 0002) keep their triggers; their functions now refuse like the others.
    for table in ('case_events', 'admin_events'):
        op.execute(f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG[table])}; END $$")
    for table in ('stored_documents', 'attachments'):
        op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
                   f"EXECUTE FUNCTION archive_refuse({_lit(MSG[table])})")
    for table in TRUNCATE_GUARDED:
        message = MSG['notices_truncate'] if table == 'notices' else MSG[table]
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION archive_refuse({_lit(message)})")
    new = ", ".join(f"NEW.{c}" for c in FROZEN if c != 'snapshot')
    old = ", ".join(f"OLD.{c}" for c in FROZEN if c != 'snapshot')
    op.execute(f"""CREATE FUNCTION notices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status NOT IN {ISSUED} THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['delete'])}, DETAIL = OLD.number;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'issued' AND NEW.status = 'withdrawn') THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['status'])}, DETAIL = OLD.number;
    END IF;
    IF ROW({new}) IS DISTINCT FROM ROW({old}) OR NEW.snapshot::text IS DISTINCT FROM OLD.snapshot::text THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['frozen'])}, DETAIL = OLD.number;
    END IF;
    RETURN NEW;
END $$""")
    op.execute("CREATE TRIGGER notices_issued_guard BEFORE UPDATE OR DELETE ON notices FOR EACH ROW "
               "EXECUTE FUNCTION notices_guard()")


def _upgrade_sqlite() -> None:
    # The audit trails' triggers (0001, 0002) again, with the common wording.
    for table in ('case_events', 'admin_events'):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, {_lit(MSG[table])}); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, {_lit(MSG[table])}); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)
    op.execute(f"CREATE TRIGGER notices_issued_frozen BEFORE UPDATE ON notices "
               f"WHEN OLD.status IN {ISSUED} AND ({changed}) "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['frozen'])}); END")
    op.execute(f"CREATE TRIGGER notices_issued_status BEFORE UPDATE OF status ON notices "
               f"WHEN OLD.status IN {ISSUED} AND NEW.status IS NOT OLD.status "
               f"AND NOT (OLD.status = 'issued' AND NEW.status = 'withdrawn') "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['status'])}); END")
    op.execute(f"CREATE TRIGGER notices_issued_no_delete BEFORE DELETE ON notices WHEN OLD.status IN {ISSUED} "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['delete'])}); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS notices_issued_guard ON notices")
        op.execute("DROP FUNCTION IF EXISTS notices_guard()")
        for table in TRUNCATE_GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for table in ('stored_documents', 'attachments'):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS archive_refuse()")
        for table in ('case_events', 'admin_events'):
            op.execute(f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                       f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$")
        return
    for name in ('notices_issued_frozen', 'notices_issued_status', 'notices_issued_no_delete'):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for table in ('case_events', 'admin_events'):
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
