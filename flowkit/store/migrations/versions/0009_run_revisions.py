"""runs keep a revision, one more at each write of the row

On SQLite a batch reads and computes outside the write lock, then writes holding it;
before writing it checks that every run it read is still at the revision it read
(``flowkit.runtime.batch``). Existing runs start at 0. On PostgreSQL adding a column
with a constant default changes no row, so it is quick on a large table. Workers of an
earlier version write runs without adding to the revision: on SQLite, stop them before
starting this version's (``flowkit run`` stops and starts them together).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('flowkit_runs', sa.Column('revision', sa.Integer(), nullable=False,
                                            server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('flowkit_runs') as batch:
        batch.drop_column('revision')
