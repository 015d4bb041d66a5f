"""console indexes: starts per day, runs resting at each step, problems, users by email

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_RESTING = "status IN ('waiting', 'running', 'parked', 'failed')"
_PROBLEMS = "status IN ('parked', 'failed')"


def upgrade() -> None:
    op.create_index(op.f('ix_flowkit_runs_created_at_flow'), 'flowkit_runs', ['created_at', 'flow'], unique=False)
    op.create_index('ix_flowkit_runs_resting', 'flowkit_runs', ['flow', 'step', 'updated_at', 'status'], unique=False,
                    postgresql_where=sa.text(_RESTING), sqlite_where=sa.text(_RESTING))
    op.create_index('ix_flowkit_runs_problems', 'flowkit_runs', ['flow', 'step', 'status', 'updated_at'], unique=False,
                    postgresql_where=sa.text(_PROBLEMS), sqlite_where=sa.text(_PROBLEMS))
    op.create_index('ix_flowkit_users_lower_email', 'flowkit_users', [sa.text('lower(email)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_flowkit_users_lower_email', table_name='flowkit_users')
    op.drop_index('ix_flowkit_runs_problems', table_name='flowkit_runs')
    op.drop_index('ix_flowkit_runs_resting', table_name='flowkit_runs')
    op.drop_index(op.f('ix_flowkit_runs_created_at_flow'), table_name='flowkit_runs')
