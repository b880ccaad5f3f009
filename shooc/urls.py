"""The site's own origin, and which ``Host`` headers the app answers.

Absolute URLs go into e-mails (confirmation and reset links, announcements), badges
(assertion, BadgeClass and issuer ids), certificates (the printed URL and its QR
code) and the command line's output. A client chooses the ``Host`` header it sends,
so an absolute URL built from it would let a stranger put their own site into a
reset link sent to someone else, or into a stored file.

Decisions (issue 14):

- **Only hosts the instance knows are answered.** Flask's ``TRUSTED_HOSTS`` is the
  host of ``SHOOC_BASE_URL``, the names in ``SHOOC_TRUSTED_HOSTS`` (comma-separated,
  for a server reached under more than one name), and the machine's own loopback
  names (``localhost``, ``127.0.0.1``: the demo, a health check on the machine).
  Any other ``Host`` (after ProxyFix, the proxy's ``X-Forwarded-Host``) gets 400
  before any view runs. So a deployment that has not set ``SHOOC_BASE_URL`` answers
  only on loopback: behind nginx it must set ``SHOOC_BASE_URL`` (or name its hosts).
- **With ``SHOOC_BASE_URL`` every absolute URL is on it**, whatever the request said.
  Without it (the demo, the tests) a response may use the request's origin, which is
  by then one of the trusted loopback names; the command line, which has no
  request, uses ``DEMO_ORIGIN``, where ``make run`` serves.
- **Nothing built from a request's Host is stored.** The one stored document that
  prints a URL, the certificate PDF, is kept only when its URL comes from
  ``SHOOC_BASE_URL`` (``origin_is_configured``); otherwise it is drawn afresh on
  each download.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from shooc.branding import DEFAULT_BRAND, Brand, brand

#: Hosts a request may name on any instance: the machine itself.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: The origin of the command line's URLs when SHOOC_BASE_URL is not set (`make run`).
DEMO_ORIGIN = "http://127.0.0.1:5000"


def trusted_hosts(config: Mapping[str, Any]) -> list[str]:
    """Flask's TRUSTED_HOSTS for these settings (ports are not compared)."""
    hosts: list[str] = []
    base = config.get("SHOOC_BASE_URL")
    if base:
        hostname = urlsplit(base).hostname
        if not hostname:
            raise ValueError(f"SHOOC_BASE_URL must be an origin such as https://learn.example.ac.uk, not '{base}'")
        hosts.append(hostname)
    extra = config.get("SHOOC_TRUSTED_HOSTS") or ""
    names = extra if isinstance(extra, (list, tuple)) else str(extra).split(",")
    hosts += [name.strip().lower() for name in names if name.strip()]
    hosts += LOOPBACK_HOSTS
    return list(dict.fromkeys(hosts))


def origin_is_configured(config: Mapping[str, Any]) -> bool:
    """Whether absolute URLs come from the settings (so may be stored), not a request."""
    return bool(config.get("SHOOC_BASE_URL"))


def public_origin(config: Mapping[str, Any], request_origin: str | None = None) -> str:
    """The origin absolute URLs are built on: SHOOC_BASE_URL; else the origin of the
    request being answered (whose host TRUSTED_HOSTS has checked); else, outside any
    request, DEMO_ORIGIN."""
    base = config.get("SHOOC_BASE_URL")
    if base:
        return str(base).rstrip("/")
    if request_origin:
        return request_origin.rstrip("/")
    return DEMO_ORIGIN


@dataclass(frozen=True)
class SiteUrls:
    """Every absolute URL the site hands out beyond its own pages, on one origin:
    badge documents (issuer, BadgeClass, assertion, image), certificates, and the
    links of e-mails and of the command line's output. Made by ``site_urls`` (the
    command line, services) or ``shooc.web.site_urls`` (a request); no Flask here.

    The paths are the public URL interface (docs/urls.md), written once here;
    tests/test_docs.py checks each against the app's own URL map."""

    base: str  # an origin, no trailing slash
    #: the institution's name, logo and colour, for the e-mails these links go into
    brand: Brand = DEFAULT_BRAND

    @property
    def issuer(self) -> str:
        return f"{self.base}/badges/issuer"

    def badge_class(self, course_slug: str, workbook_slug: str) -> str:
        return f"{self.base}/badges/classes/{_part(course_slug)}/{_part(workbook_slug)}"

    def assertion(self, assertion_id: str) -> str:
        return f"{self.base}/badges/assertions/{_part(assertion_id)}"

    def certificate(self, code: str) -> str:
        return f"{self.base}/certificates/{_part(code)}"

    # Open Badges 3.0 (shooc/badges/credentials.py)
    def credential(self, assertion_id: str) -> str:
        return f"{self.base}/badges/credentials/{_part(assertion_id)}"

    def certificate_credential(self, code: str) -> str:
        return f"{self.certificate(code)}/credential"

    @property
    def credential_issuer(self) -> str:
        """The issuer of the 3.0 credentials: a controlled identifier document of its keys."""
        return f"{self.base}/badges/profile"

    def badge_key(self, kid: str) -> str:
        return f"{self.base}/badges/keys/{_part(kid)}"

    def status_list(self, number: int) -> str:
        return f"{self.base}/badges/status/{int(number)}"

    def asset(self, sha256: str, ext: str = "png") -> str:
        return f"{self.base}/assets/{_part(sha256)}.{_part(ext)}"

    def course(self, course_slug: str) -> str:
        return f"{self.base}/courses/{_part(course_slug)}"

    def workbook(self, course_slug: str, workbook_slug: str) -> str:
        return f"{self.base}/courses/{_part(course_slug)}/workbooks/{_part(workbook_slug)}"

    @property
    def dashboard(self) -> str:
        return f"{self.base}/dashboard"

    @property
    def account(self) -> str:
        return f"{self.base}/account/"

    def discussion(self, course_slug: str, workbook_slug: str) -> str:
        return f"{self.workbook(course_slug, workbook_slug)}/discussion"

    def post(self, post_id: int) -> str:
        return f"{self.base}/discussion/posts/{int(post_id)}"

    def run_calendar(self, run_slug: str) -> str:
        return f"{self.base}/runs/{_part(run_slug)}/sessions.ics"

    def calendar(self, token: str) -> str:
        return f"{self.base}/calendar/{_part(token)}.ics"

    @property
    def notifications(self) -> str:
        return f"{self.base}/notifications"

    def unsubscribe(self, token: str) -> str:
        """A notifications e-mail's one-click unsubscribe (RFC 8058)."""
        return f"{self.base}/notifications/unsubscribe/{_part(token)}"

    # LTI 1.3 (shooc/lti): what a platform's admin enters (docs/lti.md)
    @property
    def lti_login(self) -> str:
        return f"{self.base}/lti/login"

    @property
    def lti_launch(self) -> str:
        return f"{self.base}/lti/launch"

    @property
    def lti_jwks(self) -> str:
        return f"{self.base}/lti/jwks"

    @property
    def lti_deep_linking(self) -> str:
        return f"{self.base}/lti/deep-linking"

    def site_path(self, path: str) -> str:
        """A path of this site (``/...``, as stored with a notification), absolute."""
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"not a path of this site: {path!r}")
        return self.base + path


def _part(value: str) -> str:
    return quote(str(value), safe="")


def site_urls(config: Mapping[str, Any], request_origin: str | None = None) -> SiteUrls:
    """The site's absolute URLs, on ``public_origin``."""
    return SiteUrls(public_origin(config, request_origin), brand(config))


#: Paths whose last part is the secret of a link e-mailed to one person (confirm an
#: address, choose a new password, log in once; a calendar feed's token). Whoever reads a log must not be able
#: to use them, so logs keep the door and drop the key.
SECRET_LINK_PREFIXES = ("/auth/confirm/", "/auth/reset/", "/auth/login-link/", "/calendar/")
#: What a log shows in place of a link's secret.
HIDDEN = "-"


def path_for_logs(path: str) -> str:
    """A request path as logs may keep it: a secret link's token replaced by ``HIDDEN``
    (the query string is never given here: logs leave it out altogether)."""
    for prefix in SECRET_LINK_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + HIDDEN
    return path
