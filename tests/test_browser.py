"""Journeys people click through, in a real Chromium (Debian's, driven by Playwright)
against a real server on 127.0.0.1 that commits to a real database."""
from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from conftest import MENTORING, PASSWORD, TODAY
from shooc import create_app
from shooc.auth.services import create_user
from shooc.db import Database, get_db
from shooc.enrolment.services import create_run
from shooc.migrate import upgrade
from shooc.workbooks.loader import load_course
from shooc.workbooks.publish import publish_course

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _empty_tables(database: Database, tables: list[str]) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, schema_tables: list[str]) -> Iterator[tuple[str, Database]]:
    postgres = not database_url.startswith("sqlite")
    url = database_url if postgres else f"sqlite:///{tmp_path}/live.sqlite3"
    app = create_app({"SHOOC_DATABASE_URL": url, "SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "live"})
    database = get_db(app)
    if postgres:
        _empty_tables(database, schema_tables)
    else:
        upgrade(database)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", database
    finally:
        server.shutdown()
        thread.join(timeout=5)
        if postgres:
            _empty_tables(database, schema_tables)
        database.engine.dispose()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (make test installs it as root; or apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []  # console errors, CSP violations included
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


def test_a_visitor_finds_the_course_and_a_leader_previews_a_workbook(live_server, page, tmp_path: Path) -> None:
    base, database = live_server
    session = database.session()
    course = publish_course(session, load_course(MENTORING).course).course
    create_user(session, "leader@example.org", "Lee Leader", "leader", PASSWORD)
    create_run(session, course, TODAY, TODAY + dt.timedelta(days=90), name="Open run")
    session.commit()
    session.close()

    page.goto(base + "/")
    page.get_by_role("link", name="Mentoring trainee and early-career teachers").click()
    assert page.url == base + "/courses/mentoring"
    assert page.locator(".workbook-list > li").count() == 5
    assert page.get_by_text("Open run").is_visible()

    page.get_by_role("link", name="Log in to enrol").click()
    page.get_by_label("E-mail address").fill("leader@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.url == base + "/courses/mentoring"  # back where they were

    page.get_by_role("link", name="Observation and feedback").click()
    assert page.url.endswith("/courses/mentoring/workbooks/observation-and-feedback")
    assert page.get_by_role("note").inner_text().startswith("Preview of version 1")
    assert page.get_by_role("heading", name="Case study").is_visible()
    quiz = page.locator("#activity-observation-quiz")
    assert quiz.get_by_role("group").count() >= 4  # one fieldset per question
    page.screenshot(path=str(tmp_path / "workbook.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    assert page.get_by_text("You have logged out.").is_visible()
    assert page.problems == []
