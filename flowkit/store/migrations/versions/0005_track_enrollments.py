"""track enrollments: what each add_to_track did, unique per user and track

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lms_track_enrollments',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('track', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('for_user', sa.String(length=200), nullable=True),
    sa.Column('from_flow', sa.String(length=200), nullable=True),
    sa.Column('once', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_track_enrollments')),
    sa.UniqueConstraint('once', name=op.f('uq_lms_track_enrollments_once'))
    )
    op.create_index(op.f('ix_lms_track_enrollments_user_id'), 'lms_track_enrollments',
                    ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_lms_track_enrollments_user_id'), table_name='lms_track_enrollments')
    op.drop_table('lms_track_enrollments')
