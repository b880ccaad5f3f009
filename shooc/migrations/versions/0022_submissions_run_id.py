"""submissions: run_id, so that a run's review queue is an index walk at any size

Issue 17: bench/pages.py measured the review queue of a run of 33,000 participants
at 2 requests/s (it joined every enrolment of the run and sorted all their
submissions). ``run_id`` is the enrolment's, written with the submission; the queue
reads (run_id, submitted_at, id) and (run_id, workbook_slug, submitted_at, id)
backwards. Replaces 0016's index on submitted_at alone.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-04 19:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
    submissions = sa.table('submissions', sa.column('run_id'), sa.column('enrolment_id'))
    enrolments = sa.table('enrolments', sa.column('id'), sa.column('run_id'))
    op.execute(submissions.update().values(run_id=sa.select(enrolments.c.run_id).where(
        enrolments.c.id == submissions.c.enrolment_id).scalar_subquery()))
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.alter_column('run_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_submissions_run_id_runs'), 'runs', ['run_id'], ['id'])
        batch_op.drop_index('ix_submissions_submitted_at')
        batch_op.create_index('ix_submissions_run_id_submitted_at', ['run_id', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_submissions_run_id_workbook_slug_submitted_at',
                              ['run_id', 'workbook_slug', 'submitted_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_run_id_workbook_slug_submitted_at')
        batch_op.drop_index('ix_submissions_run_id_submitted_at')
        batch_op.create_index('ix_submissions_submitted_at', ['submitted_at'], unique=False)
        batch_op.drop_constraint(batch_op.f('fk_submissions_run_id_runs'), type_='foreignkey')
        batch_op.drop_column('run_id')
