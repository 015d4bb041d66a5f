"""the events API's keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flowkit_api_keys',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_flowkit_api_keys')),
    sa.UniqueConstraint('hash', name=op.f('uq_flowkit_api_keys_hash'))
    )


def downgrade() -> None:
    op.drop_table('flowkit_api_keys')
