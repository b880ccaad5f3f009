"""The pages of this issue over real HTTP: catalogue, course page, workbook preview,
who may see what, log in and out."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, csrf_token, mentoring
from shooc.enrolment.services import enrol
from shooc.workbooks.models import WorkbookVersion
from shooc.workbooks.render import scrolling_tables


def test_catalogue_without_courses(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "No course has been published yet" in response.get_data(as_text=True)


def test_catalogue_and_course_page_for_anyone(client, make_run) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=3), closes=TODAY + dt.timedelta(days=60), name="Spring run")
    page = client.get("/").get_data(as_text=True)
    assert "Mentoring trainee and early-career teachers" in page and "Spring run" in page
    course = client.get("/courses/mentoring")
    assert course.status_code == 200
    html = course.get_data(as_text=True)
    for title in ("The mentor&#39;s role", "Building the relationship", "Observation and feedback",
                  "Strengths-based goal setting", "Mentoring communities"):
        assert title in html
    assert html.count("About 3 hours") == 5
    assert f"open {run.opens_on:%-d %B %Y} to {run.closes_on:%-d %B %Y}" in html
    assert "Log in to enrol" in html
    assert "S4 · Self-development and working in partnership" in html


def test_course_page_without_an_open_run_names_the_next(client, make_run) -> None:
    make_run(opens=TODAY + dt.timedelta(days=7), closes=TODAY + dt.timedelta(days=90))
    html = client.get("/courses/mentoring").get_data(as_text=True)
    assert "No run is open at the moment." in html
    assert f"The next one opens on {TODAY + dt.timedelta(days=7):%-d %B %Y}" in html


def test_the_anonymous_course_page_kept_for_the_crowd_follows_every_change(client, auth, db: Session, make_run,
                                                                           make_user) -> None:
    """The page kept for anonymous visitors (AnonymousPages) is never the wrong one:
    a new run, a changed run and a logged-in learner each see what is true now."""
    later = make_run(opens=TODAY + dt.timedelta(days=7), closes=TODAY + dt.timedelta(days=90), name="Later run")
    first = client.get("/courses/mentoring").get_data(as_text=True)
    assert "No run is open at the moment." in first and "set-cookie" not in str(client.get("/courses/mentoring").headers).lower()
    assert client.get("/courses/mentoring").get_data(as_text=True) == first  # served again
    later.opens_on = TODAY - dt.timedelta(days=1)  # a leader moves the opening date
    db.commit()
    html = client.get("/courses/mentoring").get_data(as_text=True)
    assert "No run is open" not in html and "Later run" in html and "Log in to enrol" in html
    auth.login(make_user())
    assert "Enrol now" in client.get("/courses/mentoring").get_data(as_text=True)
    auth.logout()  # "You have logged out." waits on the next page: not the shared one
    client.get("/courses/mentoring")
    assert "Log in to enrol" in client.get("/courses/mentoring").get_data(as_text=True)


def test_unknown_course_and_workbook_are_404(client, auth, make_user, publish) -> None:
    publish()
    assert client.get("/courses/nope").status_code == 404
    auth.login(make_user("leader"))
    assert client.get("/courses/mentoring/workbooks/nope").status_code == 404
    assert client.get("/courses/mentoring/workbooks/observation-and-feedback?version=9").status_code == 404


@pytest.mark.parametrize("role,status", [("leader", 200), ("admin", 200), ("learner", 302), ("evaluator", 403)])
def test_workbook_preview_by_role(client, auth, make_user, publish, role: str, status: int) -> None:
    publish()
    auth.login(make_user(role))
    response = client.get("/courses/mentoring/workbooks/observation-and-feedback")
    assert response.status_code == status
    if status == 200:
        assert "Preview of version 1" in response.get_data(as_text=True)
    if status == 302:  # a learner who has not enrolled is sent to enrol
        assert response.headers["Location"] == "/courses/mentoring"


def test_enrolled_learner_reads_the_workbook_as_the_preview_shows_it(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    learner, leader = make_user(), make_user("leader")
    enrol(db, run, learner.id, TODAY)
    db.commit()
    auth.login(learner)
    learner_page = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    auth.logout()
    auth.login(leader)
    leader_page = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    workbook = db.scalar(select(WorkbookVersion).where(WorkbookVersion.slug == "observation-and-feedback"))
    for part in workbook.body_parts:
        if "html" in part:  # as published, its tables in their scrolling regions
            html = scrolling_tables(part["html"])
            assert html in learner_page and html in leader_page
    assert "Preview of version" not in learner_page and "Submit workbook" in learner_page
    assert "Submit workbook" not in leader_page and 'name="action"' not in leader_page


def test_quiz_answers_never_reach_the_browser(client, auth, make_user, publish) -> None:
    version = publish().version
    auth.login(make_user("leader"))
    for workbook in version.workbooks:
        html = client.get(f"/courses/mentoring/workbooks/{workbook.slug}").get_data(as_text=True)
        for quiz in (a for a in workbook.activities if a.kind == "quiz"):
            section = html.split(f'id="activity-{quiz.activity_id}"')[1].split("</section>")[0]
            # no mark of the right option in the markup (the word may be in a question's text)
            assert not re.search(r'<[^>]*\bcorrect\b[^>]*>', section), section
            for key, rendered in quiz.rendered.items():
                if key.endswith((".feedback", ".explanation")):
                    assert rendered not in html, key
            for question in quiz.definition["questions"]:
                assert quiz.rendered[f"{question['id']}.text"] in section


def test_leader_previews_an_earlier_version(client, auth, make_user, publish, course_copy) -> None:
    publish(course_copy)
    wb = course_copy / "03-observation-and-feedback.md"
    wb.write_text(wb.read_text().replace("# Observation and feedback", "# Observation and feedback, revised"))
    publish(course_copy)
    auth.login(make_user("leader"))
    current = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    old = client.get("/courses/mentoring/workbooks/observation-and-feedback?version=1").get_data(as_text=True)
    assert "revised" in current and "Preview of version 2" in current
    assert "revised" not in old and "Preview of version 1" in old and "not the current version" in old


def test_log_in_and_out(client, auth, make_user) -> None:
    user = make_user("learner", name="Ada Lovelace")
    bad = auth.login(user, "wrong password!")
    assert bad.status_code == 422
    assert "do not match an account" in bad.get_data(as_text=True)
    good = auth.login(user)
    assert good.status_code == 302
    assert "Ada Lovelace" in client.get("/").get_data(as_text=True)
    out = auth.logout()
    assert out.status_code == 302
    assert "Ada Lovelace" not in client.get("/").get_data(as_text=True)


def test_login_redirects_only_within_the_site(client, make_user) -> None:
    user = make_user()
    for target, expected in (("/courses/mentoring", "/courses/mentoring"), ("https://evil.example/", "/dashboard"),
                             ("//evil.example/", "/dashboard"), ("/\\evil.example", "/dashboard")):
        response = client.post(f"/auth/login?next={target}", data={
            "email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert response.headers["Location"] == expected, target
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/logout")})


def test_forms_need_a_csrf_token(client, make_user) -> None:
    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def test_security_headers_on_every_page(client, publish) -> None:
    publish()
    for url in ("/", "/courses/mentoring", "/auth/login", "/nope"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(client, auth, make_user, publish) -> None:
    publish()
    auth.login(make_user("leader"))
    for url in ("/", "/courses/mentoring", "/courses/mentoring/workbooks/the-mentors-role"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url  # scripts only from files
        assert "<style" not in html and " style=" not in html.replace('style="text-align', "")


# Issue 14, item 13b: ids that written text sets -------------------------------------

PLANTED = ('\n\n## Where to start\n\nSee [where to start](#where-to-start) and the note.[^planted]\n\n'
           '<p id="csrf_token">Planted</p>\n\n<span id="main">Planted too</span>\n\n'
           '[^planted]: A footnote.\n')
ID_RE = re.compile(r'\sid="([^"]+)"')


def test_written_text_cannot_take_an_id_of_the_page(client, auth, db, make_user, make_run, publish,  # type: ignore[no-untyped-def]
                                                    course_copy) -> None:
    """A workbook that sets ``id="csrf_token"`` (and ``main``, the skip link's target)
    leaves the page's own elements the only ones with those ids; its headings and
    footnotes get prefixed ids, and its in-page links still find them."""
    workbook = course_copy / "01-the-mentors-role.md"
    text = workbook.read_text()
    end_of_intro = text.index("\n\n", text.index("\n# ") + 3)
    workbook.write_text(text[:end_of_intro] + PLANTED + text[end_of_intro:])
    run = make_run(course_slug=publish(course_copy).course.slug)
    learner = make_user()
    enrol(db, run, learner.id)
    db.commit()
    auth.login(learner)
    html = client.get("/courses/mentoring/workbooks/the-mentors-role").get_data(as_text=True)
    assert "Planted" in html
    ids = ID_RE.findall(html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert re.findall(r'<[^>]*\sid="csrf_token"[^>]*>', html) == [
        tag for tag in re.findall(r"<input[^>]*>", html) if 'id="csrf_token"' in tag]
    assert 'id="user-content-csrf_token"' in html and 'id="user-content-main"' in html
    assert '<h2 id="user-content-where-to-start">' in html
    for target in re.findall(r'href="#(user-content-[^"]+)"', html):
        assert target in ids, target
    assert 'href="#user-content-where-to-start"' in html and 'href="#user-content-fn:planted"' in html


def test_versions_published_before_get_their_ids_prefixed(committed_app, schema_tables) -> None:  # type: ignore[no-untyped-def]
    """Migration 0010: stored HTML of versions published before the prefix (here: the
    prefix taken out again, as an older release stored it) is sanitised again."""
    from alembic import command
    from sqlalchemy import text

    from shooc.unit_of_work import get_db
    from shooc.migrate import alembic_config, upgrade
    from shooc.workbooks.models import ActivityVersion, CourseVersion
    from shooc.workbooks.publish import publish_course

    database = get_db(committed_app)
    with database.session() as session:
        publish_course(session, mentoring())
        session.commit()
    with database.engine.begin() as conn:  # as an older release stored them: no prefix
        for table, column in (("course_versions", "body_html"), ("workbook_versions", "body_parts"),
                              ("activity_versions", "rendered")):
            conn.execute(text(f"UPDATE {table} SET {column} = REPLACE(CAST({column} AS TEXT), 'user-content-', '')"
                              if column == "body_html" else
                              f"UPDATE {table} SET {column} = CAST(REPLACE(CAST({column} AS TEXT), 'user-content-', '')"
                              f" AS {'JSON' if database.engine.dialect.name == 'postgresql' else 'TEXT'})"))
    with database.session() as session:
        old = session.scalars(select(WorkbookVersion)).all()
        assert any(' id="' in part.get("html", "") for version in old for part in version.body_parts)
        assert not any("user-content-" in part.get("html", "") for version in old for part in version.body_parts)
    command.downgrade(alembic_config(database), "0009")
    upgrade(database)
    with database.session() as session:
        versions = session.scalars(select(WorkbookVersion)).all()
        htmls = [part["html"] for version in versions for part in version.body_parts if "html" in part]
        htmls += [html for activity in session.scalars(select(ActivityVersion)) for html in activity.rendered.values()]
        htmls += [version.body_html for version in session.scalars(select(CourseVersion))]
        ids = [found for html in htmls for found in ID_RE.findall(html)]
        assert ids and all(found.startswith("user-content-") and not found.startswith("user-content-user-content-")
                           for found in ids), ids
        links = [found for html in htmls for found in re.findall(r'href="#([^"]+)"', html)]
        assert all(link.startswith("user-content-") for link in links), links
