"""Issue 14's workbook attack and its honest twin, in a real Chromium: a hostile page
on another site auto-submits the workbook form (the browser itself decides which
cookies and headers go with it), and a learner whose session ended on one device
while they saved newer text on another chooses what to keep."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from sqlalchemy import select

from browser_kit import log_in, set_up_course
from conftest import PASSWORD, TODAY
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own

WB1 = "/courses/mentoring/workbooks/the-mentors-role"
CONTEXT = "a.my-mentoring-context.text"


def learner_enrolled(database) -> None:  # type: ignore[no-untyped-def]
    set_up_course(database)
    session = database.session()
    user = create_user(session, "vera@school.example", "Vera Victim", "learner", PASSWORD)
    enrol(session, session.scalar(select(Run)), user.id, TODAY)
    session.commit()
    session.close()


def hostile_site(target: str) -> Iterator[str]:
    """Another site (127.0.0.2 is another origin and another site than 127.0.0.1):
    a page whose script posts blank answers to the workbook as soon as it opens."""
    html = (f'<!doctype html><title>Free resources</title><form method="post" action="{target}">'
            f'<input name="{CONTEXT}" value=""><input name="action" value="save"></form>'
            '<script>document.forms[0].submit()</script>').encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{server.server_port}/"
    finally:
        server.shutdown()


def save_context(page, base: str, text: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + WB1)
    page.locator(f"[name='{CONTEXT}']").fill(text)
    with page.expect_navigation():
        page.locator("#activity-my-mentoring-context").get_by_role("button", name="Save draft").click()


def test_a_hostile_page_cannot_blank_a_learners_answers(live_server, page) -> None:
    base, database = live_server
    learner_enrolled(database)
    page.goto(base + "/auth/login")
    page.get_by_label("E-mail address").fill("vera@school.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Keep me logged in").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    save_context(page, base, "Our school's mentoring context")

    for hostile in hostile_site(base + WB1):
        with page.expect_navigation(url=base + WB1):
            page.goto(hostile)
        assert "nothing was kept" in page.content()
    page.goto(base + WB1)
    assert page.locator(f"[name='{CONTEXT}']").input_value() == "Our school's mentoring context"
    page.context.clear_cookies(name="session")  # a new browser session: "keep me logged in" logs her in again
    page.goto(base + WB1)
    assert page.locator(f"[name='{CONTEXT}']").input_value() == "Our school's mentoring context"


def test_a_learner_chooses_between_a_rescued_draft_and_newer_text(live_server, page, browser) -> None:
    base, database = live_server
    learner_enrolled(database)
    log_in(page, base, "vera@school.example")
    save_context(page, base, "Written on the laptop, first")
    page.locator(f"[name='{CONTEXT}']").fill("Written on the laptop, later")

    phone = browser.new_context().new_page()
    log_in(phone, base, "vera@school.example")
    save_context(phone, base, "Written on the phone")

    page.context.clear_cookies()  # the laptop's session ends while the page is open
    with page.expect_navigation():
        page.get_by_role("button", name="Save all").last.click()
    assert page.get_by_text("Your session had ended").is_visible()
    page.get_by_label("E-mail address").fill("vera@school.example")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Welcome back: choose what to keep").is_visible()
    assert page.get_by_text("Written on the phone").is_visible()
    assert page.get_by_text("Written on the laptop, later").is_visible()
    page.shots.take(page, "restore-choice")
    page.get_by_label("Use what you typed before your session ended").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my choices").click()
    assert page.get_by_text("Your workbook now has the answers you chose").is_visible()
    assert page.locator(f"[name='{CONTEXT}']").input_value() == "Written on the laptop, later"
    phone.reload()
    assert phone.locator(f"[name='{CONTEXT}']").input_value() == "Written on the laptop, later"
    phone.context.close()
    assert page.problems == []
