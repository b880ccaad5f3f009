"""The learner's workbook page as it is served fast (issue 21): an activity's fixed
HTML is rendered once per published version and kept (shooc/workbooks/fragments.py),
and only each learner's own parts are filled in per request."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_kit import choose, page_options
from shooc.enrolment.models import Enrolment
from shooc.workbooks import fragments, published
from shooc.workbooks.models import ActivityVersion, WorkbookVersion
from test_learning import WB1, post, quiz_of
from statement_kit import statements_of_get
from test_quiz_order import learners


def _section(html: str, activity_id: str) -> str:
    """An activity's HTML up to its buttons (beside them: what the last press did, said once)."""
    section = html.split(f'id="activity-{activity_id}"')[1].split("</section>")[0]
    return section.split('<div class="activity-actions">')[0]


def _self_assessment(db: Session) -> ActivityVersion:
    return db.scalar(select(ActivityVersion).join(WorkbookVersion).where(
        WorkbookVersion.slug == "the-mentors-role", ActivityVersion.kind == "self-assessment"))


def test_a_kept_fragment_is_filled_with_each_learners_own_order_choices_and_marks(
        client, db: Session, auth, make_user, make_run) -> None:  # type: ignore[no-untyped-def]
    """The fixed HTML is shared; the order, codes, checked choices, ratings and marks
    are each learner's: one learner's never shows on another's page, whichever of
    them drew the page first."""
    first, second = learners(db, make_user, make_run, 2)
    quiz, rating = quiz_of(db), _self_assessment(db)
    statement = rating.definition["statements"][0]["id"]

    auth.login(first)
    html = client.get(WB1).get_data(as_text=True)
    post(client, WB1, {**choose(html, quiz.activity_id, quiz.definition, right=False),
                       f"a.{rating.activity_id}.{statement}": "2", "action": f"check:{quiz.activity_id}"})
    first_page = client.get(WB1).get_data(as_text=True)
    auth.logout()

    auth.login(second)
    second_page = client.get(WB1).get_data(as_text=True)
    auth.logout()
    auth.login(first)
    again = client.get(WB1).get_data(as_text=True)  # drawn again from what is kept: the same
    for activity in (quiz, rating):
        assert _section(again, activity.activity_id) == _section(first_page, activity.activity_id)
    auth.logout()

    # the fragments were built once and are shared by both pages
    kept = published.kept(("activity-parts", quiz.id), lambda: None)
    assert isinstance(kept, fragments.ActivityParts) and kept is published.kept(("activity-parts", quiz.id), list)

    first_quiz, second_quiz = _section(first_page, quiz.activity_id), _section(second_page, quiz.activity_id)
    first_options, second_options = page_options(first_quiz, quiz.activity_id), page_options(second_quiz,
                                                                                                quiz.activity_id)
    assert {qid: [label for _, label in o] for qid, o in first_options.items()} != {
        qid: [label for _, label in o] for qid, o in second_options.items()}  # their own orders
    first_codes = {value for options in first_options.values() for value, _ in options}
    second_codes = {value for options in second_options.values() for value, _ in options}
    assert not first_codes & second_codes  # their own codes
    # the first learner's attempt: marked, their choices checked; the second's page has none of it
    assert "Not quite." in first_quiz and 'class="question wrong"' in first_quiz and " checked>" in first_quiz
    assert "question-mark" not in second_quiz and "option-feedback" not in second_quiz
    assert " checked>" not in second_quiz and 'class="question">' in second_quiz
    # the ratings: the first learner's 2 checked, nothing for the second
    checked = re.compile(rf'name="a\.{rating.activity_id}\.{statement}" value="(\d)" aria-label="[^"]*" checked>')
    assert checked.findall(first_page) == ["2"] and checked.findall(second_page) == []


def test_the_workbook_page_costs_a_fixed_number_of_queries(app, client, db: Session, auth, make_user,
                                                           make_run) -> None:  # type: ignore[no-untyped-def]
    """The learner's page with answers, a marked quiz and feedback unread: the login's
    user, the course, the enrolment with its run, the answers, the workbook's records
    (submission, feedback, hand-back: answers.workbook_records), the recordings, and
    the feedback marked read; then, read, one statement fewer. bench/ measures the time."""
    from shooc.lead import review

    (learner,) = learners(db, make_user, make_run, 1)
    leader = make_user("leader")
    quiz = quiz_of(db)
    auth.login(learner)
    html = client.get(WB1).get_data(as_text=True)
    post(client, WB1, {**choose(html, quiz.activity_id, quiz.definition), "action": f"check:{quiz.activity_id}"})
    enrolment = db.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    review.give_feedback(db, leader, enrolment, "the-mentors-role", "Well argued.")
    db.commit()
    unread = statements_of_get(app, client, WB1)
    read = statements_of_get(app, client, WB1)
    assert len(unread) == 7 and unread[-1].startswith("UPDATE workbook_feedback"), unread
    assert len(read) == 6, read  # 9 before issue 21: the unread check, the feedback, the submission and the hand-back apart
