"""credential_statuses: each badge's and certificate's index in the revocation status list

Issue 20 (Open Badges 3.0, shooc/badges/credentials.py). Badges and certificates
issued before get their indexes here, in the order they were issued.

Revision ID: 0025
Revises: 0027 (written beside 0026 and 0027 on another branch; chained after them at the merge)
Create Date: 2026-12-06 21:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0025'
down_revision: Union[str, Sequence[str], None] = '0027'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'credential_statuses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assertion_id', sa.String(length=32), nullable=True),
        sa.Column('certificate_code', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['assertion_id'], ['badge_assertions.id'],
                                name=op.f('fk_credential_statuses_assertion_id_badge_assertions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['certificate_code'], ['certificates.code'],
                                name=op.f('fk_credential_statuses_certificate_code_certificates'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_statuses')),
        sa.UniqueConstraint('assertion_id', name=op.f('uq_credential_statuses_assertion_id')),
        sa.UniqueConstraint('certificate_code', name=op.f('uq_credential_statuses_certificate_code')),
    )
    op.execute("INSERT INTO credential_statuses (assertion_id) "
               "SELECT id FROM badge_assertions ORDER BY issued_on, id")
    op.execute("INSERT INTO credential_statuses (certificate_code) "
               "SELECT code FROM certificates ORDER BY issued_on, code")


def downgrade() -> None:
    op.drop_table('credential_statuses')
