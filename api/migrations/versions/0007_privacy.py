"""privacy: the anonymous placeholder that anonymised bookings and an erased staff
member's door commands point to (issue 19)

Revision ID: 0007_privacy
Revises: 0006
Create Date: 2026-12-01 13:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0007_privacy'
down_revision = '0006'
branch_labels = None
depends_on = None

EMAIL = 'anonymised@station.invalid'


def upgrade() -> None:
    members = sa.table('members', sa.column('email', sa.String), sa.column('name', sa.String),
                       sa.column('role', sa.String), sa.column('status', sa.String),
                       sa.column('password_hash', sa.String), sa.column('created_at', sa.DateTime))
    op.bulk_insert(members, [{'email': EMAIL, 'name': '(anonymisé)', 'role': 'integration', 'status': 'suspended',
                              'password_hash': None,
                              'created_at': datetime(2000, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None)}])
    op.create_index('ix_audit_member_id', 'audit', ['member_id'])
    op.create_index('ix_bookings_member_id', 'bookings', ['member_id'])


def downgrade() -> None:
    op.drop_index('ix_bookings_member_id', 'bookings')
    op.drop_index('ix_audit_member_id', 'audit')
    op.execute(sa.text("DELETE FROM members WHERE email = :e").bindparams(e=EMAIL))
