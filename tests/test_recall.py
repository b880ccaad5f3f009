"""Showing a learner's earlier answer in a later activity (``recall``, issue 19):
shown read-only and escaped above the prompt, a link where it is not given yet, a
bad reference refused with its file and line."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TODAY, loaded
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.enrolment import answers
from shooc.enrolment.services import enrol
from shooc.enrolment.runs import create_run
from shooc.workbooks.loader import load_course
from shooc.workbooks.models import WorkbookVersion
from shooc.workbooks.publish import publish_course

GOAL_REVIEW = """
```activity
id: goal-look-back
kind: reflection
title: Look back at your goal
recall: {target}
prompt: How far did the goal you set get you?
```
"""


def with_recall(folder: Path, target: str) -> int:
    """Add a reflection recalling ``target`` at the end of workbook 5; its recall line."""
    wb5 = folder / "05-mentoring-communities.md"
    text = wb5.read_text(encoding="utf-8")
    wb5.write_text(text + GOAL_REVIEW.format(target=target), encoding="utf-8")
    return len(text.split("\n")) + GOAL_REVIEW.split("\n").index("recall: {target}")


def test_a_recall_of_no_activity_is_a_problem_at_its_line(course_copy: Path) -> None:
    for target, says in [("smart-goal-setting/no-such", "workbook 'smart-goal-setting' has no activity 'no-such'"),
                         ("no-such-workbook/smart-goal", "there is no workbook 'no-such-workbook'"),
                         ("mentoring-communities/goal-look-back", "it recalls itself"),
                         ("Not a reference", "'recall' must be <workbook-slug>/<activity-id>")]:
        (course_copy / "05-mentoring-communities.md").write_text(
            (Path(__file__).parent.parent / "content/mentoring/05-mentoring-communities.md").read_text(), encoding="utf-8")
        line = with_recall(course_copy, target)
        problems = [str(p) for p in load_course(course_copy).problems]
        assert problems == [p for p in problems if f"05-mentoring-communities.md:{line}:" in p and says in p], problems
        assert problems


def test_a_recall_of_a_quiz_is_refused(course_copy: Path) -> None:
    import re
    quiz = re.search(r"id: ([a-z0-9-]+)\nkind: quiz", (course_copy / "01-the-mentors-role.md").read_text()).group(1)
    with_recall(course_copy, f"the-mentors-role/{quiz}")
    assert any("is a quiz: only an answer the learner wrote or rated" in str(p) for p in load_course(course_copy).problems)


@pytest.fixture
def recalling(db: Session, course_copy: Path, make_user):  # type: ignore[no-untyped-def]
    with_recall(course_copy, "smart-goal-setting/smart-goal")
    course = publish_course(db, loaded(course_copy)).course
    run = create_run(db, course, TODAY, TODAY.replace(year=TODAY.year + 1), slug="recall-run")
    user = make_user("learner")
    enrolment = enrol(db, run, user.id, TODAY)
    db.commit()
    return user, enrolment


def _workbook(db: Session, enrolment, slug: str) -> WorkbookVersion:  # type: ignore[no-untyped-def]
    return db.scalar(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == enrolment.run.course.current_version_id, WorkbookVersion.slug == slug))


def test_the_earlier_answer_is_shown_escaped_or_a_link_to_give_it(client, auth, db: Session, recalling) -> None:
    user, enrolment = recalling
    auth.login(user)
    page = client.get("/courses/mentoring/workbooks/mentoring-communities").get_data(as_text=True)
    assert "You have not set this goal yet" in page
    assert 'href="/courses/mentoring/workbooks/smart-goal-setting#activity-smart-goal">go to Workbook 4' in page
    workbook = _workbook(db, enrolment, "smart-goal-setting")
    state = answers.workbook_state(db, enrolment, workbook)
    answers.save_drafts(db, enrolment, state, {"smart-goal": {
        "specific": "Ask <script>alert(1)</script> open questions", "measurable": "Three a meeting",
        "achievable": "Yes", "relevant": "Trust", "time_bound": "By half term", "target_date": "2030-02-14"}})
    db.commit()
    page = client.get("/courses/mentoring/workbooks/mentoring-communities").get_data(as_text=True)
    prompt = page.index("How far did the goal you set get you?")
    recalled = page[page.rindex('class="recalled"', 0, prompt):prompt]  # the course's own goal-review recalls it too
    assert "The goal you set in Workbook 4" in recalled
    assert "Ask &lt;script&gt;alert(1)&lt;/script&gt; open questions" in recalled and "<script>alert" not in page
    assert "Three a meeting" in recalled and "2030-02-14" in recalled
    assert "<input" not in recalled and "<textarea" not in recalled  # read-only


def test_a_leaders_preview_shows_where_the_answer_would_be(client, auth, db: Session, recalling, make_user) -> None:
    auth.login(make_user("leader"))
    page = client.get("/courses/mentoring/workbooks/mentoring-communities").get_data(as_text=True)
    assert "You have not set this goal yet" in page
