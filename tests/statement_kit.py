"""The SQL statements one request sends (the pages whose statements issue 21 pins:
tests/test_session_cost.py, test_workbook_page.py, test_community.py)."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from shooc.unit_of_work import get_db


def statements_of_get(app: Flask, client: FlaskClient, url: str) -> list[str]:
    """The statements a GET of ``url`` sends (it must answer 200), each on one line and
    cut to 90 characters; the tests' own savepoints and rollbacks are left out."""
    connection = get_db(app).sessionmaker.kw["bind"]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(" ".join(statement.split())[:90])

    event.listen(connection, "before_cursor_execute", seen)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    return statements
