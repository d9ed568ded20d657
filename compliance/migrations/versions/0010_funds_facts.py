"""the funds facts of a case (issue 10)

Whether the unit had a union in the months claimed (cases.has_union; NULL: as the enterprise's record says) and
the day the higher union started helping its workers prepare one (cases.union_help_started_on; Beijing Measures
Art 55(3): a unit without a union owes funds from that day). Plain ADD COLUMN on both engines: the cases table
keeps its triggers (no table rebuild on SQLite).

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


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('union_help_started_on')
        batch.drop_column('has_union')
