"""Accessibility, in a real Chromium against a live server: every page a user can
reach, as each role, in the states people meet (a draft, a submitted workbook, a
revoked badge, a form with its errors, the 403 and 404 pages).

- axe-core (npm, tests/a11y/; `make test` installs it with `npm ci`) finds no serious
  or critical violation on any of them (moderate and minor ones are printed), nor on
  the phone layout of four key pages;
- the keyboard alone (Tab, Shift+Tab, Enter, Space) logs in, opens a workbook, answers,
  saves and submits; the first Tab shows a skip link into <main>, and every element
  focused on the way shows a ring of 3:1 contrast or more with what it is drawn on;
- at 375 px and at 200 % zoom (a 1280 x 900 window at 200 % lays out as 640 x 450 CSS
  px, at two device pixels each) no page scrolls sideways and nothing is cut off; wide
  tables and charts scroll inside a labelled, focusable region instead.

How axe gets into the pages: ``context.add_init_script(path=axe.min.js)``. The app's
Content-Security-Policy (script-src 'self') blocks the inline <script> that
``page.add_script_tag`` writes; scripts given to the DevTools protocol are not the
page's and the CSP does not apply to them, so the pages run under their real CSP
(``bypass_csp=True`` would have hidden the violations it exists to stop).

The pages are listed by role in ``pages_by_role``; ``test_every_page_is_listed`` checks
that list against the app's url_map, so a new page fails until it is listed here (or
named in NOT_PAGES with why). Screenshots of four key pages at 375 px and at 200 % go
to /tmp/a11y-shots/.
"""
from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from browser_kit import log_in, set_up_course, watch_problems
from conftest import MENTORING, PASSWORD, TODAY, answer_required, committing_app, complete_and_submit, serving, unavailable
from shooc.auth.models import User
from shooc.auth import email_change
from shooc.auth.services import create_user, make_link_token
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.badges.services import revoke_badge
from shooc.lead.review import give_feedback
from shooc.config import PROJECT_ROOT
from shooc.db import Database, utcnow
from shooc.unit_of_work import get_db
from shooc.community import services as community
from shooc.community.notifications import unsubscribe_token
from shooc.enrolment import answers as enrolment_answers
from shooc.enrolment import runs as enrolment_runs
from shooc.enrolment.models import Run
from shooc.enrolment.services import enrol
from shooc.lead import communications, live_sessions, records
from shooc.jobs import Job
from shooc.lead.models import RecordImport
from shooc.workbooks import staging
from shooc.workbooks.models import WorkbookVersion
from shooc.urls import SiteUrls


# What these check (axe on the rendered HTML, reflow, the keyboard) no database
# changes: .ci/run runs them once, on SQLite (the pages themselves are walked on
# PostgreSQL too, by test_access.py and the browser journeys).
pytestmark = pytest.mark.database_free

AXE = PROJECT_ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path("/tmp/a11y-shots")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
ZOOM_200 = {"width": 640, "height": 450}  # a 1280 x 900 window at 200 %
FAILING_IMPACTS = ("serious", "critical")

# GET endpoints that answer with something other than an HTML page (files, JSON, images)
NOT_PAGES = {
    "static": "CSS, scripts, icons",
    "brand_stylesheet": "the brand's colours as CSS",
    "workbooks.asset": "images of published workbooks",
    "workbooks.course_file": "the templates a course ships (PDF, DOCX)",
    "lead.publish_asset": "images of a staged upload",
    "badges.baked_image": "the badge PNG",
    "badges.certificate_pdf": "the certificate PDF",
    "badges.portfolio": "the learner's portfolio PDF",
    "account.download_data": "the learner's data as JSON",
    "lead.import_template": "a CSV template",
    "evaluate.stats_csv": "CSV", "evaluate.progress_csv": "CSV", "evaluate.compare_csv": "CSV",
    "api.openapi": "JSON API", "api.runs": "JSON API", "api.stats": "JSON API",
    "calendar.run_feed": "iCalendar", "calendar.personal_feed": "iCalendar",
    "lti.login": "a redirect to the LTI platform", "lti.jwks": "JSON (the tool's keys)",
    "lti.handoff": "a one-time redirect", "lti.deep_linking": "only after a platform's deep linking launch",
    "badges.badge_key": "JSON-LD (a Multikey)", "badges.credential_issuer": "JSON-LD (the issuer's keys)",
    "badges.credential_jwt": "a VC-JWT", "badges.status_list": "JSON-LD (a status list credential)",
}


# The site: one server and one set of data for the whole file ---------------------

@dataclass
class Site:
    base: str
    app: Flask
    ids: dict[str, object]
    contexts: dict[str, object] = field(default_factory=dict)  # role -> logged-in browser context


LOGINS = {  # role -> (e-mail, name, role of the account)
    "learner": ("lara@school.example", "Lara Learner", "learner"),  # part-way: a draft, a quiz tried, one badge
    "finisher": ("fern@school.example", "Fern Finisher", "learner"),  # all five: certificate and survey
    "leader": ("leader@example.org", "Lee Leader", "leader"),
    "evaluator": ("eva@example.org", "Eva Evaluator", "evaluator"),
    "admin": ("ada@example.org", "Ada Admin", "admin"),
}
KEYBOARD_USER = ("kim@school.example", "Kim Keys")  # logs in with the keyboard: workbook 1 all but its last task


def seed(database: Database, app: Flask, folder: Path) -> dict[str, object]:
    """Something on every page: two runs (one with 300 imported records), a learner
    part-way through, one who finished, an announcement, a recording, a staged upload."""
    from records_data import records_rows, to_csv
    from test_web_publish import change_workbook

    set_up_course(database, leader=True)
    session = database.session()
    users = {role: session.scalar(select(User).where(User.email == email)) or
             create_user(session, email, name, kind, PASSWORD, email_opt_in=True)
             for role, (email, name, kind) in LOGINS.items()}
    run = session.scalar(select(Run))
    workbooks = {w.slug: w for w in session.scalars(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == run.course.current_version_id).order_by(WorkbookVersion.position))}
    slugs = list(workbooks)
    fern = enrol(session, run, users["finisher"].id, TODAY)
    lara = enrol(session, run, users["learner"].id, TODAY)
    kim = enrol(session, run, create_user(session, *KEYBOARD_USER, "learner", PASSWORD).id, TODAY)
    session.commit()
    for slug in slugs:
        complete_and_submit(session, fern, slug)
    complete_and_submit(session, lara, slugs[0])
    answer_required(session, lara, workbooks[slugs[1]], leave=1)  # drafts, one left to do
    answer_required(session, kim, workbooks[slugs[0]], leave=1)
    quiz_book = next(w for w in list(workbooks.values())[2:] if any(a.kind == "quiz" for a in w.activities))
    quiz = next(a for a in quiz_book.activities if a.kind == "quiz")
    state = enrolment_answers.workbook_state(session, lara, quiz_book)
    wrong = {q["id"]: [next(i for i, o in enumerate(q["options"]) if not o.get("correct"))]
             for q in quiz.definition["questions"]}
    enrolment_answers.check_quiz(session, lara, state, quiz.activity_id, {"choices": wrong})
    badge = session.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == fern.id))
    badge.enrolment.show_name = True
    badge.evidence_activity_id = next(a for a, answer in badge.submission.answers.items() if answer.get("text"))
    revoked = session.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == lara.id))
    revoke_badge(session, revoked, "Issued in error", users["leader"])
    give_feedback(session, users["leader"], lara, slugs[0], "Well argued: now say how you will use it.")  # unread
    certificate = session.scalar(select(Certificate).where(Certificate.enrolment_id == fern.id))

    past = enrolment_runs.create_run(session, run.course, dt.date(2017, 1, 9), dt.date(2017, 12, 31),
                                         name="2017 rolling run", slug="2017-rolling")
    data = to_csv(records_rows(300, past.opens_on, past.closes_on, seed=8))
    summary = records.import_records(session, past, records.check_file(session, past, data, "2017.csv"))
    done = Job(kind="records.import", status="done", attempts=1, done=300, total=300, finished_at=utcnow())
    session.add(done)
    session.flush()
    job = RecordImport(run_id=past.id, job_id=done.id, filename="2017.csv", data=b"", rows=300,
                       created_by_id=users["leader"].id, summary=summary.as_dict())
    session.add(job)

    links = SiteUrls("")
    communications.post_announcement(session, users["leader"], run, "Webinar on Thursday",
                                     "Join us at **4pm**: [the link](https://example.org/webinar).", links)
    now = utcnow()
    soon, _ = live_sessions.schedule(session, users["leader"], run, "Mentoring chat", (now + dt.timedelta(minutes=5))
                                     .isoformat(), "45", links, join_url="https://example.org/chat",
                                     description="Bring one question from this week.")
    later, _ = live_sessions.schedule(session, users["leader"], run, "Feedback webinar",
                                      (now + dt.timedelta(days=9)).isoformat(), "60", links)
    gone, _ = live_sessions.schedule(session, users["leader"], run, "Cancelled chat",
                                     (now + dt.timedelta(days=3)).isoformat(), "30", links)
    live_sessions.cancel(session, users["leader"], gone, links)
    live_sessions.feed_token(session, users["learner"])
    communications.add_recording(session, users["leader"], run.course, slugs[-1], "Mentoring communities webinar",
                                 "https://example.org/recording", "Welcome, everyone.\nToday: communities.",
                                 activity_id="community-webinar", session_id=soon.id)
    changed = folder / "mentoring"
    shutil.copytree(MENTORING, changed)
    change_workbook(changed)
    upload = staging.stage_upload(session, "mentoring.zip", staging.zip_folder(changed), users["leader"].id)
    # The first workbook's discussion: Lara's thread with Fern's reply, a post the course team hid, a report.
    lara_member = community.member(session, users["learner"], run)
    fern_member = community.member(session, users["finisher"], run)
    assert lara_member is not None and fern_member is not None
    post = community.write_post(session, lara_member, slugs[0], "How do you **open** a first meeting?")
    community.write_post(session, fern_member, slugs[0], "With the trainee's own questions.", parent=post)
    hidden = community.write_post(session, fern_member, slugs[0], "An advertisement")
    community.hide_post(session, users["leader"], hidden, "Off topic")
    community.report_post(session, fern_member, post, "Names a school")
    community.write_post(session, lara_member, None, "Hello, I mentor in Year 4.")
    linked = session.scalar(select(User).where(User.email == "lin@school.example")) or \
        create_user(session, "lin@school.example", "Lin Link", "learner", PASSWORD)  # never logs in: its login link works
    if users["learner"].pending_email is None:  # a new address waiting: the account page's banner, the link's page
        email_change.ask(session, users["learner"], "lara.new@home.example", PASSWORD)
    from shooc.lti import services as lti
    from shooc.lti.models import LtiPlatform

    platform = session.scalar(select(LtiPlatform)) or lti.register_platform(session, lti.PlatformFields(
        "https://vle.example.ac.uk", "client-1", "https://vle.example.ac.uk/auth", "https://vle.example.ac.uk/token",
        "https://vle.example.ac.uk/jwks", "deployment-1", "mentoring"))
    session.commit()
    ids = {"platform": platform.id, "run": run.slug, "past": past.slug, "workbooks": slugs, "quiz_workbook": quiz_book.slug,
           "lara": lara.id, "lara_user": users["learner"].id, "fern": fern.id, "badge": badge.id, "revoked": revoked.id,
           "certificate": certificate.code, "import": job.id, "upload": upload.id, "post": post.id,
           "session": later.id,
           "unsubscribe": unsubscribe_token(app.config["SECRET_KEY"], users["learner"].id),
           "reset_token": make_link_token(app.config["SECRET_KEY"], "reset", users["learner"]),
           "login_token": make_link_token(app.config["SECRET_KEY"], "login", linked),
           "email_token": email_change.make_link_token(app.config["SECRET_KEY"], users["learner"])}
    session.close()
    return ids


def pages_by_role(ids: dict) -> dict[str, list[str]]:
    """Every page each role can reach, in the states the seed leaves them in."""
    run, past, books = ids["run"], ids["past"], ids["workbooks"]
    course = "/courses/mentoring"
    return {
        "public": [
            "/", course, f"{course}/start", f"{course}/glossary", "/privacy", "/auth/login", "/auth/register", "/auth/reset", "/auth/check-email",
            f"/auth/reset/{ids['reset_token']}", "/auth/confirm/not-a-real-link",
            "/auth/login-link", f"/auth/login-link/{ids['login_token']}", "/auth/login-link/not-a-real-link",
            "/badges/issuer", f"/badges/classes/mentoring/{books[0]}", f"/badges/assertions/{ids['badge']}",
            f"/badges/assertions/{ids['badge']}/evidence", f"/badges/assertions/{ids['revoked']}",
            f"/certificates/{ids['certificate']}", f"/badges/credentials/{ids['badge']}",
            f"/badges/credentials/{ids['revoked']}", f"/certificates/{ids['certificate']}/credential", "/no-such-page", f"/notifications/unsubscribe/{ids['unsubscribe']}",
            f"/account/email/confirm/{ids['email_token']}", "/account/email/confirm/not-a-real-link",
        ],
        "learner": [
            "/dashboard", f"{course}/start", *[f"{course}/workbooks/{slug}" for slug in books], "/badges", "/account/",
            "/account/delete", f"/dashboard/enrolments/{ids['lara']}/withdraw",
            f"/runs/{run}/evaluation",  # 403: not offered before the certificate
            "/auth/logout", "/lead/",  # 403
            f"{course}/workbooks/{books[0]}/discussion", f"{course}/introductions", f"/discussion/posts/{ids['post']}",
            f"/discussion/posts/{ids['post']}/report", f"/discussion/posts/{ids['post']}/edit", "/notifications",
            "/dashboard/calendar",
        ],
        "finisher": [
            "/dashboard", "/badges", f"/certificates/{ids['certificate']}", f"/runs/{run}/evaluation",
            f"/dashboard/enrolments/{ids['fern']}/self-assessment/after",
            f"{course}/workbooks/{books[-1]}",
        ],
        "leader": [
            "/lead/", "/lead/runs/new", f"/lead/runs/{run}/edit", f"/lead/runs/{run}/close",
            f"/lead/runs/{run}/participants", f"/lead/runs/{past}/participants",
            f"/lead/runs/{run}/participants/{ids['lara']}", f"/lead/runs/{run}/participants/{ids['fern']}",
            f"/lead/runs/{past}/import", f"/lead/imports/{ids['import']}", "/lead/publish",
            f"/lead/publish/{ids['upload']}", f"/lead/publish/{ids['upload']}/workbooks/{ids['quiz_workbook']}",
            f"/lead/runs/{run}/announcements", "/lead/courses/mentoring/recordings", "/lead/audit",
            f"/lead/runs/{run}/review", f"/lead/runs/{run}/review?unreviewed=1&workbook={books[0]}",
            f"/lead/runs/{run}/messages", f"/lead/runs/{run}/messages?to={ids['lara']}",
            f"/lead/runs/{run}/sessions", f"/lead/runs/{run}/sessions/{ids['session']}",
            f"{course}/workbooks/{ids['quiz_workbook']}",  # the leader's preview
            f"/badges/assertions/{ids['badge']}", f"/certificates/{ids['certificate']}",  # with revoke forms
            f"/lead/runs/{run}/moderation", f"{course}/workbooks/{books[0]}/discussion?run={run}",
            f"/discussion/posts/{ids['post']}",  # with the moderation controls and a hidden reply
        ],
        "evaluator": [
            "/evaluate/", f"/evaluate/runs/{run}", f"/evaluate/runs/{past}", f"/evaluate/compare?run={past}&run={run}",
            f"/evaluate/runs/{past}/evaluation", f"/evaluate/runs/{run}/evaluation", "/account/",
        ],
        "admin": ["/lead/", "/evaluate/", "/account/", "/admin/users", "/admin/users?q=no-such-person",
                  f"/admin/users/{ids['lara_user']}", "/admin/lti", "/admin/lti/new",
                  f"/admin/lti/{ids['platform']}", "/lti/courses/mentoring/roster"],
    }


def forms_sent_empty(ids: dict) -> list[tuple[str, str, str]]:
    """Forms sent with nothing filled in, to check the page with its errors: (role, page, button).
    None of them changes anything."""
    return [
        ("public", "/auth/register", "Register"), ("public", "/auth/reset", "Send me a link"),
        ("public", "/auth/login-link", "E-mail me a link to log in"),
        ("learner", "/account/", "Change password"), ("learner", "/account/", "Change my e-mail address"), ("finisher", f"/runs/{ids['run']}/evaluation", "Send your evaluation"),
        ("leader", "/lead/runs/new", "Save"), ("leader", f"/lead/runs/{ids['run']}/announcements", "Preview"),
        ("leader", "/lead/courses/mentoring/recordings", "Add the recording"),
        ("leader", f"/lead/runs/{ids['run']}/sessions", "Schedule"),
        ("leader", f"/lead/runs/{ids['past']}/import", "Check and import"),
    ]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory, schema_tables: list[str],
         browser) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE} (make test installs it with npm)"
        unavailable("BROWSER", message)
    folder = tmp_path_factory.mktemp("a11y")
    with committing_app(database_url, folder, schema_tables) as app, serving(app) as base:
        site = Site(base, app, seed(get_db(app), app, folder))
        for role in ["public", *LOGINS]:
            context = browser.new_context(viewport=DESKTOP, device_scale_factor=2)
            context.add_init_script(path=str(AXE))
            if role != "public":
                page = context.new_page()
                log_in(page, base, LOGINS[role][0])
                page.close()
            site.contexts[role] = context
        try:
            yield site
        finally:
            for context in site.contexts.values():
                context.close()


def visit(site: Site, role: str, path: str):  # type: ignore[no-untyped-def]
    page = watch_problems(site.contexts[role].new_page())
    page.goto(site.base + path)
    assert page.url.startswith(site.base), f"{role} {path} left the site for {page.url}"
    return page


# The list of pages covers the app ---------------------------------------------

def test_every_page_is_listed(session_app: Flask) -> None:
    """Each GET endpoint that answers with HTML is visited by some role (or said not to be a page)."""
    dummy = {"run": "a-run", "past": "b-run", "workbooks": ["wb"], "quiz_workbook": "wb", "lara": 1, "lara_user": 3, "fern": 2,
             "badge": "x", "revoked": "y", "certificate": "C0DE", "import": 1, "upload": 1, "reset_token": "t",
             "login_token": "t", "post": 1, "unsubscribe": "1-x", "session": 1, "email_token": "t", "platform": 1}
    adapter = session_app.url_map.bind("localhost")
    visited = set()
    for paths in pages_by_role(dummy).values():
        for path in paths:
            try:
                visited.add(adapter.match(path.split("?")[0], method="GET")[0])
            except Exception:  # noqa: BLE001  (/no-such-page: the 404 page)
                pass
    pages = {rule.endpoint for rule in session_app.url_map.iter_rules() if "GET" in rule.methods}
    missing = sorted(pages - visited - set(NOT_PAGES))
    assert not missing, f"pages no role visits: list them in pages_by_role (or NOT_PAGES): {missing}"


def test_tables_of_rendered_markdown_scroll_in_named_focusable_regions() -> None:
    from shooc.workbooks.render import render_markdown, scrolling_tables

    html = render_markdown("| Role | Says **why** & how |\n|---|---|\n| Model | Watch me |\n\nText.\n\n| A |\n|---|\n| 1 |")
    wrapped = str(scrolling_tables(html))
    assert wrapped.count('<div class="table-scroll" role="region" tabindex="0"') == 2
    assert 'aria-label="Table: Role, Says why &amp; how"><table>' in wrapped  # text only, escaped
    assert 'aria-label="Table: A"' in wrapped and wrapped.count("</table></div>") == 2
    assert str(scrolling_tables("<p>No table</p>")) == "<p>No table</p>"


# axe-core ------------------------------------------------------------------------

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
    why: v.nodes.map(n => [...n.any, ...n.all, ...n.none].map(c => c.message).join('; '))[0]}));
}"""


def describe(violation: dict) -> str:
    return (f"{violation['rule']} ({violation['impact']}: {violation['help']}) "
            f"at {', '.join(violation['targets'][:5])}: {violation['why']}")


def axe_failures(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [describe(v) for v in page.evaluate(RUN_AXE) if v["impact"] in FAILING_IMPACTS]


def assert_no_axe_failures(page, what: str) -> None:  # type: ignore[no-untyped-def]
    failing = axe_failures(page)
    assert not failing, f"{what} ({page.url}): " + "; ".join(failing)


# The keyboard alone ----------------------------------------------------------------

FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  const rgb = text => (text.match(/rgba?\\(([^)]+)\\)/) || [null, '0, 0, 0, 0'])[1].split(',').map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255)
    .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  let behind = el.parentElement, background = [255, 255, 255];  // what the ring is drawn on
  for (; behind; behind = behind.parentElement) {
    const colour = rgb(getComputedStyle(behind).backgroundColor);
    if (colour.length < 4 || colour[3] > 0) { background = colour; break; }
  }
  const rings = [];
  if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) rings.push(rgb(style.outlineColor));
  if (style.boxShadow !== 'none') rings.push(rgb(style.boxShadow));
  return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || el.name || '').trim().slice(0, 60),
          ring: Math.max(0, ...rings.map(c => contrast(c, background))),
          onScreen: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0
                    && rect.left < innerWidth && rect.top < innerHeight};
}"""


def tab_to(page, selector: str, key: str = "Tab", limit: int = 300) -> int:  # type: ignore[no-untyped-def]
    """Press ``key`` until the element matching ``selector`` has the focus; every
    element focused on the way must show it (an outline of 2px or more, or a ring
    drawn with box-shadow, of 3:1 contrast or more with what it is drawn on: WCAG
    2.4.7 and 1.4.11) and be scrolled into view. Returns the presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS)
        if focus["tag"] != "body":
            assert focus["ring"] >= 3, f"no visible focus on {focus} at {page.url}"
            assert focus["onScreen"], f"the focused {focus} is off-screen at {page.url}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached in {limit} presses of {key} at {page.url}")


@pytest.mark.slow
@pytest.mark.browser
def test_a_learner_logs_in_answers_saves_and_submits_with_the_keyboard_alone(site: Site, browser) -> None:
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(path=str(AXE))
    page = watch_problems(context.new_page())
    first, name = site.ids["workbooks"][0], "a.my-mentoring-context.text"
    try:
        page.goto(site.base + "/auth/login")
        # the first Tab shows the skip link; Enter on it moves the focus into the main content
        tab_to(page, "a.skip-link", limit=1)
        assert page.evaluate(FOCUS)["onScreen"]
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        tab_to(page, "input[name=email]", limit=1)
        page.keyboard.type("kim@school.example")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "keyboard-focus.png"), clip={"x": 0, "y": 0, "width": 640, "height": 360})
        tab_to(page, "input[name=password]", limit=1)
        page.keyboard.type("not my password")
        tab_to(page, "input[name=remember]", limit=1)
        page.keyboard.press("Space")
        assert page.is_checked("input[name=remember]")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # on the checkbox: Enter sends the form
        assert "do not match" in page.locator(".flash-error").inner_text()
        assert_no_axe_failures(page, "the login form with its error")
        tab_to(page, "input[name=password]")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.split("#")[0] == site.base + "/dashboard"

        # the dashboard's link to workbook 1; then its last task, a reflection
        tab_to(page, f"a[href$='/workbooks/{first}']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        tab_to(page, f"textarea[name='{name}']")
        page.keyboard.type("I mentor one trainee in Year 4.")
        tab_to(page, "#activity-my-mentoring-context button[value='save:my-mentoring-context']")
        with page.expect_navigation():
            page.keyboard.press("Space")
        assert page.get_by_text("Draft saved.").is_visible()

        # a submit refused (too short) names what is missing, and keeps the draft
        tab_to(page, "button[value=submit]")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.value") == "save"  # Shift+Tab goes back to Save all
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # Submit asks first, in a dialog, its focus on "Not yet"
        assert page.locator("#submit-dialog").is_visible()
        assert page.evaluate("document.activeElement.textContent") == "Not yet"
        assert_no_axe_failures(page, "the dialog before submitting")
        page.keyboard.press("Escape")  # closes it, nothing sent
        assert not page.locator("#submit-dialog").is_visible()
        assert page.evaluate("document.activeElement.value") == "submit"  # the focus back where it was
        page.keyboard.press("Enter")
        page.keyboard.press("Shift+Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # on the dialog's Submit workbook
        assert page.get_by_text("The workbook cannot be submitted yet").is_visible()
        assert_no_axe_failures(page, "a workbook whose submission was refused")
        # the error's link takes the focus to the task
        tab_to(page, ".flash-error a[href='#activity-my-mentoring-context']")
        page.keyboard.press("Enter")
        tab_to(page, f"textarea[name='{name}']")
        page.keyboard.press("End")
        page.keyboard.insert_text(" " + " ".join(["reflection"] * 200))
        tab_to(page, "button[value=submit]")
        page.keyboard.press("Enter")
        page.keyboard.press("Shift+Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_text("Workbook 1 is submitted. Well done!").is_visible()
        assert page.url == site.base + "/dashboard"  # no fragment carried over from the workbook's address
        assert page.problems == []
    finally:
        context.close()


# 375 px and 200 % zoom: the page does not scroll sideways, nothing is cut off, and what
# scrolls sideways inside the page (a wide table, a chart) is a named, focusable region

REFLOW = """() => {
  const width = innerWidth, problems = [], scrollers = [], past = new Set();
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const pageWidth = document.scrollingElement.scrollWidth;
  if (pageWidth > width + 1) problems.push(`the page scrolls sideways: ${pageWidth}px in ${width}px`);
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || rect.width <= 1 || rect.height <= 1) continue;  // not shown
    if (rect.right <= 0) continue;  // the skip link, parked off-screen until focused
    const over = el.scrollWidth - el.clientWidth, under = el.scrollHeight - el.clientHeight;
    if (['auto', 'scroll'].includes(style.overflowX) && over > 1 && !['textarea', 'select', 'input'].includes(el.localName)) {
      scrollers.push(el);
      const labelled = el.matches('[role=region][aria-label], [role=region][aria-labelledby]') && el.tabIndex >= 0;
      if (!labelled) problems.push(`${name(el)} scrolls sideways but is not a labelled region with tabindex=0`);
    }
    if (['input', 'textarea', 'select'].includes(el.localName)) continue;  // a field scrolls its own text
    if (['hidden', 'clip'].includes(style.overflowX) && over > 1) problems.push(`${name(el)} cuts off ${over}px of its width`);
    if (['hidden', 'clip'].includes(style.overflowY) && under > 1) problems.push(`${name(el)} cuts off ${under}px of its height`);
    if (rect.right > width + 1 && !scrollers.some(s => s !== el && s.contains(el))) {
      if (!past.has(el.parentElement))  // the outermost one only, not each of its children
        problems.push(`${name(el)} ends ${Math.round(rect.right - width)}px past the right edge`);
      past.add(el);
    }
  }
  return problems;
}"""


# Every page once: axe at 1280 px, then the reflow checks at 375 px and at 200 % ------

@dataclass
class Audit:
    visits: int = 0  # pages x roles, forms sent empty included
    widths: int = 0  # pages x roles x widths
    found: Counter = field(default_factory=Counter)  # (rule, impact) -> elements, every impact
    axe_failures: list[str] = field(default_factory=list)
    axe_notes: list[str] = field(default_factory=list)  # moderate and minor: printed, not failed
    reflow_problems: list[str] = field(default_factory=list)


def screenshot_names(ids: dict) -> dict[tuple[str, str], str]:
    return {("learner", "/dashboard"): "dashboard",
            ("learner", f"/courses/mentoring/workbooks/{ids['workbooks'][1]}"): "workbook",
            ("leader", f"/lead/runs/{ids['past']}/participants"): "lead-participants",
            ("evaluator", f"/evaluate/runs/{ids['past']}"): "evaluator-statistics"}


@pytest.fixture(scope="module")
def audit(site: Site) -> Audit:
    """One visit to each page (one browser, one login per role): axe's violations at
    1280 px, then the reflow problems at 375 px and at 200 %; screenshots of a few."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = screenshot_names(site.ids)
    found = Audit()
    visits = [(role, path, None) for role, paths in pages_by_role(site.ids).items() for path in paths]
    for role, path, button in visits + forms_sent_empty(site.ids):
        page = visit(site, role, path)
        where = f"{role} {path}"
        if button:
            with page.expect_navigation():
                page.get_by_role("button", name=button, exact=True).click()
            assert page.locator(".error, [role=alert]").count(), f"{where}: no error after an empty {button}"
            where += " (sent empty)"
        for violation in page.evaluate(RUN_AXE):
            found.found[(violation["rule"], violation["impact"])] += len(violation["targets"])
            failing = violation["impact"] in FAILING_IMPACTS
            (found.axe_failures if failing else found.axe_notes).append(f"{where}: {describe(violation)}")
        for label, viewport in (("375px", PHONE), ("200%", ZOOM_200)):
            page.set_viewport_size(viewport)
            found.reflow_problems += [f"{where} at {label}: {p}" for p in page.evaluate(REFLOW)]
            found.widths += 1
            if not button and (role, path) in shots:
                page.screenshot(path=str(SHOTS / f"{shots[role, path]}-{label.replace('%', 'pct')}.png"),
                                full_page=True, scale="css")
                # the phone layout is not the desktop one: axe again on these
                found.axe_failures += [f"{where} at {label}: {failure}" for failure in axe_failures(page)]
        assert page.problems == [], f"{where}: {page.problems}"
        page.close()
        found.visits += 1
    return found


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_passes_axe_for_every_role(audit: Audit) -> None:
    print(f"axe: {audit.visits} pages x roles checked; elements by (rule, impact): {dict(audit.found)}",
          *audit.axe_notes, sep="\n")
    assert not audit.axe_failures, (f"{len(audit.axe_failures)} serious or critical axe violations:\n"
                                    + "\n".join(audit.axe_failures))


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_reflows_at_375px_and_at_200_percent_zoom(audit: Audit) -> None:
    print(f"reflow: {audit.widths} pages x roles x widths checked")
    problems = audit.reflow_problems
    assert not problems, f"{len(problems)} reflow problems:\n" + "\n".join(problems[:80])
