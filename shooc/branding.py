"""The institution's brand: its name, logo, colour and footer, from configuration.

Pure: a mapping of settings in, a frozen ``Brand`` out (no Flask). The web layer
puts it in every template (``brand``, a context processor in ``shooc/web.py``) and
serves its colours as a stylesheet, ``/brand.css``; e-mails (``shooc/emails.py``)
draw their layout with the same values.

Decisions:

- **The colour reaches the CSS through a stylesheet, never an inline style.** The
  Content Security Policy is ``style-src 'self'`` (``shooc.web.CONTENT_SECURITY_POLICY``):
  a ``style`` attribute or ``<style>`` element would be refused, and a data attribute
  cannot set a custom property without a script. So ``/brand.css`` (``stylesheet``)
  sets ``--accent``, ``--accent-dark`` and ``--accent-wash`` on ``:root`` after
  ``shooc.css``, whose rules read only those properties. Its URL carries a hash of
  its text, so browsers keep it for a year and a new colour is a new URL.
- **Whatever colour is configured, text stays readable (WCAG AA).** The accent is
  used for links on the page's light greys and for white text on buttons; a colour
  too light for 4.5:1 against the lightest of those backgrounds is darkened (mixed
  with black, in small steps) until it reaches it. ``colour`` keeps what was
  configured (the logo strip, the e-mails' rule), ``accent`` is what text uses.
- **Bad settings stop the app at start-up**, naming the setting: a colour that is
  not ``#rgb``/``#rrggbb``, an address that is not https:// or http://, an e-mail
  address without ``@``.
- **The logo** is a path on this site (``/static/...``, or one nginx serves) or an
  https address; the CSP's ``img-src`` then takes that address's origin too
  (``content_security_origins``). E-mails use its absolute form.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from shooc.webaddress import web_address_problem

DEFAULT_NAME = "shooc"
#: The accent shooc has always had (a dark blue, 7:1 on white).
DEFAULT_COLOUR = "#1f5f8b"

#: Settings, with their defaults (merged into shooc.config.DEFAULTS).
BRAND_SETTINGS: dict[str, Any] = {
    "SHOOC_INSTITUTION_NAME": DEFAULT_NAME,  # the site's name: header, page titles, e-mails
    "SHOOC_INSTITUTION_URL": None,  # the institution's own site, linked from the footer
    "SHOOC_LOGO_URL": None,  # a path on this site or an https address; none: the name in text
    "SHOOC_BRAND_COLOUR": DEFAULT_COLOUR,  # hex; darkened where text needs it (AA)
    "SHOOC_CONTACT_EMAIL": None,  # the footer's and e-mails' contact address
    "SHOOC_ACCESSIBILITY_URL": None,  # the institution's accessibility statement
    "SHOOC_PRIVACY_URL": None,  # its privacy notice; none: the site's own /privacy page
}

_HEX_RE = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
#: The lightest-but-one background accent text stands on (shooc.css --accent-wash is
#: mixed from the accent itself, lighter than this grey-blue): 4.5:1 against it.
_LIGHTEST_BACKGROUND = "#eef2f7"
_AA = 4.5
WASH = 0.92  # how much white the tinted background is


@dataclass(frozen=True)
class Brand:
    name: str
    url: str | None
    logo_url: str | None
    colour: str  # as configured, #rrggbb
    accent: str  # the colour text and buttons use: 4.5:1 or more on the page's light backgrounds
    accent_dark: str  # hover, the header
    accent_wash: str  # light backgrounds tinted with the brand (hero, notes)
    contact_email: str | None
    accessibility_url: str | None
    privacy_url: str | None

    @property
    def stylesheet_version(self) -> str:
        return hashlib.sha256(stylesheet(self).encode()).hexdigest()[:12]


def brand(config: Mapping[str, Any]) -> Brand:
    """The brand the settings describe (``ValueError`` naming the setting if one is wrong)."""
    def setting(key: str) -> str | None:
        value = config.get(key, BRAND_SETTINGS[key])
        return str(value).strip() or None if value is not None else None

    name = setting("SHOOC_INSTITUTION_NAME") or DEFAULT_NAME
    colour = normalise_colour(setting("SHOOC_BRAND_COLOUR") or DEFAULT_COLOUR)
    for key in ("SHOOC_INSTITUTION_URL", "SHOOC_ACCESSIBILITY_URL", "SHOOC_PRIVACY_URL"):
        value = setting(key)
        if value is not None and (problem := web_address_problem(value)) is not None:
            raise ValueError(f"{key} {problem}")
    logo = setting("SHOOC_LOGO_URL")
    if logo is not None and not logo.startswith("/") and (problem := web_address_problem(logo, ("https",))) is not None:
        raise ValueError(f"SHOOC_LOGO_URL must be a path on this site (/static/logo.svg) or an https address: "
                         f"it {problem}")
    if logo is not None and logo.startswith("//"):
        raise ValueError("SHOOC_LOGO_URL must be a path on this site (/static/logo.svg) or an https address")
    email = setting("SHOOC_CONTACT_EMAIL")
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise ValueError(f"SHOOC_CONTACT_EMAIL is not an e-mail address: '{email}'")
    accent = readable_on(colour, _LIGHTEST_BACKGROUND)
    while contrast(accent, mix(accent, "#ffffff", WASH)) < _AA:  # and on its own wash
        accent = mix(accent, "#000000", 0.02)
    return Brand(
        name=name, url=setting("SHOOC_INSTITUTION_URL"), logo_url=logo, colour=colour, accent=accent,
        accent_dark=mix(accent, "#000000", 0.25), accent_wash=mix(accent, "#ffffff", WASH),
        contact_email=email, accessibility_url=setting("SHOOC_ACCESSIBILITY_URL"),
        privacy_url=setting("SHOOC_PRIVACY_URL"),
    )


def normalise_colour(value: str) -> str:
    match = _HEX_RE.match(value.strip())
    if not match:
        raise ValueError(f"SHOOC_BRAND_COLOUR must be a colour like #1f5f8b, not '{value}'")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(colour: str, other: str, amount: float) -> str:
    """``colour`` with ``amount`` (0-1) of ``other`` mixed in."""
    return "#" + "".join(f"{round(a + (b - a) * amount):02x}" for a, b in zip(_rgb(colour), _rgb(other)))


def readable_on(colour: str, background: str, ratio: float = _AA) -> str:
    """``colour``, darkened just enough to reach ``ratio`` against ``background``."""
    darker = colour
    step = 0
    while contrast(darker, background) < ratio and step < 100:
        step += 1
        darker = mix(colour, "#000000", step / 100)
    return darker


def stylesheet(b: Brand) -> str:
    """``/brand.css``: the brand's custom properties, read by every rule of shooc.css."""
    return (":root {\n"
            f"  --brand: {b.colour};\n"
            f"  --accent: {b.accent};\n"
            f"  --accent-dark: {b.accent_dark};\n"
            f"  --accent-wash: {b.accent_wash};\n"
            "}\n")


def content_security_origins(b: Brand) -> tuple[str, ...]:
    """Origins the pages' images may come from besides this site: the logo's."""
    if b.logo_url and not b.logo_url.startswith("/"):
        parts = urlsplit(b.logo_url)
        return (f"{parts.scheme}://{parts.netloc}",)
    return ()


#: The brand of an instance that sets none of the settings.
DEFAULT_BRAND = brand({})
