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
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings, strategies as st
from sqlalchemy.orm import Session

from bad_input import HOSTILE_TEXT, changed_tables, database_fingerprint
from fixtures.scenario import OPEN_WORKBOOK, Scenario

EXAMPLES_PER_ROUTE = 8


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
            self.formactions: list[str] = []
        elif self.current is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            field = (a["name"], a.get("type") == "file")
            if field not in self.current:
                self.current.append(field)
        if self.current is not None and tag == "button" and a.get("formaction"):
            self.formactions.append((a["formaction"] or "").split("#")[0])  # the same form, posted elsewhere

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.current is not None:
            for action in self.formactions:
                self.forms.setdefault(action, list(self.current))
            self.current = None


def form_fields(client: FlaskClient, page: str, action: str) -> list[tuple[str, bool]]:
    response = client.get(page, headers={"Accept": "text/html"})
    assert response.status_code == 200, (page, response.status_code)
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    fields = parser.forms.get(action, parser.forms.get("") if action == page else None)
    assert fields is not None, f"no form posting to {action} on {page}: {list(parser.forms)}"
    return [f for f in fields if f[0] != "csrf_token"]


# endpoint → (who posts, the page that holds its form: an endpoint, None for the
# route's own URL). Every URL is the scenario's (``scenario.url``); where a route needs
# other rows than the defaults, ROUTE_VALUES gives them. Destructive ones come last,
# so that the others are fuzzed while there is something to change.
ROUTES: dict[str, tuple[str, str | None]] = {
    "auth.login": ("anonymous", None),
    "auth.register": ("anonymous", None),
    "auth.reset_request": ("anonymous", None),
    "auth.reset": ("anonymous", None),
    "auth.confirm": ("anonymous", None),
    "auth.login_link": ("visitor", None),
    # a visitor of its own: the first post that passes logs that session in
    "auth.login_with_link": ("visitor", None),
    "account.account": ("learner", None),
    "account.create_api_token": ("evaluator", "account.account"),
    "account.change_email": ("newcomer", "account.account"),  # needs the password: refused
    "account.cancel_email_change": ("newcomer", "account.account"),  # the newcomer has a new address pending
    "account.confirm_email_change": ("anonymous", None),  # another person's link (the scenario's "mover")
    "learn.enrol": ("newcomer", "workbooks.course_page"),
    "learn.workbook": ("other_learner", None),  # B's open workbook: drafts, one required activity left
    "survey.learner_survey": ("learner", None),  # A has a certificate
    "learn.self_assessment": ("learner", None),  # A has finished: the rating after the course
    "badges.badge_settings": ("learner", "badges.my_badges"),
    "badges.name_choice": ("learner", "badges.my_badges"),
    "community.discussion": ("other_learner", None),
    "community.introductions": ("other_learner", None),
    "community.helpful": ("other_learner", "community.post_page"),
    "community.follow": ("other_learner", "community.post_page"),
    "community.report": ("other_learner", None),
    "community.edit": ("learner", None),
    "community.share": ("learner", "learn.workbook"),  # A's submitted first workbook: its reflections
    "community.unsubscribe": ("anonymous", None),
    "community.restore": ("leader", "community.moderation"),
    "community.unmute": ("leader", "community.moderation"),
    "community.pin": ("leader", "community.post_page"),
    "admin.change_role": ("admin", "admin.user"),
    "admin.unlock": ("admin", "admin.user"),
    "admin.resend_confirmation": ("admin", "admin.user"),
    "admin.disable": ("admin", "admin.user"),
    "admin.enable": ("admin", "admin.user"),  # after disable: its form is on the page once disabled
    "lti_admin.register": ("admin", None),
    "lti_admin.edit": ("admin", None),
    "lead.new_run": ("leader", None),
    "lead.edit_run": ("leader", None),
    "lead.announcements": ("leader", None),
    "lead.messages": ("leader", None),
    "lead.recordings": ("leader", None),
    "lead.sessions": ("leader", None),
    "lead.edit_session": ("leader", None),
    "calendar.new_calendar_address": ("learner", "calendar.calendar_page"),
    "lead.extend": ("leader", "lead.participant"),
    "lead.feedback": ("leader", "lead.participant"),
    "lead.import_records": ("leader", None),
    "lead.publish_stage_folder": ("leader", "lead.publish_home"),
    "lead.publish_stage_upload": ("leader", "lead.publish_home"),
    "lead.publish_publish": ("leader", "lead.publish_review"),
    "lead.publish_discard": ("leader", "lead.publish_review"),
    "lead.remove_recording": ("leader", "lead.recordings"),
    "lead.remove_announcement": ("leader", "lead.announcements"),
    # A's certificate before A's badge: revoking one of its badges revokes the certificate
    "badges.revoke_certificate": ("leader", "badges.certificate"),
    "badges.revoke": ("leader", "badges.assertion"),
    "lead.return_workbook": ("leader", "lead.participant"),  # hands A's workbook back: revokes its credentials
    "account.revoke_api_token": ("evaluator", "account.account"),
    "learn.withdraw": ("learner", None),
    "learn.rejoin": ("learner", "learn.dashboard"),
    "lead.cancel_session": ("leader", "lead.sessions"),
    "lti_admin.deactivate": ("admin", "lti_admin.platforms"),
    "lead.close_run": ("leader", None),
    "community.delete": ("learner", "community.discussion"),
    # after every participant's form: hiding A's thread takes it from them
    "community.lock": ("leader", "community.post_page"),
    "community.mute": ("leader", "community.post_page"),
    "community.hide": ("leader", "community.post_page"),
    "account.delete_account": ("learner", None),
    "auth.logout": ("learner", None),  # A's session ends everywhere: last
}
#: The URL values a route (and the page of its form) needs besides the scenario's defaults.
ROUTE_VALUES = {"learn.workbook": {"workbook_slug": OPEN_WORKBOOK}}
# Refusals that may write, and what: the workbook keeps a refused submit's text as drafts.
MAY_WRITE_WHEN_REFUSED = {"learn.workbook": {"responses"}}


#: Routes that take JSON from the page's script, not a form: endpoint → (who posts,
#: the page whose script sends it). Fuzzed with hostile JSON below.
JSON_ROUTES: dict[str, tuple[str, str]] = {
    "learn.autosave": ("other_learner", "learn.workbook"),  # B's open workbook
}
#: Routes posted by another site, not by a form of ours (LTI 1.3: a platform's login
#: initiation and launch, CSRF-exempt by design; the deep linking page exists only
#: after a platform's launch): fuzzed in tests/test_lti.py's own way (spoiled tokens).
POSTED_FROM_ELSEWHERE = {"lti.login", "lti.launch", "lti.deep_linking"}


def test_the_table_covers_every_post_route_of_the_app(app: Flask) -> None:
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())
               and not rule.endpoint.startswith("api.")}
    assert posting == set(ROUTES) | set(JSON_ROUTES) | POSTED_FROM_ELSEWHERE


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
                           max_leaves=6)


@pytest.mark.slow
def test_no_json_body_gives_a_500_or_writes_when_it_refuses(db: Session, scenario: Scenario) -> None:
    """The autosave's JSON, fuzzed: the activities of the page, revisions of any
    integer, fields of any JSON; never a 500, and a refusal writes nothing."""
    import re

    for endpoint, (role, page_endpoint) in JSON_ROUTES.items():
        client = scenario.client(role)
        values = {"workbook_slug": OPEN_WORKBOOK}
        url, page = scenario.url(endpoint, **values), scenario.url(page_endpoint, **values)
        html = client.get(page).get_data(as_text=True)
        activities = re.findall(r'data-autosave="([^"]+)"', html)
        names = re.findall(r'name="(a\.[^"]+)"', html)
        assert activities and names, page
        token = scenario.csrf[role]

        @settings(max_examples=EXAMPLES_PER_ROUTE * 3)
        @given(activity=st.sampled_from(activities) | HOSTILE_TEXT, revision=st.integers(-2, 2**40) | JSON_VALUES,
               fields=st.dictionaries(st.sampled_from(names) | HOSTILE_TEXT,
                                      HOSTILE_TEXT | st.lists(HOSTILE_TEXT, max_size=3) | JSON_VALUES, max_size=4),
               whole=st.booleans())
        def fuzz(activity: object, revision: object, fields: dict, whole: bool) -> None:
            before = database_fingerprint(db)
            sent = {"activity": activity, "revision": revision, "fields": fields} if whole else fields
            response = client.post(url, json=sent, headers={"X-CSRFToken": token})
            assert response.status_code < 500, (endpoint, response.status_code, response.get_data(as_text=True)[:500])
            assert response.is_json
            if response.status_code >= 400:
                assert changed_tables(before, database_fingerprint(db)) == set(), (endpoint, response.status_code)

        fuzz()


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


@pytest.mark.slow
def test_no_form_gives_a_500_or_writes_when_it_refuses(db: Session, scenario: Scenario) -> None:
    tried: dict[str, int] = {}
    for endpoint, (role, page_endpoint) in ROUTES.items():
        client = scenario.client(role)
        values = ROUTE_VALUES.get(endpoint, {})
        url = scenario.url(endpoint, **values)
        page = scenario.url(page_endpoint, **values) if page_endpoint else url
        fields = form_fields(client, page, url)
        token = scenario.csrf[role]
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


def test_a_nul_anywhere_is_refused_with_a_clear_page_and_the_draft_survives(db: Session, scenario: Scenario) -> None:
    learner = scenario.client("other_learner")  # B, whose workbook is open
    url = scenario.url("learn.workbook", workbook_slug=OPEN_WORKBOOK)
    fields = [name for name, _ in form_fields(learner, url, url) if name != "action"]
    before = database_fingerprint(db)
    for action in ("save", "submit"):
        response = learner.post(url, data={"csrf_token": scenario.csrf["other_learner"], "action": action,
                                           **{name: "kept?\x00" for name in fields}})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and "NUL character" in body and "Nothing was saved" in body
    # in a query, an address and a file's name as well (PostgreSQL would refuse each)
    assert scenario.client("evaluator").get(scenario.url("evaluate.compare") + "?run=a%00b").status_code == 400
    assert scenario.client("learner").get("/courses/ment%00oring").status_code == 400
    response = scenario.client("leader").post(scenario.url("lead.import_records"), content_type="multipart/form-data",
                                              data={"csrf_token": scenario.csrf["leader"],
                                                    "file": (io.BytesIO(b"email\n"), "a\x00.csv")})
    assert response.status_code == 400
    assert changed_tables(before, database_fingerprint(db)) == set()


def test_a_refused_submit_with_a_text_too_long_saves_nothing_and_keeps_the_draft(db: Session,
                                                                                  scenario: Scenario) -> None:
    """Too long: nothing is saved, not even the page's other answers (all or nothing),
    and the text comes back to be shortened."""
    from shooc.workbooks.activities import MAX_TEXT

    learner = scenario.client("other_learner")
    url = scenario.url("learn.workbook", workbook_slug=OPEN_WORKBOOK)
    texts = [name for name, _ in form_fields(learner, url, url) if name.endswith(".text")]
    assert len(texts) >= 2
    before = database_fingerprint(db)
    response = learner.post(url, data={"csrf_token": scenario.csrf["other_learner"], "action": "submit",
                                       texts[0]: "y" * (MAX_TEXT + 1), texts[1]: "A changed answer"})
    assert response.status_code == 422
    assert "A changed answer" in response.get_data(as_text=True)  # shown again, to copy
    assert changed_tables(before, database_fingerprint(db)) == set()


# The query strings the app reads (search forms, paging, choices in links): hostile
# values, numbers past any integer column, for the role each page is for:
# (who, endpoint, its URL values besides the scenario's, the names of the query).
QUERIES: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
    ("leader", "lead.participants", {}, ("q", "status", "sort", "desc", "page", "format")),
    ("leader", "lead.audit_log", {}, ("run",)),
    ("leader", "lead.recordings", {}, ("workbook", "activity", "session")),
    ("leader", "learn.workbook", {"workbook_slug": OPEN_WORKBOOK}, ("version",)),
    ("evaluator", "evaluate.compare", {}, ("run",)),
    ("evaluator", "survey.results", {}, ("page",)),
    ("anonymous", "auth.login", {}, ("next",)),
    ("other_learner", "community.discussion", {}, ("sort", "page", "run")),
    ("leader", "community.discussion", {}, ("sort", "page", "run")),
    ("learner", "community.post_page", {}, ("page",)),
    ("learner", "community.notifications_page", {}, ("page",)),
    ("leader", "community.moderation", {}, ("page",)),
]
NUMBERISH = st.one_of(st.integers(-2**70, 2**70).map(str), st.sampled_from(["", "0", "-1", "1e9", "١٢", "0x10"]))


def test_no_query_string_gives_a_500(db: Session, scenario: Scenario) -> None:
    for role, endpoint, values, names in QUERIES:
        client, url = scenario.client(role), scenario.url(endpoint, **values)

        @settings(max_examples=EXAMPLES_PER_ROUTE)
        @given(query=st.fixed_dictionaries({}, optional={name: st.one_of(HOSTILE_TEXT.map(lambda t: t[:2000]),
                                                                         NUMBERISH) for name in names}))
        def fuzz(query: dict) -> None:
            response = client.get(url, query_string=query, headers={"Accept": "text/html"})
            assert response.status_code < 500, (url, query, response.status_code)

        fuzz()


def test_an_id_or_number_no_row_can_have_is_not_found_not_a_500(app: Flask, db: Session, scenario: Scenario) -> None:
    """Every route with an <int:...> of the url_map, its ids past PostgreSQL's INTEGER
    (the other values the scenario's), by a leader and by a learner; and the numbers of
    query strings."""
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 14
    for rule in rules:
        numbers = [name for name in rule.arguments if f"<int:{name}>" in rule.rule]
        assert numbers, rule.rule
        for huge in (2**31, 2**63, 2**70):
            url = scenario.url(rule.endpoint, **{name: huge for name in numbers})
            for role in ("leader", "learner"):
                method = "GET" if "GET" in (rule.methods or ()) else "POST"
                response = scenario.client(role).open(url, method=method, data={"csrf_token": scenario.csrf[role]})
                assert response.status_code == 404, (url, role, response.status_code)
    preview = scenario.client("leader").get(scenario.url("learn.workbook", workbook_slug=OPEN_WORKBOOK),
                                            query_string={"version": 2**40})
    assert preview.status_code == 200  # a number out of range is no number: the current version
