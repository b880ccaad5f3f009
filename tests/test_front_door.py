"""The front door (issue 18): the institution's brand on every page, the catalogue
and the course page that sell the course, over HTTP on a real database."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shooc import create_app
from shooc.branding import Brand, brand, contrast, stylesheet

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
