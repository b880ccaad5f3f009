"""'Add to LinkedIn' on My badges: LinkedIn's documented add-to-profile link for the
certificate and each badge, a plain link (no script of LinkedIn's) opening in a new
tab, its fields read back by parsing the URL."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import TODAY, complete_and_submit
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.enrolment.services import enrol

SLUGS = ["the-mentors-role", "building-the-relationship", "observation-and-feedback",
         "smart-goal-setting", "mentoring-communities"]
LINK_RE = re.compile(r'<a class="linkedin-link" href="([^"]+)" target="_blank" rel="noopener noreferrer">')


def links(page: str) -> list[dict[str, list[str]]]:
    found = []
    for href in LINK_RE.findall(page):
        url = urlsplit(html.unescape(href))
        assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
        found.append(parse_qs(url.query))
    return found


def test_the_certificate_and_each_badge_can_be_added_to_linkedin(app, client, auth, db: Session, make_user,
                                                                  make_run, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SHOOC_INSTITUTION_NAME", "University of Northshire")
    run = make_run()
    user = make_user("learner", email="ada@example.org", name="Ada Lovelace")
    enrolment = enrol(db, run, user.id, TODAY)
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    db.commit()
    certificate = db.scalar(select(Certificate))
    auth.login(user)
    page = client.get("/badges").get_data(as_text=True)
    assert "linkedin.com/" not in "".join(re.findall(r"<script[^>]*>", page))  # no script of LinkedIn's
    found = links(page)
    assert len(found) == 6  # the certificate, then the five badges
    first = found[0]
    code = "-".join(certificate.code[i:i + 4] for i in range(0, 12, 4))
    assert first == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Certificate of completion: Mentoring trainee and early-career teachers"],
        "organizationName": ["University of Northshire"],
        "issueYear": [str(certificate.issued_on.year)], "issueMonth": [str(certificate.issued_on.month)],
        "certUrl": [f"http://localhost/certificates/{certificate.code}"], "certId": [code]}
    badges = {a.id: a for a in db.scalars(select(BadgeAssertion))}
    for entry in found[1:]:
        assertion = badges[entry["certId"][0]]
        assert entry["certUrl"] == [f"http://localhost/badges/assertions/{assertion.id}"]
        assert entry["name"][0].startswith("Mentoring ") and entry["organizationName"] == ["University of Northshire"]
        assert entry["issueMonth"] == [str(assertion.issued_on.month)]
    assert "(opens LinkedIn in a new tab)" in page


def test_a_revoked_certificate_is_not_offered(client, auth, db: Session, make_user, make_run) -> None:
    from shooc.badges.services import revoke_certificate

    run = make_run()
    user = make_user("learner", email="ada@example.org", name="Ada Lovelace")
    enrolment = enrol(db, run, user.id, TODAY)
    for slug in SLUGS:
        complete_and_submit(db, enrolment, slug)
    revoke_certificate(db, db.scalar(select(Certificate)), "Issued in error")
    db.commit()
    auth.login(user)
    found = links(client.get("/badges").get_data(as_text=True))
    assert len(found) == 5 and all("/badges/assertions/" in f["certUrl"][0] for f in found)
