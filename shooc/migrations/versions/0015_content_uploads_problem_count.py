"""content_uploads: problem_count, the problems found when it was staged

The publish page lists an upload with problems apart from those waiting to be
published (issue 17). Uploads staged before keep NULL and are listed as waiting,
as before, until they are looked at again (their review shows their problems).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 20:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('content_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('problem_count', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('content_uploads', schema=None) as batch_op:
        batch_op.drop_column('problem_count')
