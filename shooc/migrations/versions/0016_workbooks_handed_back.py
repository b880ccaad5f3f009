"""workbooks handed back (submission_returns), a new certificate after one, unread feedback

Issue 17. A handed-back workbook's submission is deleted and what remains of it is a
``submission_returns`` row; its revoked badge stays, with ``submission_id`` NULL.
An enrolment may hold several certificates, at most one of them valid (a partial
unique index). Feedback written before this revision counts as read.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VALID = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        'submission_returns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('workbook_slug', sa.String(length=80), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('returned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('returned_by_id', sa.Integer(), nullable=True),
        sa.Column('returned_by_name', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], ondelete='CASCADE',
                                name=op.f('fk_submission_returns_enrolment_id_enrolments')),
        sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_submission_returns_returned_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_returns')))
    with op.batch_alter_table('submission_returns', schema=None) as batch_op:
        batch_op.create_index('ix_submission_returns_enrolment_id_workbook_slug', ['enrolment_id', 'workbook_slug'],
                              unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_submitted_at', ['submitted_at'], unique=False)
    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint('fk_badge_assertions_submission_id_submissions', type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_badge_assertions_submission_id_submissions'), 'submissions',
                                    ['submission_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_certificates_enrolment_id', type_='unique')
        batch_op.create_index(batch_op.f('ix_certificates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index('uq_certificates_enrolment_id_valid', ['enrolment_id'], unique=True,
                              sqlite_where=VALID, postgresql_where=VALID)
    with op.batch_alter_table('workbook_feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))
    feedback = sa.table('workbook_feedback', sa.column('read_at'), sa.column('updated_at'))
    op.execute(feedback.update().values(read_at=feedback.c.updated_at))


def downgrade() -> None:
    # Only where no enrolment holds two certificates and every badge has its submission
    # (the unique and NOT NULL constraints come back): otherwise this fails, changing nothing.
    with op.batch_alter_table('workbook_feedback', schema=None) as batch_op:
        batch_op.drop_column('read_at')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_enrolment_id_valid')
        batch_op.drop_index(batch_op.f('ix_certificates_enrolment_id'))
        batch_op.create_unique_constraint('uq_certificates_enrolment_id', ['enrolment_id'])
    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_badge_assertions_submission_id_submissions', type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_badge_assertions_submission_id_submissions'), 'submissions',
                                    ['submission_id'], ['id'])
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_submitted_at')
    with op.batch_alter_table('submission_returns', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_returns_enrolment_id_workbook_slug')
    op.drop_table('submission_returns')
