"""lti: LTI 1.3 platforms, identities, per-course leaders, nonces, links, scores, tokens

Issue 20 (shooc/lti/).

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 22:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0026'
down_revision: Union[str, Sequence[str], None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'lti_platforms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('client_id', sa.String(length=200), nullable=False),
        sa.Column('auth_url', sa.String(length=500), nullable=False),
        sa.Column('token_url', sa.String(length=500), nullable=False),
        sa.Column('jwks_url', sa.String(length=500), nullable=False),
        sa.Column('deployment_ids', sa.Text(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=True),
        sa.Column('jwks', sa.JSON(), nullable=True),
        sa.Column('jwks_fetched_at', WHEN, nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_platforms_course_id_courses'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
        sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id')),
    )
    op.create_table(
        'lti_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_identities_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_identities_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_identities')),
        sa.UniqueConstraint('platform_id', 'subject', name=op.f('uq_lti_identities_platform_id_subject')),
    )
    op.create_index(op.f('ix_lti_identities_user_id'), 'lti_identities', ['user_id'])
    op.create_table(
        'lti_course_leaders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_course_leaders_course_id_courses'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_course_leaders_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_course_leaders_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_course_leaders')),
        sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_lti_course_leaders_user_id_course_id')),
    )
    op.create_index(op.f('ix_lti_course_leaders_course_id'), 'lti_course_leaders', ['course_id'])
    op.create_table(
        'lti_nonces',
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=64), nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.Column('used_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_nonces_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('value', name=op.f('pk_lti_nonces')),
    )
    op.create_table(
        'lti_handoffs',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=500), nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.Column('used_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_handoffs_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_lti_handoffs')),
    )
    op.create_table(
        'lti_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('context_id', sa.String(length=255), nullable=True),
        sa.Column('resource_link_id', sa.String(length=255), nullable=False),
        sa.Column('workbook_slug', sa.String(length=80), nullable=True),
        sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
        sa.Column('lineitems_url', sa.String(length=1000), nullable=True),
        sa.Column('ags_scopes', sa.Text(), nullable=False),
        sa.Column('memberships_url', sa.String(length=1000), nullable=True),
        sa.Column('launched_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_links_course_id_courses'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_links_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_links_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_links')),
        sa.UniqueConstraint('platform_id', 'user_id', 'course_id', 'resource_link_id',
                            name=op.f('uq_lti_links_platform_id_user_id_course_id_resource_link_id')),
    )
    op.create_index(op.f('ix_lti_links_user_id'), 'lti_links', ['user_id'])
    op.create_table(
        'lti_scores',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('workbook_slug', sa.String(length=80), nullable=True),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('score_given', sa.Float(), nullable=False),
        sa.Column('score_maximum', sa.Float(), nullable=False),
        sa.Column('timestamp', WHEN, nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', WHEN, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['lti_links.id'], name=op.f('fk_lti_scores_link_id_lti_links'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_scores')),
    )
    op.create_index('ix_lti_scores_pending', 'lti_scores', ['sent_at', 'id'])
    op.create_table(
        'lti_access_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('scopes', sa.String(length=1000), nullable=False),
        sa.Column('token', sa.Text(), nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_access_tokens_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_access_tokens')),
        sa.UniqueConstraint('platform_id', 'scopes', name=op.f('uq_lti_access_tokens_platform_id_scopes')),
    )


def downgrade() -> None:
    for table in ('lti_access_tokens', 'lti_scores', 'lti_links', 'lti_handoffs', 'lti_nonces', 'lti_course_leaders',
                  'lti_identities', 'lti_platforms'):
        op.drop_table(table)
