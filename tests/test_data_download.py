"""The person's data download (/account/data.json) carries what they earned and
what became of their work: badges (assertion URLs), certificates (code, URL), their
posts, the course team's feedback and the workbooks handed back."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.community import services as community
from shooc.enrolment.services import enrol
from shooc.lead import review

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]


def test_the_download_lists_badges_certificates_posts_feedback_and_hand_backs(
        client, auth, db: Session, make_user, make_run) -> None:
    run = make_run(name="Autumn run")
    me = make_user("learner", email="me@example.org", name="Mia Me")
    leader = make_user("leader", email="lead@example.org", name="Lee Leader")
    enrolment = enrol(db, run, me.id, TODAY)
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    first = db.scalar(select(Certificate))
    review.return_workbook(db, leader, enrolment, SLUGS[0], "Please say more about your mentee.")
    complete_and_submit(db, enrolment, SLUGS[0])  # submitted again: a new badge and certificate
    review.give_feedback(db, leader, enrolment, SLUGS[1], "Well observed.")
    community.write_post(db, community.member(db, me, run), SLUGS[0], "My post about roles")
    db.commit()

    auth.login(me)
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))
    mine = data["enrolments"][0]
    badges = mine["badges"]
    assert len(badges) == 6 and all(b["assertion"].startswith("http://localhost/badges/assertions/") for b in badges)
    assert {b["assertion"].rsplit("/", 1)[1] for b in badges} == set(db.scalars(select(BadgeAssertion.id)))
    revoked = [b for b in badges if b["revoked_at"]]
    assert [b["workbook"] for b in revoked] == [SLUGS[0]] and "Please say more" in revoked[0]["revocation_reason"]
    certificates = mine["certificates"]
    assert len(certificates) == 2
    codes = {c.code: c for c in db.scalars(select(Certificate))}
    for entry in certificates:
        code = entry["code"].replace("-", "")
        assert code in codes and entry["url"] == f"http://localhost/certificates/{code}"
        assert entry["holder_name"] == "Mia Me"
    assert [c["revoked_at"] is not None for c in certificates] == [True, False]
    assert certificates[0]["code"].replace("-", "") == first.code
    assert mine["handed_back"] == [{
        "workbook": SLUGS[0], "submitted_at": mine["handed_back"][0]["submitted_at"],
        "returned_at": mine["handed_back"][0]["returned_at"], "reason": "Please say more about your mentee.",
        "returned_by": "Lee Leader"}]
    assert [(f["workbook"], f["text"], f["by"]) for f in mine["feedback"]] == [(SLUGS[1], "Well observed.", "Lee Leader")]
    assert [p["text"] for p in data["posts"]] == ["My post about roles"]


def test_nobody_elses_credentials_are_in_the_download(client, auth, db: Session, make_user, make_run) -> None:
    run = make_run()
    me = make_user("learner", email="me@example.org", name="Mia Me")
    other = make_user("learner", email="other@example.org", name="Otto Other")
    theirs = enrol(db, run, other.id, TODAY)
    enrol(db, run, me.id, TODAY)
    complete_and_submit(db, theirs, SLUGS[0])
    db.commit()
    auth.login(me)
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))
    assert data["enrolments"][0]["badges"] == [] and data["enrolments"][0]["certificates"] == []
    assert db.scalar(select(BadgeAssertion.id)) not in json.dumps(data)
