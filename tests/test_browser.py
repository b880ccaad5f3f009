"""Journeys people click through, in a real Chromium (Debian's, driven by Playwright)
against a real server on 127.0.0.1 that commits to a real database.

Screenshots of every page go to tests/output/screenshots/<test>/ (desktop and phone width)
for people to look at. Without Chromium the tests skip, unless SHOOC_REQUIRE_BROWSER=1
(CI sets it), when they fail.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import last_mail, log_in, set_up_course
from conftest import PASSWORD, TODAY
from quiz_kit import choose, codes
from shooc.auth.services import create_user
from shooc.badges.models import BadgeAssertion
from shooc.enrolment.models import Run, Submission
from shooc.enrolment.runs import create_run
from shooc.workbooks.models import ActivityVersion, WorkbookVersion

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own


def test_a_visitor_finds_the_course_and_a_leader_previews_a_workbook(live_server, page) -> None:
    base, database = live_server
    set_up_course(database, leader=True)
    page.goto(base + "/")
    page.get_by_role("link", name="Mentoring trainee and early-career teachers").click()
    expect(page).to_have_url(base + "/courses/mentoring")
    assert page.locator(".workbook-list > li").count() == 5
    assert page.get_by_text("Open run").is_visible()

    page.get_by_role("link", name="Log in to enrol").click()
    page.get_by_label("E-mail address").fill("leader@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.url == base + "/courses/mentoring"  # back where they were

    page.get_by_role("link", name="Observation and feedback").click()
    expect(page).to_have_url(re.compile(r"/courses/mentoring/workbooks/observation-and-feedback$"))
    assert page.get_by_role("note").inner_text().startswith("Preview of version 1")
    assert page.get_by_role("heading", name="Case study").is_visible()
    assert page.locator("#activity-observation-quiz").get_by_role("group").count() >= 4
    assert page.locator("textarea:enabled").count() == 0  # a preview takes no answers
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.get_by_text("You have logged out.").is_visible()
    assert page.problems == []


def test_a_teacher_registers_enrols_answers_everything_and_submits(live_server, page, tmp_path: Path) -> None:
    base, database = live_server
    set_up_course(database)
    shots = page.shots
    page.goto(base + "/")
    shots.take(page, "catalogue")
    page.get_by_role("link", name="Mentoring trainee and early-career teachers").click()
    shots.take(page, "course")
    page.get_by_role("link", name="Register to enrol").click()

    # a first attempt with mistakes: every one named, nothing lost but the passwords
    page.get_by_label("Your name").fill("Tess Teacher")
    page.get_by_label("E-mail address").fill("not-an-address")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    assert page.get_by_text("Enter an e-mail address like name@school.org.uk.").is_visible()
    assert page.get_by_text("Please agree to the privacy notice to register.").is_visible()
    assert page.get_by_label("Your name").input_value() == "Tess Teacher"
    shots.take(page, "register-errors")

    page.get_by_label("E-mail address").fill("Tess@Hillside.example")
    page.get_by_label("Place of work").fill("Hillside Primary School")
    page.get_by_label("Your role").select_option("mentor")
    page.get_by_label("Mentoring experience").select_option("1-3")
    page.get_by_label("Password", exact=True).fill("tall green lanterns")
    page.get_by_label("Password again").fill("tall green lanterns")
    page.get_by_label("I have read the privacy notice").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()

    link = re.search(r"https?://\S+/auth/confirm/\S+", last_mail(tmp_path / "outbox")).group(0)
    page.goto(link)  # the link's page names the address and asks: opening it logs nobody in
    assert page.get_by_text("tess@hillside.example").is_visible()
    shots.take(page, "confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and log in").click()
    assert page.get_by_text("Your e-mail address is confirmed").is_visible()
    page.goto(base + "/courses/mentoring")
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol now").click()
    assert page.get_by_text("0 of 5 workbooks submitted").is_visible()
    shots.take(page, "dashboard-new")

    # workbook 1: reflection, discussion, self-assessment, quiz
    page.get_by_role("link", name="The mentor's role").first.click()
    page.locator("[name='a.roles-warm-up.text']").fill("Model, guide and critical friend.")
    with page.expect_navigation():
        page.locator("#activity-roles-warm-up").get_by_role("button", name="Save draft").click()
    assert page.get_by_text("Draft saved.").is_visible()
    page.locator("[name='a.expectations-conversation.text']").fill("We agreed to meet on Tuesdays at 3.45.")
    session = database.session()
    statements = session.scalar(select(ActivityVersion).where(ActivityVersion.activity_id == "role-self-assessment")).definition["statements"]
    quiz = session.scalar(select(ActivityVersion).where(ActivityVersion.activity_id == "role-quiz"))
    session.close()
    for statement in statements:
        page.locator(f"[name='a.role-self-assessment.{statement['id']}'][value='4']").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save all").last.click()
    page.reload()
    assert page.locator("[name='a.roles-warm-up.text']").input_value() == "Model, guide and critical friend."
    assert page.locator(f"[name='a.role-self-assessment.{statements[0]['id']}'][value='4']").is_checked()

    # the reflection: the word count follows the typing; too short is refused with the draft kept
    reflection = page.locator("[name='a.my-mentoring-context.text']")
    reflection.fill("I mentor one trainee in Year 4.")
    assert page.locator("#my-mentoring-context-words .count").inner_text() == "7"
    page.get_by_role("button", name="Submit workbook").click()  # asks first, in a dialog
    with page.expect_navigation():
        page.locator("#submit-dialog").get_by_role("button", name="Submit workbook").click()
    assert page.get_by_text("The workbook cannot be submitted yet").is_visible()
    assert page.get_by_text("Write at least 200 words: you have 7.").first.is_visible()
    assert reflection.input_value() == "I mentor one trainee in Year 4."
    shots.take(page, "workbook-missing")

    # the quiz: one wrong answer first, then right
    questions = quiz.definition["questions"]
    box = page.locator("#activity-role-quiz")
    right, wrong = choose(page.content(), "role-quiz", quiz.definition), choose(page.content(), "role-quiz",
                                                                                  quiz.definition, right=False)
    for n, question in enumerate(questions):
        name = f"a.role-quiz.{question['id']}"
        for code in (wrong if n == 0 else right)[name]:
            box.locator(f"[name='{name}'][value='{code}']").check()
    with page.expect_navigation():
        box.get_by_role("button", name="Check my answers").click()
    assert page.get_by_text(f"You scored {len(questions) - 1} out of {len(questions)}").is_visible()
    assert page.locator("#activity-role-quiz .question.wrong").count() == 1
    shots.take(page, "quiz-feedback")
    first = questions[0]
    box = page.locator("#activity-role-quiz")
    values = codes(page.content(), "role-quiz", quiz.definition)[first["id"]]
    for index, option in enumerate(first["options"]):
        checkbox = box.locator(f"[name='a.role-quiz.{first['id']}'][value='{values[index]}']")
        if option.get("correct"):
            checkbox.check()
        elif checkbox.get_attribute("type") == "checkbox":
            checkbox.uncheck()
    with page.expect_navigation():
        box.get_by_role("button", name="Check my answers").click()
    assert page.get_by_text(f"You scored {len(questions)} out of {len(questions)}: a pass.").is_visible()

    page.locator("[name='a.my-mentoring-context.text']").fill(" ".join(["reflection"] * 205))
    assert page.locator("#my-mentoring-context-words").get_attribute("class").split()[-1] == "enough"
    page.get_by_role("button", name="Submit workbook").click()  # asks first, in a dialog
    with page.expect_navigation():
        page.locator("#submit-dialog").get_by_role("button", name="Submit workbook").click()
    assert page.get_by_text("Workbook 1 is submitted. Well done!").is_visible()
    assert page.get_by_text("1 of 5 workbooks submitted").is_visible()
    assert page.locator(".status-tag.submitted").count() == 1
    shots.take(page, "dashboard-after-submit")

    # workbook 4: a SMART goal; workbook 5 looks back at it
    page.goto(base + "/courses/mentoring/workbooks/smart-goal-setting")
    goal = page.locator("#activity-smart-goal")
    for field, text in (("specific", "Plan the first weekly meeting agenda together."),
                        ("measurable", "An agreed agenda used in six meetings."),
                        ("achievable", "We already meet weekly."), ("relevant", "Meetings drift."),
                        ("time_bound", "By half-term, reviewed weekly.")):
        goal.locator(f"[name='a.smart-goal.{field}']").fill(text)
    goal.locator("[name='a.smart-goal.target_date']").fill((TODAY + dt.timedelta(days=42)).isoformat())
    with page.expect_navigation():
        goal.get_by_role("button", name="Save draft").click()
    page.reload()
    assert page.locator("[name='a.smart-goal.target_date']").input_value() == (TODAY + dt.timedelta(days=42)).isoformat()
    assert page.locator("#activity-smart-goal .done-tag").is_visible()
    shots.take(page, "smart-goal")

    # workbook 5's goal review shows the goal just set, read-only above its prompt
    page.goto(base + "/courses/mentoring/workbooks/mentoring-communities")
    expect(page.locator("#activity-goal-review .recalled")).to_contain_text("Plan the first weekly meeting agenda together.")

    # a session that ends before a save loses nothing
    page.locator("[name='a.community-step.text']").fill("Start a termly mentors' breakfast.")
    page.context.clear_cookies()
    with page.expect_navigation():
        page.get_by_role("button", name="Save all").last.click()
    assert page.get_by_text("Your session had ended").is_visible()
    page.get_by_label("E-mail address").fill("tess@hillside.example")
    page.get_by_label("Password").fill("tall green lanterns")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("What you typed before your session ended is saved").is_visible()
    assert page.locator("[name='a.community-step.text']").input_value() == "Start a termly mentors' breakfast."

    page.goto(base + "/dashboard")
    assert page.locator(".status-tag.in-progress").count() == 2
    shots.take(page, "dashboard-progress")
    page.goto(base + "/account/")
    shots.take(page, "account")
    assert page.problems == []
    with database.session() as check:
        assert check.scalar(select(Submission.workbook_slug)) == "the-mentors-role"


def test_a_teacher_completes_all_five_workbooks_and_gets_badges_and_a_certificate(live_server, page) -> None:
    base, database = live_server
    set_up_course(database)
    session = database.session()
    create_user(session, "finn@school.example", "Finn Ó Súilleabháin", "learner", PASSWORD)
    session.commit()
    workbooks = session.scalars(select(WorkbookVersion).order_by(WorkbookVersion.position)).all()
    required = {w.slug: [a for a in w.activities if a.required] for w in workbooks}
    session.close()

    log_in(page, base, "finn@school.example")
    page.goto(base + "/courses/mentoring")
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol now").click()

    for slug, activities in required.items():
        page.goto(f"{base}/courses/mentoring/workbooks/{slug}")
        for activity in activities:
            box = page.locator(f"#activity-{activity.activity_id}")
            name = f"a.{activity.activity_id}"
            if activity.kind in ("reflection", "discussion"):
                box.locator(f"[name='{name}.text']").fill(" ".join(["thought"] * 220))
            elif activity.kind == "smart-goal":
                for field in ("specific", "measurable", "achievable", "relevant", "time_bound"):
                    box.locator(f"[name='{name}.{field}']").fill("Agreed with my mentee.")
                box.locator(f"[name='{name}.target_date']").fill((TODAY + dt.timedelta(days=30)).isoformat())
            elif activity.kind == "self-assessment":
                for statement in activity.definition["statements"]:
                    box.locator(f"[name='{name}.{statement['id']}'][value='4']").check()
            elif activity.kind == "quiz":
                for field, values in choose(page.content(), activity.activity_id, activity.definition).items():
                    for value in values:
                        box.locator(f"[name='{field}'][value='{value}']").check()
                with page.expect_navigation():
                    box.get_by_role("button", name="Check my answers").click()
                assert page.get_by_text("a pass.").is_visible()
        page.get_by_role("button", name="Submit workbook").click()  # asks first, in a dialog
        with page.expect_navigation():
            page.locator("#submit-dialog").get_by_role("button", name="Submit workbook").click()
        assert page.get_by_text("is submitted. Well done!").is_visible(), slug

    assert page.get_by_text("You have submitted all 5 workbooks").is_visible()
    expect(page.get_by_role("link", name="Withdraw from this run")).to_have_count(0)  # finished: what comes next
    expect(page.get_by_role("columnheader", name="Suggested by")).to_have_count(0)
    page.get_by_role("link", name="Your 5 badges").click()
    expect(page.locator(".my-badge")).to_have_count(5)
    page.shots.take(page, "my-badges")
    page.get_by_role("link", name="Its verification page").click()
    expect(page.get_by_text("Valid certificate.")).to_be_visible()  # waits for the click's navigation
    expect(page.locator("dd", has_text="Not shown, at the holder's choice")).to_be_visible()  # unnamed by default
    page.go_back()
    page.get_by_label("Show my name on the public pages of my badges and certificate").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save this choice").click()
    assert page.get_by_text("Your name is now shown").is_visible()
    page.get_by_role("link", name="Its verification page").click()
    expect(page.locator("dd", has_text="Finn Ó Súilleabháin")).to_be_visible()
    page.shots.take(page, "certificate-page")
    certificate_url = page.url
    pdf = page.request.get(certificate_url + ".pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    # the QR code's area links to the verification page printed beside it
    assert f"/URI ({certificate_url})".encode() in pdf.body()
    # the badge a backpack would be given answers with its JSON-LD
    page.goto(base + "/badges")
    # each Copy button names its badge, and says it copied in a status region
    copy_buttons = page.locator("button[data-copy]")
    names = {copy_buttons.nth(i).text_content() for i in range(copy_buttons.count())}
    # two a badge: its Open Badges 2.0 assertion's address and its 3.0 credential's (for a wallet)
    assert len(names) == 10 and all(name.startswith(("Copy the address of ", "Copy the credential address of "))
                                    for name in names), names
    assert len([name for name in names if name.startswith("Copy the credential address of ")]) == 5
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy_buttons.first.click()
    page.get_by_role("status").filter(has_text="Copied.").wait_for()  # the copy is asynchronous
    assert page.get_by_role("status").filter(has_text="Copied.").count() == 1
    badge_url = page.locator("input[id^='url-']").first.input_value()
    assert page.evaluate("navigator.clipboard.readText()") == badge_url
    document = page.request.get(badge_url, headers={"Accept": "application/ld+json"}).json()
    assert document["type"] == "Assertion" and document["verification"] == {"type": "hosted"}
    assert page.problems == []


def test_a_leader_opens_a_run_extends_a_deadline_and_revokes_a_badge(live_server, page) -> None:
    from conftest import complete_and_submit
    from shooc.enrolment.services import enrol

    base, database = live_server
    set_up_course(database, leader=True)
    session = database.session()
    run = session.scalar(select(Run))
    learner = create_user(session, "lara@school.example", "Lara Learner", "learner", PASSWORD)
    enrolment = enrol(session, run, learner.id, TODAY)
    complete_and_submit(session, enrolment, "the-mentors-role")
    session.commit()
    session.close()

    log_in(page, base, "leader@example.org")
    page.get_by_role("link", name="Leading").click()
    page.shots.take(page, "lead-home")

    # a new run
    page.get_by_role("link", name="New run").click()
    page.get_by_label("Name").fill("Summer term paced run")
    page.get_by_label("Address (slug)").fill("summer-paced")
    page.get_by_label("Opens on").fill((TODAY + dt.timedelta(days=10)).isoformat())
    page.get_by_label("Closes on").fill((TODAY + dt.timedelta(days=120)).isoformat())
    page.get_by_label("Mode").select_option("paced")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Run Summer term paced run is created: summer-paced.").is_visible()
    assert page.get_by_role("row", name=re.compile("Summer term paced run")).get_by_text("upcoming").is_visible()

    # one learner: read the submitted work, extend the deadline
    page.get_by_role("row", name=re.compile("Open run")).get_by_role("link", name="Participants").click()
    page.shots.take(page, "participants")
    page.get_by_role("link", name="Lara Learner").click()
    new_date = run.closes_on + dt.timedelta(days=14)
    page.get_by_label("New close date").fill(new_date.isoformat())
    page.get_by_label("Reason").fill("Family illness")
    with page.expect_navigation():
        page.get_by_role("button", name="Extend").click()
    assert page.get_by_text(f"The close date is now {new_date:%-d %B %Y}.").is_visible()
    assert page.locator(".audit").get_by_text("Family illness").is_visible()
    page.shots.take(page, "one-learner")

    # revoke her badge from its public page
    with database.session() as check:
        assertion_id = check.scalar(select(BadgeAssertion.id))
    page.goto(f"{base}/badges/assertions/{assertion_id}")
    page.get_by_label("Reason").fill("Issued in error")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke the badge").click()
    assert page.get_by_text("This badge has been revoked").is_visible()
    page.goto(base + "/lead/audit")
    assert page.get_by_role("cell", name="Issued in error").is_visible()
    assert page.problems == []


def test_a_leader_imports_records_fixes_the_named_row_and_sees_the_counts(live_server, page, tmp_path: Path) -> None:
    from records_data import expected_counts, records_rows, to_csv

    base, database = live_server
    set_up_course(database, leader=True)
    with database.session() as session:
        course = session.scalar(select(Run)).course
        create_run(session, course, dt.date(2017, 1, 9), dt.date(2017, 12, 31), name="2017 rolling run",
                   slug="2017-rolling")
        session.commit()
    rows = records_rows(500, dt.date(2017, 1, 9), dt.date(2017, 12, 31), seed=11)
    rows[99]["email"] = "not an address"
    bad = tmp_path / "2017-run.csv"
    bad.write_bytes(to_csv(rows))

    log_in(page, base, "leader@example.org")
    page.goto(base + "/lead/")
    page.get_by_role("row", name=re.compile("2017 rolling run")).get_by_role("link", name="Import records").click()
    page.shots.take(page, "import-form")
    page.get_by_label("Records file (CSV, UTF-8)").set_input_files(str(bad))
    with page.expect_navigation():
        page.get_by_role("button", name="Check and import").click()
    problems = page.get_by_role("alert")
    assert "Nothing was imported: 1 problem in 2017-run.csv" in problems.inner_text()
    assert "2017-run.csv:101: email 'not an address' is not an e-mail address" in problems.inner_text()
    page.shots.take(page, "import-problems")

    rows[99]["email"] = "fixed@example.org"
    good = tmp_path / "2017-run-fixed.csv"
    good.write_bytes(to_csv(rows))
    page.get_by_label("Records file (CSV, UTF-8)").set_input_files(str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Check and import").click()
    assert page.get_by_text("Imported 500 rows").is_visible()
    expected = expected_counts(rows)
    figures = page.locator("#run-figures")
    assert figures.get_by_role("row", name="Registered", exact=False).first.inner_text().split()[-1] == "500"
    assert (figures.get_by_role("row", name="Certificates awarded").first.inner_text().split()[-1]
            == str(expected["certificates_awarded"]))
    page.shots.take(page, "import-done")
    page.get_by_role("link", name="See the participants").click()
    expect(page.get_by_text("500 participants")).to_be_visible()
    assert page.problems == []


def test_an_evaluator_reads_a_runs_figures_compares_runs_and_uses_the_api(live_server, page, tmp_path: Path) -> None:
    import json
    import urllib.request

    from records_data import expected_counts, records_rows, to_csv
    from shooc.lead import records

    base, database = live_server
    set_up_course(database)
    with database.session() as session:
        course = session.scalar(select(Run)).course
        past = create_run(session, course, dt.date(2017, 1, 9), dt.date(2017, 12, 31), name="2017 rolling run",
                          slug="2017-rolling")
        rows = records_rows(400, past.opens_on, past.closes_on, seed=4)
        records.import_records(session, past, records.check_file(session, past, to_csv(rows), "2017.csv"))
        create_user(session, "eva@example.org", "Eva Evaluator", "evaluator", PASSWORD)
        session.commit()
    expected = expected_counts(rows)

    log_in(page, base, "eva@example.org")
    page.get_by_role("link", name="Evaluating").click()
    page.shots.take(page, "evaluate-home")
    page.get_by_role("link", name="2017 rolling run").click()
    figures = page.locator(".key-figures")
    assert figures.get_by_text("Registered", exact=True).locator("xpath=..").inner_text().split()[-1] == "400"
    assert (figures.get_by_text("Certificates awarded", exact=True).locator("xpath=..").inner_text().split()[-1]
            == str(expected["certificates_awarded"]))
    assert page.get_by_role("img", name="Funnel: registered, started, each workbook completed, certificate").is_visible()
    page.locator("details").first.get_by_text("The numbers").click()
    expect(page.get_by_role("row", name=re.compile(r"^1\. The mentor's role"))).to_be_visible()
    page.shots.take(page, "run-figures")
    with page.expect_download() as download:
        page.get_by_role("link", name="Anonymised progress of each learner (CSV)").click()
    progress = Path(download.value.path()).read_text()
    assert progress.count("\n") == 401 and "@" not in progress

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Evaluating").click()
    page.get_by_label("Compare 2017 rolling run").check()
    page.get_by_label("Compare Open run").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Compare the runs ticked").click()
    assert page.get_by_role("table", name="The same figures, run by run").is_visible()
    page.shots.take(page, "compare")

    # a token from the account page, then a script
    page.goto(base + "/account")
    page.locator("#api-tokens").get_by_label("Name").fill("Evaluation script")
    with page.expect_navigation():
        page.get_by_role("button", name="Make token").click()
    token = re.search(r"shooc_[A-Za-z0-9_-]{20,}", page.content()).group(0)
    request = urllib.request.Request(f"{base}/api/v1/runs/2017-rolling/stats",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as answer:
        stats = json.load(answer)
    assert {k: stats[k] for k in expected} == expected
    assert page.problems == []
