"""Every form of the app, fuzzed (hypothesis): for each POST route of the url_map, the
real page that holds its form is read for the fields a browser would send, and
hostile values are sent instead (any Unicode, NUL and control characters, markup,
300,000-character strings, missing fields, repeated fields, unknown fields, files of
any bytes), with a valid CSRF token, by a user of the role the route is for.

Never a 500; and a request that is refused (a 4xx: 400, 403, 404, 409, 413, 422,
429) writes nothing: every table's rows are compared before and after. The one
refusal that writes, by design (DESIGN.md §4), is the workbook's: a refused submit
keeps what the learner typed as drafts, so there only their own responses may change.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import given, settings, strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from bad_input import HOSTILE_TEXT, changed_tables, database_fingerprint
from conftest import TODAY, Auth, answer_required, complete_and_submit, csrf_token
from shooc.api import tokens as api_tokens
from shooc.auth.models import User
from shooc.auth.services import make_link_token
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.enrolment import services
from shooc.enrolment.models import Enrolment, Run
from shooc.lead import communications
from shooc.workbooks.models import ContentUpload
from shooc.lead.models import Announcement, Recording
from shooc.workbooks import staging
from shooc.workbooks.models import WorkbookVersion
from shooc.urls import SiteUrls

EXAMPLES_PER_ROUTE = 8
OPEN_WORKBOOK = "building-the-relationship"  # drafts saved, not submitted


class Forms(HTMLParser):
    """The forms of a page: action → [(field name, is a file)], buttons' names included."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, bool]]] = {}
        self.current: list[tuple[str, bool]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.current = self.forms.setdefault((a.get("action") or "").split("#")[0], [])
        elif self.current is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            field = (a["name"], a.get("type") == "file")
            if field not in self.current:
                self.current.append(field)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None


def form_fields(client: FlaskClient, page: str, action: str) -> list[tuple[str, bool]]:
    response = client.get(page, headers={"Accept": "text/html"})
    assert response.status_code == 200, (page, response.status_code)
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    fields = parser.forms.get(action, parser.forms.get("") if action == page else None)
    assert fields is not None, f"no form posting to {action} on {page}: {list(parser.forms)}"
    return [f for f in fields if f[0] != "csrf_token"]


@dataclass
class World:
    users: dict[str, User]
    clients: dict[str, FlaskClient]
    run: Run
    enrolment: Enrolment
    assertion: BadgeAssertion
    certificate: Certificate
    announcement: Announcement
    recording: Recording
    upload: ContentUpload
    token_id: int
    reset_token: str
    confirm_token: str
    login_token: str


@pytest.fixture
def world(app: Flask, db: Session, make_user, make_run, course_copy) -> World:  # type: ignore[no-untyped-def]
    run = make_run(name="Spring run")
    users = {role: make_user(role) for role in ("learner", "leader", "evaluator", "admin")}
    users["newcomer"] = make_user("learner")  # not enrolled yet
    users["forgetful"] = make_user("learner")  # has a reset link
    users["unconfirmed"] = make_user("learner")  # has a confirmation link
    users["unconfirmed"].email_verified_at = None
    users["linked"] = make_user("learner")  # has a login link
    enrolment = services.enrol(db, run, users["learner"].id, TODAY)
    for slug in ("the-mentors-role", "observation-and-feedback", "smart-goal-setting", "mentoring-communities"):
        complete_and_submit(db, enrolment, slug)
    workbook = db.scalar(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == run.course.current_version_id, WorkbookVersion.slug == OPEN_WORKBOOK))
    answer_required(db, enrolment, workbook, leave=1)  # drafts, one required activity left
    db.commit()
    # a certificate of its own: a second learner who finished
    finisher = users["finisher"] = make_user("learner")
    finished = services.enrol(db, run, finisher.id, TODAY)
    for w in run.course.current_version.workbooks:
        complete_and_submit(db, finished, w.slug)
    links = SiteUrls("http://x")
    announcement = communications.post_announcement(db, users["leader"], run, "Welcome", "Hello **all**", links)
    recording = communications.add_recording(db, users["leader"], run.course, OPEN_WORKBOOK, "Webinar",
                                             "https://video.example.org/1", "Transcript")
    changed = course_copy / "01-the-mentors-role.md"
    changed.write_text(changed.read_text() + "\nOne more paragraph.\n")
    upload = staging.stage_upload(db, "mentoring.zip", staging.zip_folder(course_copy), users["leader"].id)
    token, _ = api_tokens.create_token(db, users["evaluator"], "script")
    db.commit()
    clients = {}
    for role in ("anonymous", "visitor", "learner", "newcomer", "finisher", "leader", "evaluator", "logout"):
        clients[role] = app.test_client()
        if role not in ("anonymous", "visitor"):
            Auth(clients[role]).login(users["learner" if role == "logout" else role])
    return World(users, clients, run, enrolment,
                 db.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id)),
                 db.scalar(select(Certificate).where(Certificate.enrolment_id == finished.id)),
                 announcement, recording, upload, token.id,
                 make_link_token(app.config["SECRET_KEY"], "reset", users["forgetful"]),
                 make_link_token(app.config["SECRET_KEY"], "confirm", users["unconfirmed"]),
                 make_link_token(app.config["SECRET_KEY"], "login", users["linked"]))


W = World
# endpoint → (who posts, the URL, the page that holds its form: None is the URL itself).
# Destructive ones come last, so that the others are fuzzed while there is something to change.
ROUTES: dict[str, tuple[str, Callable[[W], str], Callable[[W], str] | None]] = {
    "auth.login": ("anonymous", lambda w: "/auth/login", None),
    "auth.register": ("anonymous", lambda w: "/auth/register", None),
    "auth.reset_request": ("anonymous", lambda w: "/auth/reset", None),
    "auth.reset": ("anonymous", lambda w: f"/auth/reset/{w.reset_token}", None),
    "auth.confirm": ("anonymous", lambda w: f"/auth/confirm/{w.confirm_token}", None),
    "auth.login_link": ("visitor", lambda w: "/auth/login-link", None),
    # a visitor of its own: the first post that passes logs that client in
    "auth.login_with_link": ("visitor", lambda w: f"/auth/login-link/{w.login_token}", None),
    "account.account": ("learner", lambda w: "/account/", None),
    "account.create_api_token": ("evaluator", lambda w: "/account/tokens", lambda w: "/account/"),
    "learn.enrol": ("newcomer", lambda w: "/courses/mentoring/enrol", lambda w: "/courses/mentoring"),
    "learn.workbook": ("learner", lambda w: f"/courses/mentoring/workbooks/{OPEN_WORKBOOK}", None),
    "survey.learner_survey": ("finisher", lambda w: f"/runs/{w.run.slug}/evaluation", None),
    "badges.badge_settings": ("learner", lambda w: f"/badges/assertions/{w.assertion.id}/settings",
                              lambda w: "/badges"),
    "badges.name_choice": ("learner", lambda w: f"/badges/enrolments/{w.enrolment.id}/name", lambda w: "/badges"),
    "lead.new_run": ("leader", lambda w: "/lead/runs/new", None),
    "lead.edit_run": ("leader", lambda w: f"/lead/runs/{w.run.slug}/edit", None),
    "lead.announcements": ("leader", lambda w: f"/lead/runs/{w.run.slug}/announcements", None),
    "lead.recordings": ("leader", lambda w: "/lead/courses/mentoring/recordings", None),
    "lead.extend": ("leader", lambda w: f"/lead/runs/{w.run.slug}/participants/{w.enrolment.id}/extend",
                    lambda w: f"/lead/runs/{w.run.slug}/participants/{w.enrolment.id}"),
    "lead.feedback": ("leader", lambda w: f"/lead/runs/{w.run.slug}/participants/{w.enrolment.id}/feedback/"
                                          "the-mentors-role",
                      lambda w: f"/lead/runs/{w.run.slug}/participants/{w.enrolment.id}"),
    "lead.import_records": ("leader", lambda w: f"/lead/runs/{w.run.slug}/import", None),
    "lead.publish_stage_folder": ("leader", lambda w: "/lead/publish/folder", lambda w: "/lead/publish"),
    "lead.publish_stage_upload": ("leader", lambda w: "/lead/publish/upload", lambda w: "/lead/publish"),
    "lead.publish_publish": ("leader", lambda w: f"/lead/publish/{w.upload.id}/publish",
                             lambda w: f"/lead/publish/{w.upload.id}"),
    "lead.publish_discard": ("leader", lambda w: f"/lead/publish/{w.upload.id}/discard",
                             lambda w: f"/lead/publish/{w.upload.id}"),
    "lead.remove_recording": ("leader", lambda w: f"/lead/courses/mentoring/recordings/{w.recording.id}/remove",
                              lambda w: "/lead/courses/mentoring/recordings"),
    "lead.remove_announcement": ("leader", lambda w: f"/lead/runs/{w.run.slug}/announcements/"
                                                     f"{w.announcement.id}/remove",
                                 lambda w: f"/lead/runs/{w.run.slug}/announcements"),
    "badges.revoke": ("leader", lambda w: f"/badges/assertions/{w.assertion.id}/revoke",
                      lambda w: f"/badges/assertions/{w.assertion.id}"),
    "badges.revoke_certificate": ("leader", lambda w: f"/certificates/{w.certificate.code}/revoke",
                                  lambda w: f"/certificates/{w.certificate.code}"),
    "account.revoke_api_token": ("evaluator", lambda w: f"/account/tokens/{w.token_id}/revoke",
                                 lambda w: "/account/"),
    "learn.withdraw": ("learner", lambda w: f"/dashboard/enrolments/{w.enrolment.id}/withdraw", None),
    "learn.rejoin": ("learner", lambda w: f"/dashboard/enrolments/{w.enrolment.id}/rejoin",
                     lambda w: "/dashboard"),
    "lead.close_run": ("leader", lambda w: f"/lead/runs/{w.run.slug}/close", None),
    "account.delete_account": ("learner", lambda w: "/account/delete", None),
    "auth.logout": ("logout", lambda w: "/auth/logout", None),
}
# Refusals that may write, and what: the workbook keeps a refused submit's text as drafts.
MAY_WRITE_WHEN_REFUSED = {"learn.workbook": {"responses"}}


def test_the_table_covers_every_post_route_of_the_app(app: Flask) -> None:
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())
               and not rule.endpoint.startswith("api.")}
    assert posting == set(ROUTES)


def _field_values(name: str, is_file: bool) -> st.SearchStrategy:
    if is_file:
        return st.tuples(st.binary(max_size=2000), st.one_of(st.just(f"{name}.csv"), st.just(f"{name}.zip"),
                                                            HOSTILE_TEXT.map(lambda t: t[:200])))
    return st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, min_size=2, max_size=3))


@st.composite
def submission(draw: st.DrawFn, fields: list[tuple[str, bool]]) -> dict:
    data: dict = {}
    for name, is_file in fields:
        if draw(st.integers(0, 4)) == 0:
            continue  # a missing field
        value = draw(_field_values(name, is_file))
        data[name] = (io.BytesIO(value[0]), value[1]) if is_file else value
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(["extra", "action", "run", "id", "__proto__"]))] = draw(HOSTILE_TEXT)
    return data


def test_no_form_gives_a_500_or_writes_when_it_refuses(app: Flask, db: Session, world: World) -> None:
    tried: dict[str, int] = {}
    for endpoint, (role, url_of, page_of) in ROUTES.items():
        client = world.clients[role]
        url = url_of(world)
        page = (page_of or url_of)(world)
        fields = form_fields(client, page, url)
        token = csrf_token(client, "/auth/login" if role in ("anonymous", "visitor") else "/account/")
        multipart = any(is_file for _, is_file in fields)

        @settings(max_examples=EXAMPLES_PER_ROUTE)
        @given(data=submission(fields))
        def fuzz(data: dict) -> None:
            form = dict(data, csrf_token=token)
            before = database_fingerprint(db)
            response = client.post(url, data=form, content_type="multipart/form-data" if multipart else None)
            assert response.status_code < 500, (endpoint, response.status_code, response.get_data(as_text=True)[:500])
            tried[endpoint] = tried.get(endpoint, 0) + 1
            if response.status_code >= 400:  # refused
                written = changed_tables(before, database_fingerprint(db))
                assert written <= MAY_WRITE_WHEN_REFUSED.get(endpoint, set()), (endpoint, response.status_code, written)

        fuzz()
    assert set(tried) == set(ROUTES)
    print(f"{len(tried)} forms fuzzed, {sum(tried.values())} requests")


def test_a_nul_anywhere_is_refused_with_a_clear_page_and_the_draft_survives(
        client: FlaskClient, auth: Auth, db: Session, world: World) -> None:
    learner = world.clients["learner"]
    url = f"/courses/mentoring/workbooks/{OPEN_WORKBOOK}"
    fields = [name for name, _ in form_fields(learner, url, url) if name != "action"]
    before = database_fingerprint(db)
    for action in ("save", "submit"):
        response = learner.post(url, data={"csrf_token": csrf_token(learner, url), "action": action,
                                           **{name: "kept?\x00" for name in fields}})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and "NUL character" in body and "Nothing was saved" in body
    # in a query, an address and a file's name as well (PostgreSQL would refuse each)
    assert world.clients["evaluator"].get("/evaluate/compare?run=a%00b").status_code == 400
    assert world.clients["learner"].get("/courses/ment%00oring").status_code == 400
    leader = world.clients["leader"]
    response = leader.post(f"/lead/runs/{world.run.slug}/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(leader, f"/lead/runs/{world.run.slug}/import"),
        "file": (io.BytesIO(b"email\n"), "a\x00.csv")})
    assert response.status_code == 400
    assert changed_tables(before, database_fingerprint(db)) == set()


def test_a_refused_submit_with_a_text_too_long_saves_nothing_and_keeps_the_draft(db: Session, world: World) -> None:
    """Too long: nothing is saved, not even the page's other answers (all or nothing),
    and the text comes back to be shortened."""
    from shooc.workbooks.activities import MAX_TEXT

    learner = world.clients["learner"]
    url = f"/courses/mentoring/workbooks/{OPEN_WORKBOOK}"
    texts = [name for name, _ in form_fields(learner, url, url) if name.endswith(".text")]
    assert len(texts) >= 2
    before = database_fingerprint(db)
    response = learner.post(url, data={"csrf_token": csrf_token(learner, url), "action": "submit",
                                       texts[0]: "y" * (MAX_TEXT + 1), texts[1]: "A changed answer"})
    assert response.status_code == 422
    assert "A changed answer" in response.get_data(as_text=True)  # shown again, to copy
    assert changed_tables(before, database_fingerprint(db)) == set()


# The query strings the app reads (search forms, paging, choices in links): hostile
# values, numbers past any integer column, for the role each page is for.
QUERIES: list[tuple[str, Callable[[W], str], tuple[str, ...]]] = [
    ("leader", lambda w: f"/lead/runs/{w.run.slug}/participants", ("q", "status", "sort", "desc", "page", "format")),
    ("leader", lambda w: "/lead/audit", ("run",)),
    ("leader", lambda w: "/lead/courses/mentoring/recordings", ("workbook",)),
    ("leader", lambda w: f"/courses/mentoring/workbooks/{OPEN_WORKBOOK}", ("version",)),
    ("evaluator", lambda w: "/evaluate/compare", ("run",)),
    ("evaluator", lambda w: f"/evaluate/runs/{w.run.slug}/evaluation", ("page",)),
    ("anonymous", lambda w: "/auth/login", ("next",)),
]
NUMBERISH = st.one_of(st.integers(-2**70, 2**70).map(str), st.sampled_from(["", "0", "-1", "1e9", "١٢", "0x10"]))


def test_no_query_string_gives_a_500(db: Session, world: World) -> None:
    for role, url_of, names in QUERIES:
        client, url = world.clients[role], url_of(world)

        @settings(max_examples=EXAMPLES_PER_ROUTE)
        @given(query=st.fixed_dictionaries({}, optional={name: st.one_of(HOSTILE_TEXT.map(lambda t: t[:2000]),
                                                                         NUMBERISH) for name in names}))
        def fuzz(query: dict) -> None:
            response = client.get(url, query_string=query, headers={"Accept": "text/html"})
            assert response.status_code < 500, (url, query, response.status_code)

        fuzz()


def test_an_id_or_number_no_row_can_have_is_not_found_not_a_500(app: Flask, db: Session, world: World) -> None:
    """Every route with an <int:...> of the url_map, with ids past PostgreSQL's INTEGER,
    by a leader and by a learner; and the numbers of query strings."""
    known = {"slug": world.run.slug, "course_slug": "mentoring", "workbook_slug": OPEN_WORKBOOK, "path": "x.png"}
    rules = [r for r in app.url_map.iter_rules() if "int" in r.rule]
    assert len(rules) >= 14
    for rule in rules:
        for huge in (2**31, 2**63, 2**70):
            values = {name: huge if name not in known else known[name] for name in rule.arguments}
            with app.test_request_context():
                url = url_for(rule.endpoint, **values)
            for role in ("leader", "learner"):
                client = world.clients[role]
                method = "GET" if "GET" in (rule.methods or ()) else "POST"
                response = client.open(url, method=method, data={"csrf_token": csrf_token(client, "/account/")})
                assert response.status_code == 404, (url, role, response.status_code)
    preview = world.clients["leader"].get(f"/courses/mentoring/workbooks/{OPEN_WORKBOOK}?version={2**40}")
    assert preview.status_code == 200  # a number out of range is no number: the current version
