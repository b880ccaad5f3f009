"""signing_keys: the instance's keys for Open Badges 3.0 credentials and LTI 1.3

Issue 20 (shooc/signing_keys.py). One current key per purpose (a partial unique
index), retired ones kept for verification.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 21:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0023'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CURRENT = sa.text("retired_at IS NULL")


def upgrade() -> None:
    op.create_table(
        'signing_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('algorithm', sa.String(length=16), nullable=False),
        sa.Column('public_jwk', sa.Text(), nullable=False),
        sa.Column('encrypted_private_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
        sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid')),
    )
    op.create_index('uq_signing_keys_purpose_current', 'signing_keys', ['purpose'], unique=True,
                    sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    op.drop_index('uq_signing_keys_purpose_current', table_name='signing_keys')
    op.drop_table('signing_keys')
