"""reminders: reminder rows, the outbox, the in-app inbox, and a case's "ready for the next step" flag

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import compliance.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NO_DEADLINE = sa.text('deadline_id IS NULL')
PENDING = sa.text("status = 'pending'")
FAILED = sa.text("status = 'failed'")
UNREAD = sa.text('read_at IS NULL')


def upgrade() -> None:
    op.create_table(
        'reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('occasion', sa.String(length=40), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('created_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('approaching', 'due', 'overdue', 'digest', 'funds_check', 'calendar_check')",
                           name=op.f('ck_reminders_kind')),
        sa.CheckConstraint('(deadline_id IS NULL) <> (occasion IS NULL)', name=op.f('ck_reminders_subject')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_reminders_case_id_cases')),
        sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], name=op.f('fk_reminders_deadline_id_deadlines')),
        sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_reminders_recipient_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
        sa.UniqueConstraint('deadline_id', 'kind', 'recipient_id',
                            name=op.f('uq_reminders_deadline_id_kind_recipient_id')),
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('uq_reminders_occasion', ['kind', 'recipient_id', 'occasion'], unique=True,
                              postgresql_where=NO_DEADLINE, sqlite_where=NO_DEADLINE)

    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reminder_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=False),
        sa.Column('created_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', compliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('inbox', 'email')", name=op.f('ck_outbox_channel')),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_outbox_status')),
        sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_outbox_recipient_id_users')),
        sa.ForeignKeyConstraint(['reminder_id'], ['reminders.id'], name=op.f('fk_outbox_reminder_id_reminders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['next_attempt_at'], unique=False,
                              postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.create_index('ix_outbox_failed', ['id'], unique=False, postgresql_where=FAILED, sqlite_where=FAILED)

    op.create_table(
        'inbox_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('created_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', compliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_inbox_messages_outbox_id_outbox')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_messages_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
        sa.UniqueConstraint('outbox_id', name=op.f('uq_inbox_messages_outbox_id')),
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_messages_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_inbox_messages_unread', ['user_id'], unique=False,
                              postgresql_where=UNREAD, sqlite_where=UNREAD)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ready_since', compliance.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('ready_since')

    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_messages_unread', postgresql_where=UNREAD, sqlite_where=UNREAD)
        batch_op.drop_index('ix_inbox_messages_user_id_id')
    op.drop_table('inbox_messages')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_failed', postgresql_where=FAILED, sqlite_where=FAILED)
        batch_op.drop_index('ix_outbox_pending', postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_table('outbox')

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('uq_reminders_occasion', postgresql_where=NO_DEADLINE, sqlite_where=NO_DEADLINE)
    op.drop_table('reminders')
