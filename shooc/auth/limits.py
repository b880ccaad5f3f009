"""Rate limits on the doors that attackers knock at: logging in, registering, asking
for a password reset and asking for a login link (Flask-Limiter), each counted per
address and per account; and the device cookie that keeps an account's owner from
being locked out by someone else's guesses (issue 14, item 3).

Decisions:

- Logging in counts only **failed** attempts (anything but the redirect of a
  successful login, an unconfirmed address included: it sends an e-mail). A school
  whose teachers all log in from one address in the same training session is never
  stopped. Past a limit even the right password is refused (otherwise the limit
  would tell a guesser when it had found it). Three limits, after OWASP's
  Authentication Cheat Sheet ("Account Lockout", "Blocking Brute Force Attacks"):

  - per account **and address**, 10 failures in 15 minutes: a guesser at one
    address is stopped at once, and stops nobody anywhere else;
  - per address, 30 failures in 5 minutes (any accounts): a guesser trying many
    accounts from one address;
  - per account from **all** addresses, 100 failures in an hour: guessing from
    many addresses stays bounded (at most 2,400 guesses a day, however many
    addresses). This is the only limit a stranger elsewhere can trip for someone
    else's account, and the owner does not meet it where they have logged in
    before: a browser that carries a valid **device cookie** for the account is
    exempt from this limit (never from the other two, so a stolen cookie still
    allows only 10 guesses in 15 minutes per address).

  Before issue 14 one limit counted per account from every address (10 in 15
  minutes), so anyone who knew an address could keep its owner out.
- The device cookie (``shooc_device``) is set on every successful login, by
  password or by any link that logs in (``start_session`` asks for it): signed with
  the secret key (itsdangerous, its own salt), it lists keyed hashes of the accounts
  that logged in in that browser (at most 5, the newest first: a school's shared
  computer), never an address. HttpOnly, SameSite=Lax, Secure when the request came
  over https (and with ``SHOOC_SECURE_COOKIES``), sent to ``/auth`` only, kept a
  year from the last login. A cookie signed with another key, altered, older than
  a year or listing other accounts exempts nobody. Logging out keeps it: it says
  which browser is the owner's, not who is logged in.
- A way in at once on a new device: every login refusal past a limit (the 429
  page) and the login page offer "e-mail me a link to log in" (``/auth/login-link``).
  Asking answers the same, and sends one e-mail, whether or not there is an account
  (``_send_no_account`` otherwise). The link works for 15 minutes and once: it is
  bound to the account's last login and password hash, and using it moves the last
  login on in one conditional UPDATE (``services.use_login_link``). Opening it (a
  GET, which mail scanners do) changes nothing; its page's button (a POST with its
  CSRF token) logs in and sets the device cookie, and never over someone else's
  session (409). An unconfirmed account gets no login link: whoever registered an
  address last set its password, which may not be the owner; it gets the message
  for an address without an account ready to use, which says to register again (its
  confirmation link then makes the account the owner's). Asking for a login link is
  limited like a reset: 5 an hour per account, 50 per address.
- Registering and asking for a reset send e-mail, so every attempt counts: per
  address 50 an hour (a room of teachers registering together), per account 5 an
  hour (nobody's inbox can be flooded from here). Changing the account's e-mail
  address (issue 18, ``account.change_email``, the one limited page outside
  ``/auth``) sends two: 5 an hour per address asked for, 5 an hour per logged-in
  account, 50 per network address.
- Accounts are keyed by a hash of the lower-cased e-mail address, never the address
  itself, and an account at an address by a hash of both: the counts may live in
  Redis, which is not where personal data belongs.
- Where the counts live: in each process's memory by default (each gunicorn worker
  counts alone, so the limits are per worker: fine on one machine), in Redis when
  ``SHOOC_REDIS_URL`` is set, shared by every worker of every server. If Redis goes
  away the limits fall back to memory rather than locking everyone out or failing
  the page, and go back to Redis when it returns.
- Addresses are the client's as the app sees it: behind nginx set
  ``SHOOC_PROXY_HOPS`` so that this is the visitor's address, not the proxy's.
- Only Flask-Limiter's public API (issue 15): each rule of ``RULES`` is a limit of
  the ``auth`` blueprint (``limiter.limit(...)(blueprint)``, the limiter's own record:
  the blueprint object, shared by every app of the process, is not changed), exempt
  on every page of it but its own endpoint; the counts' keys are those the views'
  decorators had (``<key>/<endpoint>``). Flask-Limiter hooks every request of the
  app (before, after, teardown) and offers no way to hook one blueprint's, so a
  ``request_filter`` lets every other page through before any limit is looked up.
  What remains costs a page outside ``/auth`` about 20-25 microseconds (measured with
  timeit on Flask-Limiter 4.1: 40 without the filter; a whole page of the test
  client is 300-350, a bare Flask request 110). Until issue 15 the hooks were moved
  by hand to the ``auth`` blueprint (nothing for other pages), which reached into
  Flask's hook lists and rewrote ``app.view_functions``, and so depended on how
  Flask-Limiter registers its hooks, which is not its API.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse as parse_limit

from shooc.auth.forms import LoginLinkForm
from shooc.auth.models import User
from shooc.auth.services import LOGIN_LINK_MINUTES

EXTENSION = "shooc.limiter"
DEVICE_COOKIE = "shooc_device"
DEVICE_DAYS = 365
DEVICE_ACCOUNTS = 5  # accounts one browser is remembered for (a shared computer)


def _typed_email() -> str:
    return (request.form.get("email") or "").strip().lower()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def by_address() -> str:
    return "address:" + get_remote_address()


def by_account() -> str:
    return "account:" + _hash(_typed_email())


def by_account_and_address() -> str:
    return "account-address:" + _hash(f"{_typed_email()}|{get_remote_address()}")


def by_user() -> str:
    """The logged-in account (for its own account page's forms), never its address."""
    return "user:" + _hash(str(current_user.get_id() or "").split(":", 1)[0])


def failed_login(response: Response) -> bool:
    return response.status_code != 302


# The device cookie -------------------------------------------------------------------

def _device_hash(email: str) -> str:
    """The account as the device cookie names it: keyed, so that the cookie's
    contents tell nobody which addresses logged in in that browser."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"device|" + email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="shooc-device")


def device_accounts() -> list[str]:
    """The accounts this browser's valid device cookie names (none without one)."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return []
    try:
        accounts = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        return []
    if not isinstance(accounts, list):
        return []
    return [a for a in accounts if isinstance(a, str)][:DEVICE_ACCOUNTS]


def on_a_known_device() -> bool:
    """Whether this browser has logged in to the account being logged in to before."""
    email = _typed_email()
    return bool(email) and _device_hash(email) in device_accounts()


def remember_device(user: User) -> None:
    """Have this request's answer (set) the device cookie for ``user``'s account."""
    g.shooc_device_account = _device_hash(user.email)


def _set_device_cookie(response: Response) -> Response:
    account = g.pop("shooc_device_account", None)
    if account is None:
        return response
    accounts = [account] + [a for a in device_accounts() if a != account]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(accounts[:DEVICE_ACCOUNTS]),
                        max_age=DEVICE_DAYS * 86400, path="/auth", httponly=True, samesite="Lax",
                        secure=request.is_secure or bool(current_app.config.get("SHOOC_SECURE_COOKIES")))
    return response


# The limits --------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    limit: str
    key: Callable[[], str]
    counts: Callable[[Response], bool] | None = None  # None: every POST counts
    exempt: Callable[[], bool] | None = None  # True: this request is not limited (nor counted) by the rule


#: endpoint -> its limits (POST requests only) and what it is, for the 429 page
RULES: dict[str, tuple[str, list[Rule]]] = {
    "auth.login": ("log in", [Rule("10 per 15 minutes", by_account_and_address, failed_login),
                              Rule("30 per 5 minutes", by_address, failed_login),
                              Rule("100 per hour", by_account, failed_login, exempt=on_a_known_device)]),
    "auth.register": ("register", [Rule("5 per hour", by_account), Rule("50 per hour", by_address)]),
    "auth.reset_request": ("ask for a password reset", [Rule("5 per hour", by_account),
                                                        Rule("50 per hour", by_address)]),
    "auth.login_link": ("ask for a link to log in", [Rule("5 per hour", by_account),
                                                     Rule("50 per hour", by_address)]),
    # the account page's change of address sends two e-mails: counted as a reset is,
    # per address asked for (nobody's inbox flooded), per logged-in account, per address
    "account.change_email": ("change your e-mail address", [Rule("5 per hour", by_account),
                                                            Rule("5 per hour", by_user),
                                                            Rule("50 per hour", by_address)]),
}
#: the blueprints whose pages RULES limits (every other request passes untouched)
LIMITED_BLUEPRINTS = frozenset(endpoint.split(".", 1)[0] for endpoint in RULES)


def init_app(app: Flask) -> Limiter:
    """A limiter of this app's own (not a module-level one: every app made in one
    process, as the tests make them, keeps its own storage), its limits those of the
    ``auth`` blueprint (registered before)."""
    redis_url = app.config.get("SHOOC_REDIS_URL")
    limiter = Limiter(
        key_func=by_address,
        storage_uri=redis_url or "memory://",
        key_prefix=app.config["SHOOC_REDIS_PREFIX"],
        in_memory_fallback_enabled=bool(redis_url),
        swallow_errors=True,  # a storage error is logged, never a failed page
        headers_enabled=False,
        strategy="fixed-window",
    )
    hooks: list[list[Any]] = [app.before_request_funcs.setdefault(None, []),
                              app.after_request_funcs.setdefault(None, []),
                              app.teardown_request_funcs.setdefault(None, [])]
    before = [list(functions) for functions in hooks]
    limiter.init_app(app)
    # Flask-Limiter's own functions before, after and at the end of a request look at
    # every request, and cost a fifth of a cached page's time even with the request
    # filter below (bench/README.md, issue 21): they run only for the blueprints RULES
    # limits (every limit, deduction and header of theirs is there).
    for functions, earlier, passes_response in zip(hooks, before, (False, True, False)):
        functions[:] = [f if f in earlier else _only_where_limited(f, passes_response) for f in functions]
    limiter.request_filter(_not_auth)
    for endpoint, (_, rules) in RULES.items():
        if endpoint not in app.view_functions:
            raise RuntimeError(f"shooc/auth/limits.py limits {endpoint}, which is not a page of the app")
        blueprint = app.blueprints[endpoint.split(".", 1)[0]]
        if not isinstance(blueprint, Blueprint):  # Flask types its record as the sans-I/O kind
            raise TypeError(f"the {endpoint} blueprint is a {type(blueprint).__name__}")
        for rule in rules:
            limiter.limit(rule.limit, key_func=rule.key, methods=["POST"], deduct_when=rule.counts,
                          exempt_when=_exempt_unless_at(endpoint, rule.exempt))(blueprint)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(429, _too_many)
    app.after_request(_set_device_cookie)
    return limiter


def _only_where_limited(hook: Callable[..., Any], passes_response: bool) -> Callable[..., Any]:
    """A request hook of Flask-Limiter's, for the limited blueprints only: elsewhere
    a before or teardown hook does nothing, an after hook passes the response on."""
    @functools.wraps(hook)
    def limited_pages_only(*args: Any) -> Any:
        if _not_auth():
            return args[0] if passes_response else None
        return hook(*args)
    return limited_pages_only


def _not_auth() -> bool:
    """Flask-Limiter's request filter: only the pages of the blueprints RULES names
    (``auth``, and ``account`` for its change of address) are limited, so every
    other request is let through before any limit is looked up."""
    return request.blueprint not in LIMITED_BLUEPRINTS


def _exempt_unless_at(endpoint: str, exempt: Callable[[], bool] | None) -> Callable[[], bool]:
    """A rule is given to its page's whole blueprint (Flask-Limiter's blueprint
    limits), so it exempts every page of it but its own, and its own as it says."""
    def exempt_when() -> bool:
        return request.endpoint != endpoint or (exempt is not None and exempt())
    return exempt_when


#: What the 429 page of the login says, by the limit that was reached ({wait}: "N minutes").
LOGIN_LIMITED = {
    "account-address": ("There have been too many failed attempts to log in with this e-mail address from "
                        "your address (your network). You can log in at once with a link we e-mail you, or "
                        "wait {wait} and try your password again."),
    "address": ("There have been too many failed attempts to log in from your address (your network, which "
                "the people of a school or office may share). You can log in at once with a link we e-mail "
                "you, or wait {wait} and try again."),
    "account": ("There have been too many failed attempts to log in with this e-mail address in the last hour, "
                "from many places: someone may be trying to guess its password. To keep the account safe, its "
                "password is accepted now only in a browser that has logged in to it before. Here, you can log "
                "in at once with a link we e-mail you, or wait {wait} and try again."),
}


def _limit_reached(request_args: list[str]) -> str | None:
    """Which of the login's limits a hit is (its key's kind: "account", ...)."""
    for arg in request_args:
        kind = arg.split(":", 1)[0] if ":" in arg else None
        if kind in LOGIN_LIMITED:
            return kind
    return None


def _too_many(error: Exception) -> Response:
    """The page past a limit: what was limited, how long to wait (also as Retry-After);
    past a login limit, what happened and the form that e-mails a link to log in."""
    hit = current_app.extensions[EXTENSION].current_limit
    # Flask-Limiter's reset_at is rounded up to the next whole second, so it can lie a
    # second past the rule's own window: the wait is never said to be longer than that.
    seconds = min(max(1, math.ceil(hit.reset_at - time.time())), hit.limit.get_expiry()) if hit is not None else 60
    minutes = max(1, math.ceil(seconds / 60))
    wait = f"{minutes} minute{'s' if minutes > 1 else ''}"
    if request.endpoint == "auth.login":
        kind = _limit_reached(hit.request_args) if hit is not None else None
        message = LOGIN_LIMITED[kind or "account-address"].format(wait=wait)
        form = LoginLinkForm(formdata=None, email=_typed_email())
        page = render_template("auth/too_many_logins.html", message=message, form=form, minutes=LOGIN_LINK_MINUTES)
    else:
        what = RULES.get(request.endpoint or "", ("do that", []))[0]
        message = (f"There have been too many attempts to {what} from your address or for this account. "
                   f"Please wait {wait} and try again.")
        page = render_template("error.html", code=429, title="Too many attempts", message=message)
    response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(seconds)
    return response


def reset(app: Flask) -> None:
    """Forget every count (tests start each from nothing, as after a restart)."""
    limiter: Any = app.extensions[EXTENSION]
    limiter.reset()


def unlock(app: Flask, email: str) -> None:
    """An admin lifts the limits counted against an account from every address (the
    100 failed logins an hour, and 5 resets, registrations or links an hour), for
    this app's storage: with Redis every server's, else this process's own. The
    limits per account *and address* are left: they stop a guesser at one address,
    never the owner elsewhere, and the owner can log in at once with a link."""
    limiter: Any = app.extensions[EXTENSION]
    account = "account:" + _hash(email.strip().lower())
    for endpoint, (_, rules) in RULES.items():
        for rule in rules:
            if rule.key is by_account:  # the identifiers Flask-Limiter counts under: prefix, key, endpoint
                limiter.limiter.clear(parse_limit(rule.limit), app.config["SHOOC_REDIS_PREFIX"], account, endpoint)
