"""jobs: background work's state in the database; record_imports keep their file and
summary, their status, error and finish are their job's

Issue 15: an import's progress was a dict in the memory of the server doing it, and a
restart left it "running" for an hour. Existing imports get a job each, with their
status, error and times.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shooc.db import UTCDateTime


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    jobs = op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_jobs_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_status_heartbeat', ['status', 'heartbeat_at'], unique=False)
    with op.batch_alter_table('record_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))

    connection = op.get_bind()
    imports = sa.table('record_imports', sa.column('id', sa.Integer()), sa.column('job_id', sa.Integer()),
                       sa.column('status', sa.String()), sa.column('rows', sa.Integer()),
                       sa.column('error', sa.Text()), sa.column('created_by_id', sa.Integer()),
                       sa.column('created_at', UTCDateTime()), sa.column('finished_at', UTCDateTime()))
    for row in connection.execute(sa.select(imports)).all():
        # A "running" import when this runs was stopped by the upgrade's restart: failed.
        status = row.status if row.status in ('done', 'failed') else 'failed'
        error = row.error if row.status == 'failed' else (
            None if status == 'done' else 'stopped by an upgrade before it finished; import the file again')
        job_id = connection.execute(sa.insert(jobs).values(
            kind='records.import', status=status, params={}, done=row.rows if status == 'done' else 0,
            total=row.rows, error=error, attempts=1, created_by_id=row.created_by_id, created_at=row.created_at,
            started_at=row.created_at, heartbeat_at=row.finished_at or row.created_at,
            finished_at=row.finished_at or row.created_at).returning(jobs.c.id)).scalar_one()
        connection.execute(sa.update(imports).where(imports.c.id == row.id).values(job_id=job_id))

    with op.batch_alter_table('record_imports', schema=None) as batch_op:
        batch_op.alter_column('job_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_record_imports_job_id'), ['job_id'])
        batch_op.create_foreign_key(batch_op.f('fk_record_imports_job_id_jobs'), 'jobs', ['job_id'], ['id'])
        batch_op.drop_column('status')
        batch_op.drop_column('error')
        batch_op.drop_column('finished_at')


def downgrade() -> None:
    with op.batch_alter_table('record_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='failed'))
    op.execute("UPDATE record_imports SET status = (SELECT status FROM jobs WHERE jobs.id = record_imports.job_id), "
               "error = (SELECT error FROM jobs WHERE jobs.id = record_imports.job_id), "
               "finished_at = (SELECT finished_at FROM jobs WHERE jobs.id = record_imports.job_id)")
    with op.batch_alter_table('record_imports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_record_imports_job_id_jobs'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_record_imports_job_id'), type_='unique')
        batch_op.drop_column('job_id')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_heartbeat')
    op.drop_table('jobs')
