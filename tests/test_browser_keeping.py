"""Keeping and showing what one did (issue 18), in a real Chromium against a live
server, at desktop and phone width: a teacher downloads her portfolio from the
dashboard and reads it, adds her certificate to LinkedIn (the link only), changes
her e-mail address through the link sent to the new one; an evaluator reads a run's
charts on a phone (each chart fits: no part of it hidden)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from pathlib import Path

import pypdfium2
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import PHONE, log_in, set_up_course, watch_problems
from conftest import PASSWORD, TODAY, complete_and_submit
from shooc.auth.services import create_user
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]


def _mail_to(outbox: Path, address: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                return message.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} in {outbox}")


def _teacher(database, finished: bool = True) -> None:  # type: ignore[no-untyped-def]
    set_up_course(database)
    with database.session() as session:
        run = session.scalar(select(Run))
        tess = create_user(session, "tess@school.example", "Тесса Teacher", "learner", PASSWORD)
        enrolment = enrol(session, run, tess.id, TODAY)
        for slug in SLUGS if finished else SLUGS[:1]:
            complete_and_submit(session, enrolment, slug, marker="Mine")
        session.commit()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_a_teacher_downloads_her_portfolio_and_reads_it(live_server, browser, tmp_path: Path, viewport) -> None:
    base, database = live_server
    _teacher(database)
    page = watch_problems(browser.new_context(viewport=viewport, accept_downloads=True).new_page())
    log_in(page, base, "tess@school.example")
    link = page.get_by_role("link", name=re.compile("Download your portfolio"))
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    target = tmp_path / "portfolio.pdf"
    download.value.save_as(target)
    assert download.value.suggested_filename.startswith("portfolio-mentoring-")
    document = pypdfium2.PdfDocument(target.read_bytes())
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    text = re.sub(r"\s+", " ", text)
    assert "Тесса Teacher" in text and "Mine word" in text and "Workbook 5:" in text and "Certificate" in text
    # My badges links to it too, and to LinkedIn's form for the certificate, in a new tab
    page.goto(base + "/badges")
    expect(page.get_by_role("link", name=re.compile("Download your portfolio"))).to_be_visible()
    linkedin = page.get_by_role("link", name=re.compile("Add the certificate to your LinkedIn profile"))
    assert linkedin.get_attribute("target") == "_blank"
    assert linkedin.get_attribute("href").startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], width
    assert page.problems == []


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_a_teacher_changes_her_email_address(live_server, browser, tmp_path: Path, viewport) -> None:
    base, database = live_server
    _teacher(database, finished=False)
    context = browser.new_context(viewport=viewport)
    page = watch_problems(context.new_page())
    log_in(page, base, "tess@school.example")
    page.goto(base + "/account/")
    page.get_by_label("New e-mail address").fill("tess@home.example")
    page.get_by_label("Your password", exact=True).fill("not it")
    with page.expect_navigation():
        page.get_by_role("button", name="Change my e-mail address").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    expect(page.get_by_label("New e-mail address")).to_have_value("tess@home.example")  # nothing typed is lost
    page.get_by_label("Your password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Change my e-mail address").click()
    expect(page.locator(".flash").get_by_text("We sent a link to tess@home.example")).to_be_visible()
    expect(page.get_by_text("Waiting for confirmation")).to_be_visible()
    if viewport is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "tess@home.example" in _mail_to(tmp_path / "outbox", "tess@school.example")  # the old one is told
    link = re.search(r"https?://\S+/account/email/confirm/\S+", _mail_to(tmp_path / "outbox", "tess@home.example"))
    assert link is not None
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Confirm your new e-mail address")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Use this address").click()
    expect(page.get_by_text("Your account's e-mail address is now tess@home.example.")).to_be_visible()
    expect(page.get_by_text("Your account's address is tess@home.example")).to_be_visible()
    if viewport is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.problems == []
    context.close()


def test_an_evaluator_reads_the_charts_on_a_phone(live_server, page) -> None:
    from records_data import records_rows, to_csv
    from shooc.enrolment.runs import create_run
    from shooc.lead import records

    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        course = session.scalar(select(Run)).course
        past = create_run(session, course, dt.date(2017, 1, 9), dt.date(2017, 12, 31), name="2017 rolling run",
                          slug="2017-rolling")
        rows = records_rows(300, past.opens_on, past.closes_on, seed=7)
        records.import_records(session, past, records.check_file(session, past, to_csv(rows), "2017.csv"))
        create_user(session, "eva@example.org", "Eva Evaluator", "evaluator", PASSWORD)
        session.commit()
    log_in(page, base, "eva@example.org")
    page.goto(base + "/evaluate/runs/2017-rolling")
    page.shots.take(page, "run-charts")  # and at 390 px: the page fits
    phone = watch_problems(page.context.browser.new_context(viewport=PHONE).new_page())
    phone.context.add_cookies(page.context.cookies())
    phone.goto(base + "/evaluate/runs/2017-rolling")
    charts = phone.locator("svg.chart-narrow")
    assert charts.count() == 4
    for i in range(charts.count()):
        chart = charts.nth(i)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        region = chart.locator("xpath=..")
        assert region.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the chart scrolls in its region"
    assert phone.locator("svg.chart-wide").first.is_hidden()
    legend = phone.locator("svg.chart-narrow .chart-legend", has_text="Withdrew")
    expect(legend).to_be_visible()
    phone.context.close()
