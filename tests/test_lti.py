"""LTI 1.3 end to end against a platform built from joserfc (tests/lti_platform.py),
served over real HTTP: login and launch, every refusal, accounts and roles, scores
sent back (also after the platform was down), deep linking, the roster, the one-time
handoff to a new window, the tool's JWKS, the admin's page and command."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from conftest import MENTORING, PASSWORD, TODAY, complete_and_submit, csrf_token
from lti_platform import INSTRUCTOR, LEARNER, LaunchPlan, Platform, form_post, other_key
from shooc import jobs, signing_keys
from shooc.auth.models import Role, User
from shooc.auth.services import check_password
from shooc.enrolment.models import Enrolment, Run
from shooc.enrolment.services import enrol
from shooc.lti import services
from shooc.lti.models import LtiCourseLeader, LtiPlatform, LtiScore
from shooc.unit_of_work import get_db
from shooc.web import job_environment


@pytest.fixture
def platform(app, db: Session, client, make_run):  # type: ignore[no-untyped-def]
    run = make_run(name="Spring run")
    with Platform() as vle:
        services.register_platform(db, services.PlatformFields(**vle.registration, course_slug="mentoring"))
        db.commit()
        vle.tool_jwks = client.get("/lti/jwks").get_json()
        vle.run = run  # type: ignore[attr-defined]
        yield vle


def launch(client, vle: Platform, plan: LaunchPlan):  # type: ignore[no-untyped-def]
    login = client.post("/lti/login", data=vle.login_params(plan))
    assert login.status_code == 302, login.get_data(as_text=True)
    assert login.headers["Location"].startswith(vle.url + "/auth?")
    return form_post(client, vle.authorize(login.headers["Location"]))


def learner(sub: str = "learner-1", **kwargs) -> LaunchPlan:  # type: ignore[no-untyped-def]
    return LaunchPlan(sub=sub, roles=[LEARNER], **kwargs)


def test_a_good_launch_makes_an_enrolled_account_and_lands_on_the_course(client, db: Session, platform) -> None:
    response = launch(client, platform, learner(email="grace@uni.example.ac.uk"))
    assert response.status_code == 302 and response.headers["Location"] == "/courses/mentoring"
    user = db.scalar(select(User).where(User.email == "grace@uni.example.ac.uk"))
    assert user is not None and user.role == Role.learner and user.name == "Grace Hopper"
    assert user.email_verified_at is None  # the platform's word, not a confirmation of ours
    assert db.scalar(select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.run_id == platform.run.id))
    assert client.get("/dashboard").status_code == 200  # logged in
    # No password logs in to an account made by a launch.
    assert not check_password(user, "!") and not check_password(user, "")
    # A later launch lands in the same account.
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/logout")})
    again = launch(client, platform, learner(email="grace@uni.example.ac.uk"))
    assert again.status_code == 302
    assert db.scalars(select(User).where(User.name == "Grace Hopper")).all() == [user]


def test_a_launch_into_a_workbook_lands_on_it(client, platform) -> None:
    response = launch(client, platform, learner(custom={"course": "mentoring", "workbook": "the-mentors-role"}))
    assert response.headers["Location"] == "/courses/mentoring/workbooks/the-mentors-role"


@pytest.mark.parametrize("spoil,why", [
    ({"sign_with": "other"}, "signature does not verify"),
    ({"overrides": {"aud": "someone-else"}}, "not for this tool"),
    ({"overrides": {"aud": ["shooc-client", "other"], "azp": "other"}}, "azp"),
    ({"overrides": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}}, "expired"),
    ({"overrides": {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 4000}}, "future"),
    ({"overrides": {"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"}}, "not LTI 1.3.0"),
    ({"overrides": {"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "unknown"}}, "deployment id"),
    ({"overrides": {"https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiSubmissionReviewRequest"}},
     "unsupported message type"),
    ({"overrides": {"nonce": "made-up"}}, "nonce"),
])
def test_a_spoiled_launch_is_refused_with_a_clear_page(client, db: Session, platform, spoil, why: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    if spoil.get("sign_with") == "other":
        spoil = {"sign_with": other_key()}
    response = launch(client, platform, learner(**spoil))
    assert response.status_code == 400
    assert why in response.get_data(as_text=True) and "refused" in response.get_data(as_text=True)
    assert why in caplog.text
    assert db.scalar(select(User).where(User.name == "Grace Hopper")) is None
    assert client.get("/dashboard").status_code == 302  # not logged in


def test_a_replayed_launch_is_refused(client, platform) -> None:
    login = client.post("/lti/login", data=platform.login_params(learner()))
    fields = platform.authorize(login.headers["Location"])
    assert form_post(client, fields).status_code == 302
    client.set_cookie("shooc_lti_state", fields["state"], path="/lti/")
    replay = form_post(client, fields)
    assert replay.status_code == 400 and "used already" in replay.get_data(as_text=True)


def test_the_state_must_be_this_browsers(client, platform) -> None:
    login = client.post("/lti/login", data=platform.login_params(learner()))
    fields = platform.authorize(login.headers["Location"])
    client.set_cookie("shooc_lti_state", "another-browsers-state", path="/lti/")
    response = form_post(client, fields)
    assert response.status_code == 400 and "state" in response.get_data(as_text=True)


def test_login_initiation_refuses_an_unknown_platform_and_deployment(client, platform) -> None:
    params = platform.login_params(learner())
    assert client.get("/lti/login", query_string={**params, "iss": "https://evil.example"}).status_code == 400
    assert client.get("/lti/login", query_string={**params, "lti_deployment_id": "other"}).status_code == 400
    assert client.get("/lti/login", query_string=params).status_code == 302  # GET works as POST does


def test_a_deactivated_platform_is_refused(client, db: Session, platform) -> None:
    db.scalar(select(LtiPlatform)).active = False
    db.commit()
    assert client.post("/lti/login", data=platform.login_params(learner())).status_code == 400


def test_a_confirmed_account_is_linked_by_email_and_an_unconfirmed_one_is_not(client, db: Session, platform,
                                                                              make_user) -> None:
    confirmed = make_user("learner", email="ada@uni.example.ac.uk")
    launch(client, platform, learner("ada", email="ADA@uni.example.ac.uk"))
    assert db.scalars(select(User).where(User.name == "Grace Hopper")).all() == []
    assert client.get("/dashboard").status_code == 200
    unconfirmed = make_user("learner", email="bob@uni.example.ac.uk")
    db.get(User, unconfirmed.id).email_verified_at = None
    db.commit()
    other = client.application.test_client()
    launch(other, platform, learner("bob", email="bob@uni.example.ac.uk"))
    made = db.scalar(select(User).where(User.name == "Grace Hopper"))
    assert made is not None and made.id not in (confirmed.id, unconfirmed.id) and made.email.endswith("@lti.invalid")


def test_an_instructor_leads_that_course_only(client, db: Session, platform, make_run, make_user, publish,
                                             tmp_path) -> None:
    platform.members = [{"user_id": "learner-1", "name": "Grace Hopper", "email": "grace@uni.example.ac.uk",
                         "roles": [LEARNER], "status": "Active"},
                        {"user_id": "teacher-1", "name": "Alan Turing", "roles": [INSTRUCTOR], "status": "Active"}]
    # another course, with a run and a learner, that this platform has nothing to do with
    other_folder = tmp_path / "another-course"
    shutil.copytree(MENTORING, other_folder)
    publish(other_folder)
    other_run = make_run("another-course", name="Other course's run", slug="other-run")
    outsider = make_user("learner", email="outsider@school.example.org")
    other_enrolment = enrol(db, other_run, outsider.id)
    mine = enrol(db, platform.run, make_user("learner", email="mine@school.example.org").id)
    db.commit()

    response = launch(client, platform, LaunchPlan(sub="teacher-1", roles=[INSTRUCTOR], name="Alan Turing"))
    assert response.status_code == 302
    teacher = db.scalar(select(User).where(User.name == "Alan Turing"))
    assert teacher.role == Role.learner  # never a site-wide role
    assert [row.course_id for row in db.scalars(select(LtiCourseLeader))] == [platform.run.course_id]
    roster = client.get("/lti/courses/mentoring/roster")
    assert roster.status_code == 200
    page = roster.get_data(as_text=True)
    assert "Grace Hopper" in page and "Alan Turing" in page and "Instructor" in page and "2 people" in page

    # the course team's pages of their course: the runs of that course only
    home = client.get("/lead/")
    assert home.status_code == 200
    text = home.get_data(as_text=True)
    assert "Spring run" in text and "Other course" not in text and "/lead/publish" not in text
    assert 'href="/lead/"' in client.get("/courses/mentoring").get_data(as_text=True)  # "Leading" in the header
    slug = platform.run.slug
    for page_url in (f"/lead/runs/{slug}/participants", f"/lead/runs/{slug}/participants/{mine.id}",
                     f"/lead/runs/{slug}/review", f"/lead/runs/{slug}/announcements",
                     f"/lead/runs/{slug}/sessions", f"/lead/runs/{slug}/moderation", f"/lead/runs/{slug}/import",
                     f"/lead/runs/{slug}/edit", "/lead/courses/mentoring/recordings", "/lead/runs/new",
                     "/courses/mentoring/workbooks/the-mentors-role"):  # a workbook, as leaders preview it
        assert client.get(page_url).status_code == 200, page_url
    new_run = client.get("/lead/runs/new").get_data(as_text=True)
    assert 'value="mentoring"' in new_run and 'value="another-course"' not in new_run
    token = csrf_token(client, f"/lead/runs/{slug}/participants/{mine.id}")
    extended = client.post(f"/lead/runs/{slug}/participants/{mine.id}/extend",
                           data={"csrf_token": token, "reason": "Illness",
                                 "until": (TODAY + dt.timedelta(days=120)).isoformat()})
    assert extended.status_code == 302
    db.expire_all()
    assert db.get(Enrolment, mine.id).extended_until == TODAY + dt.timedelta(days=120)

    # ...and nothing of another course's, nor anything site-wide
    for refused in ("/lead/publish", "/lead/audit", "/admin/users", "/admin/lti", "/evaluate/",
                    "/lead/runs/other-run/participants", f"/lead/runs/other-run/participants/{other_enrolment.id}",
                    "/lead/runs/other-run/moderation", "/lead/runs/other-run/edit",
                    "/lead/courses/another-course/recordings", "/lti/courses/another-course/roster"):
        assert client.get(refused).status_code == 403, refused
    refused_post = client.post(f"/lead/runs/other-run/participants/{other_enrolment.id}/extend",
                               data={"csrf_token": token, "reason": "Illness",
                                     "until": (TODAY + dt.timedelta(days=120)).isoformat()})
    assert refused_post.status_code == 403 and db.get(Enrolment, other_enrolment.id).extended_until is None
    made = client.post("/lead/runs/new", data={"csrf_token": token, "course": "another-course", "name": "Sneaky",
                                               "slug": "sneaky", "mode": "rolling", "pace_days": "14",
                                               "opens_on": TODAY.isoformat(),
                                               "closes_on": (TODAY + dt.timedelta(days=90)).isoformat()})
    assert made.status_code == 422 and db.scalar(select(Run).where(Run.slug == "sneaky")) is None

    # a grant taken away is refused on the very next request
    db.execute(delete(LtiCourseLeader))
    db.commit()
    for page_url in ("/lead/", f"/lead/runs/{slug}/participants", "/lti/courses/mentoring/roster"):
        assert client.get(page_url).status_code == 403, page_url


def test_a_learner_sees_no_roster(client, platform) -> None:
    launch(client, platform, learner())
    assert client.get("/lti/courses/mentoring/roster").status_code == 403


def _run_queued_jobs(app, db: Session) -> None:
    for job_id in jobs.take_jobs_to_start(db):
        jobs.run(job_environment(app), job_id)


def test_a_submitted_workbook_scores_at_the_platform(app, client, db: Session, platform) -> None:
    launch(client, platform, learner())
    enrolment = db.scalar(select(Enrolment))
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    _run_queued_jobs(app, db)
    [(item, score)] = platform.scores
    assert platform.lineitems[item]["resourceId"] == "the-mentors-role"  # one line item per workbook, made
    assert score["userId"] == "learner-1" and score["scoreGiven"] == 1 and score["scoreMaximum"] == 1
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].endswith("+00:00")
    # A second workbook reuses the cached token and finds no line item to reuse: one more.
    complete_and_submit(db, enrolment, "building-the-relationship")
    db.commit()
    _run_queued_jobs(app, db)
    assert len(platform.scores) == 2 and platform.token_requests == 1


def test_the_certificate_posts_completion_on_the_launched_link(app, client, db: Session, platform) -> None:
    launch(client, platform, learner())
    enrolment = db.scalar(select(Enrolment))
    for slug in ("the-mentors-role", "building-the-relationship", "observation-and-feedback",
                 "smart-goal-setting", "mentoring-communities"):
        complete_and_submit(db, enrolment, slug)
    db.commit()
    _run_queued_jobs(app, db)
    assert ("course-item", platform.scores[-1][1]) in platform.scores
    assert sum(1 for item, _ in platform.scores if item == "course-item") == 1


def test_a_score_waits_while_the_platform_is_down(app, client, db: Session, platform, make_user) -> None:
    admin = app.test_client()
    admin.post("/auth/login", data={"email": make_user("admin").email, "password": PASSWORD,
                                    "csrf_token": csrf_token(admin)})

    def scores_column() -> str:  # what the admins' list of platforms says of its scores
        page = admin.get("/admin/lti").get_data(as_text=True)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("Scores sent back")[1].split("</tr>")[1]))

    launch(client, platform, learner())
    assert "None yet" in scores_column()
    enrolment = db.scalar(select(Enrolment))
    platform.down = 1
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    _run_queued_jobs(app, db)
    assert platform.scores == []
    kept = db.scalar(select(LtiScore))
    db.refresh(kept)
    assert kept.sent_at is None and "503" in kept.last_error and kept.attempts == 1
    successor = db.scalar(select(jobs.Job).where(jobs.Job.kind == services.SCORES_JOB, jobs.Job.status == "queued"))
    assert successor is not None  # recovery starts it once stale
    waiting = scores_column()
    assert "0 sent; 1 waiting since" in waiting and "Last error:" in waiting and "503" in waiting, waiting

    again = jobs.recover(db, dt.timedelta(seconds=-1))
    db.commit()
    for job_id in again:
        jobs.run(job_environment(app), job_id)
    assert [score["userId"] for _, score in platform.scores] == ["learner-1"]
    db.refresh(kept)
    assert kept.sent_at is not None
    assert "1 sent" in scores_column() and "waiting" not in scores_column()


def test_deep_linking_round_trip(client, db: Session, platform) -> None:
    response = launch(client, platform, LaunchPlan(sub="teacher-1", roles=[INSTRUCTOR],
                                                   message_type="LtiDeepLinkingRequest"))
    assert response.headers["Location"] == "/lti/deep-linking"
    page = client.get("/lti/deep-linking")
    assert page.status_code == 200 and "The whole course" in page.get_data(as_text=True)
    token = csrf_token(client, "/lti/deep-linking")
    refused = client.post("/lti/deep-linking", data={"what": "workbooks", "csrf_token": token})
    assert refused.status_code == 400 and "Choose at least one workbook" in refused.get_data(as_text=True)
    answer = client.post("/lti/deep-linking", data={"what": "workbooks", "csrf_token": token,
                                                    "workbooks": ["the-mentors-role", "smart-goal-setting"]})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "<script src=" in html and "<script>" not in html  # no inline script
    assert f"form-action 'self' {platform.url}" in answer.headers["Content-Security-Policy"]
    action = re.search(r'<form method="post" action="([^"]+)" data-auto-submit>', html).group(1)
    jwt = re.search(r'name="JWT" value="([^"]+)"', html).group(1)
    with urllib.request.urlopen(action, data=urllib.parse.urlencode({"JWT": jwt}).encode(), timeout=10) as done:
        assert done.status == 200  # the platform verified the tool's signature against /lti/jwks
    items = platform.deep_link_items
    assert [item["custom"]["workbook"] for item in items] == ["the-mentors-role", "smart-goal-setting"]
    assert all(item["type"] == "ltiResourceLink" and item["url"] == "http://localhost/lti/launch"
               and item["lineItem"]["scoreMaximum"] == 1 for item in items)
    assert platform.deep_link_data == "opaque-platform-data"
    assert client.get("/lti/deep-linking").status_code == 403  # the answer was given: once


def test_a_learner_cannot_deep_link(client, platform) -> None:
    response = launch(client, platform, learner(message_type="LtiDeepLinkingRequest"))
    assert response.status_code == 400 and "instructors" in response.get_data(as_text=True)


def test_blocked_cookies_get_a_one_time_link_to_a_new_window(client, db: Session, platform) -> None:
    login = client.post("/lti/login", data=platform.login_params(learner()))
    fields = platform.authorize(login.headers["Location"])
    client.delete_cookie("shooc_lti_state", path="/lti/")  # the iframe's third-party cookie was blocked
    page = form_post(client, fields)
    assert page.status_code == 200 and "Open in a new window" in page.get_data(as_text=True)
    link = re.search(r'href="(/lti/continue/[^"]+)" target="_blank"', page.get_data(as_text=True)).group(1)
    assert client.get("/dashboard").status_code == 302  # not logged in inside the frame
    window = client.application.test_client()
    assert window.get(link).headers["Location"] == "/courses/mentoring"
    assert window.get("/dashboard").status_code == 200
    assert client.application.test_client().get(link).status_code == 404  # once


def test_inside_the_vle_cookies_are_samesite_none_and_the_platform_may_frame(client, platform) -> None:
    login = client.post("/lti/login", data=platform.login_params(learner()), base_url="https://localhost")
    assert "SameSite=None" in login.headers["Set-Cookie"] and "Secure" in login.headers["Set-Cookie"]
    fields = platform.authorize(login.headers["Location"])
    launched = client.post("/lti/launch", data={k: v for k, v in fields.items() if k != "action"},
                           base_url="https://localhost")
    session_cookie = [c for c in launched.headers.getlist("Set-Cookie") if c.startswith("session=")][0]
    assert "SameSite=None" in session_cookie and "Secure" in session_cookie
    course = client.get("/courses/mentoring", base_url="https://localhost")
    assert f"frame-ancestors 'self' {platform.url}" in course.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in course.headers
    # Off LTI: Lax, and framed by nobody.
    plain = client.application.test_client().get("/auth/login", base_url="https://localhost")
    assert "frame-ancestors 'none'" in plain.headers["Content-Security-Policy"]
    assert plain.headers["X-Frame-Options"] == "DENY"


def test_the_jwks_serves_every_key_current_and_retired(app, client, db: Session) -> None:
    first = client.get("/lti/jwks").get_json()["keys"]
    signing_keys.rotate(db, "lti", app.config["SECRET_KEY"])
    db.commit()
    keys = client.get("/lti/jwks").get_json()["keys"]
    assert len(keys) == 2 and first[0] in keys and all(k["alg"] == "RS256" and "d" not in k for k in keys)


def test_shooc_lti_register_prints_the_tools_urls(runner, db: Session, make_run) -> None:
    make_run()
    result = runner.invoke(args=["lti", "register", "--issuer", "https://moodle.uni.example.ac.uk",
                                 "--client-id", "abc123", "--auth-url", "https://moodle.uni.example.ac.uk/mod/lti/auth.php",
                                 "--token-url", "https://moodle.uni.example.ac.uk/mod/lti/token.php",
                                 "--jwks-url", "https://moodle.uni.example.ac.uk/mod/lti/certs.php",
                                 "--deployment-id", "1", "--course", "mentoring"])
    assert result.exit_code == 0, result.output
    for url in ("/lti/launch", "/lti/login", "/lti/jwks"):
        assert url in result.output
    again = runner.invoke(args=["lti", "register", "--issuer", "https://moodle.uni.example.ac.uk",
                                "--client-id", "abc123", "--auth-url", "https://x.example/a", "--token-url",
                                "https://x.example/t", "--jwks-url", "https://x.example/j", "--deployment-id", "1"])
    assert again.exit_code == 1 and "already registered" in again.output
    bad = runner.invoke(args=["lti", "register", "--issuer", "moodle", "--client-id", "x", "--auth-url",
                              "https://x.example/a", "--token-url", "https://x.example/t", "--jwks-url",
                              "https://x.example/j", "--deployment-id", "1", "--course", "nope"])
    assert bad.exit_code == 1 and "issuer must be an http(s) URL" in bad.output


def test_admins_register_edit_and_deactivate_platforms(client, auth, db: Session, make_user, make_run) -> None:
    make_run()
    auth.login(make_user("admin"))
    page = client.get("/admin/lti/new")
    assert page.status_code == 200 and "/lti/login" in page.get_data(as_text=True)
    fields = {"issuer": "https://canvas.instructure.com", "client_id": "10000000000001",
              "auth_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
              "token_url": "https://sso.canvaslms.com/login/oauth2/token",
              "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks", "deployment_ids": "1:abc 2:def",
              "course": "mentoring", "csrf_token": csrf_token(client, "/admin/lti/new")}
    bad = client.post("/admin/lti/new", data={**fields, "token_url": "ftp://x"})
    assert bad.status_code == 400 and "must be an http(s) URL" in bad.get_data(as_text=True)
    assert client.post("/admin/lti/new", data=fields).status_code == 302
    platform = db.scalar(select(LtiPlatform))
    assert platform.deployments == ["1:abc", "2:def"] and platform.course.slug == "mentoring"
    listed = client.get("/admin/lti").get_data(as_text=True)
    assert "https://canvas.instructure.com" in listed and "Deactivate" in listed
    edited = client.post(f"/admin/lti/{platform.id}", data={**fields, "deployment_ids": "3:ghi", "course": "",
                                                              "active": "y"})
    assert edited.status_code == 302
    db.refresh(platform)
    assert platform.deployments == ["3:ghi"] and platform.course is None and platform.active
    client.post(f"/admin/lti/{platform.id}/deactivate", data={"csrf_token": fields["csrf_token"]})
    db.refresh(platform)
    assert not platform.active


def test_the_time_of_a_launch(client, platform) -> None:
    """The tool's share of a launch (login initiation + launch, in-process; the
    platform's auth step between them is the browser's and is left out): printed for
    the record, the first with the platform's JWKS fetched, then with it cached."""
    timings = []
    for n in range(6):
        params = platform.login_params(learner(f"timed-{n}"))
        started = time.perf_counter()
        login = client.post("/lti/login", data=params)
        login_took = time.perf_counter() - started
        fields = platform.authorize(login.headers["Location"])
        started = time.perf_counter()
        landed = form_post(client, fields)
        timings.append((login_took + time.perf_counter() - started) * 1000)
        assert landed.status_code == 302
    warm = sorted(timings[1:])[len(timings[1:]) // 2]
    print(f"\nLTI launch (login + launch, in-process): first {timings[0]:.0f} ms (JWKS fetched), "
          f"then median {warm:.0f} ms")
    assert warm < 1000
