"""The course team reviews submitted work (issue 17): a workbook handed back and
submitted again, the run's review queue, feedback and whether the learner has read it.
Who may reach these pages: tests/test_access.py."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit, csrf_token
from shooc.audit import AuditEntry
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.community.models import Notification
from shooc.enrolment.models import Enrolment, Response, Submission, SubmissionReturn
from shooc.enrolment.services import enrol, withdraw
from shooc.evaluate import counters
from shooc.evaluate.stats import run_stats
from shooc.lead.models import WorkbookFeedback
from shooc.lead.review import review_queue

WORKBOOKS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
             "smart-goal-setting", "mentoring-communities"]
FIRST = WORKBOOKS[0]


@pytest.fixture
def finished(db: Session, make_user, make_run):  # type: ignore[no-untyped-def]
    """A learner who submitted all five workbooks (five badges, a certificate)."""
    run = make_run(slug="spring", name="Spring run")
    learner = make_user("learner", name="Fay Finished")
    enrolment = enrol(db, run, learner.id, TODAY - dt.timedelta(days=5))
    db.commit()
    for slug in WORKBOOKS:
        complete_and_submit(db, enrolment, slug, marker="kept")
    db.commit()
    return run, enrolment


def _counts_agree(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    db.expire_all()
    assert counters.read(db, run) == counters.recount(db, run)


def _hand_back(client, run, enrolment, slug: str = FIRST, reason: str = "Your reflection does not yet mention "
               "your school's context: say more about it.", **extra: str):  # type: ignore[no-untyped-def]
    url = f"/lead/runs/{run.slug}/participants/{enrolment.id}"
    return client.post(f"{url}/return/{slug}", data={"csrf_token": csrf_token(client, url), "reason": reason, **extra})


def test_a_workbook_handed_back_opens_again_and_a_new_submission_earns_new_credentials(
        client, auth, db: Session, make_user, finished) -> None:
    run, enrolment = finished
    learner_email = enrolment.user.email
    old_badge = db.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id,
                                                       BadgeAssertion.workbook_slug == FIRST))
    old_certificate = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    assert old_certificate is not None and run_stats(db, run)["completed_all"] == 1
    leader = make_user("leader", name="Lee Leader")
    auth.login(leader)

    page = client.get(f"/lead/runs/{run.slug}/participants/{enrolment.id}").get_data(as_text=True)
    assert page.count("Hand this workbook back") == 5
    handed = _hand_back(client, run, enrolment)
    assert handed.status_code == 302 and handed.headers["Location"].endswith(f"#wb-{FIRST}")
    page = client.get(handed.headers["Location"]).get_data(as_text=True)
    assert "is handed back: the learner is told why" in page
    assert "Handed back" in page and "say more about it." in page and "by Lee Leader" in page
    assert page.count("Hand this workbook back") == 4

    # the old badge answers 410 with the reason, and the certificate is revoked
    gone = client.get(f"/badges/assertions/{old_badge.id}", headers={"Accept": "application/ld+json"})
    assert gone.status_code == 410 and gone.json["revoked"] is True
    assert "handed back" in gone.json["revocationReason"] and "say more about it." in gone.json["revocationReason"]
    db.expire_all()
    assert db.get(Certificate, old_certificate.code).revoked
    returned = db.scalar(select(SubmissionReturn))
    assert (returned.workbook_slug, returned.returned_by_name) == (FIRST, "Lee Leader")
    assert db.scalar(select(func.count()).select_from(Submission).where(Submission.enrolment_id == enrolment.id)) == 4
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "submission.return"))
    assert entry.enrolment_id == enrolment.id and "say more about it." in entry.reason
    assert entry.summary == "Handed back The mentor's role (revoked its badge and the certificate)"
    figures = run_stats(db, run)
    assert (figures["completed_all"], figures["workbooks_completed"], figures["certificates_awarded"]) == (0, 4, 0)
    _counts_agree(db, run)

    # the learner is told, sees why, and finds their answers open for editing
    auth.logout()
    auth.login(learner_email)
    told = db.scalar(select(Notification).where(Notification.kind == "returned"))
    assert told.user_id == enrolment.user_id and "say more about it." in told.text
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "4 of 5 workbooks submitted" in dashboard and "You have submitted all 5" not in dashboard
    assert "The course team handed back" in dashboard and "handed back</span>" in dashboard
    workbook_url = f"/courses/mentoring/workbooks/{FIRST}"
    workbook = client.get(workbook_url).get_data(as_text=True)
    assert "The course team handed this workbook back" in workbook and "say more about it." in workbook
    assert 'value="submit"' in workbook  # editable: the submit button is back
    assert re.search(r"<textarea[^>]*>kept word", workbook)  # the answers are kept
    assert db.scalar(select(func.count()).select_from(Response).where(
        Response.enrolment_id == enrolment.id, Response.workbook_slug == FIRST)) > 0

    # submitting again issues a new badge and, all five in again, a new certificate
    form = {"csrf_token": csrf_token(client, workbook_url), "action": "submit"}
    resubmitted = client.post(workbook_url, data=form)
    assert resubmitted.status_code == 302
    db.expire_all()
    badges = db.scalars(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id,
                                                     BadgeAssertion.workbook_slug == FIRST)).all()
    new_badge = next(b for b in badges if b.id != old_badge.id)
    assert not new_badge.revoked and new_badge.submission_id is not None
    assert client.get(f"/badges/assertions/{new_badge.id}", headers={"Accept": "application/ld+json"}).status_code == 200
    assert client.get(f"/badges/assertions/{old_badge.id}", headers={"Accept": "application/ld+json"}).status_code == 410
    certificates = db.scalars(select(Certificate).where(Certificate.enrolment_id == enrolment.id)).all()
    assert len(certificates) == 2 and [c.revoked for c in certificates].count(False) == 1
    new_certificate = next(c for c in certificates if not c.revoked)
    assert client.get(f"/certificates/{new_certificate.code}").status_code == 200
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "You have submitted all 5 workbooks" in dashboard and "handed back" not in dashboard
    badges_page = client.get("/badges").get_data(as_text=True)
    assert new_certificate.code[:4] in badges_page.replace("-", "")
    figures = run_stats(db, run)
    assert (figures["completed_all"], figures["workbooks_completed"], figures["certificates_awarded"]) == (1, 5, 1)
    _counts_agree(db, run)


def test_handing_back_refuses_what_cannot_be_done_and_keeps_the_reason(client, auth, db: Session, make_user,
                                                                        make_run, finished) -> None:
    run, enrolment = finished
    auth.login(make_user("leader"))
    no_reason = _hand_back(client, run, enrolment, reason="   ")
    assert no_reason.status_code == 422 and "Give a reason: it is kept in the audit log." in \
        no_reason.get_data(as_text=True)
    too_long = _hand_back(client, run, enrolment, reason="why " * 600)
    assert too_long.status_code == 422 and ">why why" in too_long.get_data(as_text=True)  # what was typed is kept
    assert _hand_back(client, run, enrolment, slug="no-such-workbook").status_code == 404
    url = f"/lead/runs/{run.slug}/participants/{enrolment.id}"
    forged = client.post(f"{url}/return/{FIRST}", data={"reason": "No token"})
    assert forged.status_code == 400  # the CSRF check (a cross-site form) refuses it

    # not submitted yet; closed (extend first); withdrawn
    other = enrol(db, run, make_user("learner").id, TODAY)
    db.commit()
    not_submitted = _hand_back(client, run, other)
    assert not_submitted.status_code == 422 and "is not submitted: there is nothing to hand back" in \
        not_submitted.get_data(as_text=True)
    run.closes_on = TODAY - dt.timedelta(days=1)
    db.commit()
    closed = _hand_back(client, run, enrolment, reason="Late reading")
    assert closed.status_code == 422 and "has passed: extend it first" in closed.get_data(as_text=True)
    run.closes_on = TODAY + dt.timedelta(days=30)
    db.commit()
    withdraw(db, db.get(Enrolment, enrolment.id))
    db.commit()
    gone = _hand_back(client, run, enrolment)
    assert gone.status_code == 422 and "withdrew from the run" in gone.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SubmissionReturn)) == 0
    assert db.scalar(select(func.count()).select_from(BadgeAssertion).where(BadgeAssertion.revoked_at.is_not(None))) == 0
    assert db.scalar(select(func.count()).select_from(Submission).where(Submission.enrolment_id == enrolment.id)) == 5

    # a learner cannot hand back their own work, nor reach the queue
    auth.logout()
    auth.login(enrolment.user.email)
    token = csrf_token(client, "/dashboard")
    assert client.post(f"{url}/return/{FIRST}", data={"reason": "x", "csrf_token": token}).status_code == 403
    assert client.get(f"/lead/runs/{run.slug}/review").status_code == 403


def test_shooc_submissions_return(runner, db: Session, finished) -> None:
    run, enrolment = finished
    email = enrolment.user.email
    result = runner.invoke(args=["submissions", "return", run.slug, email, FIRST, "--reason", "Please expand"])
    assert result.exit_code == 0, result.output
    assert f"Handed back {FIRST} to {email}" in result.output
    db.expire_all()
    returned = db.scalar(select(SubmissionReturn))
    assert (returned.reason, returned.returned_by_name) == ("Please expand", "the course team")
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "submission.return"))
    assert entry.actor.startswith("command line")
    again = runner.invoke(args=["submissions", "return", run.slug, email, FIRST, "--reason", "Twice"])
    assert again.exit_code == 1 and "is not submitted: there is nothing to hand back" in again.output
    for args, message in (([run.slug, "nobody@example.org", FIRST], "is not enrolled in"),
                          (["no-run", email, FIRST], "no run 'no-run'"),
                          ([run.slug, email, WORKBOOKS[1], "--reason", " "], "give a reason")):
        failed = runner.invoke(args=["submissions", "return", *args] + ([] if "--reason" in args else
                                                                          ["--reason", "x"]))
        assert failed.exit_code == 1 and message in failed.output, failed.output
    _counts_agree(db, run)


def test_the_review_queue_lists_filters_and_takes_feedback(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(slug="spring", name="Spring run")
    ann = enrol(db, run, make_user("learner", name="Ann Early").id, TODAY)
    bob = enrol(db, run, make_user("learner", name="Bob Later").id, TODAY)
    db.commit()
    complete_and_submit(db, ann, FIRST)
    complete_and_submit(db, ann, WORKBOOKS[1])
    complete_and_submit(db, bob, FIRST)
    db.commit()
    for number, submission in enumerate(db.scalars(select(Submission).order_by(Submission.id))):
        submission.submitted_at = dt.datetime(2026, 11, 1 + number, 10, tzinfo=dt.timezone.utc)
    db.commit()
    leader = make_user("leader", name="Lee Leader")
    auth.login(leader)
    queue_url = f"/lead/runs/{run.slug}/review"
    queue = html.unescape(client.get(queue_url).get_data(as_text=True))
    assert "3 submissions." in queue
    order = [queue.index(f"{title} · {name}") for title, name in (
        ("The mentor's role", "Bob Later"), ("Building the relationship", "Ann Early"),
        ("The mentor's role", "Ann Early"))]
    assert order == sorted(order)  # newest first
    first_only = client.get(queue_url, query_string={"workbook": FIRST}).get_data(as_text=True)
    assert "2 submissions match." in first_only and "Building the relationship · Ann" not in first_only
    assert "3 submissions." in client.get(queue_url, query_string={"workbook": "nope"}).get_data(as_text=True)

    # feedback from the queue goes back to the queue, with its filters; the learner is told
    posted = client.post(f"/lead/runs/{run.slug}/participants/{bob.id}/feedback/{FIRST}", data={
        "csrf_token": csrf_token(client, queue_url), "text": "Good start <script>x</script>", "back": "review",
        "workbook": FIRST, "unreviewed": "1", "page": "1"})
    assert posted.status_code == 302
    assert posted.headers["Location"] == (f"/lead/runs/{run.slug}/review?workbook={FIRST}&unreviewed=1&page=1"
                                          f"#review-{bob.id}-{FIRST}")
    unreviewed = client.get(queue_url, query_string={"unreviewed": "1"}).get_data(as_text=True)
    assert "Submissions with no feedback yet, newest first." in unreviewed and "Bob Later" not in unreviewed
    assert unreviewed.count('class="card review-item"') == 2
    reviewed = client.get(queue_url).get_data(as_text=True)
    assert "Good start &lt;script&gt;" in reviewed and "not read yet" in reviewed
    assert db.scalar(select(Notification).where(Notification.kind == "feedback")).user_id == bob.user_id

    # the learner's dashboard marks the workbook until they open it
    auth.logout()
    auth.login(bob.user.email)
    assert "new feedback" in client.get("/dashboard").get_data(as_text=True)
    written_at = db.scalar(select(WorkbookFeedback)).updated_at
    assert "Good start &lt;script&gt;" in client.get(f"/courses/mentoring/workbooks/{FIRST}").get_data(as_text=True)
    assert "new feedback" not in client.get("/dashboard").get_data(as_text=True)
    db.expire_all()
    read = db.scalar(select(WorkbookFeedback))
    assert read.read_at is not None and read.updated_at == written_at  # reading it does not re-date it

    # the same text saved again tells nobody twice; changed feedback is new again
    auth.logout()
    auth.login(leader)
    for text in ("Good start <script>x</script>", "Good start: now say more"):
        client.post(f"/lead/runs/{run.slug}/participants/{bob.id}/feedback/{FIRST}",
                    data={"csrf_token": csrf_token(client, queue_url), "text": text})
    assert db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "feedback")) == 2
    db.expire_all()
    assert db.scalar(select(WorkbookFeedback)).read_at is None


def test_feedback_that_cannot_be_saved_is_shown_again(client, auth, db: Session, make_user, finished) -> None:
    run, enrolment = finished
    auth.login(make_user("leader"))
    url = f"/lead/runs/{run.slug}/participants/{enrolment.id}"
    too_long = client.post(f"{url}/feedback/{FIRST}", data={"csrf_token": csrf_token(client, url),
                                                            "text": "Long " * 4001})
    assert too_long.status_code == 422 and ">Long Long" in too_long.get_data(as_text=True)
    assert client.post(f"{url}/feedback/nope", data={"csrf_token": csrf_token(client, url),
                                                      "text": "Hi"}).status_code == 404
    assert db.scalar(select(func.count()).select_from(WorkbookFeedback)) == 0


def test_the_queue_pages_newest_first(db: Session, make_user, make_run) -> None:
    run = make_run(slug="spring", name="Spring run")
    learners = [enrol(db, run, make_user("learner").id, TODAY) for _ in range(3)]
    db.commit()
    for enrolment in learners:
        complete_and_submit(db, enrolment, FIRST)
    db.commit()
    for hours, submission in enumerate(db.scalars(select(Submission).order_by(Submission.id))):
        submission.submitted_at = dt.datetime(2026, 11, 1, 9 + hours, tzinfo=dt.timezone.utc)
    db.add(WorkbookFeedback(enrolment_id=learners[1].id, workbook_slug=FIRST, text="Fine", author_name="L"))
    db.commit()
    first, second = review_queue(db, run, page_size=2), review_queue(db, run, page=2, page_size=2)
    assert (first.total, first.more, second.more) == (3, True, False)
    assert [r.enrolment_id for r in first.rows + second.rows] == [learners[2].id, learners[1].id, learners[0].id]
    assert review_queue(db, run, page=99, page_size=2).page == 2  # past the end: the last page
    waiting = review_queue(db, run, without_feedback=True, page_size=1)
    assert (waiting.total, waiting.more, [r.enrolment_id for r in waiting.rows]) == (None, True, [learners[2].id])
    last = review_queue(db, run, without_feedback=True, page=2, page_size=1)
    assert ([r.enrolment_id for r in last.rows], last.more) == ([learners[0].id], False)
    assert review_queue(db, run, workbook_slug=WORKBOOKS[1]).total == 0
