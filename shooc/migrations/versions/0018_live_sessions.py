"""live sessions: live_sessions, session_reminders_sent, calendar_feeds; recordings
placed in a media activity and attached to a session

Recordings posted before (attached to a course's workbook, shown after its text)
are placed sensibly: each workbook's latest recording goes into the first media
activity of that workbook in the course's current version that has no address of
its own, so that it shows where the workbook says "The recording will be posted
here". The others (no such activity, or a second recording for it) stay as they
were, after the workbook's text. The downgrade forgets the placements.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('live_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('join_url', sa.String(length=1000), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_live_sessions_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_live_sessions_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sessions'))
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_live_sessions_run_starts', ['run_id', 'starts_at'], unique=False)

    op.create_table('session_reminders_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'],
                            name=op.f('fk_session_reminders_sent_session_id_live_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_reminders_sent_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_reminders_sent')),
    sa.UniqueConstraint('session_id', 'user_id', name=op.f('uq_session_reminders_sent_session_id_user_id'))
    )
    with op.batch_alter_table('session_reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_reminders_sent_user_id'), ['user_id'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token', name=op.f('uq_calendar_feeds_token'))
    )

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('session_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_session_id'), ['session_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_recordings_session_id_live_sessions'), 'live_sessions',
                                    ['session_id'], ['id'], ondelete='SET NULL')

    _place_existing_recordings()


def _place_existing_recordings() -> None:
    connection = op.get_bind()
    # the first media activity without an address of its own, per (course, workbook) of the current version
    free: dict[tuple[int, str], str] = {}
    for course_id, slug, activity_id, definition in connection.execute(sa.text(
            "SELECT c.id, w.slug, a.activity_id, a.definition FROM courses c "
            "JOIN workbook_versions w ON w.course_version_id = c.current_version_id "
            "JOIN activity_versions a ON a.workbook_version_id = w.id "
            "WHERE a.kind = 'media' ORDER BY c.id, w.slug, a.position")):
        if isinstance(definition, str):
            import json
            definition = json.loads(definition)
        if (course_id, slug) not in free and not (definition or {}).get('url'):
            free[(course_id, slug)] = activity_id
    placed: set[tuple[int, str]] = set()
    for recording_id, course_id, slug in connection.execute(sa.text(
            "SELECT id, course_id, workbook_slug FROM recordings "
            "ORDER BY course_id, workbook_slug, recorded_on IS NULL, recorded_on DESC, created_at DESC, id DESC")):
        key = (course_id, slug)
        if key in free and key not in placed:
            connection.execute(sa.text("UPDATE recordings SET activity_id = :a WHERE id = :id"),
                               {"a": free[key], "id": recording_id})
            placed.add(key)


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_recordings_session_id_live_sessions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_recordings_session_id'))
        batch_op.drop_column('session_id')
        batch_op.drop_column('activity_id')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('session_reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_reminders_sent_user_id'))
    op.drop_table('session_reminders_sent')
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_live_sessions_run_starts')
    op.drop_table('live_sessions')
