"""Quiz options in an order of each learner's own, under codes that do not tell the
source's order (issue 19; shooc/workbooks/quizorder.py says why), over real HTTP."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY
from quiz_kit import choose, option_texts, page_options
from shooc.enrolment.models import Response
from shooc.enrolment.services import enrol
from shooc.workbooks import quizorder
from test_learning import WB1, post, quiz_of


def learners(db: Session, make_user, make_run, count: int):  # type: ignore[no-untyped-def]
    run = make_run()
    users = [make_user("learner") for _ in range(count)]
    for user in users:
        enrol(db, run, user.id, TODAY - dt.timedelta(days=2))
    db.commit()
    return users


def order_on_page(html: str, quiz) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Each question's options as source indexes, in the page's order (found by text)."""
    texts = option_texts(quiz.definition)
    return {qid: [texts[qid].index(label) for _value, label in options]
            for qid, options in page_options(html, quiz.activity_id).items()}


def test_learners_see_their_own_stable_order_under_codes_that_tell_nothing(client, db: Session, auth, make_user,
                                                                          make_run) -> None:
    users = learners(db, make_user, make_run, 6)
    quiz = quiz_of(db)
    orders, values = [], set()
    for user in users:
        auth.login(user)
        html = client.get(WB1).get_data(as_text=True)
        order = order_on_page(html, quiz)
        assert order == order_on_page(client.get(WB1).get_data(as_text=True), quiz)  # stable on every visit
        orders.append(order)
        for qid, options in page_options(html, quiz.activity_id).items():
            for value, _label in options:
                assert len(value) == quizorder.CODE_HEX_DIGITS and not value.isdigit()
                values.add(value)
        # nothing on the page says which option is right: no 'correct' flag, and the
        # source order is not the page's for every question
        assert "correct" not in html.split(f'id="activity-{quiz.activity_id}"')[1].split("</section>")[0]
        auth.logout()
    assert len({str(sorted(o.items())) for o in orders}) > 1  # learners' orders differ
    source = {qid: sorted(order) for qid, order in orders[0].items()}
    assert any(order != source for order in orders)  # and differ from the source's
    per_question = {qid: {tuple(o[qid]) for o in orders} for qid in source}
    assert all(len(seen) > 1 for qid, seen in per_question.items() if len(source[qid]) > 2)
    assert len(values) == len(users) * sum(len(o) for o in source.values())  # codes differ between learners


def test_each_learner_is_marked_by_the_options_they_chose_not_by_their_place(client, db: Session, auth, make_user,
                                                                            make_run) -> None:
    first, second = learners(db, make_user, make_run, 2)
    quiz = quiz_of(db)
    for user, right in ((first, True), (second, False)):
        auth.login(user)
        html = client.get(WB1).get_data(as_text=True)
        post(client, WB1, {**choose(html, quiz.activity_id, quiz.definition, right), "action": f"check:{quiz.activity_id}"})
        after = client.get(WB1).get_data(as_text=True)
        total = len(quiz.definition["questions"])
        assert (f"{total} of {total} right" if right else f"0 of {total} right") in after
        # after checking, the same order, and the choices shown checked where they were
        assert order_on_page(after, quiz) == order_on_page(html, quiz)
        auth.logout()
    stored = {a["last_attempt"]["score"]: a["choices"] for a in db.scalars(
        select(Response.answer).where(Response.activity_id == quiz.activity_id))}
    # stored as source indexes, as before the codes
    right_indexes = {q["id"]: [j for j, o in enumerate(q["options"]) if o.get("correct")]
                     for q in quiz.definition["questions"]}
    assert stored[len(right_indexes)] == right_indexes


def test_another_learners_codes_or_source_indexes_choose_nothing(client, db: Session, auth, make_user,
                                                                 make_run) -> None:
    first, second = learners(db, make_user, make_run, 2)
    quiz = quiz_of(db)
    auth.login(first)
    firsts = choose(client.get(WB1).get_data(as_text=True), quiz.activity_id, quiz.definition)
    auth.logout()
    auth.login(second)
    indexes = {name: ["0", "1"] for name in firsts}
    for fields in (firsts, indexes):
        post(client, WB1, {**fields, "action": f"save:{quiz.activity_id}"})
        answer = db.scalar(select(Response.answer).where(Response.activity_id == quiz.activity_id)
                           .execution_options(populate_existing=True))
        assert answer["choices"] == {}


def test_codes_are_keyed_by_the_secret_and_the_learner() -> None:
    one, two = quizorder.learner_key("secret", 1), quizorder.learner_key("secret", 2)
    assert one != two and one != quizorder.learner_key("other secret", 1)
    pairs = quizorder.ordered(one, "quiz", "q1", 4)
    assert sorted(index for index, _code in pairs) == [0, 1, 2, 3]
    assert quizorder.decode(one, "quiz", "q1", 4, [pairs[0][1], "0", "nonsense"]) == [pairs[0][0]]
    assert quizorder.decode(two, "quiz", "q1", 4, [pairs[0][1]]) == []
    assert quizorder.encode(one, "quiz", "q1", [pairs[1][0]]) == [pairs[1][1]]
