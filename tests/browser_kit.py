"""What the browser tests share: Chromium through Playwright, screenshots at desktop
and phone width, a course set up on a live server, logging in, reading the outbox.
The ``browser`` and ``page`` fixtures are in conftest.py (one Chromium per session)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
from pathlib import Path

import pytest

from conftest import PASSWORD, TODAY, unavailable, mentoring
from shooc.auth.services import create_user
from shooc.config import PROJECT_ROOT
from shooc.db import Database
from shooc.enrolment.runs import create_run
from shooc.workbooks.publish import publish_course

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "tests" / "output" / "screenshots"
PHONE = {"width": 390, "height": 844}


def launch_browser():  # type: ignore[no-untyped-def]
    """Chromium, or a skip (a failure when SHOOC_REQUIRE_BROWSER=1)."""
    required = os.environ.get("SHOOC_REQUIRE_BROWSER") == "1"
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM} (make test installs it as root; or apt-get install chromium)"
        unavailable("BROWSER", message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield browser
        browser.close()


#: PNGs are written only when asked for (``make screenshots``): a full-page
#: screenshot costs more than the page itself, and CI looks at none of them. Every
#: page is still opened at phone width and measured.
WRITE_SCREENSHOTS = os.environ.get("SHOOC_SCREENSHOTS") == "1"


class Shots:
    """Numbered screenshots of a test's pages, at desktop and phone width (with
    SHOOC_SCREENSHOTS=1), and a check that every such page fits a phone."""

    def __init__(self, browser, folder: Path) -> None:  # type: ignore[no-untyped-def]
        self.folder = folder
        self.count = 0
        self.phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
        if WRITE_SCREENSHOTS:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.png"):
                old.unlink()

    def take(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        if WRITE_SCREENSHOTS:
            page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        # The same page loaded at phone width, with the same cookies (a page resized
        # in place is not the same: what sized itself at load keeps its width).
        self.phone.clear_cookies()
        self.phone.add_cookies(page.context.cookies())
        phone_page = self.phone.new_page()
        phone_page.goto(page.url)
        if WRITE_SCREENSHOTS:
            phone_page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}-phone.png"), full_page=True)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        phone_page.close()
        assert width <= PHONE["width"], f"{name} is wider than a phone ({width}px)"


def watch_problems(page):  # type: ignore[no-untyped-def]
    """The page, collecting in ``page.problems`` its script errors and CSP violations
    (not the expected 4xx answers)."""
    page.problems = []
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and page.problems.append(m.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    return page


def open_page(browser, request):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = watch_problems(context.new_page())
    page.shots = Shots(browser, SCREENSHOTS / request.node.name)
    yield page
    page.shots.phone.close()
    context.close()


def set_up_course(database: Database, leader: bool = False) -> None:
    session = database.session()
    course = publish_course(session, mentoring()).course
    create_run(session, course, TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=90), name="Open run")
    if leader:
        create_user(session, "leader@example.org", "Lee Leader", "leader", PASSWORD)
    session.commit()
    session.close()


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/auth/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def last_mail(outbox: Path) -> str:
    newest = max(outbox.glob("*.eml"), key=lambda p: p.name)
    message = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()
