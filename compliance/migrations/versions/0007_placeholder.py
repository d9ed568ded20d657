"""service of notices (送达) and the funds rules (issue 10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
