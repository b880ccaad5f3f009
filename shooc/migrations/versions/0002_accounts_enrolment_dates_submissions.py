"""accounts, enrolment dates, submissions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('pending_drafts',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_pending_drafts'))
    )
    with op.batch_alter_table('pending_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_drafts_created_at'), ['created_at'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('workbook_slug', sa.String(length=80), nullable=False),
    sa.Column('workbook_version_id', sa.Integer(), nullable=True),
    sa.Column('course_version_number', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_submissions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['workbook_version_id'], ['workbook_versions.id'], name=op.f('fk_submissions_workbook_version_id_workbook_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('enrolment_id', 'workbook_slug', name=op.f('uq_submissions_enrolment_id_workbook_slug'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=50), server_default='Europe/London', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_role', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('mentoring_experience', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email_opt_in', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_token', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    # Accounts made before e-mail confirmation existed were made by administrators.
    op.execute("UPDATE users SET email_verified_at = created_at")



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('session_token')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('consented_at')
        batch_op.drop_column('email_opt_in')
        batch_op.drop_column('mentoring_experience')
        batch_op.drop_column('job_role')

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('timezone')

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('last_activity_at')
        batch_op.drop_column('withdrawn_at')

    op.drop_table('submissions')
    with op.batch_alter_table('pending_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_drafts_created_at'))

    op.drop_table('pending_drafts')
