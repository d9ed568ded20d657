"""list indexes: the case and enterprise lists, their search and the dashboard at a million cases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

On PostgreSQL the enterprise-name search uses a pg_trgm GIN index (ILIKE '%…%' without reading every name).
`CREATE EXTENSION pg_trgm` needs a superuser, or (PostgreSQL 13+, where pg_trgm is a trusted extension) the
database owner. Where it cannot be created the same-named index is a plain btree: the search still works, by
reading the enterprises of the user's jurisdiction. An administrator can later run, as a superuser,
`CREATE EXTENSION pg_trgm;` then `DROP INDEX ix_enterprises_name_trgm; CREATE INDEX ix_enterprises_name_trgm ON
enterprises USING gin (name gin_trgm_ops);`.
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

OPEN = sa.text("status = 'open'")
OPEN_PROVISIONAL = sa.text("status = 'open' AND is_provisional")
AWAITING = sa.text("status = 'draft' AND submitted_at IS NOT NULL")
DRAFT = sa.text("status = 'draft'")


def _trigram_available(bind) -> bool:
    """Create pg_trgm if it is not there yet; False (and nothing changed) when this role may not."""
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    if not bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")):
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm could not be created (%s): the enterprise name index is a plain btree",
                    exc.orig.__class__.__name__ if exc.orig is not None else exc)
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    bind = op.get_bind()
    # The single-column indexes on cases.jurisdiction_id and enterprise_id become the leading columns of wider ones.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_jurisdiction_id')
        batch_op.drop_index('ix_cases_enterprise_id')
        batch_op.create_index('ix_cases_enterprise_scope', ['enterprise_id', 'jurisdiction_id', 'closed_at'],
                              unique=False)
        batch_op.create_index('ix_cases_opened_at_id', ['opened_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_id_scope', ['id', 'jurisdiction_id', 'closed_at'], unique=False)
        batch_op.create_index('ix_cases_jurisdiction_opened', ['jurisdiction_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_cases_jurisdiction_closed', ['jurisdiction_id', 'closed_at', 'state', 'id'],
                              unique=False)

    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_case_assignments_user_case', ['user_id', 'case_id'], unique=False)

    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_open_due', postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_deadlines_open_due', ['due_on', 'case_id'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_deadlines_open_case', ['case_id', 'due_on', 'id', 'is_provisional'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_deadlines_open_provisional', ['due_on'], unique=False,
                              postgresql_where=OPEN_PROVISIONAL, sqlite_where=OPEN_PROVISIONAL)

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_awaiting', ['submitted_at'], unique=False,
                              postgresql_where=AWAITING, sqlite_where=AWAITING)
        batch_op.create_index('ix_notices_drafts_by', ['drafted_by_id'], unique=False,
                              postgresql_where=DRAFT, sqlite_where=DRAFT)

    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index('ix_enterprises_name_scope', ['name', 'id', 'jurisdiction_id'], unique=False)
        batch_op.create_index('ix_enterprises_jurisdiction_name', ['jurisdiction_id', 'name', 'id'], unique=False)
    if bind.dialect.name == 'postgresql' and _trigram_available(bind):
        op.create_index('ix_enterprises_name_trgm', 'enterprises', ['name'], unique=False,
                        postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    else:
        with op.batch_alter_table('enterprises', schema=None) as batch_op:
            batch_op.create_index('ix_enterprises_name_trgm', ['name'], unique=False)


def downgrade() -> None:
    # pg_trgm stays: other objects may use it, and dropping an extension is the administrator's decision.
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index('ix_enterprises_name_trgm')
        batch_op.drop_index('ix_enterprises_jurisdiction_name')
        batch_op.drop_index('ix_enterprises_name_scope')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_drafts_by', postgresql_where=DRAFT, sqlite_where=DRAFT)
        batch_op.drop_index('ix_notices_awaiting', postgresql_where=AWAITING, sqlite_where=AWAITING)

    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_open_provisional', postgresql_where=OPEN_PROVISIONAL,
                            sqlite_where=OPEN_PROVISIONAL)
        batch_op.drop_index('ix_deadlines_open_case', postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.drop_index('ix_deadlines_open_due', postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_deadlines_open_due', ['due_on'], unique=False, postgresql_where=OPEN,
                              sqlite_where=OPEN)

    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_case_assignments_user_case')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_jurisdiction_closed')
        batch_op.drop_index('ix_cases_jurisdiction_opened')
        batch_op.drop_index('ix_cases_id_scope')
        batch_op.drop_index('ix_cases_opened_at_id')
        batch_op.drop_index('ix_cases_enterprise_scope')
        batch_op.create_index('ix_cases_enterprise_id', ['enterprise_id'], unique=False)
        batch_op.create_index('ix_cases_jurisdiction_id', ['jurisdiction_id'], unique=False)
