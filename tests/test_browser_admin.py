"""An admin runs people's accounts from the browser (issue 17), in a real Chromium
against a live server: finds a teacher by part of her name, sees her enrolment,
makes her a course leader (she finds the leaders' area on her next page), then
disables her account (her session ends) and enables it again. Desktop and phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, SCREENSHOTS, WRITE_SCREENSHOTS, log_in, set_up_course, watch_problems
from conftest import PASSWORD, TODAY
from shooc.audit import AuditEntry
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_an_admin_makes_a_teacher_a_leader_then_disables_and_enables_her(
        live_server, browser, viewport) -> None:  # type: ignore[no-untyped-def]
    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        create_user(session, "ada@uni.example", "Ada Admin", "admin", PASSWORD)
        tess = create_user(session, "tess@school.example", "Tess Teacher", "learner", PASSWORD)
        enrol(session, session.scalar(select(Run)), tess.id, TODAY)
        session.commit()
    admin = watch_problems(browser.new_context(viewport=viewport).new_page())
    teacher = watch_problems(browser.new_context(viewport=viewport).new_page())
    log_in(teacher, base, "tess@school.example")
    expect(teacher.get_by_role("link", name="Leading")).to_have_count(0)

    log_in(admin, base, "ada@uni.example")
    with admin.expect_navigation():
        admin.get_by_role("link", name="People").click()
    admin.get_by_label("Name or e-mail").fill("tess")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Find").click()
    with admin.expect_navigation():
        admin.get_by_role("link", name="Tess Teacher").click()
    expect(admin.get_by_role("link", name="Open run")).to_be_visible()  # her enrolment
    admin.get_by_label("Role").select_option("leader")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Change the role").click()
    expect(admin.get_by_text("Tess Teacher is now a course leader.")).to_be_visible()
    if WRITE_SCREENSHOTS:  # make screenshots
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        admin.screenshot(path=str(SCREENSHOTS / f"admin-person-{viewport['width']}.png"), full_page=True)

    teacher.goto(base + "/dashboard")
    with teacher.expect_navigation():
        teacher.get_by_role("link", name="Leading").click()
    expect(teacher.get_by_role("heading", level=1)).to_be_visible()
    assert "/lead/" in teacher.url

    with admin.expect_navigation():
        admin.get_by_role("button", name="Disable the account").click()
    expect(admin.get_by_text("account is disabled")).to_be_visible()
    teacher.goto(base + "/lead/")
    assert "/auth/login" in teacher.url  # her session ended
    with admin.expect_navigation():
        admin.get_by_role("button", name="Enable the account").click()
    expect(admin.get_by_text("can log in again")).to_be_visible()
    log_in(teacher, base, "tess@school.example")
    expect(teacher.get_by_role("link", name="Leading")).to_be_visible()

    with database.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["user.role", "user.disable", "user.enable"]
    for page in (admin, teacher):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (page.url, width)
        assert page.problems == [], page.problems
        page.context.close()
