"""Who reaches what: every route of the app (from ``app.url_map``) × every kind of
person × every method, on realistic data, against a table of intended access (a
refusal writes nothing; "login" sends back to the page asked for); and CSRF on every
state-changing route.

The data is the shared scenario (tests/fixtures/scenario.py), every URL built from
the url_map with its real values (``scenario.url``). The people: anonymous, learner A (who owns the data), another learner B (enrolled
in the same run, with work of their own), a leader, an evaluator, an admin, and a course
leader (a learner's account that an LTI launch made an instructor of the one course:
the course team's pages of that course, nothing site-wide).
Learner A has finished the course: five submitted workbooks whose written answers
all carry ``A_SECRET``, five badges, a certificate and an evaluation whose comment
carries ``A_COMMENT``. A chose to show their name and one reflection (``A_EVIDENCE``,
not required, so not in ``A_SECRET``) on their first badge's public page.

What each person may see of A (DESIGN.md §1, §3):
- A, leaders, admins and the course's leaders: everything (leaders follow their
  participants' work);
- evaluators: figures, and the survey's comments without a name, never a name, an
  address or a written answer;
- everyone (public verification): the certificate page carries the holder's name;
  the badge A made public carries A's name and the chosen reflection;
- nobody else sees A's answers, address or name anywhere; the same holds for B.

Each request runs in a savepoint that is rolled back afterwards, with a fresh
client carrying the person's session cookie, so no request changes what the next
one sees (a logout, a withdrawal, a publish).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from conftest import CSRF_RE
from fixtures.scenario import (A_COMMENT, A_EMAIL, A_EVIDENCE, A_NAME, A_SECRET, B_EMAIL, B_NAME, B_SECRET,
                               Scenario, log_in)
from shooc import create_app
from shooc.api import tokens as api_tokens
from shooc.auth import limits
from shooc.unit_of_work import get_db
from shooc.models import Base
from shooc.workbooks import published
from shooc.workbooks.views import anonymous_pages

ROLES = ("anonymous", "learner", "other_learner", "leader", "evaluator", "admin", "course_leader")
STAFF = ("leader", "evaluator", "admin")


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) of every route, HEAD and OPTIONS aside."""
    return sorted((rule.endpoint, rule.rule, method) for rule in app.url_map.iter_rules()
                  for method in (rule.methods or ()) if method not in ("HEAD", "OPTIONS"))


WRITES = ("INSERT", "UPDATE", "DELETE")


def request(scenario: Scenario, role: str, method: str, url: str, check: Callable[[], Any] | None = None,
            written: list[str] | None = None, **kwargs: Any) -> TestResponse:
    """One request as ``role``, in a savepoint rolled back afterwards (``check`` runs
    before the rollback). Writes carry the person's CSRF token unless ``data`` is given.
    ``written`` collects the INSERT, UPDATE and DELETE statements the request sent."""
    connection = get_db(scenario.app).sessionmaker.kw["bind"]
    savepoint = connection.begin_nested()
    limits.reset(scenario.app)  # the walk is one visitor's hundreds of requests: no limit is the point here

    def seen(conn, cursor, statement: str, *args: Any) -> None:  # type: ignore[no-untyped-def]
        if written is not None and statement.lstrip()[:6].upper() in WRITES:
            written.append(" ".join(statement.split())[:100])

    event.listen(connection, "before_cursor_execute", seen)
    try:
        client = scenario.client(role)
        if method == "GET":
            response = client.get(url, **kwargs)
        else:
            data = kwargs.pop("data", {"csrf_token": scenario.csrf[role], "run": scenario.values["run"]})
            response = client.open(url, method=method, data=data, **kwargs)
        if check is not None:
            check()
        return response
    finally:
        event.remove(connection, "before_cursor_execute", seen)
        savepoint.rollback()
        published.forget()  # a version the savepoint made is gone with it
        anonymous_pages.clear()


def outcome(response: TestResponse, url: str) -> str:
    """What a person got, in the table's words: a status, "login" (302 to the login
    page, which sends them back to ``url`` afterwards) or "moved" (302 anywhere else)."""
    if response.status_code == 302:
        location = response.headers["Location"]
        if location.startswith("/auth/login"):
            assert location == "/auth/login?" + urlencode({"next": url}), (url, location)
            return "login"
        return "moved"
    return str(response.status_code)


#: Refusals: sent to log in, not allowed, not there (for you), no API token.
REFUSED = {"login", "403", "404", "401"}

# The intended access, one line per route and method. Columns: anonymous, learner A
# (who owns the data), learner B, leader, evaluator, admin, and a course leader (an LTI
# instructor of the one course, a learner's account otherwise: shooc/course_team.py). A cell is a status, "login"
# (sent to /auth/login?next=<the URL asked for>) or "moved"; anything but a refusal (login, 401, 403, 404) means the person got in
# (a form sent with only its CSRF token is refused as incomplete: 400, 409, 422).
# "public" marks the routes anonymous people are meant to reach. /api takes no
# cookie: everyone is 401 here; the tokens' own matrix is further down.
ACCESS = """
GET  workbooks.catalogue          200   200   200   200   200   200   200   public
GET  workbooks.course_page        200   200   200   200   200   200   200   public
GET  learn.start_page             200   200   200   200   200   200   200   public   # start.md: how the course works
GET  workbooks.privacy            200   200   200   200   200   200   200   public
GET  workbooks.asset              200   200   200   200   200   200   200   public   # workbook images
GET  workbooks.course_file        200   200   200   200   200   200   200   public   # a template the course ships
GET  workbooks.glossary           200   200   200   200   200   200   200   public
GET  static                       200   200   200   200   200   200   200   public
GET  brand_stylesheet             200   200   200   200   200   200   200   public   # /brand.css: the brand colour
GET  badges.issuer                200   200   200   200   200   200   200   public   # Open Badges hosted verification
GET  badges.badge_class           200   200   200   200   200   200   200   public
GET  badges.assertion             200   200   200   200   200   200   200   public
GET  badges.baked_image           200   200   200   200   200   200   200   public
GET  badges.evidence              200   200   200   200   200   200   200   public   # the reflection A chose to show
GET  badges.certificate           200   200   200   200   200   200   200   public   # verification page
GET  badges.certificate_pdf       200   200   200   200   200   200   200   public
GET  badges.credential            200   200   200   200   200   200   200   public   # Open Badges 3.0 credentials
GET  badges.credential_jwt        200   200   200   200   200   200   200   public
GET  badges.credential_issuer     200   200   200   200   200   200   200   public
GET  badges.badge_key             200   200   200   200   200   200   200   public
GET  badges.status_list           200   200   200   200   200   200   200   public
GET  badges.certificate_credential 200 200   200   200   200   200   200   public
GET  api.openapi                  200   200   200   200   200   200   200   public
GET  lti.login                    400   400   400   400   400   400   400   public   # a platform's; no iss: refused
POST lti.login                    400   400   400   400   400   400   400   public
POST lti.launch                   400   400   400   400   400   400   400   public   # no id_token: refused
GET  lti.jwks                     200   200   200   200   200   200   200   public
GET  lti.handoff                  404   404   404   404   404   404   404   # a one-time link (this one is not)
GET  lti.deep_linking             403   403   403   403   403   403   403   # only after a deep linking launch
POST lti.deep_linking             403   403   403   403   403   403   403
GET  lti.roster                   login 403   403   200   403   200   200   # its course team: leaders, admins, its LTI instructors
GET  lti_admin.platforms          login 403   403   403   403   200   403   # admins only
GET  lti_admin.register           login 403   403   403   403   200   403
POST lti_admin.register           login 403   403   403   403   400   403
GET  lti_admin.edit               login 403   403   403   403   200   403
POST lti_admin.edit               login 403   403   403   403   400   403
POST lti_admin.deactivate         login 403   403   403   403   moved   403
GET  api.runs                     401   401   401   401   401   401   401   # a token, never cookies
GET  api.stats                    401   401   401   401   401   401   401
GET  auth.login                   200   200   200   200   200   200   200   public
POST auth.login                   422   422   422   422   422   422   422   public
GET  auth.register                200   moved moved moved moved moved   moved public   # logged in: sent home
POST auth.register                422   moved moved moved moved moved   moved public
GET  auth.check_email             200   200   200   200   200   200   200   public
GET  auth.reset_request           200   200   200   200   200   200   200   public
POST auth.reset_request           422   422   422   422   422   422   422   public
GET  auth.reset                   200   200   200   200   200   200   200   public   # the link is the key
POST auth.reset                   422   422   422   422   422   422   422   public
GET  auth.confirm                 200   200   200   200   200   200   200   public   # names the address; logs nobody in
POST auth.confirm                 moved 409   409   409   409   409   409   public   # never over someone else's session
GET  auth.login_link              200   200   200   200   200   200   200   public
POST auth.login_link              422   422   422   422   422   422   422   public
GET  auth.login_with_link         200   200   200   200   200   200   200   public   # names the address; logs nobody in
POST auth.login_with_link         moved 409   409   409   409   409   409   public   # never over someone else's session
GET  auth.logout                  moved 200   200   200   200   200   200   public   # anonymous: nothing to leave
POST auth.logout                  moved moved moved moved moved moved   moved public
GET  account.account              login 200   200   200   200   200   200
POST account.account              login 422   422   422   422   422   422
GET  account.download_data        login 200   200   200   200   200   200   # one's own data only
POST account.change_email         login 422   422   422   422   422   422   # no address or password given
POST account.cancel_email_change  login moved moved moved moved moved   moved # one's own pending address
GET  account.confirm_email_change 200   200   200   200   200   200   200   public   # the link is the key; names the new address, changes nothing
POST account.confirm_email_change moved 409   409   409   409   409   409   public   # never over someone else's session
GET  account.delete_account       login 200   200   200   200   200   200
POST account.delete_account       login 422   422   422   422   422   422
POST account.create_api_token     login 403   403   422   422   422   403
POST account.revoke_api_token     login 404   404   404   moved 404   404   # the evaluator's token
GET  learn.dashboard              login 200   200   200   200   200   200
GET  calendar.run_feed            200   200   200   200   200   200   200   public   # a run's session times (no join links)
GET  calendar.personal_feed       200   200   200   200   200   200   200   public   # A's feed: the token is the key
GET  calendar.calendar_page       login 200   200   200   200   200   200   # one's own feed address
POST calendar.new_calendar_address login moved moved moved moved moved   moved
POST learn.enrol                  login moved moved 403   403   403   moved # learners only: staff are no registrations
GET  learn.workbook               login 200   200   200   403   200   200   # leaders preview; B sees only B's work
POST learn.workbook               403   409   moved 200   403   200   200   # A's is submitted; leaders: the preview; anonymous: kept for after login only if sent from our page (Origin)
GET  learn.withdraw               login 200   404   404   404   404   404   # A's enrolment
POST learn.withdraw               login moved 404   404   404   404   404
POST learn.rejoin                 login moved 404   404   404   404   404
POST learn.autosave               401   400   400   403   403   403   404   # JSON: a form with only its token is no autosave; learners only
GET  badges.portfolio             login 200   404   404   404   404   404   # A's own answers and badges, as a PDF
GET  learn.self_assessment        login 200   404   404   404   404   404   # A's rating after the course (A has finished)
POST learn.self_assessment        login 422   404   404   404   404   404   # a form with only its token: no ratings
GET  badges.my_badges             login 200   200   200   200   200   200   # one's own badges only
POST badges.badge_settings        login moved 404   404   404   404   404   # A's badge
POST badges.name_choice           login moved 404   404   404   404   404   # A's enrolment: the name on its public pages
POST badges.revoke                login 403   403   moved 403   moved   moved
POST badges.revoke_certificate    login 403   403   moved 403   moved   moved
GET  survey.learner_survey        login 200   403   403   403   403   404   # B has no certificate yet
POST survey.learner_survey        login 422   403   403   403   403   404
GET  survey.results               login 403   403   200   200   200   403
GET  evaluate.home                login 403   403   200   200   200   403
GET  evaluate.run_page            login 403   403   200   200   200   403
GET  evaluate.stats_csv           login 403   403   200   200   200   403
GET  evaluate.progress_csv        login 403   403   200   200   200   403
GET  evaluate.compare             login 403   403   200   200   200   403
GET  evaluate.compare_csv         login 403   403   200   200   200   403
GET  community.discussion         login 200   200   200   403   200   200   # the run's people and the course team
POST community.discussion         login 422   422   422   403   422   422   # an empty post
GET  community.introductions      login 200   200   200   403   200   200
POST community.introductions      login 422   422   422   403   422   422
POST community.share              login 404   404   403   403   403   403   # learners only; no reflection named
GET  community.post_page          login 200   200   200   403   200   200   # A's thread
POST community.helpful            login moved moved moved 403   moved   moved # A: not one's own (refused, said on the page)
POST community.follow             login moved moved moved 403   moved   moved
GET  community.report             login 200   200   200   403   200   200
POST community.report             login 422   422   422   403   422   422   # no reason given
GET  community.edit               login 200   moved moved 403   moved   moved # A's own post, within its minutes
POST community.edit               login 422   moved moved 403   moved   moved
POST community.delete             login moved moved moved 403   moved   moved # only A's goes
GET  community.notifications_page login 200   200   200   200   200   200   # one's own only
GET  community.unsubscribe        200   200   200   200   200   200   200   public   # the link's token is the key
POST community.unsubscribe        200   200   200   200   200   200   200   public   # RFC 8058: the mail client posts, no cookie
GET  community.moderation         login 403   403   200   403   200   200
POST community.hide               login 403   403   moved 403   moved   moved # no reason: said on the page
POST community.restore            login 403   403   moved 403   moved   moved
POST community.lock               login 403   403   moved 403   moved   moved
POST community.pin                login 403   403   moved 403   moved   moved
POST community.mute               login 403   403   moved 403   moved   moved
POST community.unmute             login 403   403   moved 403   moved   moved # a muted participant of the run
GET  admin.users                  login 403   403   403   403   200   403   # admins only
GET  admin.user                   login 403   403   403   403   200   403
POST admin.change_role            login 403   403   403   403   400   403   # no role given
POST admin.unlock                 login 403   403   403   403   moved   403
POST admin.resend_confirmation    login 403   403   403   403   moved   403   # the subject is unconfirmed
POST admin.disable                login 403   403   403   403   moved   403
POST admin.enable                 login 403   403   403   403   moved   403
GET  lead.home                    login 403   403   200   403   200   200
GET  lead.audit_log               login 403   403   200   403   200   403
GET  lead.new_run                 login 403   403   200   403   200   200
POST lead.new_run                 login 403   403   422   403   422   422
GET  lead.edit_run                login 403   403   200   403   200   200
POST lead.edit_run                login 403   403   422   403   422   422
GET  lead.close_run               login 403   403   200   403   200   200
POST lead.close_run               login 403   403   422   403   422   422
GET  lead.participants            login 403   403   200   403   200   200
GET  lead.participant             login 403   403   200   403   200   200
POST lead.extend                  login 403   403   422   403   422   422
POST lead.feedback                login 403   403   moved 403   moved   moved
POST lead.return_workbook         login 403   403   422   403   422   422   # no reason given
GET  lead.review_queue            login 403   403   200   403   200   200
GET  lead.import_records          login 403   403   200   403   200   200
POST lead.import_records          login 403   403   422   403   422   422
GET  lead.import_template         login 403   403   200   403   200   200
GET  lead.record_import           login 403   403   200   403   200   200
GET  lead.announcements           login 403   403   200   403   200   200
POST lead.announcements           login 403   403   422   403   422   422
GET  lead.messages                login 403   403   200   403   200   200
POST lead.messages                login 403   403   422   403   422   422
POST lead.remove_announcement     login 403   403   moved 403   moved   moved
GET  lead.recordings              login 403   403   200   403   200   200
POST lead.recordings              login 403   403   422   403   422   422
POST lead.remove_recording        login 403   403   moved 403   moved   moved
GET  lead.sessions                login 403   403   200   403   200   200
POST lead.sessions                login 403   403   422   403   422   422   # nothing typed: said under each field
GET  lead.edit_session            login 403   403   200   403   200   200
POST lead.edit_session            login 403   403   422   403   422   422
POST lead.cancel_session          login 403   403   moved 403   moved   moved
GET  lead.publish_home            login 403   403   200   403   200   403
POST lead.publish_stage_upload    login 403   403   422   403   422   403
POST lead.publish_stage_folder    login 403   403   422   403   422   403
GET  lead.publish_review          login 403   403   200   403   200   403
GET  lead.publish_preview         login 403   403   200   403   200   403
GET  lead.publish_asset           login 403   403   200   403   200   403
POST lead.publish_publish         login 403   403   400   403   400   403   # no version number sent
POST lead.publish_discard         login 403   403   moved 403   moved   403
"""


def intended_access() -> dict[tuple[str, str], tuple[dict[str, str], bool]]:
    table = {}
    for line in ACCESS.strip().splitlines():
        words = line.split("#")[0].split()
        method, endpoint, cells, tags = words[0], words[1], words[2:2 + len(ROLES)], words[2 + len(ROLES):]
        assert len(cells) == len(ROLES) and tags in ([], ["public"]), line
        assert (method, endpoint) not in table, f"{method} {endpoint} twice"
        table[(method, endpoint)] = (dict(zip(ROLES, cells)), tags == ["public"])
    return table


def seen_by(role: str, endpoint: str) -> list[str]:
    """What of A and B ``role`` must not see on the page of ``endpoint``."""
    of_a = {"learner": [], "leader": [], "admin": [], "course_leader": [],
            "evaluator": [A_SECRET, A_EVIDENCE, A_NAME, A_EMAIL]}.get(role, [A_SECRET, A_EVIDENCE, A_COMMENT,
                                                                              A_NAME, A_EMAIL])
    of_b = [] if role in ("other_learner", "leader", "admin", "course_leader") else [B_SECRET, B_NAME, B_EMAIL]
    if endpoint in ("badges.certificate", "badges.certificate_pdf"):
        of_a = [s for s in of_a if s != A_NAME]  # the holder's name verifies the certificate
    if endpoint.startswith("community.") and role == "other_learner":
        of_a = [s for s in of_a if s != A_NAME]  # the same run's discussions: A's posts carry A's name
    if endpoint in ("badges.assertion", "badges.baked_image", "badges.evidence"):
        of_a = [s for s in of_a if s not in (A_NAME, A_EVIDENCE)]  # what A chose to make public
    return of_a + of_b


#: Where the markers must show (so that their absence elsewhere means something).
MUST_SHOW = {
    ("GET", "learn.workbook", "learner"): [A_SECRET],
    ("GET", "account.download_data", "learner"): [A_SECRET, A_EVIDENCE, A_COMMENT, A_EMAIL],
    ("GET", "lead.participant", "leader"): [A_SECRET, A_NAME, A_EMAIL],
    ("GET", "lead.participant", "course_leader"): [A_SECRET, A_NAME, A_EMAIL],
    ("GET", "lead.participants", "admin"): [A_NAME, A_EMAIL, B_NAME],
    ("GET", "badges.certificate", "anonymous"): [A_NAME],
    ("GET", "badges.evidence", "other_learner"): [A_NAME, A_EVIDENCE],
}


def assert_security_headers(response: TestResponse, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], (where, policy)  # no 'unsafe-inline', no other origin
    assert directives.get("frame-ancestors") == ["'none'"], (where, policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, (where, policy)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where


#: The same for everyone, whoever asks: caches may keep them.
SHARED_FILES = {"static", "workbooks.asset", "workbooks.course_file", "brand_stylesheet", "lti.jwks"}  # lti.jwks: public keys


def assert_not_kept_by_caches(response: TestResponse, endpoint: str, where: str) -> None:
    """A logged-in person's answers: no shared cache (private), and pages no cache at all."""
    if endpoint in SHARED_FILES:
        return
    policy = response.headers.get("Cache-Control", "")
    assert "no-store" in policy or "private" in policy, (where, policy)
    if response.mimetype == "text/html":
        assert "no-store" in policy, (where, policy)


def test_the_table_has_every_route_and_no_other(app: Flask) -> None:
    """A new route fails here until its intended access is written into ACCESS."""
    in_app = {(method, endpoint) for endpoint, _, method in routes(app)}
    table = set(intended_access())
    assert in_app - table == set(), "give ACCESS a line for each of these routes"
    assert table - in_app == set(), "ACCESS has lines for routes that are gone"


@pytest.mark.slow
def test_every_route_for_every_person(scenario: Scenario) -> None:
    """Every route × person × method gets exactly the intended answer, never a 500;
    a refusal writes nothing (not one INSERT, UPDATE or DELETE); no page shows anyone
    A's (or B's) answers, address or name unless meant to; every answer has the
    security headers."""
    table = intended_access()
    tally: Counter[str] = Counter()
    problems = []
    for endpoint, rule, method in routes(scenario.app):
        url = scenario.url(endpoint)
        expected, public = table[(method, endpoint)]
        assert public == (expected["anonymous"] not in REFUSED), f"{method} {endpoint}: public means anonymous gets in"
        for role in ROLES:
            written: list[str] = []
            response = request(scenario, role, method, url, written=written)
            where = f"{method} {url} as {role}"
            got = outcome(response, url)
            tally["checked"] += 1
            tally["refused" if got in REFUSED else "let in"] += 1
            if got != expected[role]:
                problems.append(f"{where}: {got}, meant {expected[role]}")
            if got in REFUSED and written:
                problems.append(f"{where}: refused, but wrote {written}")
            assert response.status_code < 500, where
            assert_security_headers(response, where)
            if role != "anonymous" and response.status_code != 302:  # a redirect shows nothing
                assert_not_kept_by_caches(response, endpoint, where)
            body = response.get_data().decode("utf-8", "replace")
            for secret in seen_by(role, endpoint):
                if secret in body:
                    problems.append(f"{where} shows {secret!r}")
            for shown in MUST_SHOW.get((method, endpoint, role), []):
                tally["shown"] += 1
                if shown not in body:
                    problems.append(f"{where} does not show {shown!r}")
    assert problems == []
    routes_checked = len({(e, m) for e, _, m in routes(scenario.app)})
    print(f"\naccess matrix: {routes_checked} routes×methods × {len(ROLES)} people = {tally['checked']} requests "
          f"({tally['let in']} let in, {tally['refused']} refused)")
    assert tally["checked"] == routes_checked * len(ROLES)
    assert tally["shown"] == sum(len(v) for v in MUST_SHOW.values())


def test_the_api_by_token(scenario: Scenario) -> None:
    """With their own token, staff read the API; the same token with one character
    changed is refused; a token revoked on the account page is refused by the very
    next request; no token is kept in the clear in any column of any table (the
    token's row, the audit log, anything)."""
    checked = 0
    for role in STAFF:
        token = scenario.bearer[role]
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        for endpoint, rule, method in routes(scenario.app):
            if not endpoint.startswith("api.") or endpoint == "api.openapi":
                continue
            url = scenario.url(endpoint)
            ok = request(scenario, "anonymous", method, url, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and ok.is_json, url
            assert not [s for s in seen_by("evaluator", endpoint) if s in ok.get_data(as_text=True)], url
            refused = request(scenario, "anonymous", method, url, headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401, url
            checked += 2
    assert checked == 2 * 2 * len(STAFF)  # /runs and /runs/<run>/stats

    connection = get_db(scenario.app).sessionmaker.kw["bind"]
    for table in Base.metadata.sorted_tables:
        for row in connection.execute(select(table)):
            for plaintext in scenario.bearer.values():
                assert plaintext[len(api_tokens.TOKEN_PREFIX):] not in repr(tuple(row)), table.name

    runs = scenario.app.test_client()
    after: list[int] = []
    revoked = request(scenario, "evaluator", "POST", scenario.url("account.revoke_api_token"),
                      check=lambda: after.append(runs.get(scenario.url("api.runs"), headers={
                          "Authorization": f"Bearer {scenario.bearer['evaluator']}"}).status_code))
    assert revoked.status_code == 302 and after == [401]


def database_digest(scenario: Scenario) -> str:
    """Every row of every table, as one hash: equal digests, nothing written."""
    import hashlib

    connection = get_db(scenario.app).sessionmaker.kw["bind"]
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
        digest.update(f"{table.name}:{len(rows)}:{rows}".encode())
    return digest.hexdigest()


#: State-changing requests that need no CSRF token, and why.
NO_CSRF_NEEDED = {
    # The preview has no form; a leader's POST shows it again and writes nothing.
    ("POST", "learn.workbook", "leader"): "200", ("POST", "learn.workbook", "admin"): "200",
    ("POST", "learn.workbook", "course_leader"): "200",
}


#: Writes whose URL carries a secret of their own, standing for the CSRF token: one
#: click in an e-mail client, which sends no cookie (RFC 8058). A wrong token is a 404
#: that writes nothing (tests/test_community.py).
THE_URL_IS_THE_KEY = {"community.unsubscribe"}


@pytest.mark.slow
def test_every_state_changing_route_needs_the_csrf_token(scenario: Scenario) -> None:
    """Every POST/PUT/PATCH/DELETE of url_map, by each person who may send it, with
    its fields but without the token: 400, and not one row of the database changes.
    (/api has no such route: it only reads, takes no cookie, and is exempt.)"""
    table = intended_access()
    before = database_digest(scenario)
    checked = 0
    for endpoint, rule, method in routes(scenario.app):
        if method == "GET" or endpoint in THE_URL_IS_THE_KEY:
            continue
        assert not endpoint.startswith("api."), "an API write needs a decision on CSRF (it takes no cookie)"
        url = scenario.url(endpoint)
        for role, meant in table[(method, endpoint)][0].items():
            if meant in REFUSED:
                continue
            after: list[str] = []
            response = request(scenario, role, method, url, data={"run": scenario.values["run"]},
                               check=lambda: after.append(database_digest(scenario)))
            expected = NO_CSRF_NEEDED.get((method, endpoint, role), "400")
            assert str(response.status_code) == expected, f"{method} {url} as {role}"
            assert after == [before], f"{method} {url} as {role} wrote without a CSRF token"
            checked += 1
    # The digest sees a write: the same withdrawal with the token changes it.
    written: list[str] = []
    request(scenario, "learner", "POST", scenario.url("learn.withdraw"),
            check=lambda: written.append(database_digest(scenario)))
    assert written != [before]
    print(f"\nCSRF: {checked} state-changing requests without a token refused, none wrote")
    assert checked >= 60


# Security headers and error pages ---------------------------------------------------

def test_error_answers_have_the_headers_and_no_trace(app: Flask, make_user, database_url: str,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    """404, 405, 400 (CSRF), 403, 429, 413 and 500 answers carry the security headers
    like every answer of the matrix above; the 500 page shows neither a traceback nor
    the exception's text."""
    learner = app.test_client()
    learner.set_cookie("session", log_in(app, make_user("learner").email)[0])
    anonymous = app.test_client()
    answers = {
        "404": anonymous.get("/no/such/page"),
        "404 under /api": anonymous.get("/api/v1/nothing"),
        "405": learner.get("/account/tokens"),
        "400": learner.post("/account/", data={"profile-name": "Forged"}),
        "403": learner.get("/lead/"),
    }
    token = CSRF_RE.search(anonymous.get("/auth/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    for _ in range(11):
        response = anonymous.post("/auth/login", data={"email": A_EMAIL, "password": "not it", "csrf_token": token})
    answers["429"] = response
    # A fresh app from the factory, as `shooc` and gunicorn make it (not TESTING: errors
    # are handled, not raised), with a route that fails and a small upload limit.
    fresh = create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(tmp_path),
                        "SHOOC_SECRET_KEY": "fresh", "SHOOC_MAX_UPLOAD_BYTES": 1000})
    assert fresh.debug is False and fresh.testing is False

    @fresh.route("/test-only/fails")
    def fails() -> str:
        raise RuntimeError("the secret detail Zq7Boom")

    client = fresh.test_client()
    answers["500"] = client.get("/test-only/fails")
    answers["413"] = client.post("/auth/login", data={"email": "x" * 2000})
    for label, response in answers.items():
        assert response.status_code == int(label.split()[0]), label
        assert_security_headers(response, label)
    body = answers["500"].get_data(as_text=True)
    assert "Something went wrong" in body
    assert "Traceback" not in body and "Zq7Boom" not in body and "RuntimeError" not in body
    assert "Traceback" not in answers["404"].get_data(as_text=True)
    assert answers["404 under /api"].is_json


def test_debug_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    settings = {"SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "k",
                "SHOOC_DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"}
    assert create_app(settings).debug is False
    monkeypatch.setenv("FLASK_DEBUG", "1")  # Flask's own switch, for a developer's machine
    assert create_app(settings).debug is True
