"""pending drafts: the sending address (hashed) and size

A draft posted without a live session is kept only within bounds per client
address (issue 14: anonymous posts could fill the database), so each row records a
keyed hash of the address and how many characters it holds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('pending_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_key', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('size', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_pending_drafts_address_key'), ['address_key'], unique=False)
    # A kept certificate PDF may print a URL built from a forged Host header (before
    # shooc/urls.py); each is drawn again on its next download.
    op.execute("UPDATE certificates SET pdf = NULL")


def downgrade() -> None:
    with op.batch_alter_table('pending_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_drafts_address_key'))
        batch_op.drop_column('size')
        batch_op.drop_column('address_key')
