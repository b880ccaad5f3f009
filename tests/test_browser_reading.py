"""Reading and answering a workbook in a real Chromium (issue 18), at desktop and phone
width: answers saved as one types, through a network cut and back, kept in the browser
and offered back after the tab is closed; two tabs that never overwrite each other
unseen; the contents list; submitting through a confirmation dialog."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, SCREENSHOTS, WRITE_SCREENSHOTS, Shots, log_in, set_up_course, watch_problems
from conftest import PASSWORD, TODAY
from shooc.auth.services import create_user
from shooc.enrolment.models import Enrolment, Response, Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WB1 = "/courses/mentoring/workbooks/the-mentors-role"
FIELD = '[name="a.my-mentoring-context.text"]'
STATUS = "#activity-my-mentoring-context-status"


def _learner(database) -> None:  # type: ignore[no-untyped-def]
    set_up_course(database)
    with database.session() as session:
        run = session.scalar(select(Run))
        tess = create_user(session, "tess@school.example", "Tess Teacher", "learner", PASSWORD)
        enrol(session, run, tess.id, TODAY)
        session.commit()


def _saved(database) -> str | None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        answer = session.scalar(select(Response.answer).where(Response.activity_id == "my-mentoring-context"))
    return answer["text"] if answer else None


def _shoot(page, folder, name: str, selector: str) -> None:  # type: ignore[no-untyped-def]
    if WRITE_SCREENSHOTS:
        folder.mkdir(parents=True, exist_ok=True)
        page.locator(selector).screenshot(path=str(folder / f"{name}.png"))


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_answers_save_as_one_types_through_a_network_cut(live_server, browser, request, viewport) -> None:
    base, database = live_server
    _learner(database)
    context = browser.new_context(viewport=viewport)
    page = watch_problems(context.new_page())
    log_in(page, base, "tess@school.example")
    page.goto(base + WB1)
    field = page.locator(FIELD)

    # typing, then a pause: saved, and said so beside the field
    field.click()
    field.press_sequentially("First thoughts about my role.")
    expect(page.locator(STATUS)).to_have_text(re.compile(r"^Saved \d\d:\d\d"), timeout=15000)
    assert _saved(database) == "First thoughts about my role."

    # the network drops: kept in this browser, said so, and saved once it is back
    context.set_offline(True)
    field.press_sequentially(" Written on the train.")
    field.blur()  # leaving the field saves at once
    expect(page.locator(STATUS)).to_have_text("Not saved: offline — kept in this browser, will retry", timeout=15000)
    kept = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('shooc.autosave:'))")
    assert kept == ["shooc.autosave:mentoring/the-mentors-role:my-mentoring-context"]
    assert _saved(database) == "First thoughts about my role."
    context.set_offline(False)
    expect(page.locator(STATUS)).to_have_text(re.compile(r"^Saved \d\d:\d\d"), timeout=15000)
    assert _saved(database) == "First thoughts about my role. Written on the train."
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('shooc.autosave:'))") == []

    # offline again, and the tab is closed: the text waits in the browser and is offered back
    context.set_offline(True)
    field.press_sequentially(" And in the tunnel.")
    expect(page.locator(STATUS)).to_have_text(re.compile("^Not saved: offline"), timeout=15000)
    page.close()
    # The page's last save (a keepalive request on pagehide) must fail while offline,
    # not reach the server once the network is back: give it time to fail first.
    time.sleep(2)
    context.set_offline(False)
    page = watch_problems(context.new_page())
    page.goto(base + WB1)
    expect(page.locator(FIELD)).to_have_value("First thoughts about my role. Written on the train.")
    offer = page.locator("#activity-my-mentoring-context .autosave-offer")
    expect(offer).to_contain_text("This browser kept what you typed here")
    page.shots = Shots(browser, SCREENSHOTS / request.node.name)
    _shoot(page, page.shots.folder, "offered-back", "#activity-my-mentoring-context")
    offer.get_by_role("button", name="Restore it").click()
    expect(page.locator(FIELD)).to_have_value("First thoughts about my role. Written on the train. And in the tunnel.")
    expect(page.locator(STATUS)).to_have_text(re.compile(r"^Saved \d\d:\d\d"), timeout=15000)
    assert _saved(database) == "First thoughts about my role. Written on the train. And in the tunnel."
    page.shots.take(page, "workbook-autosaved")
    page.shots.phone.close()
    assert page.problems == []
    context.close()


def test_two_tabs_never_overwrite_each_other_unseen(live_server, page, browser) -> None:
    base, database = live_server
    _learner(database)
    log_in(page, base, "tess@school.example")
    page.goto(base + WB1)
    other = watch_problems(page.context.new_page())  # the same learner, a second tab
    other.goto(base + WB1)

    page.locator(FIELD).fill("Written in the first tab.")
    page.locator(FIELD).blur()
    expect(page.locator(STATUS)).to_have_text(re.compile("^Saved"), timeout=15000)

    # the second tab, opened before that save, types over the old text: refused, both shown
    other.locator(FIELD).fill("Written in the second tab.")
    other.locator(FIELD).blur()
    offer = other.locator("#activity-my-mentoring-context .autosave-offer")
    expect(offer).to_contain_text("saved in another tab or on another device")
    expect(other.locator(STATUS)).to_have_text("Not saved: changed elsewhere")
    assert _saved(database) == "Written in the first tab."
    _shoot(other, page.shots.folder, "two-tabs-conflict", "#activity-my-mentoring-context")
    offer.get_by_role("button", name="Take the newer one").click()
    expect(other.locator(FIELD)).to_have_value("Written in the first tab.")
    expect(other.locator(STATUS)).to_contain_text("Showing the text saved")

    # it goes on from there; then the first tab, now behind, keeps its own on purpose
    other.locator(FIELD).fill("Written in the first tab, then the second.")
    other.locator(FIELD).blur()
    expect(other.locator(STATUS)).to_have_text(re.compile("^Saved"), timeout=15000)
    assert _saved(database) == "Written in the first tab, then the second."
    page.locator(FIELD).fill("The first tab insists.")
    page.locator(FIELD).blur()
    mine = page.locator("#activity-my-mentoring-context .autosave-offer")
    expect(mine).to_be_visible()
    mine.get_by_role("button", name="Keep mine").click()
    expect(page.locator(STATUS)).to_have_text(re.compile("^Saved"), timeout=15000)
    assert _saved(database) == "The first tab insists."
    assert page.problems == [] and other.problems == []


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_the_contents_list_follows_the_reader_and_submitting_asks_first(live_server, browser, request,
                                                                         viewport) -> None:
    base, database = live_server
    _learner(database)
    context = browser.new_context(viewport=viewport)
    page = watch_problems(context.new_page())
    shots = Shots(browser, SCREENSHOTS / request.node.name)
    log_in(page, base, "tess@school.example")
    page.goto(base + WB1)
    contents = page.locator("#workbook-contents")
    desktop = viewport["width"] > 800
    # open beside the text on a desktop; folded at the top on a phone, one tap away
    expect(contents).to_have_attribute("open", "") if desktop else expect(contents).not_to_have_attribute("open", "")
    expect(contents.locator("summary")).to_contain_text("0 of 3 required activities done")
    shots.take(page, "workbook-top")
    if not desktop:
        # a phone: choices large enough to touch, the scale's words kept, room for the text
        rating = page.locator("#activity-role-self-assessment")
        radio = rating.locator("input[type=radio]").first
        box = radio.bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, box
        expect(rating.locator(".rating-label").first).to_be_visible()
        expect(rating.locator(".rating-label").first).to_have_text("1 Not yet")  # the number, then the word
        prompt = page.locator("#activity-my-mentoring-context .prompt").bounding_box()
        assert prompt["width"] >= 330, prompt
        _shoot(page, shots.folder, "self-assessment-phone", "#activity-role-self-assessment")
        _shoot(page, shots.folder, "reflection-phone", "#activity-my-mentoring-context")
        contents.locator("summary").click()
        assert page.locator("article.workbook").bounding_box()["y"] > contents.bounding_box()["y"]
    link = contents.get_by_role("link", name="Case study", exact=True)
    link.click()
    expect(link).to_have_attribute("aria-current", "location")
    if desktop:  # sticky: still in view far down the page
        assert 0 <= contents.bounding_box()["y"] < viewport["height"]
        if WRITE_SCREENSHOTS:
            page.screenshot(path=str(shots.folder / "contents-case-study.png"))
    page.locator("#activity-role-quiz").scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    expect(contents.locator("a[aria-current]")).to_have_count(1)
    expect(contents.locator("a[aria-current]")).not_to_have_text("Case study", timeout=3000)

    # an answer completed by autosave is marked done in the contents
    page.locator(FIELD).fill(" ".join(["word"] * 210))
    page.locator(FIELD).blur()
    expect(page.locator(STATUS)).to_have_text(re.compile("^Saved"), timeout=15000)
    expect(contents.locator("summary")).to_contain_text("1 of 3 required activities done")
    expect(contents.locator('li.done a[data-contents-target="activity-my-mentoring-context"]')).to_have_count(1)

    # next workbook at the end of the page
    expect(page.get_by_role("navigation", name="Previous and next workbook").get_by_role("link")).to_have_text(
        re.compile("Next: workbook 2"))

    # submitting asks first in a dialog; "Not yet" leaves everything as it was
    page.get_by_role("button", name="Submit workbook").click()
    dialog = page.locator("#submit-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 required activities are not done yet")
    if WRITE_SCREENSHOTS:
        page.screenshot(path=str(shots.folder / "submit-dialog.png"))
    dialog.get_by_role("button", name="Not yet").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Submit workbook").click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Submit workbook").click()
    expect(page.get_by_text("The workbook cannot be submitted yet")).to_be_visible()
    assert "#" not in page.url
    assert page.problems == []
    shots.phone.close()
    context.close()


def test_without_script_submitting_asks_on_a_page_of_its_own(live_server, browser) -> None:
    """No <dialog> without script: the Submit button saves, then a page asks; "Not yet"
    goes back with the text kept, and confirming submits what was saved."""
    base, database = live_server
    _learner(database)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, base, "tess@school.example")
    page.goto(base + WB1)
    page.locator(FIELD).fill("Typed without script.")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit workbook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Submit workbook 1: The mentor"))
    expect(page.get_by_text("3 required activities are not done yet")).to_be_visible()
    assert _saved(database) == "Typed without script."
    page.get_by_role("link", name="Not yet: back to the workbook").click()
    expect(page.locator(FIELD)).to_have_value("Typed without script.")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit workbook").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit workbook").click()
    expect(page.get_by_text("The workbook cannot be submitted yet")).to_be_visible()
    expect(page.locator(FIELD)).to_have_value("Typed without script.")
    context.close()


def test_a_finished_learner_and_a_returning_one_find_what_comes_next(live_server, page, browser) -> None:
    """The dashboard of a learner who has finished (certificate, survey, badges) and of
    one whose run has closed (the open run, joined with the drafts); axe on both."""
    import datetime as dt

    from conftest import answer_required, complete_and_submit
    from shooc.enrolment.runs import create_run
    from shooc.workbooks.models import Course, WorkbookVersion
    from test_accessibility import AXE, assert_no_axe_failures

    base, database = live_server
    page.context.add_init_script(path=str(AXE))
    _learner(database)
    with database.session() as session:
        run = session.scalar(select(Run))
        tess = session.scalar(select(Enrolment))
        for slug in ("the-mentors-role", "building-the-relationship", "observation-and-feedback",
                     "smart-goal-setting", "mentoring-communities"):
            complete_and_submit(session, tess, slug)
        rita = create_user(session, "rita@school.example", "Rita Returner", "learner", PASSWORD)
        old = enrol(session, run, rita.id, TODAY)
        complete_and_submit(session, old, "the-mentors-role")
        second = session.scalar(select(WorkbookVersion).where(WorkbookVersion.slug == "building-the-relationship"))
        answer_required(session, old, second, marker="Spring")
        run.opens_on, run.closes_on = TODAY - dt.timedelta(days=300), TODAY - dt.timedelta(days=200)
        run.name = "Spring run"
        create_run(session, session.scalar(select(Course)), TODAY - dt.timedelta(days=2), TODAY + dt.timedelta(days=90),
                   name="Autumn run")
        session.commit()

    log_in(page, base, "tess@school.example")
    page.goto(base + "/dashboard")
    expect(page.get_by_role("link", name="Download your certificate (PDF)")).to_be_visible()
    expect(page.get_by_role("link", name="Your 5 badges")).to_be_visible()
    expect(page.get_by_role("link", name="Withdraw from this run")).to_have_count(0)
    assert_no_axe_failures(page, "a finished learner's dashboard")
    page.shots.take(page, "dashboard-finished")

    page.context.clear_cookies()
    log_in(page, base, "rita@school.example")
    page.goto(base + "/dashboard")
    join = page.get_by_role("button", name="Join Autumn run")
    expect(join).to_be_visible()
    assert_no_axe_failures(page, "a returning learner's dashboard")
    page.shots.take(page, "dashboard-returning")
    with page.expect_navigation():
        join.click()
    expect(page.get_by_text("You are enrolled in Autumn run")).to_be_visible()
    page.goto(base + "/courses/mentoring/workbooks/building-the-relationship")
    expect(page.locator('[name="a.open-questions-conversation.text"]')).to_have_value(re.compile("^Spring word"))
    assert_no_axe_failures(page, "a workbook carried over")
    assert page.problems == []


def test_a_button_pressed_while_an_autosave_is_on_its_way_waits_for_it(live_server, page) -> None:
    """On a slow network, leaving a field sends its autosave, and the Save button
    pressed a moment later must not name the revision from before that autosave: it
    would be refused as "changed elsewhere" by the learner's own page (seen in CI as a
    quiz check and a goal's Save that did nothing). The button waits for the autosave
    and then saves."""
    base, database = live_server
    _learner(database)
    log_in(page, base, "tess@school.example")
    page.goto(base + "/courses/mentoring/workbooks/smart-goal-setting")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 600, "downloadThroughput": -1, "uploadThroughput": -1})
    goal = page.locator("#activity-smart-goal")
    goal.locator("[name='a.smart-goal.specific']").fill("Plan the first weekly meeting agenda together.")
    goal.locator("[name='a.smart-goal.measurable']").fill("An agreed agenda used in six meetings.")  # the first autosave goes
    with page.expect_navigation():
        goal.get_by_role("button", name="Save draft").click()
    expect(goal.get_by_text("Draft saved")).to_be_visible()
    assert page.get_by_text("Nothing was saved").count() == 0
    with database.session() as session:
        answer = session.scalar(select(Response.answer).where(Response.activity_id == "smart-goal"))
    assert answer is not None and answer["specific"].startswith("Plan the first") \
        and answer["measurable"] == "An agreed agenda used in six meetings."
    assert page.problems == []
