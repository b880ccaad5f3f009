"""team_messages: the course team's messages to one learner or a filtered group

Issue 17 (shooc/lead/messages.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'team_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('audience', sa.String(length=300), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('emailed_to', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_team_messages_author_id_users')),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_team_messages_run_id_runs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_team_messages')))
    with op.batch_alter_table('team_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_messages_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('team_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_messages_run_id'))
        batch_op.drop_index(batch_op.f('ix_team_messages_created_at'))
    op.drop_table('team_messages')
