"""REST API: personal API tokens and idempotency keys (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import compliance.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', compliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', compliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_api_tokens_revoked_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table(
        'api_idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('request', sa.String(length=300), nullable=False),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('response', sa.Text(), nullable=False),
        sa.Column('created_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_api_idempotency_keys_token_id_api_tokens')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_idempotency_keys_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
        sa.UniqueConstraint('user_id', 'key', name=op.f('uq_api_idempotency_keys_user_id_key')),
    )
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotency_keys_token_id'), ['token_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotency_keys_token_id'))
    op.drop_table('api_idempotency_keys')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
