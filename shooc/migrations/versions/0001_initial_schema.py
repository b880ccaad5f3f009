"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('assets',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=50), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_assets'))
    )
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('slug', name=op.f('uq_courses_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('learner', 'leader', 'evaluator', 'admin', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('course_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('source_digest', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_versions_course_id_courses')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_course_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_versions')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_course_versions_course_id_number'))
    )
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_versions_course_id'), ['course_id'], unique=False)
    # courses <-> course_versions refer to each other: this key comes after both tables.
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_courses_current_version_id_course_versions'),
                                    'course_versions', ['current_version_id'], ['id'])

    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.Enum('rolling', 'paced', name='runmode', native_enum=False, length=20), nullable=False),
    sa.Column('pace_days', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_runs_course_id_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs')),
    sa.UniqueConstraint('slug', name=op.f('uq_runs_slug'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_course_id'), ['course_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('extended_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_enrolments_run_id_runs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('run_id', 'user_id', name=op.f('uq_enrolments_run_id_user_id'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_run_id'), ['run_id'], unique=False)

    op.create_table('workbook_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('estimated_hours', sa.Double(), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('standards', sa.JSON(), nullable=False),
    sa.Column('badge', sa.JSON(), nullable=False),
    sa.Column('body_parts', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['course_version_id'], ['course_versions.id'], name=op.f('fk_workbook_versions_course_version_id_course_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workbook_versions')),
    sa.UniqueConstraint('course_version_id', 'slug', name=op.f('uq_workbook_versions_course_version_id_slug'))
    )
    with op.batch_alter_table('workbook_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workbook_versions_course_version_id'), ['course_version_id'], unique=False)

    op.create_table('activity_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workbook_version_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('rendered', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['workbook_version_id'], ['workbook_versions.id'], name=op.f('fk_activity_versions_workbook_version_id_workbook_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_versions')),
    sa.UniqueConstraint('workbook_version_id', 'activity_id', name=op.f('uq_activity_versions_workbook_version_id_activity_id'))
    )
    with op.batch_alter_table('activity_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_versions_workbook_version_id'), ['workbook_version_id'], unique=False)

    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('workbook_slug', sa.String(length=80), nullable=False),
    sa.Column('activity_id', sa.String(length=80), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('workbook_version_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_responses_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workbook_version_id'], ['workbook_versions.id'], name=op.f('fk_responses_workbook_version_id_workbook_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('enrolment_id', 'workbook_slug', 'activity_id', name=op.f('uq_responses_enrolment_id_workbook_slug_activity_id'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('responses')
    with op.batch_alter_table('activity_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_versions_workbook_version_id'))

    op.drop_table('activity_versions')
    with op.batch_alter_table('workbook_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workbook_versions_course_version_id'))

    op.drop_table('workbook_versions')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_run_id'))

    op.drop_table('enrolments')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_course_id'))

    op.drop_table('runs')
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_versions_course_id'))

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courses_current_version_id_course_versions'), type_='foreignkey')
    op.drop_table('course_versions')
    op.drop_table('users')
    op.drop_table('courses')
    op.drop_table('assets')
