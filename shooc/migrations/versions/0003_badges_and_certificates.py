"""badges and certificates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('certificates',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=True),
    sa.Column('issued_on', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_certificates_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_certificates')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_certificates_enrolment_id'))
    )
    op.create_table('badge_assertions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('course_slug', sa.String(length=80), nullable=False),
    sa.Column('workbook_slug', sa.String(length=80), nullable=False),
    sa.Column('recipient_identity', sa.String(length=80), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('issued_on', sa.DateTime(timezone=True), nullable=False),
    sa.Column('show_name', sa.Boolean(), nullable=False),
    sa.Column('evidence_activity_id', sa.String(length=80), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_badge_assertions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_badge_assertions_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_assertions')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_badge_assertions_submission_id'))
    )
    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badge_assertions_enrolment_id'), ['enrolment_id'], unique=False)




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('badge_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_badge_assertions_enrolment_id'))

    op.drop_table('badge_assertions')
    op.drop_table('certificates')

