"""A run's discussions over HTTP: posting, replying, helpful, following, reporting,
moderation, notifications, and who may see what (issue 16)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, Auth, csrf_token
from shooc.audit import AuditEntry
from shooc.community import services as community
from shooc.community.models import Notification, Post, Report
from shooc.enrolment.models import Enrolment, Run
from shooc.enrolment.services import enrol
from shooc.mailqueue import OutgoingMail
from statement_kit import statements_of_get

WORKBOOK = "the-mentors-role"
DISCUSSION = f"/courses/mentoring/workbooks/{WORKBOOK}/discussion"


@pytest.fixture
def run(make_run) -> Run:  # type: ignore[no-untyped-def]
    return make_run(name="Spring run", slug="spring")


@pytest.fixture
def people(db: Session, make_user, run: Run):  # type: ignore[no-untyped-def]
    """Two learners of the run, one of another run, a leader and an evaluator."""
    a, b = make_user(name="Ann Archer"), make_user(name="Bea Baker")
    for learner in (a, b):
        enrol(db, run, learner.id)
    other_run = Run(course_id=run.course_id, name="Other run", slug="other", opens_on=run.opens_on,
                    closes_on=run.closes_on, mode=run.mode, timezone=run.timezone)
    db.add(other_run)
    db.flush()
    outsider = make_user(name="Olly Other")
    enrol(db, other_run, outsider.id)
    db.commit()
    return {"a": a, "b": b, "outsider": outsider, "leader": make_user("leader", name="Lee Leader"),
            "evaluator": make_user("evaluator"), "other_run": other_run}


def _post(client: FlaskClient, body: str, url: str = DISCUSSION, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={"body": body, "csrf_token": csrf_token(client, url), **fields})


def _as(client: FlaskClient, auth: Auth, user) -> FlaskClient:  # type: ignore[no-untyped-def]
    """The same browser, now logged in as ``user`` (cookies cleared, as after logging out)."""
    client._cookies.clear()  # werkzeug's jar: a fresh browser session
    auth.login(user)
    return client


def test_a_learner_posts_another_replies_marks_it_helpful_and_the_first_is_told(
        client: FlaskClient, auth: Auth, db: Session, people, runner) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    response = _post(client, "How do you **start** the first meeting? <script>alert(1)</script>")
    assert response.status_code == 302
    post = db.scalars(select(Post)).one()
    assert post.body_html == "<p>How do you <strong>start</strong> the first meeting? </p>"
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert "How do you <strong>start</strong>" in page and "Ann Archer" in page and "<script>alert" not in page

    _as(client, auth, people["b"])
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert "How do you <strong>start</strong>" in page
    assert _post(client, "With a cup of tea and [our plan](https://example.org/plan).",
                 parent=str(post.id)).status_code == 302
    reply = db.scalars(select(Post).where(Post.parent_id == post.id)).one()
    assert 'rel="nofollow ugc noopener noreferrer"' in reply.body_html
    token = csrf_token(client, f"/discussion/posts/{post.id}")
    assert client.post(f"/discussion/posts/{post.id}/helpful", data={"csrf_token": token}).status_code == 302
    db.refresh(post)
    assert (post.reply_count, post.helpful_count) == (1, 1)

    _as(client, auth, people["a"])
    header = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r"Notifications <span class=\"count-badge\">1<", header)
    notes = client.get("/notifications").get_data(as_text=True)
    assert "Bea Baker replied in a thread you follow" in notes and "With a cup of tea" in notes
    assert "count-badge" not in notes  # its own header counts after the page marked them read
    assert db.scalar(select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))) == 0
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0  # e-mailed by shooc mail send
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and result.output.startswith("Queued 1 notification and 0 daily digests."), result.output
    mail = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "notification")).one()
    assert mail.recipient == people["a"].email and "Bea Baker replied" in mail.subject
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/discussion/posts/{post.id}#post-{reply.id}" in mail.body and '<ul style="padding-left:20px">' in mail.html


def test_posts_are_seen_only_by_the_run_and_the_course_team(client: FlaskClient, auth: Auth, db: Session,
                                                           people) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    _post(client, "Only for the spring run")
    post = db.scalars(select(Post)).one()
    client._cookies.clear()
    assert client.get(DISCUSSION).status_code == 302  # to the login page
    assert client.get(f"/discussion/posts/{post.id}").status_code == 302
    _as(client, auth, people["outsider"])  # another run of the same course: its own discussion
    assert "Only for the spring run" not in client.get(DISCUSSION).get_data(as_text=True)
    assert client.get(f"/discussion/posts/{post.id}").status_code == 404
    assert _post(client, "sneaky", parent=str(post.id)).status_code == 422  # no such post in their discussion
    _as(client, auth, people["evaluator"])
    assert client.get(DISCUSSION).status_code == 403
    assert client.get(f"/discussion/posts/{post.id}").status_code == 403
    _as(client, auth, people["leader"])
    assert "Only for the spring run" in client.get(DISCUSSION + "?run=spring").get_data(as_text=True)
    assert "Only for the spring run" not in client.get(DISCUSSION + "?run=other").get_data(as_text=True)


def test_a_refused_post_keeps_its_text_and_says_why(client: FlaskClient, auth: Auth, db: Session,
                                                   people) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    long = "word " * 1_200
    response = _post(client, long)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "keep it to 5,000" in body and long.strip()[:200] in body
    for n in range(community.PER_MINUTE):
        assert _post(client, f"post {n}").status_code == 302
    response = _post(client, "one too many, kept")
    assert response.status_code == 422 and "one too many, kept" in response.get_data(as_text=True)
    assert "in the last minute" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Post)) == community.PER_MINUTE


def test_a_muted_learner_and_one_whose_time_ended_read_but_cannot_post(
        client: FlaskClient, auth: Auth, db: Session, people, run: Run) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["b"])
    _post(client, "Something unkind")
    post = db.scalars(select(Post)).one()
    _as(client, auth, people["leader"])
    token = csrf_token(client, f"/discussion/posts/{post.id}")
    assert client.post(f"/lead/posts/{post.id}/mute", data={"csrf_token": token, "reason": ""}).status_code == 302
    assert db.scalar(select(func.count()).select_from(community.Mute)) == 0  # a reason is required
    assert client.post(f"/lead/posts/{post.id}/mute",
                       data={"csrf_token": token, "reason": "Unkind to a colleague"}).status_code == 302
    _as(client, auth, people["b"])
    page = client.get(DISCUSSION)
    assert "The course team has muted you" in page.get_data(as_text=True) and "Something unkind" in page.get_data(as_text=True)
    response = _post(client, "let me back")
    assert response.status_code == 422 and "muted you" in response.get_data(as_text=True)

    run.closes_on = TODAY - dt.timedelta(days=1)  # and nobody's close date was extended
    db.commit()
    _as(client, auth, people["a"])
    assert "Your time on this run ended" in client.get(DISCUSSION).get_data(as_text=True)
    assert _post(client, "after the close").status_code == 422
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "participant.mute")).one()
    assert audit.reason == "Unkind to a colleague" and people["b"].email not in audit.summary

    # the moderation page lists B as muted; unmuting there (with a reason) lets B post again
    run.closes_on = TODAY + dt.timedelta(days=30)
    db.commit()
    _as(client, auth, people["leader"])
    queue = client.get("/lead/runs/spring/moderation").get_data(as_text=True)
    muted_section = queue.split('id="muted"')[1]
    assert "Bea Baker" in muted_section and "Unkind to a colleague" in muted_section
    token = csrf_token(client, "/lead/runs/spring/moderation")
    unmute = f"/lead/runs/spring/muted/{people['b'].id}"
    assert client.post(unmute, data={"csrf_token": token, "reason": ""}).status_code == 302
    assert db.scalar(select(func.count()).select_from(community.Mute)) == 1  # a reason is required
    assert client.post(f"/lead/runs/spring/muted/{people['a'].id}",  # A is not muted: said, nothing changes
                       data={"csrf_token": token, "reason": "x"}, follow_redirects=True).status_code == 200
    response = client.post(unmute, data={"csrf_token": token, "reason": "Apologised"}, follow_redirects=True)
    assert "can post again" in response.get_data(as_text=True)
    assert "Nobody is muted in this run." in response.get_data(as_text=True)
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "participant.unmute")).reason == "Apologised"
    _as(client, auth, people["b"])
    assert _post(client, "Sorry, everyone").status_code == 302


def test_a_reported_post_is_hidden_from_the_queue_and_no_longer_seen(
        client: FlaskClient, auth: Auth, db: Session, people) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    _post(client, "Buy cheap essays at spam.example")
    post = db.scalars(select(Post)).one()
    _as(client, auth, people["b"])
    url = f"/discussion/posts/{post.id}/report"
    assert client.post(url, data={"csrf_token": csrf_token(client, url), "reason": ""}).status_code == 422
    assert client.post(url, data={"csrf_token": csrf_token(client, url), "reason": "Spam"}).status_code == 302
    _as(client, auth, people["leader"])
    queue = client.get("/lead/runs/spring/moderation").get_data(as_text=True)
    assert "Buy cheap essays" in queue and "Bea Baker" in queue and "Spam" in queue
    token = csrf_token(client, "/lead/runs/spring/moderation")
    assert client.post(f"/lead/posts/{post.id}/hide", data={"csrf_token": token, "reason": "Advertising",
                                                            "back": "queue"}).status_code == 302
    assert db.scalars(select(Report)).one().resolved_at is not None
    _as(client, auth, people["b"])
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert "Buy cheap essays" not in page
    assert client.get(f"/discussion/posts/{post.id}").status_code == 404
    _as(client, auth, people["leader"])
    assert "Hidden by the course team: Advertising" in client.get(f"/discussion/posts/{post.id}").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "post.hide")) == 1


def test_an_author_edits_for_a_while_and_deletes_leaving_the_replies(
        client: FlaskClient, auth: Auth, db: Session, people) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    _post(client, "First thoughts")
    post = db.scalars(select(Post)).one()
    url = f"/discussion/posts/{post.id}/edit"
    assert client.post(url, data={"csrf_token": csrf_token(client, url), "body": "Second thoughts"}).status_code == 302
    assert "edited" in client.get(f"/discussion/posts/{post.id}").get_data(as_text=True)
    _as(client, auth, people["b"])
    _post(client, "A reply that stays", parent=str(post.id))
    assert client.get(url).status_code == 302  # not theirs to edit
    _as(client, auth, people["a"])
    token = csrf_token(client, f"/discussion/posts/{post.id}")
    assert client.post(f"/discussion/posts/{post.id}/delete", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/discussion/posts/{post.id}").get_data(as_text=True)
    assert "This post was deleted." in page and "Second thoughts" not in page and "A reply that stays" in page
    post.created_at = post.created_at - dt.timedelta(hours=1)
    db.commit()


def test_deleting_an_account_erases_its_posts_text_and_keeps_the_threads(
        client: FlaskClient, auth: Auth, db: Session, people) -> None:  # type: ignore[no-untyped-def]
    from shooc.auth.services import delete_account, export_data

    auth.login(people["a"])
    _post(client, "My secret school name")
    post = db.scalars(select(Post)).one()
    _as(client, auth, people["b"])
    _post(client, "A kind reply", parent=str(post.id))
    assert [p["text"] for p in export_data(db, people["a"])["posts"]] == ["My secret school name"]
    delete_account(db, people["a"])
    db.commit()
    page = client.get(f"/discussion/posts/{post.id}").get_data(as_text=True)
    assert "My secret school name" not in page and "Deleted account" in page and "A kind reply" in page
    db.refresh(post)
    assert post.body == "" and post.author_id is None


def test_a_prompt_answered_in_the_discussion_completes_the_activity(client: FlaskClient, auth: Auth, db: Session,
                                                                    people) -> None:  # type: ignore[no-untyped-def]
    from shooc.enrolment import answers
    from shooc.workbooks import current

    auth.login(people["a"])
    page = client.get(f"/courses/mentoring/workbooks/{WORKBOOK}").get_data(as_text=True)
    assert 'form="peer-roles-with-your-run"' in page and 'id="peer-roles-with-your-run"' in page
    assert _post(client, "Critical friend is hardest for me.", activity="roles-with-your-run").status_code == 302
    post = db.scalars(select(Post)).one()
    assert post.activity_id == "roles-with-your-run"
    enrolment = db.scalars(select(Enrolment).where(Enrolment.user_id == people["a"].id)).one()
    workbook = next(w for w in current.workbooks(db, enrolment.run.course, with_activities=True) if w.slug == WORKBOOK)
    state = answers.workbook_state(db, enrolment, workbook)
    assert state.activities["roles-with-your-run"].complete
    assert state.activities["roles-with-your-run"].answer == {"posted": True, "post_id": post.id}
    page = client.get(f"/courses/mentoring/workbooks/{WORKBOOK}").get_data(as_text=True)
    assert f"/discussion/posts/{post.id}" in page
    # a prompt of another workbook is refused, its text kept
    response = _post(client, "Wrong prompt", activity="community-with-your-run")
    assert response.status_code == 422 and "Wrong prompt" in response.get_data(as_text=True)


def test_a_submitted_reflection_is_shared_then_taken_back(client: FlaskClient, auth: Auth, db: Session,
                                                         people) -> None:  # type: ignore[no-untyped-def]
    from conftest import complete_and_submit

    enrolment = db.scalars(select(Enrolment).where(Enrolment.user_id == people["a"].id)).one()
    share_url = f"/courses/mentoring/workbooks/{WORKBOOK}/share"
    auth.login(people["a"])
    token = csrf_token(client, f"/courses/mentoring/workbooks/{WORKBOOK}")
    response = client.post(share_url, data={"csrf_token": token, "activity": "my-mentoring-context"})
    assert response.status_code == 302 and db.scalar(select(func.count()).select_from(Post)) == 0  # not submitted
    complete_and_submit(db, enrolment, WORKBOOK, marker="Zq9Reflection")
    db.commit()
    page = client.get(f"/courses/mentoring/workbooks/{WORKBOOK}").get_data(as_text=True)
    assert "Share this reflection with your run" in page
    assert client.post(share_url, data={"csrf_token": token, "activity": "my-mentoring-context"}).status_code == 302
    shared = db.scalars(select(Post)).one()
    assert shared.shared_response_id is not None and "Zq9Reflection" in shared.body
    assert client.post(share_url, data={"csrf_token": token, "activity": "role-quiz"}).status_code == 404
    _as(client, auth, people["b"])
    assert "Zq9Reflection" in client.get(DISCUSSION).get_data(as_text=True)
    _as(client, auth, people["a"])
    assert "Stop sharing" in client.get(f"/courses/mentoring/workbooks/{WORKBOOK}").get_data(as_text=True)
    token = csrf_token(client, f"/courses/mentoring/workbooks/{WORKBOOK}")
    assert client.post(f"/discussion/posts/{shared.id}/delete", data={"csrf_token": token}).status_code == 302
    db.refresh(shared)
    assert shared.body == "" and shared.shared_response_id is None
    _as(client, auth, people["b"])
    assert "Zq9Reflection" not in client.get(DISCUSSION).get_data(as_text=True)


def test_payloads_in_posts_are_text_on_every_page_that_shows_them(client: FlaskClient, auth: Auth, db: Session,
                                                                  people) -> None:  # type: ignore[no-untyped-def]
    from xss import PAYLOADS, script_problems

    auth.login(people["a"])
    chunks = ["\n\n".join(PAYLOADS[i::community.PER_MINUTE]) for i in range(community.PER_MINUTE)]
    for chunk in chunks:
        assert _post(client, chunk).status_code == 302, len(chunk)
    thread = db.scalars(select(Post).order_by(Post.id)).first()
    _as(client, auth, people["b"])
    pages = [DISCUSSION, f"/discussion/posts/{thread.id}", f"/discussion/posts/{thread.id}/report", "/notifications"]
    _post(client, PAYLOADS[0], parent=str(thread.id))  # a reply: A's notification quotes it
    _as(client, auth, people["a"])
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200 and script_problems(response.get_data(as_text=True)) == [], page
    _as(client, auth, people["leader"])
    for page in (DISCUSSION + "?run=spring", "/lead/runs/spring/moderation", f"/discussion/posts/{thread.id}"):
        assert script_problems(client.get(page).get_data(as_text=True)) == [], page


def test_the_course_team_locks_and_pins_a_thread(client: FlaskClient, auth: Auth, db: Session,
                                                people) -> None:  # type: ignore[no-untyped-def]
    auth.login(people["a"])
    _post(client, "First, older")
    _post(client, "Second, newer")
    first, second = db.scalars(select(Post).order_by(Post.id)).all()
    _as(client, auth, people["leader"])
    token = csrf_token(client, f"/discussion/posts/{first.id}")
    assert client.post(f"/lead/posts/{first.id}/pin", data={"csrf_token": token, "reason": "Read first",
                                                            "pinned": "1"}).status_code == 302
    assert client.post(f"/lead/posts/{first.id}/lock", data={"csrf_token": token, "reason": "Answered",
                                                             "locked": "1"}).status_code == 302
    _as(client, auth, people["b"])
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert page.index("First, older") < page.index("Second, newer")  # pinned on top
    response = _post(client, "Late reply", parent=str(first.id))
    assert response.status_code == 422 and "locked this thread" in response.get_data(as_text=True)
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.action.like("post.%"))).all()
    assert sorted(actions) == ["post.lock", "post.pin"]


def test_feedback_an_extension_a_badge_and_an_announcement_are_notified_and_digested(
        db: Session, people, run: Run, runner) -> None:  # type: ignore[no-untyped-def]
    from conftest import complete_and_submit
    from shooc.lead import communications
    from shooc.lead.review import give_feedback
    from shooc.lead.services import extend_close_date
    from shooc.urls import SiteUrls

    a = people["a"]
    a.notification_email = "daily"
    enrolment = db.scalars(select(Enrolment).where(Enrolment.user_id == a.id)).one()
    complete_and_submit(db, enrolment, WORKBOOK)
    give_feedback(db, people["leader"], enrolment, WORKBOOK, "Thoughtful answers.")
    extend_close_date(db, people["leader"], enrolment, run.closes_on + dt.timedelta(days=30), "Illness")
    communications.post_announcement(db, people["leader"], run, "Webinar", "On **Tuesday**", SiteUrls("http://x"))
    db.commit()
    kinds = db.scalars(select(Notification.kind).where(Notification.user_id == a.id)
                       .order_by(Notification.id)).all()
    assert kinds == ["badge", "feedback", "extension", "announcement"]
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == people["leader"].id)) == 0  # nobody is told of what they did
    result = runner.invoke(args=["mail", "send"])
    # B's only notification is the announcement, e-mailed as itself: nothing at once
    assert result.output.startswith("Queued 0 notifications and 1 daily digest."), result.output
    digest = db.scalars(select(OutgoingMail).where(OutgoingMail.recipient == a.email,
                                                   OutgoingMail.kind == "notification")).one()
    assert digest.subject == "Your day on the course: 3 new notifications"  # the announcement came as itself
    assert "feedback on The mentor's role" in digest.body and "Illness" in digest.body
    assert runner.invoke(args=["mail", "send"]).output.startswith("Queued 0 notifications and 0 daily digests.")


def test_one_click_unsubscribe_needs_the_right_token_and_no_cookie(client: FlaskClient, db: Session, app,
                                                                   people) -> None:  # type: ignore[no-untyped-def]
    from shooc.community.notifications import unsubscribe_token

    a = people["a"]
    token = unsubscribe_token(app.config["SECRET_KEY"], a.id)
    assert client.post(f"/notifications/unsubscribe/{a.id}-{'0' * 40}").status_code == 404
    assert client.post(f"/notifications/unsubscribe/{people['b'].id}{token[len(str(a.id)):]}").status_code == 404
    db.refresh(a)
    assert a.notification_email == "instant"
    response = client.post(f"/notifications/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "no more notification e-mails" in response.get_data(as_text=True)
    db.refresh(a)
    assert a.notification_email == "never"


def test_the_discussion_and_the_queue_cost_the_same_queries_at_any_size(
        app, client: FlaskClient, auth: Auth, db: Session, people, run: Run) -> None:  # type: ignore[no-untyped-def]
    """Pages of 20 threads with their latest replies, and of the moderation queue: the
    same number of queries with 3 posts as with 300 (bench/ measures the time)."""
    a = community.member(db, people["a"], run)
    b = community.member(db, people["b"], run)

    def grow(threads: int) -> None:
        for n in range(threads):
            post = Post(run_id=run.id, workbook_slug=WORKBOOK, author_id=people["a"].id, body=f"t{n}",
                        body_html=f"<p>t{n}</p>", helpful_count=0, reply_count=0, open_reports=0)
            db.add(post)
            db.flush()
            for m in range(4):
                db.add(Post(run_id=run.id, workbook_slug=WORKBOOK, parent_id=post.id, author_id=people["b"].id,
                            body=f"r{m}", body_html=f"<p>r{m}</p>", helpful_count=0, reply_count=0, open_reports=1))
            post.reply_count, post.open_reports = 4, 1
        db.commit()

    assert a is not None and b is not None
    grow(3)
    auth.login(people["leader"])
    client.get(DISCUSSION + "?run=spring")  # the published course, read once into this process's cache
    small = (len(statements_of_get(app, client, DISCUSSION + "?run=spring")),
             len(statements_of_get(app, client, "/lead/runs/spring/moderation")))
    grow(60)
    large = (len(statements_of_get(app, client, DISCUSSION + "?run=spring")),
             len(statements_of_get(app, client, "/lead/runs/spring/moderation")))
    assert small == large, (small, large)
    assert large[0] <= 15, large


def test_the_discussion_page_costs_a_pinned_number_of_statements(
        app, client: FlaskClient, auth: Auth, db: Session, people, run: Run) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 brought a page of 20 threads with their replies down from 13 statements
    to these (the person, the course, the reader with their run and mute, the count,
    the threads, their replies); one more is a cost to be weighed, not one to slip in."""
    for n in range(25):
        thread = Post(run_id=run.id, workbook_slug=WORKBOOK, author_id=people["a"].id, body=f"t{n}",
                      body_html=f"<p>t{n}</p>", helpful_count=0, reply_count=2, open_reports=0)
        db.add(thread)
        db.flush()
        for m in range(2):
            db.add(Post(run_id=run.id, workbook_slug=WORKBOOK, parent_id=thread.id, author_id=people["b"].id,
                        body=f"r{m}", body_html=f"<p>r{m}</p>", helpful_count=0, reply_count=0, open_reports=0))
    db.commit()
    auth.login(people["a"])
    client.get(DISCUSSION)  # the published course, read once into this process's cache
    assert len(statements_of_get(app, client, DISCUSSION)) == 6
    assert len(statements_of_get(app, client, DISCUSSION + "?page=2&sort=helpful")) == 6
    _as(client, auth, people["leader"])
    assert len(statements_of_get(app, client, DISCUSSION + "?run=spring")) == 6
    thread.pinned_at = thread.created_at
    db.commit()
    assert len(statements_of_get(app, client, DISCUSSION + "?run=spring")) == 7  # the pinned thread, read apart


def test_a_posts_addresses_built_from_the_pages_prefixes_are_url_fors(app) -> None:  # type: ignore[no-untyped-def]
    """_post.html adds a post's id and action to prefixes built once per page
    (views._post_links) in place of url_for for each post: the same addresses."""
    from flask import url_for

    from shooc.community.views import _post_links

    with app.test_request_context("/", base_url="http://localhost/shooc"):
        links = _post_links()
        assert links["post"] + "1234" == url_for("community.post_page", post_id=1234)
        for action in ("helpful", "report", "edit", "delete"):
            assert f"{links['post']}1234/{action}" == url_for(f"community.{action}", post_id=1234)
        for action in ("hide", "restore", "pin", "lock", "mute"):
            assert f"{links['lead']}1234/{action}" == url_for(f"community.{action}", post_id=1234)
        assert links["post"].startswith("/shooc/")


def test_the_discussion_page_shows_each_reader_what_they_may_see_and_do(
        client: FlaskClient, auth: Auth, db: Session, people, run: Run) -> None:  # type: ignore[no-untyped-def]
    """What the page draws from its rows: hidden replies (the course team sees them,
    marked), deleted and short names, this reader's helpful marks, whose posts they may
    edit, and the course team's controls for the course team only."""
    from shooc.community.models import Helpful

    a, b = people["a"], people["b"]
    b.name_shown = "short"
    thread = Post(run_id=run.id, workbook_slug=WORKBOOK, author_id=a.id, body="t", body_html="<p>Thread &lt;1&gt;</p>",
                  helpful_count=1, reply_count=1, open_reports=0)
    db.add(thread)
    db.flush()
    replies = [Post(run_id=run.id, workbook_slug=WORKBOOK, parent_id=thread.id, author_id=author, body="r",
                    body_html=f"<p>Reply {n}</p>", helpful_count=0, reply_count=0, open_reports=0,
                    hidden_at=community.utcnow() if n == 1 else None, hidden_reason="Unkind" if n == 1 else None)
               for n, author in enumerate((b.id, b.id, None))]
    db.add_all(replies)
    db.flush()
    db.add(Helpful(post_id=thread.id, user_id=b.id))
    db.commit()

    auth.login(b)
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert "<p>Thread &lt;1&gt;</p>" in page and "Reply 0" in page and "Reply 2" in page
    assert "Reply 1" not in page and "Unkind" not in page  # hidden: not even its place
    assert "Bea B." in page and "Deleted account" in page and "Ann Archer" in page
    assert page.count('aria-pressed="true"') == 1  # B marked A's thread
    assert f'href="/discussion/posts/{replies[0].id}/edit"' in page and f"/discussion/posts/{thread.id}/edit" not in page
    assert "Moderate" not in page and "/lead/posts/" not in page

    _as(client, auth, people["leader"])
    page = client.get(DISCUSSION + "?run=spring").get_data(as_text=True)
    assert "Reply 1" in page and "Hidden by the course team: Unkind" in page
    assert f'action="/lead/posts/{replies[1].id}/restore"' in page and f'action="/lead/posts/{thread.id}/hide"' in page
    assert f'formaction="/lead/posts/{thread.id}/pin"' in page and 'aria-pressed="true"' not in page


def test_posts_kept_as_drawn_give_the_same_page_and_any_change_is_drawn_anew(
        client: FlaskClient, auth: Auth, db: Session, people, run: Run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """views.post_html keeps each post as drawn, by all that drawing it reads: a page from
    kept posts is the page drawn afresh, a mark, a hiding or a new name shows on the very
    next request, and no more than FRAGMENTS_KEPT are kept."""
    from shooc.community import views
    from shooc.community.models import Helpful

    thread = Post(run_id=run.id, workbook_slug=WORKBOOK, author_id=people["a"].id, body="t",
                  body_html="<p>Kept thread</p>", helpful_count=0, reply_count=1, open_reports=0)
    db.add(thread)
    db.flush()
    reply = Post(run_id=run.id, workbook_slug=WORKBOOK, parent_id=thread.id, author_id=people["b"].id, body="r",
                 body_html="<p>Kept reply</p>", helpful_count=0, reply_count=0, open_reports=0)
    db.add(reply)
    db.commit()
    auth.login(people["b"])
    first = client.get(DISCUSSION).get_data(as_text=True)
    assert "Kept thread" in first and 'aria-pressed="false"' in first
    views._fragments.clear()
    assert client.get(DISCUSSION).get_data(as_text=True) == first  # drawn afresh
    assert client.get(DISCUSSION).get_data(as_text=True) == first  # from what was kept

    db.add(Helpful(post_id=thread.id, user_id=people["b"].id))
    thread.helpful_count = 1
    people["a"].name_shown = "short"
    db.commit()
    page = client.get(DISCUSSION).get_data(as_text=True)
    assert 'aria-pressed="true"' in page and "Helpful (1)" in page and "Ann A." in page and "Ann Archer" not in page
    reply.hidden_at, reply.hidden_reason = community.utcnow(), "Off topic"
    db.commit()
    assert "Kept reply" not in client.get(DISCUSSION).get_data(as_text=True)

    reply.hidden_at = None
    db.commit()
    monkeypatch.setattr(views, "FRAGMENTS_KEPT", 1)
    views._fragments.clear()
    assert "Kept reply" in client.get(DISCUSSION).get_data(as_text=True)  # two posts drawn, one kept
    assert len(views._fragments) == 1


def test_evaluators_get_the_community_figures_with_small_groups_withheld(db: Session, make_user, run: Run,
                                                                         people) -> None:  # type: ignore[no-untyped-def]
    from conftest import complete_and_submit
    from shooc.evaluate import counters
    from shooc.evaluate.stats import flatten, run_stats

    figures = run_stats(db, run)["community"]
    assert figures == {"posts": 0, "replies": 0, "contributors": 0, "shared_reflections": 0, "withheld": True}
    learners = [make_user() for _ in range(10)]
    for learner in learners:
        enrol(db, run, learner.id)
    db.commit()
    for n, learner in enumerate(learners[:6]):  # six post, two of them finish; of the six others, one finishes
        member = community.member(db, learner, run)
        assert member is not None
        community.write_post(db, member, WORKBOOK, f"post {n}")
    thread = db.scalars(select(Post).order_by(Post.id)).first()
    leader = community.member(db, people["leader"], run)
    community.write_post(db, leader, WORKBOOK, "the course team's reply", parent=thread)
    for learner in (learners[0], learners[1], learners[7]):
        enrolment = db.scalars(select(Enrolment).where(Enrolment.user_id == learner.id)).one()
        for slug in ("the-mentors-role", "building-the-relationship", "observation-and-feedback",
                     "smart-goal-setting", "mentoring-communities"):
            complete_and_submit(db, enrolment, slug)
    db.commit()
    stats = run_stats(db, run)
    assert stats["registered"] == 12  # with A and B, who did not post
    assert stats["community"] == {"posts": 7, "replies": 1, "contributors": 6, "shared_reflections": 0,
                                  "withheld": False, "completion_rate_contributors": round(2 / 6, 4),
                                  "completion_rate_others": round(1 / 6, 4)}
    flat = flatten(stats)
    assert flat["community_contributors"] == 6 and flat["community_completion_rate_others"] == round(1 / 6, 4)

    # the figures are counters, kept with each event: one who finished, then posted,
    # counts as a contributor who completed; a post that goes leaves its author a
    # contributor; hiding and restoring count the post out and in again
    late = community.member(db, learners[7], run)
    assert late is not None
    late_post = community.write_post(db, late, WORKBOOK, "finished first, then joined in")
    community.delete_post(db, community.member(db, learners[5], run), db.scalars(  # type: ignore[arg-type]
        select(Post).where(Post.author_id == learners[5].id)).one())
    community.hide_post(db, people["leader"], late_post, "testing")
    community.restore_post(db, people["leader"], late_post, "testing")
    db.commit()
    assert run_stats(db, run)["community"] == {
        "posts": 7, "replies": 1, "contributors": 7, "shared_reflections": 0, "withheld": False,
        "completion_rate_contributors": round(3 / 7, 4), "completion_rate_others": 0.0}
    assert counters.read(db, run) == counters.recount(db, run)


def test_pages_of_threads_and_of_the_queue_keep_their_order_across_pages(db: Session, people, run: Run) -> None:
    """Pinned threads first, then newest (or most helpful) first; the queue's reported
    posts (most reported first), then its hidden ones: every post once, in order, page
    after page."""
    a = community.member(db, people["a"], run)
    assert a is not None
    base = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
    posts = []
    for n in range(45):  # older first; helpful marks 0..4 repeating
        post = Post(run_id=run.id, workbook_slug=WORKBOOK, author_id=people["b"].id, body=f"t{n}",
                    body_html=f"<p>t{n}</p>", created_at=base + dt.timedelta(minutes=n), helpful_count=n % 5,
                    reply_count=0, open_reports=(n % 3) if n < 30 else 0)
        db.add(post)
        posts.append(post)
    db.flush()
    for n in (3, 40):
        posts[n].pinned_at = base + dt.timedelta(days=1, minutes=n)
    for n in (31, 32):
        posts[n].hidden_at = base + dt.timedelta(days=2, minutes=n)
    db.commit()

    def every_page(read) -> list[int]:  # type: ignore[no-untyped-def]
        """Page after page: ``read(number)`` gives (post ids, the number of pages)."""
        seen, number = [], 1
        while True:
            ids, pages = read(number)
            seen += ids
            if number >= pages:
                return seen
            number += 1

    def threads(sort: str):  # type: ignore[no-untyped-def]
        def read(number: int):  # type: ignore[no-untyped-def]
            page = community.threads(db, a, WORKBOOK, sort, number)
            return [item.post.id for item in page.items], page.pages
        return read

    def queue(number: int):  # type: ignore[no-untyped-def]
        queued, page = community.moderation_queue(db, run, number)
        return [q.post.id for q in queued], page.pages

    shown = [p for p in posts if p.hidden_at is None]
    pinned = [posts[40].id, posts[3].id]
    assert every_page(threads("newest")) == pinned + [
        p.id for p in sorted(shown, key=lambda p: p.created_at, reverse=True) if p.id not in pinned]
    assert every_page(threads("helpful")) == pinned + [
        p.id for p in sorted(shown, key=lambda p: (p.helpful_count, p.created_at), reverse=True) if p.id not in pinned]
    reported = sorted((p for p in posts if p.open_reports and p.hidden_at is None),
                      key=lambda p: (p.open_reports, p.id), reverse=True)
    assert every_page(queue) == [p.id for p in reported] + [posts[32].id, posts[31].id]
