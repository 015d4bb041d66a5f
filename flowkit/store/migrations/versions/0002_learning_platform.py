"""learning platform tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:52:59.684880
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lms_certificates',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('certificate', sa.String(length=200), nullable=False),
    sa.Column('awarded_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'certificate', name=op.f('pk_lms_certificates'))
    )
    op.create_table('lms_course_completions',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'course', name=op.f('pk_lms_course_completions'))
    )
    op.create_table('lms_courses',
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_lms_courses'))
    )
    op.create_table('lms_emails',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=True),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_emails'))
    )
    op.create_index(op.f('ix_lms_emails_user_id'), 'lms_emails', ['user_id'], unique=False)
    op.create_table('lms_enrollments',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=400), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'course', name=op.f('pk_lms_enrollments'))
    )
    op.create_table('lms_invoices',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_lms_invoices_number'))
    )
    op.create_index(op.f('ix_lms_invoices_user_id'), 'lms_invoices', ['user_id'], unique=False)
    op.create_table('lms_messages',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('track', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('button', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_messages'))
    )
    op.create_index(op.f('ix_lms_messages_user_id'), 'lms_messages', ['user_id'], unique=False)
    op.create_table('lms_notifications',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_notifications'))
    )
    op.create_index(op.f('ix_lms_notifications_user_id'), 'lms_notifications', ['user_id'], unique=False)
    op.create_table('lms_payments',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_payments'))
    )
    op.create_index(op.f('ix_lms_payments_user_id'), 'lms_payments', ['user_id'], unique=False)
    op.create_table('lms_space_members',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('space', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'space', name=op.f('pk_lms_space_members'))
    )
    op.create_table('lms_tags',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('tag', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'tag', name=op.f('pk_lms_tags'))
    )
    op.create_table('lms_track_invitations',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('track', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('button', sa.String(length=200), nullable=False),
    sa.Column('confirmation', sa.Text(), nullable=True),
    sa.Column('reenroll', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lms_track_invitations'))
    )
    op.create_index(op.f('ix_lms_track_invitations_user_id'), 'lms_track_invitations', ['user_id'], unique=False)
    op.create_table('lms_unit_completions',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'course', 'unit', name=op.f('pk_lms_unit_completions'))
    )
    op.create_table('lms_visits',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'course', name=op.f('pk_lms_visits'))
    )


def downgrade() -> None:
    op.drop_table('lms_visits')
    op.drop_table('lms_unit_completions')
    op.drop_index(op.f('ix_lms_track_invitations_user_id'), table_name='lms_track_invitations')
    op.drop_table('lms_track_invitations')
    op.drop_table('lms_tags')
    op.drop_table('lms_space_members')
    op.drop_index(op.f('ix_lms_payments_user_id'), table_name='lms_payments')
    op.drop_table('lms_payments')
    op.drop_index(op.f('ix_lms_notifications_user_id'), table_name='lms_notifications')
    op.drop_table('lms_notifications')
    op.drop_index(op.f('ix_lms_messages_user_id'), table_name='lms_messages')
    op.drop_table('lms_messages')
    op.drop_index(op.f('ix_lms_invoices_user_id'), table_name='lms_invoices')
    op.drop_table('lms_invoices')
    op.drop_table('lms_enrollments')
    op.drop_index(op.f('ix_lms_emails_user_id'), table_name='lms_emails')
    op.drop_table('lms_emails')
    op.drop_table('lms_courses')
    op.drop_table('lms_course_completions')
    op.drop_table('lms_certificates')
