"""What every page shares: CSRF, login manager, role checks, security headers, errors."""
from __future__ import annotations

import datetime as dt
import functools
import hmac
from collections import OrderedDict
from typing import Any, Callable, cast

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import SecurityError
from werkzeug.local import LocalProxy
from werkzeug.routing import IntegerConverter, Map

from shooc import branding, course_team, jobs
from shooc.auth.models import Role, User
from shooc.community.notifications import unread_of_user
from shooc.db import database_unreachable
from shooc.enrolment.models import Run
from shooc.enrolment.runs import find_run
from shooc.mail import Mailer
from shooc.mailqueue import DELIVERY_JOB
from shooc.unit_of_work import get_db, get_session
from shooc.urls import SiteUrls, path_for_logs, public_origin
from shooc.urls import site_urls as site_urls_for
from shooc.workbooks.fragments import activity_parts, body_html, contents_html
from shooc.workbooks.models import Course
from shooc.workbooks.render import scrolling_tables

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"

# No inline script or style anywhere (DESIGN.md §2): the policy can be strict.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SessionSignedEachMinute(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose sliding idle timeout (a permanent session
    re-signed on every response, SESSION_REFRESH_EACH_REQUEST) re-signs the cookie at
    most once a minute: signing and sending a new cookie was a fixed cost of every
    logged-in request (bench/README.md). A session changed in the request is signed
    as always. The idle timeout is then up to a minute early, never late (the
    cookie's signing time is what its max age is measured from). Nothing that ends
    a login depends on it: logging out elsewhere, a new password, a disabled account
    or a changed role are checked against the database on every request
    (``_load_user``, ``roles_required``)."""

    RESIGN_AFTER_SECONDS = 60

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()),
                                               return_timestamp=True)
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.shooc_signed_at = signed_at  # type: ignore[attr-defined]
        return opened

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, made once for the app's keys, not for every request
        (making it was a tenth of an anonymous page's time: bench/README.md)."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made: tuple[Any, URLSafeTimedSerializer | None] | None = getattr(self, "_shooc_serializer", None)
        if made is None or made[0] != keys:
            made = (keys, super().get_signing_serializer(app))
            self._shooc_serializer = made
        return made[1]

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "shooc_signed_at", None)
        return signed_at is None or (dt.datetime.now(dt.timezone.utc) - signed_at).total_seconds() \
            >= self.RESIGN_AFTER_SECONDS


class SignedCsrfTokens:
    """The signed CSRF token of each session, kept per process (at most ``SIZE``,
    the least recently used dropped). Flask-WTF signs the session's raw token anew
    for every page that has a form, and the header's logout form puts one on every
    logged-in page; with WTF_CSRF_TIME_LIMIT=None the token lives as long as its
    session, so a token signed once for a raw token stays right for it. A request
    whose session has a known raw token starts with its signed one in ``g`` (where
    Flask-WTF looks first); a token signed during a request is remembered after it.
    Validation is Flask-WTF's own, untouched."""

    SIZE = 10_000
    FIELD = "csrf_token"  # WTF_CSRF_FIELD_NAME's default, which shooc keeps

    def __init__(self) -> None:
        self.signed: OrderedDict[str, str] = OrderedDict()

    def before(self) -> None:
        raw = session.get(self.FIELD)
        if isinstance(raw, str) and (signed := self.signed.get(raw)) is not None:
            setattr(g, self.FIELD, signed)
            try:
                self.signed.move_to_end(raw)
            except KeyError:  # dropped by another thread just now
                pass

    def after(self, response: Response) -> Response:
        raw, signed = session.get(self.FIELD), g.get(self.FIELD)
        if isinstance(raw, str) and isinstance(signed, str) and raw not in self.signed:
            self.signed[raw] = signed
            if len(self.signed) > self.SIZE:
                self.signed.popitem(last=False)
        return response


class SecureCookiesOverHttps:
    """WSGI middleware: on a request that came over https, every cookie the app sets
    (the session, "keep me logged in") is marked ``Secure``, so that a browser never
    sends it over plain http. Behind a proxy the scheme is the one ProxyFix believed
    (SHOOC_PROXY_HOPS), so this wraps the app inside ProxyFix. Over plain http (a
    developer's machine, the test client) cookies stay as they are, or the browser
    would drop them; SHOOC_SECURE_COOKIES=1 marks them Secure whatever the scheme
    (Flask's SESSION_COOKIE_SECURE), for a proxy that does not say it used https.
    nginx's ``proxy_cookie_flags`` (deploy/nginx.conf) does the same once more."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [(name, _secure(value) if name.lower() == "set-cookie" else value)
                                           for name, value in headers], exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _secure(set_cookie: str) -> str:
    attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    return set_cookie if "secure" in attributes else set_cookie + "; Secure"


# Ids are INTEGER columns: PostgreSQL refuses a larger number in a query (a 500, not a
# 404), SQLite does not. Every <int:...> of a URL and every number read from a query
# string stays within them.
MAX_ID = 2**31 - 1

#: The session key of a draft kept while its writer logs in (the workbook view of
#: enrolment sets it, the login keeps it: shooc.auth.views.start_session).
PENDING_DRAFT_KEY = "pending_draft"


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number no row can have matches no page (404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def int_arg(value: str) -> int:
    """``type=`` for ``request.args.get``: a whole number an INTEGER column can hold
    (else ValueError, and ``get`` gives its default)."""
    number = int(value)
    if not -MAX_ID - 1 <= number <= MAX_ID:
        raise ValueError(f"{value} is out of range")
    return number


#: The logged-in person and their unread notifications (the header's count) in one
#: statement, built once: every logged-in page needs both.
_USER_WITH_UNREAD = select(User, unread_of_user()).where(User.id == bindparam("user_id"))


_COURSE_OF_SLUG = select(Course).where(Course.slug == bindparam("slug"))


@login_manager.user_loader
def _load_user(cookie_id: str) -> User | None:
    """The login cookie holds "<id>:<session token>"; a token the user no longer has
    (they logged out elsewhere, or changed their password) logs nobody in. Read on
    every request, so a role changed or an account deactivated counts at once."""
    user_id, _, token = cookie_id.partition(":")
    if g.get("shooc_database_unreachable"):  # the 503 page, drawn for a visitor
        return None
    if not user_id.isdigit() or not token or int(user_id) > MAX_ID:
        return None
    row = get_session().execute(_USER_WITH_UNREAD, {"user_id": int(user_id)}).first()
    if row is None:
        return None
    user, unread = row
    if not hmac.compare_digest(user.session_token, token) or not user.is_active:
        return None
    g.unread_notifications = unread
    return user


def run_or_404(slug: str) -> Run:
    """The run of a URL's ``<slug>`` (its course loaded), or 404."""
    return find_run(get_session(), slug) or abort(404)


def published_course_or_404(slug: str) -> Course:
    """The course of a URL's ``<course_slug>``, if it has a published version, or 404."""
    course = get_session().scalar(_COURSE_OF_SLUG, {"slug": slug})
    if course is None or course.current_version_id is None:
        abort(404)
    return course


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Anonymous people are sent to log in; the wrong role gets 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def course_team_gate(course_id: int | None) -> ResponseReturnValue | None:
    """The course team's pages: anonymous people are sent to log in (returned); leaders
    and admins pass; someone who leads courses through LTI passes for one of those
    (``course_id``) and gets 403 for any other, or for a page of no one course (None);
    everybody else gets 403. See shooc.course_team."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if course_team.leads_every_course(current_user):
        return None
    if course_id is None or not course_team.leads_course(get_session(), current_user, course_id):
        abort(403)
    return None


def course_team_of(course_of: Callable[..., int | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view for the team of one course: ``course_of(**view_args)`` names it (None:
    not found, refused to all but leaders and admins, whose view then says 404)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            course_id = course_of(**kwargs) if current_user.is_authenticated else None
            refused = course_team_gate(course_id)
            return refused if refused is not None else view(*args, **kwargs)

        return wrapped

    return decorator


def course_of_run(slug: str, **_: Any) -> int | None:
    """The course of a URL's run ``<slug>``."""
    return get_session().scalar(select(Run.course_id).where(Run.slug == slug))


def course_of_slug(course_slug: str, **_: Any) -> int | None:
    return get_session().scalar(select(Course.id).where(Course.slug == course_slug))


def nul_in_request() -> bool:
    """Whether the address, the query, a form field or an uploaded file's name holds a
    NUL character. No text column of PostgreSQL can store one (psycopg refuses the
    whole statement), no browser sends one from a text box, and WTForms would pass it
    to the services: so it is refused once, here, for every view and both databases.
    File contents are not text and are not looked at."""
    form = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    if not form and not request.query_string:  # most requests: the address alone
        return "\x00" in request.path
    values = [request.path, *(v for item in request.args.items(multi=True) for v in item)]
    if form:
        values += [v for item in request.form.items(multi=True) for v in item]
        values += [name for upload in request.files.values() for name in (upload.filename or "", upload.name or "")]
    return any("\x00" in value for value in values)


def from_this_site() -> bool:
    """Whether the browser says one of this site's own pages sent the request: its
    ``Sec-Fetch-Site`` is ``same-origin`` and its ``Origin``, if sent, is this site.
    Browsers send both on every form post (Origin on cross-site ones at least); a
    request with neither did not come from a page of ours in a current browser. For
    posts that no CSRF token can protect (a session that has ended has none)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin in {request.host_url.rstrip("/"), public_origin(current_app.config, request.host_url)}
    return fetch_site == "same-origin"


def mailer() -> Mailer:
    return current_app.extensions["shooc.mail"]


def job_environment(app: Flask | None = None) -> jobs.Environment:
    """What a background job runs with: this app's database and settings."""
    app = app or the_app()
    return jobs.Environment(get_db(app), app.config, app.instance_path)


def start_job(job_id: int) -> None:
    """Hand a queued job to the runner (SHOOC_JOB_RUNNER), once the request has
    committed it: a runner in another process could not see it before. Should the
    runner be out of reach (Redis down), the job stays queued and is started by
    recovery (shooc/jobs.py) once it is stale: the request that queued it succeeds."""
    try:
        jobs.dispatch(job_environment(), job_id)
    except Exception:  # noqa: BLE001 (any failure to reach the runner)
        current_app.logger.exception("job %s is queued but its runner could not be reached", job_id)


def commit_and_deliver(emailed: int) -> None:
    """Commit the request's work with a job that delivers the mail queue (the ``emailed``
    messages it just queued: announcements, messages, live sessions), then start it.
    Nothing is read after the commit: the job may need SQLite's write lock at once."""
    delivery = jobs.create(get_session(), DELIVERY_JOB, total=emailed, created_by_id=current_user.id).id
    get_session().commit()
    start_job(delivery)


def the_app() -> Flask:
    """The application itself rather than the ``current_app`` proxy (which Flask types
    as the Flask it stands for): for a thread that outlives the request."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def site_urls() -> SiteUrls:
    """The site's absolute URLs (shooc/urls.py) on its origin: SHOOC_BASE_URL, or
    this request's (a trusted host); outside a request, the command line's."""
    return site_urls_for(current_app.config, request.host_url if has_request_context() else None)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of any page, for e-mails (confirmation and reset links), on
    the same origin as ``site_urls``."""
    return site_urls().base + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered (their routes take the id converter)."""
    app.url_map.converters["int"] = IdConverter
    csrf.init_app(app)
    login_manager.init_app(app)
    app.extensions["shooc.mail"] = Mailer.from_config(app.config, app.instance_path)
    app.extensions["shooc.brand"] = branding.brand(app.config)
    app.add_url_rule("/brand.css", "brand_stylesheet", brand_stylesheet)
    app.permanent_session_lifetime = dt.timedelta(hours=int(app.config["SHOOC_SESSION_HOURS"]))
    app.session_interface = SessionSignedEachMinute()
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
    if app.config.get("WTF_CSRF_TIME_LIMIT") is None:  # else a signed token's age matters
        tokens = SignedCsrfTokens()
        app.before_request(tokens.before)
        app.after_request(tokens.after)
    app.context_processor(_roles)
    app.add_template_filter(scrolling_tables)  # on rendered Markdown: {{ html|scrolling_tables }}
    app.add_template_global(activity_parts)  # an activity's fixed HTML, rendered once (learn/_activity.html)
    app.add_template_global(body_html)  # a workbook's text, its tables wrapped once (learn/workbook.html)
    app.add_template_global(contents_html)  # a workbook's contents, rendered once (learn/workbook.html)
    _register_error_pages(app)


def _refuse_nul() -> None:
    if nul_in_request():
        abort(400, description="The form contained a NUL character, which cannot be stored. Nothing was saved: "
                               "go back, remove it (it is often pasted from another program) and send again.")


@functools.lru_cache(maxsize=16)
def content_security_policy(brand: branding.Brand) -> str:
    """The policy, with the logo's origin among the images' if it is on another site."""
    origins = branding.content_security_origins(brand)
    if not origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:", "img-src 'self' data: " + " ".join(origins))


def site_brand() -> branding.Brand:
    """The institution's brand (shooc/branding.py), read from the settings at start-up."""
    return cast(branding.Brand, current_app.extensions["shooc.brand"])


def _security_headers(response: Response) -> Response:
    headers = response.headers
    # the names already set, read once (each setdefault on werkzeug's Headers scans
    # them all: a fifth of the fixed cost of a response, bench/README.md issue 21)
    present = {name.lower() for name, _ in headers.items()}
    policy = headers.get("Content-Security-Policy") if "content-security-policy" in present else None
    if policy is None:
        policy = content_security_policy(site_brand())
        headers.add("Content-Security-Policy", policy)
    if "x-content-type-options" not in present:
        headers.add("X-Content-Type-Options", "nosniff")
    if "referrer-policy" not in present:
        headers.add("Referrer-Policy", "same-origin")
    if "frame-ancestors 'none'" in policy and "x-frame-options" not in present:
        # (a page an LTI platform may frame names its origins there instead: shooc/lti/views.py)
        headers.add("X-Frame-Options", "DENY")
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", "max-age=31536000")
    if "cache-control" not in present and "_user_id" in session:
        # A logged-in person's pages (answers, participants, figures) are kept by
        # no cache: not a proxy's, nor the browser's of a shared staff-room computer
        # once they have logged out. Pages and files that set their own policy keep it.
        response.headers["Cache-Control"] = "no-store"
    return response


def _roles() -> dict[str, Any]:
    return {"Role": Role, "brand": site_brand()}


def brand_stylesheet() -> ResponseReturnValue:
    """``/brand.css``: the brand colour as CSS custom properties (no inline style: the
    CSP forbids them). Linked as ``/brand.css?v=<hash>``, so it may be kept for a year."""
    response = Response(branding.stylesheet(site_brand()), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=31536000"
    return response


def _register_error_pages(app: Flask) -> None:
    app.register_error_handler(400, _error_page(400, "Bad request", "The request could not be understood."))
    app.register_error_handler(SecurityError, untrusted_host)
    app.register_error_handler(CSRFError, _error_page(
        400, "Form expired", "The form had expired or was sent from another site. Go back, reload the page and "
        "try again; what you typed is still in the form if your browser kept it."))
    app.register_error_handler(403, _error_page(403, "Not allowed", "Your account does not give access to this page."))
    app.register_error_handler(404, _error_page(404, "Not found", "There is no page at this address."))
    app.register_error_handler(405, _error_page(405, "Not allowed", "This page cannot be used that way."))
    app.register_error_handler(413, _too_large)
    app.register_error_handler(500, _error_page(500, "Something went wrong",
                                               "The error has been logged. Please try again later."))
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeoutError, database_unavailable)


def _error_page(code: int, title: str, message: str) -> Callable[[Exception], ResponseReturnValue]:
    """A handler that draws the site's error page for ``code``."""
    def handler(error: Exception) -> ResponseReturnValue:
        # an abort() of ours may say more than the generic message (werkzeug's own
        # descriptions are left out: they are written for developers)
        said = getattr(error, "description", None)
        default = getattr(type(error), "description", None)
        text = said if said and said != default and not isinstance(error, CSRFError) else message
        return render_template("error.html", code=code, title=title, message=text), code
    return handler


def _too_large(error: Exception) -> ResponseReturnValue:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    size = f" ({limit / (1024 * 1024):.3g} MB)" if limit else ""
    return render_template("error.html", code=413, title="Too large", message=(
        f"What was sent is larger than this site accepts{size}. Nothing was saved: go back and send a smaller "
        "file, or split a long text.")), 413


def untrusted_host(error: Exception) -> ResponseReturnValue:
    """A Host header the site does not answer to (TRUSTED_HOSTS, shooc/urls.py): plain
    text, since no URL of the site can be built for that host (nor a page drawn)."""
    return ("This site does not answer to that host name.\n", 400,
            {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})


#: Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER_SECONDS = 10


def log_database_unavailable(error: Exception) -> None:
    """One line, no traceback: an outage is the database's, not a bug of the page's."""
    current_app.logger.warning("database unavailable for %s %s: %s", request.method, path_for_logs(request.path),
                               getattr(error, "orig", None) or error)


def database_unavailable(error: Exception) -> ResponseReturnValue:
    """The database is down, restarting or failing over (a connection refused or cut,
    a pool with no free connection, SQLite's write lock not granted in time): 503
    with Retry-After, and a page that says so, never a traceback. Whatever the
    request had not committed is rolled back (its session is closed when the
    request ends). On a disconnect SQLAlchemy has marked the connection and the
    pool invalid, so the next request connects afresh: nothing needs restarting.
    Any other OperationalError (SQLite's "no such column") is a bug: raised again,
    it is the 500 page and its traceback is logged (shooc.db.database_unreachable)."""
    if not database_unreachable(error):
        raise error
    log_database_unavailable(error)
    # The page is drawn as for a visitor: base.html asks who is logged in, and
    # finding out needs the database that just failed. Flask-Login's context
    # processor asks on every page, so the user loader is told not to look
    # (_load_user), and base.html not to show a person loaded before the failure.
    g.shooc_database_unreachable = True
    body = render_template("error.html", code=503, title="Temporarily unavailable", drawn_for_a_visitor=True,
                           message=("The site cannot reach its database just now. Please try again in a minute; "
                                    "if you were sending a form, go back: your browser still has what you typed."))
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
