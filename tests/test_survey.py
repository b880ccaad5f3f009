"""The course evaluation survey: offered after the certificate (or on withdrawal),
one response per enrolment, editable until the learner's close date, counted in the
run's counters; evaluators see distributions and comments, never a person."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from conftest import TODAY, complete_and_submit, csrf_token
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shooc.auth.services import delete_account, export_data
from shooc.badges.models import Certificate
from shooc.badges.services import revoke_certificate
from shooc.enrolment.models import Enrolment
from shooc.enrolment.services import course_workbook_slugs, enrol, withdraw
from shooc.evaluate import counters, survey
from shooc.evaluate.models import Evaluation, OverallEffect
from shooc.workbooks.models import WorkbookVersion

URL = "/runs/spring/evaluation"
RESULTS = "/evaluate/runs/spring/evaluation"
ALL_FIVE = {"1": 5, "2": 4, "3": 4, "4": 3, "5": 5}


@pytest.fixture
def run(make_run):  # type: ignore[no-untyped-def]
    return make_run(slug="spring", name="Spring run")


@pytest.fixture
def join(db: Session, run, make_user):  # type: ignore[no-untyped-def]
    """A learner enrolled in the run: ``finished`` (all five workbooks, so a
    certificate) or ``withdrawn``; extra keyword arguments go to make_user."""

    def make(finished: bool = False, withdrawn: bool = False, **user: Any) -> Enrolment:
        learner = make_user("learner", **user)
        enrolment = enrol(db, run, learner.id, TODAY - dt.timedelta(days=5))
        db.commit()
        if finished:
            for slug in course_workbook_slugs(db, run):
                complete_and_submit(db, enrolment, slug)
        if withdrawn:
            withdraw(db, enrolment)
        db.commit()
        return enrolment

    return make


def counters_agree(db: Session, run) -> dict:  # type: ignore[no-untyped-def]
    db.expire_all()
    counted = counters.read(db, run)
    assert counted == counters.recount(db, run)
    return counted


def answers(effect: str = "very_good", ratings: dict[str, int] | None = None, comments: str = "") -> dict[str, Any]:
    """The survey form's fields."""
    data: dict[str, Any] = {"overall_effect": effect, "comments": comments}
    data.update({f"objective_{n}": str(r) for n, r in (ALL_FIVE if ratings is None else ratings).items()})
    return data


def post_survey(client, data: dict[str, Any], url: str = URL):  # type: ignore[no-untyped-def]
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/dashboard")})


def evaluations_of(db: Session, enrolment: Enrolment) -> list[Evaluation]:
    db.expire_all()
    return list(db.scalars(select(Evaluation).where(Evaluation.enrolment_id == enrolment.id)))


# When it is offered --------------------------------------------------------------

def test_not_offered_before_the_certificate_and_offered_after_it(db: Session, run, join) -> None:
    enrolment = join()
    slugs = course_workbook_slugs(db, run)
    for slug in slugs[:-1]:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    state = survey.survey_state(db, enrolment)
    assert not state.offered and not state.editable
    with pytest.raises(survey.SurveyError, match="certificate"):
        survey.save_evaluation(db, enrolment, "good", ALL_FIVE, None)
    assert survey.dashboard_offers(db, [enrolment]) == {}

    complete_and_submit(db, enrolment, slugs[-1])  # the certificate, in the same transaction
    db.commit()
    assert survey.survey_state(db, enrolment).offered
    assert survey.dashboard_offers(db, [enrolment])[enrolment.id].state == "open"
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "Useful.")
    db.commit()
    assert survey.dashboard_offers(db, [enrolment])[enrolment.id].state == "answered"
    counters_agree(db, run)


def test_offered_on_withdrawal_whatever_was_done(db: Session, run, join) -> None:
    enrolment = join()
    assert not survey.survey_state(db, enrolment).offered
    withdraw(db, enrolment)
    db.commit()
    assert survey.survey_state(db, enrolment).offered
    survey.save_evaluation(db, enrolment, OverallEffect.fair, ALL_FIVE, "Not the right time for me.")
    db.commit()
    assert evaluations_of(db, enrolment)[0].overall_effect is OverallEffect.fair
    enrol(db, run, enrolment.user_id)  # rejoining keeps the answer reachable
    db.commit()
    assert survey.survey_state(db, enrolment).offered
    counters_agree(db, run)


def test_a_revoked_certificate_no_longer_offers_it(db: Session, run, join) -> None:
    enrolment = join(finished=True)
    certificate = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    revoke_certificate(db, certificate, "Issued in error")
    db.commit()
    assert not survey.survey_state(db, enrolment).offered


# One response, counted -----------------------------------------------------------

def test_one_response_per_enrolment_and_the_counters_follow_every_change(db: Session, run, join) -> None:
    first, second = join(withdrawn=True), join(withdrawn=True)
    survey.save_evaluation(db, first, "excellent", ALL_FIVE, "Great")
    survey.save_evaluation(db, second, "good", {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3}, None)
    db.commit()
    counted = counters_agree(db, run)
    assert counted["totals"]["evaluations"] == 2
    assert counted["tallies"]["effect"] == {"excellent": 1, "good": 1}

    survey.save_evaluation(db, first, "poor", {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}, "")  # changes everything
    db.commit()
    assert len(evaluations_of(db, first)) == 1
    evaluation = evaluations_of(db, first)[0]
    assert evaluation.comments is None and evaluation.objective_ratings == {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
    counted = counters_agree(db, run)
    assert counted["totals"]["evaluations"] == 2
    assert counted["tallies"]["effect"] == {"poor": 1, "good": 1}
    assert counted["tallies"]["objective:1"] == {"1": 1, "3": 1}
    assert counted["tallies"]["objective:5"] == {"5": 1, "3": 1}


def test_two_first_answers_at_once_make_one_response(db: Session, run, join, monkeypatch) -> None:
    enrolment = join(withdrawn=True)
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "From the first tab")
    db.commit()
    real = survey.find_evaluation
    raced = []

    def not_seen_yet(session, enrolment, for_update=False):  # type: ignore[no-untyped-def]
        if for_update and not raced:  # as if the other tab's row were not committed when this one looked
            raced.append(True)
            return None
        return real(session, enrolment, for_update)

    monkeypatch.setattr(survey, "find_evaluation", not_seen_yet)
    survey.save_evaluation(db, enrolment, "excellent", ALL_FIVE, "From the second tab")
    db.commit()
    assert raced
    (evaluation,) = evaluations_of(db, enrolment)
    assert evaluation.comments == "From the second tab"
    counted = counters_agree(db, run)
    assert counted["totals"]["evaluations"] == 1 and counted["tallies"]["effect"] == {"excellent": 1}


def test_answers_are_checked_and_nothing_is_written_when_one_is_wrong(db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    with pytest.raises(survey.InvalidAnswers) as refused:
        survey.save_evaluation(db, enrolment, "brilliant", {"1": 6, "2": 0, "3": "4", "4": True}, "x" * 5001)
    assert set(refused.value.problems) == {"overall_effect", "objective_1", "objective_2", "objective_3",
                                           "objective_4", "objective_5", "comments"}
    assert evaluations_of(db, enrolment) == []
    # line breaks as browsers send them count once
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "a\r\n" * 2500)
    assert evaluations_of(db, enrolment)[0].comments == ("a\n" * 2500).strip()


def test_read_only_after_the_close_date_and_open_again_with_an_extension(db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "Before")
    db.commit()
    after = run.closes_on + dt.timedelta(days=1)
    assert not survey.survey_state(db, enrolment, today=after).editable
    with pytest.raises(survey.SurveyError, match="closed"):
        survey.save_evaluation(db, enrolment, "poor", ALL_FIVE, "After", today=after)
    enrolment.extended_until = after
    db.commit()
    survey.save_evaluation(db, enrolment, "poor", ALL_FIVE, "After", today=after)
    assert evaluations_of(db, enrolment)[0].comments == "After"


def test_an_imported_rating_is_prefilled_and_the_learner_completes_it(client, auth, db: Session, run, join) -> None:
    enrolment = join(finished=True)
    imported = Evaluation(enrolment_id=enrolment.id, overall_effect=OverallEffect.very_good, objective_ratings={},
                          source="import", submitted_at=dt.datetime(2017, 7, 1, 12, tzinfo=dt.UTC))
    db.add(imported)
    db.flush()
    counters.evaluation_changed(db, run.id, None, imported)
    db.commit()
    assert survey.dashboard_offers(db, [enrolment])[enrolment.id].state == "imported"
    auth.login(enrolment.user)
    page = client.get(URL).get_data(as_text=True)
    assert re.search(r'<input checked id="overall_effect-1" name="overall_effect" type="radio" value="very_good">', page)
    assert "from the course records" in page

    response = post_survey(client, answers(effect="very_good", comments="Now with ratings"))
    assert response.status_code == 302
    (evaluation,) = evaluations_of(db, enrolment)
    assert evaluation.source == "survey" and evaluation.objective_ratings == ALL_FIVE
    assert evaluation.submitted_at.year == TODAY.year
    counted = counters_agree(db, run)
    assert counted["totals"]["evaluations"] == 1 and counted["tallies"]["effect"] == {"very_good": 1}


# The learner's pages -------------------------------------------------------------

def test_a_learner_answers_changes_and_finds_it_on_the_dashboard(client, auth, db: Session, run, join) -> None:
    enrolment = join(finished=True)
    auth.login(enrolment.user)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Tell us what the course did for your mentoring" in dashboard and URL in dashboard

    page = client.get(URL).get_data(as_text=True)
    assert "Understand the role and responsibilities of a mentor, beside the provider" in page
    assert page.count('type="radio"') == 5 + 5 * 5
    assert "1 · Not at all" in page and "5 · Fully" in page

    # a missing answer: refused, with what was chosen and typed kept
    missing = answers(comments="Observation feedback changed how I work")
    del missing["objective_3"]
    response = post_survey(client, missing)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Rate objective 3 from 1 (not at all) to 5 (fully)." in page
    assert "Observation feedback changed how I work</textarea>" in page
    assert re.search(r'<input checked id="overall_effect-1"[^>]*value="very_good">', page)
    assert re.search(r'<input checked id="objective_4-2"[^>]*value="3">', page)
    assert evaluations_of(db, enrolment) == []

    response = post_survey(client, answers(comments="Observation feedback changed how I work"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Thank you for your evaluation" in dashboard
    assert f"change your answers until {run.closes_on:%-d %B %Y}" in dashboard

    page = client.get(URL).get_data(as_text=True)  # prefilled for changing
    assert "Save your changes" in page and "Observation feedback changed how I work</textarea>" in page
    assert post_survey(client, answers(effect="excellent", comments="Changed my mind")).status_code == 302
    (evaluation,) = evaluations_of(db, enrolment)
    assert evaluation.overall_effect is OverallEffect.excellent and evaluation.comments == "Changed my mind"
    counters_agree(db, run)


def test_the_box_is_on_the_dashboard_after_submitting_the_last_workbook(client, auth, db: Session, run, join) -> None:
    enrolment = join()
    slugs = course_workbook_slugs(db, run)
    for slug in slugs[:-1]:
        complete_and_submit(db, enrolment, slug)
    last = db.scalar(select(WorkbookVersion).where(WorkbookVersion.course_version_id == run.course.current_version_id,
                                                   WorkbookVersion.slug == slugs[-1]))
    # every answer saved, then the learner presses Submit on the page
    from conftest import complete_answer

    from shooc.enrolment import answers

    state = answers.workbook_state(db, enrolment, last)
    for activity in last.activities:
        if activity.required and activity.kind == "quiz":
            answers.check_quiz(db, enrolment, state, activity.activity_id, complete_answer(activity))
        elif activity.required:
            answers.save_drafts(db, enrolment, state, {activity.activity_id: complete_answer(activity)})
    db.commit()
    auth.login(enrolment.user)
    url = f"/courses/mentoring/workbooks/{slugs[-1]}"
    watched = {f"a.{a.activity_id}.watched": "yes" for a in last.activities if a.kind == "media"}
    response = client.post(url, data={"action": "submit", "csrf_token": csrf_token(client, url), **watched},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/dashboard"
    assert "is submitted. Well done!" in page
    assert "Tell us what the course did for your mentoring" in page


def test_withdrawing_offers_the_survey_on_the_dashboard(client, auth, db: Session, run, join) -> None:
    enrolment = join()
    auth.login(enrolment.user)
    url = f"/dashboard/enrolments/{enrolment.id}/withdraw"
    assert "short evaluation survey" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "You withdrew from this run" in page and "Tell us what the course did for your mentoring" in page
    assert client.get(URL).status_code == 200
    assert post_survey(client, answers(effect="fair", comments="No time this term")).status_code == 302
    assert evaluations_of(db, enrolment)[0].comments == "No time this term"
    counters_agree(db, run)


def test_before_the_certificate_the_page_says_when_it_opens(client, auth, db: Session, run, join) -> None:
    enrolment = join()
    auth.login(enrolment.user)
    response = client.get(URL)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "opens when you have your certificate" in page and "withdraw" in page
    assert 'name="overall_effect"' not in page
    assert "Tell us what the course did" not in client.get("/dashboard").get_data(as_text=True)
    assert post_survey(client, answers()).status_code == 403
    assert evaluations_of(db, enrolment) == []


def test_after_the_close_date_the_answers_are_read_only(client, auth, db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "Kept as it was")
    run.closes_on = TODAY - dt.timedelta(days=1)
    db.commit()
    auth.login(enrolment.user)
    response = client.get(URL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"The evaluation closed on {run.closes_on:%-d %B %Y}" in page
    assert '<fieldset class="survey-body" disabled>' in page and 'type="submit" class="button"' not in page
    assert "<p>Kept as it was</p>" in page and "<textarea" not in page
    assert "See your answers" in client.get("/dashboard").get_data(as_text=True)
    response = post_survey(client, answers(effect="poor", comments="Too late"))
    assert response.status_code == 409
    assert "was not saved" in response.get_data(as_text=True) and "<p>Too late</p>" in response.get_data(as_text=True)
    assert evaluations_of(db, enrolment)[0].comments == "Kept as it was"


def test_a_closed_survey_never_answered_has_no_form(client, auth, db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    run.closes_on = TODAY - dt.timedelta(days=1)
    db.commit()
    auth.login(enrolment.user)
    page = client.get(URL).get_data(as_text=True)
    assert "The evaluation closed on" in page and 'name="overall_effect"' not in page
    response = post_survey(client, answers(comments="Late words"))  # shown back, not saved
    assert response.status_code == 409 and "<p>Late words</p>" in response.get_data(as_text=True)
    assert evaluations_of(db, enrolment) == []
    assert "Tell us what the course did" not in client.get("/dashboard").get_data(as_text=True)


def test_learners_reach_only_their_own_evaluation(client, auth, db: Session, run, join, make_user,
                                                   make_run) -> None:
    owner = join(withdrawn=True)
    survey.save_evaluation(db, owner, "excellent", ALL_FIVE, "Private words of the owner")
    db.commit()
    make_run(slug="other")

    stranger = make_user("learner")  # enrolled nowhere
    auth.login(stranger)
    for url in (URL, "/runs/other/evaluation", "/runs/no-such-run/evaluation"):
        assert client.get(url).status_code == 404
    assert post_survey(client, answers(effect="poor")).status_code == 404
    auth.logout()

    classmate = join()  # the same run, no certificate: their own (closed) survey, never the owner's
    auth.login(classmate.user)
    page = client.get(URL).get_data(as_text=True)
    assert "Private words of the owner" not in page
    assert post_survey(client, answers(effect="poor", comments="Overwrite")).status_code == 403
    (evaluation,) = evaluations_of(db, owner)
    assert evaluation.overall_effect is OverallEffect.excellent
    assert evaluations_of(db, classmate) == []


def test_a_post_without_its_csrf_token_is_refused(client, auth, db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    auth.login(enrolment.user)
    response = client.post(URL, data=answers())
    assert response.status_code == 400
    assert evaluations_of(db, enrolment) == []


def test_comments_too_long_are_refused_and_shown_again(client, auth, db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    auth.login(enrolment.user)
    response = post_survey(client, answers(comments="long " * 1001))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at most 5,000 characters" in page and ("long " * 1000) in page
    assert evaluations_of(db, enrolment) == []


# The evaluators' page ------------------------------------------------------------

PEOPLE = [("Zelda Quockworth", "zelda.quockworth@example.org", "Brambleford Academy"),
          ("Ignatius Pellow", "ignatius.pellow@example.org", "Tarnwick High School"),
          ("Oona Faircloth", "oona.faircloth@example.org", "St Wilfrid's Primary"),
          ("Bartholomew Snee", "b.snee@example.org", "Kestrel Vale College"),
          ("Philippa Drax", "p.drax@example.org", "Millbrook Infants")]


def evaluated(db: Session, join, people, effects, comments):  # type: ignore[no-untyped-def]
    for (name, email, organisation), effect, comment in zip(people, effects, comments):
        enrolment = join(withdrawn=True, name=name, email=email)
        enrolment.user.organisation = organisation
        survey.save_evaluation(db, enrolment, effect, ALL_FIVE, comment)
    db.commit()


@pytest.mark.parametrize("role", ["evaluator", "leader", "admin"])
def test_fewer_than_five_responses_are_withheld(client, auth, db: Session, run, join, make_user, role: str) -> None:
    evaluated(db, join, PEOPLE[:4], ["excellent", "good", "good", "poor"], ["First secret", "Second", "", None])
    auth.login(make_user(role))
    response = client.get(RESULTS)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>4</strong> responses" in page
    assert "withheld until at least 5 people" in page
    assert "First secret" not in page and "Excellent" not in page and "<table" not in page


def test_five_responses_show_distributions_and_comments_without_anyone(client, auth, db: Session, run, join,
                                                                        make_user) -> None:
    evaluated(db, join, PEOPLE, ["excellent", "excellent", "good", "very_good", "excellent"],
              ["<script>alert('x')</script> worked for me", "Observation was the best part", "", None,
               "Line one\nLine two"])
    auth.login(make_user("evaluator"))
    response = client.get(RESULTS)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>5</strong> responses" in page
    assert re.search(r"Excellent</th><td class=\"num\">3</td><td class=\"num\">60%", page)
    assert re.search(r"Very good</th><td class=\"num\">1</td><td class=\"num\">20%", page)
    assert re.search(r"Fair</th><td class=\"num\">0</td><td class=\"num\">0%", page)
    assert "1. Understand the role and responsibilities of a mentor, beside the provider" in page
    assert "Observation was the best part" in page and "3 comments" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; worked for me" in page
    assert TODAY.strftime("%B %Y") in page and TODAY.strftime("%-d %B %Y") not in page
    for name, email, organisation in PEOPLE:
        for text in (name, email, organisation, organisation.replace("'", "&#39;"), name.split()[1]):
            assert text not in page
    # newest first
    assert page.index("Line one") < page.index("Observation was the best part")


def test_objectives_rated_by_too_few_are_withheld_alone(db: Session, run, join) -> None:
    evaluated(db, join, PEOPLE[:4], ["good"] * 4, [None] * 4)
    enrolment = join(finished=True)  # the fifth: an imported overall rating only
    imported = Evaluation(enrolment_id=enrolment.id, overall_effect=OverallEffect.good, objective_ratings={},
                          source="import")
    db.add(imported)
    db.flush()
    counters.evaluation_changed(db, run.id, None, imported)
    db.commit()
    found = survey.results(db, run)
    assert found.responses == 5 and not found.overall.withheld
    assert [r.count for r in found.overall.rows] == [0, 0, 5, 0, 0]
    assert all(d.withheld and d.rows == [] and d.answered == 4 for d in found.objectives)


def test_comments_are_paged_newest_first_with_the_month_only(db: Session, run, join) -> None:
    evaluated(db, join, PEOPLE, ["good"] * 5, [f"Comment {n}" for n in range(5)])
    for n, evaluation in enumerate(db.scalars(select(Evaluation).where(Evaluation.comments.like("Comment %"))
                                              .order_by(Evaluation.comments))):
        evaluation.submitted_at = dt.datetime(2026, 1 + n, 15, 9, tzinfo=dt.UTC)
    db.commit()
    first = survey.comments_page(db, run, page=1, per_page=2)
    assert (first.total, first.pages) == (5, 3)
    assert [(c.month, c.text) for c in first.comments] == [(dt.date(2026, 5, 1), "Comment 4"),
                                                           (dt.date(2026, 4, 1), "Comment 3")]
    last = survey.comments_page(db, run, page=99, per_page=2)
    assert last.page == 3 and [c.text for c in last.comments] == ["Comment 0"]


def test_the_results_page_pages_its_comments(client, auth, db: Session, run, join, make_user) -> None:
    people = [(f"Learner {n}", f"many{n}@example.org", "") for n in range(survey.COMMENTS_PER_PAGE + 3)]
    evaluated(db, join, people, ["good"] * len(people), [f"Remark number {n}." for n in range(len(people))])
    auth.login(make_user("evaluator"))
    first = client.get(RESULTS).get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count("Remark number") == survey.COMMENTS_PER_PAGE
    second = client.get(RESULTS + "?page=2").get_data(as_text=True)
    assert second.count("Remark number") == 3
    assert client.get(RESULTS + "?page=zz").status_code == 200


def test_an_unknown_run_has_no_results(client, auth, make_user) -> None:
    auth.login(make_user("evaluator"))
    assert client.get("/evaluate/runs/nothing/evaluation").status_code == 404


# A learner's own data ------------------------------------------------------------

def test_deleting_an_account_erases_the_evaluation_comments(db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "My trainee Sam at Brambleford struggled")
    db.commit()
    delete_account(db, enrolment.user)
    db.commit()
    counters_agree(db, run)
    (evaluation,) = evaluations_of(db, enrolment)
    assert evaluation.overall_effect is OverallEffect.good  # the run's figures keep it
    assert evaluation.comments is None


def test_the_data_download_includes_the_evaluation(db: Session, run, join) -> None:
    enrolment = join(withdrawn=True)
    survey.save_evaluation(db, enrolment, "good", ALL_FIVE, "What I said about the course")
    db.commit()
    assert "What I said about the course" in repr(export_data(db, enrolment.user))


def test_counting_stays_right_across_many_learners(db: Session, run, join) -> None:
    enrolments = [join(withdrawn=True) for _ in range(6)]
    for n, enrolment in enumerate(enrolments):
        survey.save_evaluation(db, enrolment, list(OverallEffect)[n % 5], {str(k): (n + k) % 5 + 1 for k in range(1, 6)},
                               None)
    for enrolment in enrolments[::2]:
        survey.save_evaluation(db, enrolment, "poor", ALL_FIVE, "edited")
    db.commit()
    counted = counters_agree(db, run)
    assert counted["totals"]["evaluations"] == 6
    assert db.scalar(select(func.count()).select_from(Evaluation)) == 6
