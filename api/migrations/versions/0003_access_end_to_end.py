"""access end to end: door commands with sequences and answers, unknown cards, dead
letters, known login devices; 64-bit grant list versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('door_grants', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)
    op.create_table('door_commands',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('door_id', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['door_id'], ['doors.id'], ),
    sa.ForeignKeyConstraint(['issued_by'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('door_id', 'seq', name='uq_door_commands_door_seq')
    )
    op.create_table('unknown_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('door_id', sa.String(length=63), nullable=False),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['door_id'], ['doors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('door_id', 'credential_hash', name='uq_unknown_cards_door_hash')
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letters_received_at', ['received_at'], unique=False)
    op.create_table('login_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )


def downgrade() -> None:
    op.drop_table('login_devices')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_received_at')
    op.drop_table('dead_letters')
    op.drop_table('unknown_cards')
    op.drop_table('door_commands')
    with op.batch_alter_table('door_grants', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
