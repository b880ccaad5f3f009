"""shooc: self-paced online courses for teachers."""
from __future__ import annotations

import importlib
from typing import Any, Mapping

from flask import Flask

from shooc.config import PROJECT_ROOT, instance_path_from_env, load_settings
from shooc.urls import trusted_hosts


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application factory. ``config`` overrides every other source of settings."""
    instance_path = str((config or {}).get("SHOOC_INSTANCE_PATH") or instance_path_from_env())
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    settings = load_settings(instance_path, config)
    _configure(app, settings, config)
    _wrap_wsgi(app, settings)
    _register_areas(app)
    return app


def _configure(app: Flask, settings: Mapping[str, Any], config: Mapping[str, Any] | None) -> None:
    """shooc's settings, and Flask's own derived from them."""
    app.config.update(settings)
    app.config.update(
        SECRET_KEY=settings["SHOOC_SECRET_KEY"],
        MAX_CONTENT_LENGTH=settings["SHOOC_MAX_UPLOAD_BYTES"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Secure on every request, not only https ones (shooc.web.SecureCookiesOverHttps)
        SESSION_COOKIE_SECURE=bool(settings["SHOOC_SECURE_COOKIES"]),
        REMEMBER_COOKIE_SECURE=bool(settings["SHOOC_SECURE_COOKIES"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        TRUSTED_HOSTS=trusted_hosts(settings),  # any other Host header is a 400 (shooc/urls.py)
    )
    for key in ("TESTING", "WTF_CSRF_ENABLED", "SERVER_NAME"):
        if config and key in config:
            app.config[key] = config[key]


def _wrap_wsgi(app: Flask, settings: Mapping[str, Any]) -> None:
    """The WSGI middleware: Secure cookies over https, inside ProxyFix behind a proxy."""
    from shooc import web

    # Flask's way to add WSGI middleware; mypy sees a method replaced
    app.wsgi_app = web.SecureCookiesOverHttps(app.wsgi_app)  # type: ignore[method-assign]
    hops = int(settings["SHOOC_PROXY_HOPS"] or 0)
    if hops > 0:
        # Behind nginx (deploy/nginx.conf): the request's scheme, host, client address
        # and prefix are those the proxy saw, so that badge ids, certificate and e-mail
        # links carry the public origin when SHOOC_BASE_URL is not set. Only the last
        # `hops` proxies are believed: a client cannot forge what they appended.
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]  # as above


def _register_areas(app: Flask) -> None:
    """The signals between areas, the kinds of background job, the request's session and the shared web glue, every
    area's blueprint, the rate limits on the auth blueprint, the commands."""
    import shooc.lead
    from shooc import jobs, mailqueue, unit_of_work, web
    from shooc.api import views as api_views
    from shooc.auth import admin_views, limits
    from shooc.auth import views as auth_views
    from shooc.badges import views as badge_views
    from shooc.badges.services import connect_to_submissions
    from shooc.cli import register_cli
    from shooc.community import blueprint as community_blueprint
    from shooc.enrolment import calendar_views
    from shooc.enrolment import views as learn_views
    from shooc.evaluate import survey_views
    from shooc.evaluate import views as evaluate_views
    from shooc.lead import imports
    from shooc.lti import admin_views as lti_admin_views
    from shooc.lti import services as lti_services
    from shooc.lti import views as lti_views
    from shooc.workbooks import views as workbook_views

    connect_to_submissions()
    lti_services.connect_to_submissions()  # after the badges': the certificate is issued by then
    jobs.register(mailqueue.DELIVERY_JOB, mailqueue.deliver_job)
    jobs.register(lti_services.SCORES_JOB, lti_services.scores_job)
    imports.register()
    unit_of_work.init_app(app)
    web.init_app(app)
    auth_views.init_app(app)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(workbook_views.bp)
    app.register_blueprint(learn_views.bp)
    app.register_blueprint(calendar_views.bp)
    app.register_blueprint(badge_views.bp)
    for module in shooc.lead.VIEW_MODULES:
        importlib.import_module(module)
    app.register_blueprint(shooc.lead.bp)
    for module in community_blueprint.VIEW_MODULES:
        importlib.import_module(module)
    app.register_blueprint(community_blueprint.bp)
    app.register_blueprint(evaluate_views.bp)
    app.register_blueprint(survey_views.bp)
    app.register_blueprint(api_views.bp)
    web.csrf.exempt(api_views.bp)  # token-authenticated, no cookies: nothing for CSRF to protect
    app.register_blueprint(lti_views.bp)
    app.register_blueprint(lti_admin_views.bp)
    lti_views.init_app(app)
    # A platform posts these two cross-site by design (OIDC login initiation, the
    # id_token's form_post): the login's state cookie and the single-use nonce protect
    # them instead (shooc/lti/views.py). Every other LTI form has its CSRF token.
    web.csrf.exempt(lti_views.login)
    web.csrf.exempt(lti_views.launch)
    limits.init_app(app)  # after the auth blueprint it limits
    register_cli(app)
