"""The front door (issue 18): the institution's brand on every page, the catalogue
and the course page that sell the course, over HTTP on a real database."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session

from conftest import TODAY, mentoring
from shooc import create_app
from shooc.branding import Brand, brand, contrast, stylesheet
from shooc.workbooks.loader import load_course

BRANDED = {
    "SHOOC_INSTITUTION_NAME": "Northfield University",
    "SHOOC_INSTITUTION_URL": "https://www.northfield.example.ac.uk",
    "SHOOC_BRAND_COLOUR": "#ffcc00",  # too light for text: darkened
    "SHOOC_CONTACT_EMAIL": "courses@northfield.example.ac.uk",
    "SHOOC_ACCESSIBILITY_URL": "https://www.northfield.example.ac.uk/accessibility",
    "SHOOC_PRIVACY_URL": "https://www.northfield.example.ac.uk/privacy",
}


@pytest.fixture
def branded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Brand:
    """The app, as if started with BRANDED (the brand is read once, at start-up)."""
    chosen = brand(BRANDED)
    monkeypatch.setitem(app.extensions, "shooc.brand", chosen)
    return chosen


# The brand, Flask-free -------------------------------------------------------------

def test_the_default_brand_is_shooc_in_its_own_blue() -> None:
    default = brand({})
    assert (default.name, default.colour, default.accent) == ("shooc", "#1f5f8b", "#1f5f8b")
    assert default.url is default.logo_url is default.contact_email is None


@pytest.mark.parametrize("colour", ["#ffcc00", "#fff", "#e0e0ff", "#00a0e0", "#1f5f8b", "#000000", "#ff0000"])
def test_any_brand_colour_gives_text_at_least_4_5_to_1_on_the_light_backgrounds(colour: str) -> None:
    chosen = brand({"SHOOC_BRAND_COLOUR": colour})
    for background in ("#ffffff", "#f4f6f9", "#eef2f7", chosen.accent_wash):
        assert contrast(chosen.accent, background) >= 4.5, (colour, background)
    assert contrast(chosen.accent_dark, "#ffffff") >= 4.5  # the header's white text
    assert chosen.colour == colour if len(colour) == 7 else chosen.colour == "#ffffff"


@pytest.mark.parametrize(("settings", "message"), [
    ({"SHOOC_BRAND_COLOUR": "blue"}, "SHOOC_BRAND_COLOUR must be a colour like #1f5f8b, not 'blue'"),
    ({"SHOOC_INSTITUTION_URL": "javascript:alert(1)"}, "SHOOC_INSTITUTION_URL"),
    ({"SHOOC_ACCESSIBILITY_URL": "www.example.org"}, "SHOOC_ACCESSIBILITY_URL"),
    ({"SHOOC_LOGO_URL": "http://example.org/logo.png"}, "SHOOC_LOGO_URL must be a path on this site"),
    ({"SHOOC_LOGO_URL": "//example.org/logo.png"}, "SHOOC_LOGO_URL must be a path on this site"),
    ({"SHOOC_CONTACT_EMAIL": "courses"}, "SHOOC_CONTACT_EMAIL is not an e-mail address"),
])
def test_a_wrong_setting_stops_the_app_naming_it(settings: dict, message: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=re.escape(message)):
        brand(settings)
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app({"SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "x", **settings})


# The brand on every page ---------------------------------------------------------

def test_every_page_carries_the_default_brand(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "<title>Courses · shooc</title>" in page
    assert re.search(r'<a class="brand" href="/">shooc</a>', page)
    assert 'href="/privacy">Privacy notice</a>' in page
    assert "Contact us" not in page and "Accessibility statement" not in page
    assert " style=" not in page and "<style" not in page  # the CSP forbids inline styles


def test_the_brand_colour_is_a_stylesheet_linked_by_its_hash(client: FlaskClient, branded: Brand) -> None:
    page = client.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="stylesheet" href="(/brand\.css\?v=([0-9a-f]{12}))">', page)
    assert link and link.group(2) == branded.stylesheet_version
    css = client.get(link.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "max-age=31536000" in css.headers["Cache-Control"]
    text = css.get_data(as_text=True)
    assert text == stylesheet(branded)
    assert "--brand: #ffcc00;" in text and f"--accent: {branded.accent};" in text
    assert branded.accent != "#ffcc00"
    # shooc.css comes first, so the brand's properties win
    assert page.index("shooc.css") < page.index("/brand.css")


def test_the_institution_names_every_page_and_its_footer_links_contact_accessibility_privacy(
        client: FlaskClient, branded: Brand) -> None:
    for path in ("/", "/auth/login", "/privacy", "/no-such-page"):
        page = client.get(path).get_data(as_text=True)
        assert "· Northfield University</title>" in page, path
        assert '<a class="brand" href="/">Northfield University</a>' in page, path
        assert '<a href="https://www.northfield.example.ac.uk">Northfield University</a>' in page, path
        assert '<a href="mailto:courses@northfield.example.ac.uk">Contact us</a>' in page, path
        assert '<a href="https://www.northfield.example.ac.uk/accessibility">Accessibility statement</a>' in page
        assert '<a href="https://www.northfield.example.ac.uk/privacy">Privacy notice</a>' in page
        assert "Runs on shooc" in page


def test_a_logo_on_another_site_is_shown_and_allowed_by_the_csp_for_images_only(
        client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.extensions, "shooc.brand",
                        brand({**BRANDED, "SHOOC_LOGO_URL": "https://cdn.northfield.example.ac.uk/logo.svg"}))
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert '<img class="brand-logo" src="https://cdn.northfield.example.ac.uk/logo.svg" alt="Northfield University">' in page
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.northfield.example.ac.uk;" in csp
    assert "style-src 'self';" in csp and "script-src 'self';" in csp


# course.md's front-door keys: checked, every problem with its file and line -------

def _problems(folder: Path) -> list[str]:
    result = load_course(folder)
    assert result.course is None
    return [str(p) for p in result.problems]


def _edit(folder: Path, old: str, new: str) -> int:
    """Replace ``old`` in course.md; the line where ``new`` starts."""
    path = folder / "course.md"
    text = path.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text)
    return text[:text.index(new)].count("\n") + 1


def test_the_shipped_course_has_a_picture_audience_duration_and_faq() -> None:
    course = mentoring()
    assert course.meta["image"] == "course.png" and course.meta["image_alt"].startswith("Two teachers")
    assert course.image("course.png").media_type == "image/png"
    assert course.meta["duration"] == "About 15 hours" and "mentor" in course.meta["audience"]
    assert len(course.meta["faq"]) >= 5 and all(set(q) == {"question", "answer"} for q in course.meta["faq"])


@pytest.mark.parametrize(("old", "new", "message"), [
    ("image: course.png", "image: images/missing.png", "image 'images/missing.png' not found in the course folder"),
    ("image: course.png", "image: https://example.org/a.png",
     "image 'https://example.org/a.png' is on another site: put the file in the course folder"),
    ("image: course.png", "image: ../elsewhere.png", "image '../elsewhere.png' is outside the course folder"),
    ("image: course.png", "image: [a, b]", "'image' must be the name of an image file of the course folder"),
    ("audience: >-", "audience: [teachers]\nformer_audience: >-", "'audience' must be text"),
    ("duration: About 15 hours", "duration:", None),  # empty: optional, falls back to the workbooks' hours
    ("faq:\n", "faq: Ask us\nold_faq:\n", "'faq' must be a list of questions, each with 'question' and 'answer'"),
    ("  - question: Does the course cost anything?\n    answer: No. The course, its badges and its certificate are free.",
     "  - question: Does the course cost anything?", "missing required key 'answer' in question 1 of 'faq'"),
    ("    answer: No. The course, its badges and its certificate are free.",
     "    hint: free\n    answer: No.", "unknown key 'hint' in question 1 of 'faq' (allowed: question, answer)"),
    ("  - question: Does the course cost anything?", "  - question: [1, 2]", "'question' of question 1 of 'faq' must be text"),
])
def test_bad_front_door_keys_are_named_with_their_line(course_copy: Path, old: str, new: str, message: str | None) -> None:
    line = _edit(course_copy, old, new)
    if message is None:
        assert load_course(course_copy).ok
        return
    found = _problems(course_copy)
    assert any(p.startswith(f"{course_copy}/course.md:{line}: ") and message in p for p in found), found


def test_a_picture_needs_its_description_and_a_description_needs_its_picture(course_copy: Path) -> None:
    text = (course_copy / "course.md").read_text()
    start, end = text.index("image_alt: >-"), text.index("audience:")
    (course_copy / "course.md").write_text(text[:start] + text[end:])
    line = text[:text.index("image: course.png")].count("\n") + 1
    assert _problems(course_copy) == [f"{course_copy}/course.md:{line}: 'image' needs 'image_alt': a sentence saying "
                                      "what the picture shows, for people who cannot see it"]
    (course_copy / "course.md").write_text(text.replace("image: course.png\n", ""))
    assert _problems(course_copy) == [f"{course_copy}/course.md:{line}: 'image_alt' describes the course's 'image': "
                                      "give 'image' too"]


def test_a_picture_that_is_not_what_its_name_says_is_refused(course_copy: Path) -> None:
    (course_copy / "course.png").write_bytes(b"GIF89a not a png")
    line = _edit(course_copy, "image: course.png", "image: course.png")
    assert _problems(course_copy) == [f"{course_copy}/course.md:{line}: image 'course.png' is not a PNG file"]


def test_a_new_picture_is_a_new_version(db: Session, publish, course_copy: Path) -> None:  # type: ignore[no-untyped-def]
    first = publish(course_copy).version
    (course_copy / "course.png").write_bytes((course_copy / "course.png").read_bytes() + b"\0")
    second = publish(course_copy).version
    assert second.number == first.number + 1 and second.meta["image_url"] != first.meta["image_url"]


# The catalogue and the course page ----------------------------------------------

def test_the_catalogue_sells_the_course_under_a_hero_with_the_institution(client: FlaskClient, make_run,
                                                                         branded: Brand) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=3), closes=TODAY + dt.timedelta(days=60), name="Spring run")
    page = client.get("/").get_data(as_text=True)
    hero = page[page.index('<section class="hero"'):page.index("</section>")]
    assert '<p class="eyebrow">Northfield University</p>' in hero and "Create your free account" in hero
    version = run.course.current_version
    image = re.search(r'<img class="course-picture" src="(/assets/[0-9a-f]{64}\.png)" alt="([^"]+)"', page)
    assert image and image.group(1) == version.meta["image_url"] and image.group(2).startswith("Two teachers talk")
    assert client.get(image.group(1)).mimetype == "image/png"
    assert "About 15 hours" in page and "5 workbooks, 5 badges" in page and "A certificate when you finish" in page
    assert f"<strong>Spring run</strong> is open: enrol any day until {run.closes_on:%-d %B %Y}" in page
    assert 'class="course-grid featured"' in page  # one course: a wide card, not one card over an empty row


def test_the_empty_catalogue_says_so_and_shows_leaders_how_to_publish(client: FlaskClient, auth, make_user) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/").get_data(as_text=True)
    assert 'class="empty-state"' in page and "No course has been published yet" in page
    assert "Publish a course" not in page
    auth.login(make_user(role="leader"))
    page = client.get("/").get_data(as_text=True)
    assert '<a class="button" href="/lead/publish">Publish a course</a>' in page


def test_the_course_page_shows_what_you_learn_who_it_is_for_how_long_badges_certificate_and_faq(
        client: FlaskClient, make_run) -> None:
    run = make_run(opens=TODAY - dt.timedelta(days=3), closes=TODAY + dt.timedelta(days=60), name="Spring run")
    version = run.course.current_version
    page = client.get("/courses/mentoring").get_data(as_text=True)
    assert f'src="{version.meta["image_url"]}" alt="{escape(version.meta["image_alt"])}"' in page
    assert "<h2 id=\"learn-heading\">What you will learn</h2>" in page
    for objective in version.meta["objectives"]:
        assert f"<li>{escape(objective)}</li>" in page
    assert "<h2 id=\"audience-heading\">Who it is for</h2>" in page and "professional tutors" in page
    assert "<dt>How long</dt><dd>About 15 hours</dd>" in page
    # the rolling programme, from the open run's dates
    assert f"Enrol any day from {TODAY:%-d %B %Y} until {run.closes_on:%-d %B %Y}" in page
    assert f"Submit everything by {run.closes_on:%-d %B %Y}" in page
    # five badges with their images and names
    badges = page[page.index('<ul class="badge-row"'):]
    badges = badges[:badges.index("</ul>")]
    for workbook in version.workbooks:
        assert f'<img src="{workbook.badge["image_url"]}" alt=""' in badges
        assert escape(workbook.badge["name"]) in badges
    # the certificate in miniature, as the PDF is laid out, and said in words
    assert '<p class="cm-title">Certificate of completion</p>' in page and '<p class="cm-name">Your name</p>' in page
    assert "Complete all 5 workbooks and you receive a certificate like this one" in page
    # the FAQ: questions that open on their answers, rendered Markdown
    assert page.count("<details>") == len(version.meta["faq"])
    assert "<summary>Does the course cost anything?</summary>" in page
    assert "An <strong>Open Badge</strong> for each workbook" in page


def test_faq_answers_are_sanitised_markdown_and_a_course_without_the_new_keys_still_reads_well(
        client: FlaskClient, publish, course_copy: Path) -> None:  # type: ignore[no-untyped-def]
    text = (course_copy / "course.md").read_text()
    start, end = text.index("image: course.png"), text.index("objectives:")
    text = text[:start] + text[end:]
    text = text.replace("    answer: No. The course, its badges and its certificate are free.",
                        "    answer: 'No. <script>alert(1)</script> [Read more](javascript:alert(2)) *Free*.'")
    (course_copy / "course.md").write_text(text)
    publish(course_copy)
    page = client.get("/courses/mentoring").get_data(as_text=True)
    assert "<script>alert" not in page and "javascript:" not in page and "<em>Free</em>" in page
    assert 'class="course-picture"' not in page and 'class="course-hero no-picture"' in page
    assert "<dt>How long</dt><dd>About 15 hours of study</dd>" in page  # the workbooks' hours added up
    assert "Who it is for" not in page
    assert "Create your account now; you can enrol as soon as a run opens." in page  # no run
