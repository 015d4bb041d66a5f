"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 16:56:25.949872
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flowkit_actions',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('flow', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_flowkit_actions')),
    sa.UniqueConstraint('key', name=op.f('uq_flowkit_actions_key'))
    )
    op.create_index(op.f('ix_flowkit_actions_run_id'), 'flowkit_actions', ['run_id'], unique=False)
    op.create_index(op.f('ix_flowkit_actions_user_id_at'), 'flowkit_actions', ['user_id', 'at'], unique=False)
    op.create_table('flowkit_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('shard', sa.SmallInteger(), nullable=False),
    sa.Column('routed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_flowkit_events')),
    sa.UniqueConstraint('key', name=op.f('uq_flowkit_events_key'))
    )
    op.create_index(op.f('ix_flowkit_events_routed_shard_seq'), 'flowkit_events', ['routed', 'shard', 'seq'], unique=False)
    op.create_index(op.f('ix_flowkit_events_user_id_seq'), 'flowkit_events', ['user_id', 'seq'], unique=False)
    op.create_table('flowkit_flow_versions',
    sa.Column('flow', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ir', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('flow', 'version', name=op.f('pk_flowkit_flow_versions'))
    )
    op.create_table('flowkit_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('entries', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flowkit_history'))
    )
    op.create_index(op.f('ix_flowkit_history_run_id_id'), 'flowkit_history', ['run_id', 'id'], unique=False)
    op.create_table('flowkit_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('flow', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=300), nullable=True),
    sa.Column('locals', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('visits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('trigger', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flowkit_runs'))
    )
    op.create_index(op.f('ix_flowkit_runs_flow_status'), 'flowkit_runs', ['flow', 'status'], unique=False)
    op.create_index(op.f('ix_flowkit_runs_status_updated_at'), 'flowkit_runs', ['status', 'updated_at'], unique=False)
    op.create_index(op.f('ix_flowkit_runs_user_id_flow'), 'flowkit_runs', ['user_id', 'flow'], unique=False)
    op.create_table('flowkit_users',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('manager', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flowkit_users'))
    )
    op.create_table('flowkit_event_waits',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['flowkit_runs.id'], name=op.f('fk_flowkit_event_waits_run_id_flowkit_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_flowkit_event_waits'))
    )
    op.create_index(op.f('ix_flowkit_event_waits_user_id_event'), 'flowkit_event_waits', ['user_id', 'event'], unique=False)
    op.create_table('flowkit_timers',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('step', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['flowkit_runs.id'], name=op.f('fk_flowkit_timers_run_id_flowkit_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_flowkit_timers'))
    )
    op.create_index(op.f('ix_flowkit_timers_due_at'), 'flowkit_timers', ['due_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_flowkit_timers_due_at'), table_name='flowkit_timers')
    op.drop_table('flowkit_timers')
    op.drop_index(op.f('ix_flowkit_event_waits_user_id_event'), table_name='flowkit_event_waits')
    op.drop_table('flowkit_event_waits')
    op.drop_table('flowkit_users')
    op.drop_index(op.f('ix_flowkit_runs_user_id_flow'), table_name='flowkit_runs')
    op.drop_index(op.f('ix_flowkit_runs_status_updated_at'), table_name='flowkit_runs')
    op.drop_index(op.f('ix_flowkit_runs_flow_status'), table_name='flowkit_runs')
    op.drop_table('flowkit_runs')
    op.drop_index(op.f('ix_flowkit_history_run_id_id'), table_name='flowkit_history')
    op.drop_table('flowkit_history')
    op.drop_table('flowkit_flow_versions')
    op.drop_index(op.f('ix_flowkit_events_user_id_seq'), table_name='flowkit_events')
    op.drop_index(op.f('ix_flowkit_events_routed_shard_seq'), table_name='flowkit_events')
    op.drop_table('flowkit_events')
    op.drop_index(op.f('ix_flowkit_actions_user_id_at'), table_name='flowkit_actions')
    op.drop_index(op.f('ix_flowkit_actions_run_id'), table_name='flowkit_actions')
    op.drop_table('flowkit_actions')
