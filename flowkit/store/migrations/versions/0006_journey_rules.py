"""journey rules: message counts, the rule log, goal conversions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flowkit_message_counts',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'channel', 'period',
                            name=op.f('pk_flowkit_message_counts'))
    )
    op.create_table('flowkit_rule_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('flow', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=300), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flowkit_rule_log'))
    )
    op.create_index(op.f('ix_flowkit_rule_log_flow_at'), 'flowkit_rule_log', ['flow', 'at'], unique=False)
    op.create_table('flowkit_conversions',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('flow', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('goal', sa.String(length=200), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('converted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_flowkit_conversions'))
    )
    op.create_index(op.f('ix_flowkit_conversions_flow'), 'flowkit_conversions', ['flow'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_flowkit_conversions_flow'), table_name='flowkit_conversions')
    op.drop_table('flowkit_conversions')
    op.drop_index(op.f('ix_flowkit_rule_log_flow_at'), table_name='flowkit_rule_log')
    op.drop_table('flowkit_rule_log')
    op.drop_table('flowkit_message_counts')
