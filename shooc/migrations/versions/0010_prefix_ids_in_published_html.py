"""published HTML: ids that written text set are prefixed ``user-content-``

Versions published before shooc.workbooks.render prefixed them (issue 14) could hold
an id of the page's own, such as ``csrf_token``; their stored HTML is sanitised
again by today's rules (shooc.workbooks.render.resanitise: ids and in-page links
prefixed once, nothing else changed). Downgrading keeps the prefixes: they are
harmless to an older release.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shooc.workbooks.render import resanitise


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

course_versions = sa.table('course_versions', sa.column('id', sa.Integer), sa.column('body_html', sa.Text))
workbook_versions = sa.table('workbook_versions', sa.column('id', sa.Integer), sa.column('body_parts', sa.JSON))
activity_versions = sa.table('activity_versions', sa.column('id', sa.Integer), sa.column('rendered', sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    # One version at a time (a workbook's body is tens of kilobytes), only those that
    # set an id or link within the page; nothing else is rewritten.
    for row in connection.execute(sa.select(course_versions.c.id, course_versions.c.body_html)):
        if 'id="' in row.body_html or 'href="#' in row.body_html:
            connection.execute(course_versions.update().where(course_versions.c.id == row.id)
                               .values(body_html=resanitise(row.body_html)))
    for row in connection.execute(sa.select(workbook_versions.c.id, workbook_versions.c.body_parts)):
        parts = [{**part, "html": resanitise(part["html"])} if "html" in part else part for part in row.body_parts]
        if parts != row.body_parts:
            connection.execute(workbook_versions.update().where(workbook_versions.c.id == row.id)
                               .values(body_parts=parts))
    for row in connection.execute(sa.select(activity_versions.c.id, activity_versions.c.rendered)):
        rendered = {key: resanitise(html) for key, html in row.rendered.items()}
        if rendered != row.rendered:
            connection.execute(activity_versions.update().where(activity_versions.c.id == row.id)
                               .values(rendered=rendered))


def downgrade() -> None:
    pass
