"""users.pending_email: a new e-mail address waiting for its confirmation link

Issue 18 (shooc/auth/email_change.py). The link itself is signed, not stored: it
names the account and the address, and works only while that address is the
account's pending one.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 19:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('users', sa.Column('pending_email', sa.String(length=254), nullable=True))
    op.add_column('users', sa.Column('pending_email_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL), never a
    # batch copy of the table: on SQLite that drops and re-creates ``users``, and every
    # ON DELETE SET NULL that points at it (enrolments, posts ...) would fire.
    op.drop_column('users', 'pending_email_at')
    op.drop_column('users', 'pending_email')
