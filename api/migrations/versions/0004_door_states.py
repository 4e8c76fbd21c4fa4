"""staff console: the doors' live state (contact, alarm, lock mode, fire)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('door_states',
    sa.Column('door_id', sa.String(length=63), nullable=False),
    sa.Column('contact', sa.String(length=8), nullable=True),
    sa.Column('contact_since', sa.DateTime(), nullable=True),
    sa.Column('alarm', sa.String(length=8), nullable=True),
    sa.Column('alarm_since', sa.DateTime(), nullable=True),
    sa.Column('lock_mode', sa.String(length=16), nullable=False),
    sa.Column('lock_mode_since', sa.DateTime(), nullable=True),
    sa.Column('fire', sa.Boolean(), nullable=False),
    sa.Column('fire_since', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['door_id'], ['doors.id'], ),
    sa.PrimaryKeyConstraint('door_id')
    )


def downgrade() -> None:
    op.drop_table('door_states')
