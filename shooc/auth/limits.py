"""Rate limits on the doors that attackers knock at: logging in, registering and
asking for a password reset (Flask-Limiter), each counted per address and per account.

Decisions:

- Logging in counts only **failed** attempts (anything but the redirect of a
  successful login, an unconfirmed address included: it sends an e-mail). A school
  whose teachers all log in from one address in the same training session is never
  stopped; guessing passwords is: 10 failures for one account in 15 minutes lock
  that account for the rest of the window (the right password included: otherwise
  the limit would tell a guesser when it had found it), 30 failures from one address
  in 5 minutes stop that address.
- Registering and asking for a reset send e-mail, so every attempt counts: per
  address 50 an hour (a room of teachers registering together), per account 5 an
  hour (nobody's inbox can be flooded from here).
- Accounts are keyed by a hash of the lower-cased e-mail address, never the address
  itself: the counts may live in Redis, which is not where personal data belongs.
- Where the counts live: in each process's memory by default (each gunicorn worker
  counts alone, so the limits are per worker: fine on one machine), in Redis when
  ``SHOOC_REDIS_URL`` is set, shared by every worker of every server. If Redis goes
  away the limits fall back to memory rather than locking everyone out or failing
  the page, and go back to Redis when it returns.
- Addresses are the client's as the app sees it: behind nginx set
  ``SHOOC_PROXY_HOPS`` so that this is the visitor's address, not the proxy's.
"""
from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

EXTENSION = "shooc.limiter"


def by_address() -> str:
    return "address:" + get_remote_address()


def by_account() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def failed_login(response: Response) -> bool:
    return response.status_code != 302


@dataclass(frozen=True)
class Rule:
    limit: str
    key: Callable[[], str]
    counts: Callable[[Response], bool] | None = None  # None: every POST counts


#: endpoint -> its limits (POST requests only) and what it is, for the 429 page
RULES: dict[str, tuple[str, list[Rule]]] = {
    "auth.login": ("log in", [Rule("10 per 15 minutes", by_account, failed_login),
                              Rule("30 per 5 minutes", by_address, failed_login)]),
    "auth.register": ("register", [Rule("5 per hour", by_account), Rule("50 per hour", by_address)]),
    "auth.reset_request": ("ask for a password reset", [Rule("5 per hour", by_account),
                                                        Rule("50 per hour", by_address)]),
}


def init_app(app: Flask) -> Limiter:
    """A limiter of this app's own (not a module-level one: every app made in one
    process, as the tests make them, keeps its own storage), its limits wrapped
    round the views already registered."""
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
    limiter.init_app(app)
    _only_for_auth(app, limiter)
    for endpoint, (_, rules) in RULES.items():
        view = app.view_functions[endpoint]
        for rule in rules:
            view = limiter.limit(rule.limit, key_func=rule.key, methods=["POST"], deduct_when=rule.counts)(view)
        app.view_functions[endpoint] = view
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(429, _too_many)
    return limiter


def _only_for_auth(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter hooks every request of the app, a tenth of a millisecond each
    (a third of what Flask itself costs); only views of the ``auth`` blueprint are
    limited, so its hooks are moved to that blueprint's requests. Its before-request
    check is not needed at all: the limited views check in their own wrappers."""
    def is_limiters(hook: Any) -> bool:
        return getattr(hook, "__self__", None) is limiter or (
            isinstance(hook, functools.partial) and hook.args[:1] == (limiter,))

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        moved = [hook for hook in hooks.get(None, []) if is_limiters(hook)]
        hooks[None] = [hook for hook in hooks.get(None, []) if not is_limiters(hook)]
        if hooks is not app.before_request_funcs:
            hooks.setdefault("auth", []).extend(moved)
    if not all(any(is_limiters(h) for h in hooks.get("auth", []))
               for hooks in (app.after_request_funcs, app.teardown_request_funcs)):
        raise RuntimeError("Flask-Limiter's request hooks were not found: shooc/auth/limits.py needs updating")


def _too_many(error: Exception) -> Response:
    """The page past a limit: what was limited, how long to wait (also as Retry-After)."""
    hit = current_app.extensions[EXTENSION].current_limit
    # Flask-Limiter's reset_at is rounded up to the next whole second, so it can lie a
    # second past the rule's own window: the wait is never said to be longer than that.
    seconds = min(max(1, math.ceil(hit.reset_at - time.time())), hit.limit.get_expiry()) if hit is not None else 60
    minutes = max(1, math.ceil(seconds / 60))
    what = RULES.get(request.endpoint or "", ("do that", []))[0]
    message = (f"There have been too many attempts to {what} from your address or for this account. "
               f"Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again.")
    link = (url_for("auth.reset_request"), "Forgotten your password? Choose a new one") \
        if request.endpoint == "auth.login" else None
    response = current_app.make_response((render_template("error.html", code=429, title="Too many attempts",
                                                          message=message, link=link), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


def reset(app: Flask) -> None:
    """Forget every count (tests start each from nothing, as after a restart)."""
    limiter: Any = app.extensions[EXTENSION]
    limiter.reset()
