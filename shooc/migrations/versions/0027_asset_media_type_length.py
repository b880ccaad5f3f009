"""assets: media_type up to 100 characters, for the files a course ships

Issue 19: a course folder's templates (PDF, DOCX, ODT) are published as assets, as
its images are; a DOCX's media type
(application/vnd.openxmlformats-officedocument.wordprocessingml.document) is 71
characters, more than the 50 of 0001.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0027'
down_revision: Union[str, Sequence[str], None] = '0026'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.alter_column('media_type', existing_type=sa.String(length=50), type_=sa.String(length=100),
                              existing_nullable=False)


def downgrade() -> None:
    # The course files' long types do not fit back: they become a plain download.
    op.execute("UPDATE assets SET media_type = 'application/octet-stream' WHERE length(media_type) > 50")
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.alter_column('media_type', existing_type=sa.String(length=100), type_=sa.String(length=50),
                              existing_nullable=False)
