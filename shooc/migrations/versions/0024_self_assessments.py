"""self_assessments, self_ratings: a learner's rating of themself against the
course's standards before and after the course (issue 19)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 21:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0023'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'self_assessments',
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=10), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skipped_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'],
                                name=op.f('fk_self_assessments_enrolment_id_enrolments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('enrolment_id', 'phase', name=op.f('pk_self_assessments')),
    )
    op.create_table(
        'self_ratings',
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=10), nullable=False),
        sa.Column('standard_code', sa.String(length=40), nullable=False),
        sa.Column('rating', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'],
                                name=op.f('fk_self_ratings_enrolment_id_enrolments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('enrolment_id', 'phase', 'standard_code', name=op.f('pk_self_ratings')),
    )


def downgrade() -> None:
    op.drop_table('self_ratings')
    op.drop_table('self_assessments')
