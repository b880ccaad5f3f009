"""enrolments: first_posted_at, when the learner first posted in the run's discussions;
posts: indexes that read a discussion's page and the moderation queue in order

The statistics' community figures come from counters now (issue 16: counting the
posts and contributors of a run on every statistics page cost more than the rest of
the page at 100,000 participants). Existing posts set the date; shooc.migrate then
counts each run that has posts once from its rows (counters.rebuild). A page of
threads, newest or most helpful first, and of the queue, most reported first, are
read from an index in their order instead of sorting every post of the run.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 19:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_posted_at', sa.DateTime(timezone=True), nullable=True))
    enrolments = sa.table('enrolments', sa.column('run_id'), sa.column('user_id'), sa.column('first_posted_at'))
    posts = sa.table('posts', sa.column('run_id'), sa.column('author_id'), sa.column('by_course_team', sa.Boolean),
                     sa.column('created_at'))
    first = (sa.select(sa.func.min(posts.c.created_at))
             .where(posts.c.run_id == enrolments.c.run_id, posts.c.author_id == enrolments.c.user_id,
                    posts.c.by_course_team.is_(sa.false())).scalar_subquery())
    op.execute(enrolments.update().where(enrolments.c.user_id.is_not(None)).values(first_posted_at=first))
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_threads')
        batch_op.create_index('ix_posts_threads', ['run_id', 'workbook_slug', 'parent_id', 'hidden_at', 'pinned_at',
                                                   'created_at', 'id'], unique=False)
        batch_op.create_index('ix_posts_threads_helpful', ['run_id', 'workbook_slug', 'parent_id', 'hidden_at',
                                                           'pinned_at', 'helpful_count', 'created_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_posts_run_reports', ['run_id', 'open_reports', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_run_reports')
        batch_op.drop_index('ix_posts_threads_helpful')
        batch_op.drop_index('ix_posts_threads')
        batch_op.create_index('ix_posts_threads', ['run_id', 'workbook_slug', 'parent_id', 'created_at'], unique=False)
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('first_posted_at')
