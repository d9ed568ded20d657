"""the funds facts of a case (issue 10)

Whether the unit had a union in the months claimed (cases.has_union; NULL: as the enterprise's record says) and
the day the higher union started helping its workers prepare one (cases.union_help_started_on; Beijing Measures
Art 55(3): a unit without a union owes funds from that day). Plain ADD COLUMN on both engines: the cases table
keeps its triggers (no table rebuild on SQLite). Also closes the credit-repair wait of cases whose credit was
already repaired (a step that ended nothing before).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('has_union', sa.Boolean(), nullable=True))
    op.add_column('cases', sa.Column('union_help_started_on', sa.Date(), nullable=True))
    # Repairing credit ends the credit-repair wait (as the ladder now says; the replay closes it too): cases that
    # reached 信用已修复 before this kept that deadline open.
    op.execute("UPDATE deadlines SET status = 'met' WHERE status = 'open'"
               " AND rule_key IN ('credit_repair_wait', 'credit_repair_ordinary', 'credit_repair_serious')"
               " AND case_id IN (SELECT id FROM cases WHERE state = 'credit_repaired')")


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('union_help_started_on')
        batch.drop_column('has_union')
