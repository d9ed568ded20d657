"""ladder per violation: court stages, bargaining request, decisions, correction orders, listing grounds (issue 10)

Periods that run from a letter's receipt wait for its service (deadline status awaiting_service, no start and
no due date); notice_services records how and when an issued notice was served; cases gain the facts of the new
steps and the state ordered_to_correct; deadlines say what their period rests on (nature).

Open cases keep their history: their open deadlines stay as they are (a letter issued after this revision waits
for its service), and the visit's rectification due date is copied from its deadline row onto the case, where
the guard of issue_opinion now reads it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import compliance.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_OLD_STATES = ('registered', 'visited', 'opinion_issued', 'recommendation_issued', 'payment_demanded', 'litigation',
               'listing_requested', 'listed', 'rectified', 'withdrawn', 'credit_repaired')
_NEW_STATES = ('registered', 'visited', 'opinion_issued', 'recommendation_issued', 'ordered_to_correct',
               'payment_demanded', 'litigation', 'listing_requested', 'listed', 'rectified', 'withdrawn',
               'credit_repaired')
_OLD_STATUSES = ('open', 'met', 'superseded')
_NEW_STATUSES = ('open', 'awaiting_service', 'met', 'superseded')
_NATURES = ('statutory', 'committee', 'diary', 'authority')
#: What the rules stored before this revision rest on.
_NATURE_OF = {'visit_rectification': 'committee', 'opinion_reply': 'committee', 'payment_demand': 'committee',
              'credit_repair_wait': 'committee', 'listing_followup': 'diary'}

_CASE_DATES = ('visit_rectification_due', 'obstruction_on', 'bargaining_requested_on', 'bargaining_received_on',
               'bargaining_answer_due', 'bargaining_answered_on', 'decided_on', 'correction_ordered_on',
               'correction_due', 'court_filed_on', 'court_accepted_on', 'payment_order_issued_on',
               'payment_order_served_on', 'payment_order_due', 'payment_objected_on', 'enforcement_applied_on',
               'listed_on')
CURRENT = sa.text('superseded_at IS NULL')


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for name in _CASE_DATES:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('listing_seriousness', sa.String(length=10), nullable=True))
        batch_op.drop_constraint(op.f('ck_cases_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_cases_state'), _in('state', _NEW_STATES))

    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nature', sa.String(length=20), server_default='statutory', nullable=False))
        batch_op.alter_column('start_on', existing_type=sa.Date(), nullable=True)
        batch_op.alter_column('due_on', existing_type=sa.Date(), nullable=True)
        batch_op.drop_constraint(op.f('ck_deadlines_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deadlines_status'), _in('status', _NEW_STATUSES))
        batch_op.create_check_constraint(op.f('ck_deadlines_nature'), _in('nature', _NATURES))

    deadlines = sa.table('deadlines', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                         sa.column('rule_key', sa.String), sa.column('nature', sa.String),
                         sa.column('due_on', sa.Date))
    cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('visit_rectification_due', sa.Date))
    for key, nature in _NATURE_OF.items():
        op.execute(deadlines.update().where(deadlines.c.rule_key == key).values(nature=nature))
    # The visit's due date, read by the guard of issue_opinion (one visit per case: the latest row).
    latest = (sa.select(deadlines.c.due_on)
              .where(deadlines.c.case_id == cases.c.id, deadlines.c.rule_key == 'visit_rectification')
              .order_by(deadlines.c.id.desc()).limit(1).scalar_subquery())
    op.execute(cases.update().values(visit_rectification_due=latest))

    op.create_table(
        'notice_services',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('served_on', sa.Date(), nullable=False),
        sa.Column('served_by_id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=100), nullable=False),
        sa.Column('tracking_number', sa.String(length=50), nullable=True),
        sa.Column('proof_attachment_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', compliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('supersedes_id', sa.Integer(), nullable=True),
        sa.Column('superseded_at', compliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("method IN ('direct', 'mail', 'left', 'electronic')", name=op.f('ck_notice_services_method')),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_services_notice_id_notices')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notice_services_case_id_cases')),
        sa.ForeignKeyConstraint(['served_by_id'], ['users.id'], name=op.f('fk_notice_services_served_by_id_users')),
        sa.ForeignKeyConstraint(['proof_attachment_id'], ['attachments.id'],
                                name=op.f('fk_notice_services_proof_attachment_id_attachments')),
        sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], name=op.f('fk_notice_services_deadline_id_deadlines')),
        sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], name=op.f('fk_notice_services_event_id_case_events')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_notice_services_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['supersedes_id'], ['notice_services.id'],
                                name=op.f('fk_notice_services_supersedes_id_notice_services')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_services')),
    )
    with op.batch_alter_table('notice_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_services_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_services_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_notice_services_current', ['notice_id'], unique=True,
                              postgresql_where=CURRENT, sqlite_where=CURRENT)


def downgrade() -> None:
    """Back to 0005. Cases in ordered_to_correct return to recommendation_issued; deadlines awaiting service get
    their row's creation date as start and due date (the old schema needs both) and stay open."""
    with op.batch_alter_table('notice_services', schema=None) as batch_op:
        batch_op.drop_index('uq_notice_services_current')
        batch_op.drop_index(batch_op.f('ix_notice_services_case_id'))
        batch_op.drop_index(batch_op.f('ix_notice_services_notice_id'))
    op.drop_table('notice_services')

    op.execute("UPDATE cases SET state = 'recommendation_issued' WHERE state = 'ordered_to_correct'")
    bind = op.get_bind()
    rows = sa.table('deadlines', sa.column('id', sa.Integer), sa.column('status', sa.String),
                    sa.column('start_on', sa.Date), sa.column('due_on', sa.Date),
                    sa.column('created_at', compliance.db.UTCDateTime(timezone=True)))
    for row in bind.execute(sa.select(rows.c.id, rows.c.created_at).where(rows.c.status == 'awaiting_service')).all():
        day = row.created_at.date()
        bind.execute(rows.update().where(rows.c.id == row.id).values(start_on=day, due_on=day, status='open'))
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deadlines_nature'), type_='check')
        batch_op.drop_constraint(op.f('ck_deadlines_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deadlines_status'), _in('status', _OLD_STATUSES))
        batch_op.alter_column('due_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('start_on', existing_type=sa.Date(), nullable=False)
        batch_op.drop_column('nature')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_cases_state'), _in('state', _OLD_STATES))
        batch_op.drop_column('listing_seriousness')
        for name in reversed(_CASE_DATES):
            batch_op.drop_column(name)
