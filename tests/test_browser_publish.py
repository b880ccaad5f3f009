"""A leader publishes a changed workbook from the web after seeing its diff, in a
real Chromium against a live server (see test_browser.py for the fixtures)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from conftest import MENTORING
from browser_kit import log_in, set_up_course
from test_web_publish import NEW_TEXT, WB, change_workbook
from shooc.workbooks import staging
from shooc.workbooks.models import CourseVersion

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own


def test_a_leader_publishes_a_changed_workbook_after_seeing_its_diff(live_server, page, tmp_path: Path) -> None:  # noqa: F811
    base, database = live_server
    set_up_course(database, leader=True)
    folder = tmp_path / "mentoring"
    shutil.copytree(MENTORING, folder)
    change_workbook(folder)
    archive = tmp_path / "mentoring.zip"
    archive.write_bytes(staging.zip_folder(folder))
    text = (folder / WB).read_text()
    (folder / WB).write_text(text.replace("kind: quiz", "kind: exam"))
    broken = tmp_path / "broken" / "mentoring.zip"
    broken.parent.mkdir()
    broken.write_bytes(staging.zip_folder(folder))

    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.get_by_role("link", name="Publish content").click()
    expect(page.get_by_role("heading", name="Publish course content")).to_be_visible()
    page.shots.take(page, "publish-home")

    # a first try with a mistake: the problem is named by file and line, and nothing can be published
    page.get_by_label("The course folder, compressed as a .zip file").set_input_files(str(broken))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check").click()
    assert page.get_by_role("heading", name="problems to fix").is_visible()
    problem = page.get_by_role("list", name="Problems").get_by_role("listitem")
    assert problem.count() == 1
    assert re.match(r"mentoring/03-observation-and-feedback\.md:\d+: activity 'observation-quiz': activity kind "
                    r"'exam' is not one of", problem.inner_text())
    assert page.get_by_role("button", name=re.compile("Publish")).count() == 0
    page.shots.take(page, "problems")
    with page.expect_navigation():
        page.get_by_role("button", name="Discard this upload").click()
    assert page.get_by_text("Discarded mentoring.zip: nothing was published.").is_visible()

    # the corrected zip: the diff names the changed workbook and activity
    page.get_by_label("The course folder, compressed as a .zip file").set_input_files(str(archive))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check").click()
    assert page.get_by_role("heading", name="changes to publish").is_visible()
    change = page.locator("section.card", has_text=WB)
    assert change.get_by_text("workbook 03-observation-and-feedback.md: Observation and feedback").is_visible()
    assert change.get_by_text("observation-reflective-task").is_visible()
    assert page.locator("section.card").count() == 1  # nothing else changed
    page.shots.take(page, "diff")

    # its preview, exactly as learners will see it, then back
    review_url = page.url
    page.get_by_role("link", name="Preview the changed workbook as learners will see it").click()
    expect(page.get_by_role("note")).to_contain_text(re.compile(r"^Preview of mentoring\.zip, not published yet"))
    assert page.get_by_text(NEW_TEXT.replace("'", "’")).is_visible()
    image = page.get_by_role("img", name="A dot")
    assert image.is_visible() and image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("textarea:enabled").count() == 0  # a preview takes no answers
    page.shots.take(page, "preview")
    page.go_back()
    assert page.url == review_url

    # publish: version 2, and the workbook page shows the new text
    with page.expect_navigation():
        page.get_by_role("button", name="Publish version 2").click()
    assert page.get_by_text("Published version 2 of mentoring, replacing version 1").is_visible()
    assert page.get_by_text("Waiting to be published").count() == 0
    page.shots.take(page, "published")
    with database.session() as check:
        assert check.scalar(select(func.count()).select_from(CourseVersion)) == 2

    page.goto(base + "/courses/mentoring/workbooks/observation-and-feedback")
    assert page.get_by_role("note").inner_text().startswith("Preview of version 2")
    assert page.get_by_text(NEW_TEXT.replace("'", "’")).is_visible()
    assert page.get_by_role("img", name="A dot").evaluate("img => img.complete && img.naturalWidth > 0")
    page.shots.take(page, "workbook-after")
    assert page.problems == []
