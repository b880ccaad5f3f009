"""pending drafts: the sending address (hashed) and size; the holder's name on public
pages is one choice per enrolment

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

    # One choice, per enrolment, governs the name on its badges' pages and its
    # certificate's page. It was per badge: a name stays shown only where the learner
    # had shown it on every badge of the enrolment (hiding it anywhere was a choice
    # not to be named).
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_name', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE enrolments SET show_name = TRUE WHERE EXISTS (SELECT 1 FROM badge_assertions b"
               " WHERE b.enrolment_id = enrolments.id) AND NOT EXISTS (SELECT 1 FROM badge_assertions b"
               " WHERE b.enrolment_id = enrolments.id AND NOT b.show_name)")
    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.drop_column('show_name')


def downgrade() -> None:
    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_name', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE badge_assertions SET show_name = (SELECT e.show_name FROM enrolments e"
               " WHERE e.id = badge_assertions.enrolment_id)")
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('show_name')
    with op.batch_alter_table('pending_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_drafts_address_key'))
        batch_op.drop_column('size')
        batch_op.drop_column('address_key')
