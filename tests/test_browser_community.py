"""Two teachers and a leader in one run's discussion, in a real Chromium (two browser
contexts: two people), against a live server: A posts, B reads, replies and marks it
helpful, A is told (and e-mailed after `shooc mail send`), B reports a post, the
leader hides it from the moderation queue and B no longer sees it. Desktop and phone."""
from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, log_in, set_up_course, watch_problems
from conftest import PASSWORD, TODAY
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DISCUSSION = "/courses/mentoring/workbooks/the-mentors-role/discussion"


def _mails_to(outbox: Path, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found  # type: ignore[return-value]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_two_teachers_talk_a_leader_moderates(live_server, committed_app, browser, tmp_path: Path,
                                              viewport) -> None:  # type: ignore[no-untyped-def]
    base, database = live_server
    set_up_course(database, leader=True)
    with database.session() as session:
        run = session.scalar(select(Run))
        for address, name in (("ann@school.example", "Ann Archer"), ("bea@school.example", "Bea Baker")):
            enrol(session, run, create_user(session, address, name, "learner", PASSWORD).id, TODAY)
        session.commit()
    people = {}
    for who in ("ann", "bea", "leader"):
        context = browser.new_context(viewport=viewport)
        people[who] = watch_problems(context.new_page())
    ann, bea, leader = people["ann"], people["bea"], people["leader"]

    # A posts, answering the workbook's prompt from the workbook page
    log_in(ann, base, "ann@school.example")
    ann.goto(base + "/courses/mentoring/workbooks/the-mentors-role")
    ann.locator("[id='a.roles-with-your-run.post']").fill("Being a **critical friend** is hardest for me.")
    with ann.expect_navigation():
        ann.get_by_role("button", name="Post to the discussion").click()
    expect(ann.get_by_text("Your post is up.")).to_be_visible()

    # B reads it, replies, marks it helpful
    log_in(bea, base, "bea@school.example")
    bea.goto(base + DISCUSSION)
    expect(bea.get_by_text("is hardest for me")).to_be_visible()
    bea.get_by_role("link", name="Reply to Ann Archer").click()
    bea.get_by_label("Your reply").fill("Me too: I start with what went well.")
    with bea.expect_navigation():
        bea.get_by_role("button", name="Post reply").click()
    expect(bea.get_by_text("Your reply is posted.")).to_be_visible()
    with bea.expect_navigation():
        bea.locator("article").filter(has_text="is hardest for me").get_by_role("button", name="Helpful (0)").click()
    expect(bea.get_by_role("button", name="Helpful (1)")).to_be_visible()

    # A is told: the header's count, the page, and an e-mail after `shooc mail send`
    ann.goto(base + "/dashboard")
    assert ann.locator(".count-badge").inner_text().startswith("1")
    with ann.expect_navigation():
        ann.get_by_role("link", name="Notifications").click()
    expect(ann.get_by_role("link", name="Bea Baker replied in a thread you follow")).to_be_visible()
    result = committed_app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "Queued 1 notification" in result.output, result.output
    (mail,) = _mails_to(tmp_path / "outbox", "ann@school.example")
    assert "Bea Baker replied" in mail["Subject"] and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Me too: I start with what went well." in mail.get_body(("plain",)).get_content()
    assert "<ul" in mail.get_body(("html",)).get_content()

    # B reports a post (a new one of A's); the leader hides it from the queue
    ann.goto(base + DISCUSSION)
    ann.get_by_label("Your post").fill("Buy essays cheap at spam.example")
    with ann.expect_navigation():
        ann.get_by_role("button", name="Post", exact=True).click()
    bea.goto(base + DISCUSSION)
    bea.locator("article").filter(has_text="Buy essays").get_by_role("link", name="Report").click()
    bea.get_by_label("What is wrong with it?").fill("Advertising")
    with bea.expect_navigation():
        bea.get_by_role("button", name="Report").click()
    expect(bea.get_by_text("the course team will look at this post")).to_be_visible()

    log_in(leader, base, "leader@example.org")
    leader.goto(base + f"/lead/runs/{run.slug}/moderation")
    card = leader.locator("article").filter(has_text="Buy essays")
    expect(card.get_by_text("Advertising")).to_be_visible()
    card.get_by_label("Reason (kept in the audit log)").fill("Spam")
    with leader.expect_navigation():
        card.get_by_role("button", name="Hide").click()
    expect(leader.get_by_text("The post is hidden")).to_be_visible()

    bea.goto(base + DISCUSSION)
    expect(bea.get_by_text("is hardest for me")).to_be_visible()
    assert bea.get_by_text("Buy essays").count() == 0
    for page in people.values():
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (page.url, width)
        assert page.problems == [], page.problems
        page.context.close()
