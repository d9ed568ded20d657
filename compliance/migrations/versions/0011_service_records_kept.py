"""service records kept by the database: notice_services never deleted, never edited, superseded once (issue 11)

A service record (送达记录, migration 0006) is evidence of when a letter reached the enterprise, and the periods
that wait for service run from it. A wrong one is corrected by a new record that supersedes it
(compliance/operations/service.py); the old one stays as it was. So, on both engines: DELETE is refused; UPDATE
is refused unless it only marks a current record superseded (superseded_at from NULL to a time), once; on
PostgreSQL TRUNCATE is refused too. The application role already lacks DELETE on the table (class NO_DELETE in
compliance/protection.py, which keeps UPDATE for the supersession). Messages and SQLSTATE as in 0008.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa  # noqa: F401


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Inlined, not imported from the models or compliance.protection: a migration must not change when they do.
SQLSTATE = 'CM001'
#: Every column of notice_services as of this revision except superseded_at. A column added later is not frozen
#: unless its migration adds it here.
FROZEN = ('id', 'notice_id', 'case_id', 'method', 'served_on', 'served_by_id', 'recipient', 'tracking_number',
          'proof_attachment_id', 'note', 'deadline_id', 'event_id', 'recorded_by_id', 'recorded_at', 'supersedes_id')

MSG = {
    'delete': '档案保护：送达记录不能删除；记录有误请更正送达记录，原记录保留 (notice_services rows are never deleted)',
    'frozen': '档案保护：送达记录的方式、日期、送达人、签收人等内容不能修改；记录有误请更正送达记录 '
              '(a service record is never edited: correct it)',
    'superseded': '档案保护：已被更正的送达记录保持原样，不能恢复或再次更正 (a superseded service record stays superseded)',
    'truncate': '档案保护：送达记录表不能清空 (notice_services cannot be truncated)',
}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    new = ", ".join(f"NEW.{c}" for c in FROZEN)
    old = ", ".join(f"OLD.{c}" for c in FROZEN)
    op.execute(f"""CREATE FUNCTION notice_services_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['delete'])}, DETAIL = OLD.id;
    END IF;
    IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['frozen'])}, DETAIL = OLD.id;
    END IF;
    IF OLD.superseded_at IS NOT NULL AND NEW.superseded_at IS DISTINCT FROM OLD.superseded_at THEN
        RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', MESSAGE = {_lit(MSG['superseded'])}, DETAIL = OLD.id;
    END IF;
    RETURN NEW;
END $$""")
    op.execute("CREATE TRIGGER notice_services_guard BEFORE UPDATE OR DELETE ON notice_services FOR EACH ROW "
               "EXECUTE FUNCTION notice_services_guard()")
    # archive_refuse(message) is 0008's.
    op.execute(f"CREATE TRIGGER notice_services_no_truncate BEFORE TRUNCATE ON notice_services FOR EACH STATEMENT "
               f"EXECUTE FUNCTION archive_refuse({_lit(MSG['truncate'])})")


def _upgrade_sqlite() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)
    op.execute(f"CREATE TRIGGER notice_services_no_delete BEFORE DELETE ON notice_services "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['delete'])}); END")
    op.execute(f"CREATE TRIGGER notice_services_frozen BEFORE UPDATE ON notice_services WHEN {changed} "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['frozen'])}); END")
    op.execute(f"CREATE TRIGGER notice_services_superseded BEFORE UPDATE OF superseded_at ON notice_services "
               f"WHEN OLD.superseded_at IS NOT NULL AND NEW.superseded_at IS NOT OLD.superseded_at "
               f"BEGIN SELECT RAISE(ABORT, {_lit(MSG['superseded'])}); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS notice_services_no_truncate ON notice_services")
        op.execute("DROP TRIGGER IF EXISTS notice_services_guard ON notice_services")
        op.execute("DROP FUNCTION IF EXISTS notice_services_guard()")
        return
    for name in ('notice_services_no_delete', 'notice_services_frozen', 'notice_services_superseded'):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
