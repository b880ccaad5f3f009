"""responses.revision: the version an autosave was typed over

Issue 18. Each save of an answer adds one; an autosave sends the revision its page
had and is refused if the answer has been saved since (another tab, another device).
Answers saved before this revision start at 1.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('revision')
