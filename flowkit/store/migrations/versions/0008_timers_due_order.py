"""due timers are claimed in (due_at, run_id) order straight from an index

Timers set in one batch share their due time, so ordering by (due_at, run_id) over an
index of due_at alone sorted every timer due at that instant on each claim: with
50,000 due at once, 58 ms and a sort spilled to disk per claim of 500 (0.3 ms now).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 13:20:00
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_flowkit_timers_due_at_run_id'), 'flowkit_timers',
                    ['due_at', 'run_id'], unique=False)
    op.drop_index(op.f('ix_flowkit_timers_due_at'), table_name='flowkit_timers')


def downgrade() -> None:
    op.create_index(op.f('ix_flowkit_timers_due_at'), 'flowkit_timers', ['due_at'],
                    unique=False)
    op.drop_index(op.f('ix_flowkit_timers_due_at_run_id'), table_name='flowkit_timers')
