"""machines: service state, grant lists, bookings, usage sessions

Revision ID: 0008_machines
Revises: 0007_privacy
Create Date: 2026-12-01 12:39:30.345941
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_machines'
down_revision = '0007_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('machines',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('site_id', sa.String(length=63), nullable=False),
    sa.Column('space_id', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('out_of_order', sa.Boolean(), nullable=False),
    sa.Column('out_of_order_reason', sa.String(length=200), nullable=True),
    sa.Column('out_of_order_since', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('machine_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('confirmed', 'checked_in', 'released', 'cancelled', 'no_show', name='bookingstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('machine_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_machine_bookings_machine_time', ['machine_id', 'start', 'end'], unique=False)

    op.create_table('machine_grants',
    sa.Column('machine_id', sa.String(length=63), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], ),
    sa.PrimaryKeyConstraint('machine_id')
    )
    op.create_table('machine_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('on_event', sa.String(length=64), nullable=False),
    sa.Column('off_event', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('off_event'),
    sa.UniqueConstraint('on_event')
    )
    with op.batch_alter_table('machine_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_machine_sessions_machine_start', ['machine_id', 'started_at'], unique=False)
        batch_op.create_index('ix_machine_sessions_member', ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('machine_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_machine_sessions_member')
        batch_op.drop_index('ix_machine_sessions_machine_start')

    op.drop_table('machine_sessions')
    op.drop_table('machine_grants')
    with op.batch_alter_table('machine_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_machine_bookings_machine_time')

    op.drop_table('machine_bookings')
    op.drop_table('machines')
