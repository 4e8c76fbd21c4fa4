"""calendars: blocked periods (closures, programmed events), private feed tokens,
CalDAV events seen

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocked_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.String(length=63), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'uid', 'space_id', 'start', name='uq_blocked_periods_event')
    )
    with op.batch_alter_table('blocked_periods', schema=None) as batch_op:
        batch_op.create_index('ix_blocked_periods_space_time', ['space_id', 'start', 'end'], unique=False)
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_table('caldav_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.String(length=63), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('space_id', 'uid', name='uq_caldav_events_space_uid')
    )


def downgrade() -> None:
    op.drop_table('caldav_events')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('blocked_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_blocked_periods_space_time')
    op.drop_table('blocked_periods')
