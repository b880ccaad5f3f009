"""Configuration: defaults, then the instance config file, then SHOOC_* environment
variables, then whatever the caller of ``create_app`` passes (tests).

The public names are documented in docs/configuration.md (``SHOOC_DATABASE_URL`` ...). Inside the
Flask config they are stored under the same names, so ``app.config["SHOOC_BASE_URL"]``
means exactly what the environment variable means.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from shooc.branding import BRAND_SETTINGS, brand
from shooc.mail import MAIL_SETTINGS

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Every setting shooc reads, with its default. ``None`` means "derived at start-up".
DEFAULTS: dict[str, Any] = {
    "SHOOC_DATABASE_URL": None,  # sqlite:///<instance>/shooc.sqlite3
    "SHOOC_DATABASE_POOL_SIZE": 5,  # connections kept per process
    "SHOOC_DATABASE_MAX_OVERFLOW": 10,  # extra connections per process under load
    "SHOOC_SECRET_KEY": None,  # generated once into <instance>/secret_key
    "SHOOC_BASE_URL": None,  # the request's own origin, loopback hosts only (shooc/urls.py)
    # Other names the site answers to, comma-separated (besides SHOOC_BASE_URL's host and loopback)
    "SHOOC_TRUSTED_HOSTS": "",
    "SHOOC_CONTENT_PATH": str(PROJECT_ROOT / "content"),
    "SHOOC_MAX_UPLOAD_BYTES": 16 * 1024 * 1024,
    # Records files with more rows than this are imported in the background, with progress.
    "SHOOC_IMPORT_INLINE_ROWS": 5000,
    "SHOOC_SESSION_HOURS": 12,  # a login lasts this long without use ("keep me logged in": 30 days)
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Prefix
    # headers are trusted (werkzeug's ProxyFix); 0 ignores those headers.
    "SHOOC_PROXY_HOPS": 0,
    # 1: cookies are Secure on every request; 0: on requests that came over https
    # (directly, or as the trusted proxies say), so that http on a developer's machine works.
    "SHOOC_SECURE_COOKIES": 0,
    # 1: after an LTI launch over https, the session cookie is SameSite=None (and Secure),
    # so that the course works inside the VLE's iframe; 0: Lax always (the VLE then
    # offers "open in a new window"). Off LTI sessions it is always Lax.
    "SHOOC_LTI_IFRAME_COOKIES": 1,
    # Where rate-limit counts live (shooc/auth/limits.py): this process's memory, or a
    # Redis shared by every server, e.g. redis://10.0.0.5:6379/0
    "SHOOC_REDIS_URL": None,
    "SHOOC_REDIS_PREFIX": "shooc",  # keys' prefix, for instances that share one Redis
    # Who runs background jobs (shooc/jobs.py): thread (a thread of the app server that
    # started the job), rq (`shooc jobs work` processes, over SHOOC_REDIS_URL), inline (in the request)
    "SHOOC_JOB_RUNNER": "thread",
    # A job that has not reported progress for this long is stale: queued again, or failed
    "SHOOC_JOB_STALE_SECONDS": 300,
    # A run's figures on the evaluators' page are kept this long in each process (0: never);
    # the page says when they were counted ("figures as of")
    "SHOOC_FIGURES_SECONDS": 5,
    **MAIL_SETTINGS,
    **BRAND_SETTINGS,  # the institution's name, logo, colour and footer (shooc/branding.py)
}

INSTANCE_CONFIG_FILE = "shooc.cfg"


def instance_path_from_env() -> str:
    return os.environ.get("SHOOC_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")


def load_settings(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge the four sources of settings, lowest priority first."""
    settings = dict(DEFAULTS)
    config_file = Path(instance_path) / INSTANCE_CONFIG_FILE
    if config_file.exists():
        # The instance file is Python, like Flask's own config files.
        namespace: dict[str, Any] = {}
        exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)
        settings.update({k: v for k, v in namespace.items() if k.startswith("SHOOC_")})
    settings.update({k: v for k, v in os.environ.items() if k in DEFAULTS and v != ""})
    if overrides:
        settings.update(overrides)
    for key, default in DEFAULTS.items():
        # numbers from the environment (or a file) arrive as text
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(settings[key], str):
            try:
                settings[key] = int(settings[key])
            except ValueError:
                raise ValueError(f"{key} must be a whole number, not '{settings[key]}'") from None

    if settings["SHOOC_JOB_RUNNER"] not in ("thread", "rq", "inline"):
        raise ValueError(f"SHOOC_JOB_RUNNER must be thread, rq or inline, not '{settings['SHOOC_JOB_RUNNER']}'")
    if settings["SHOOC_JOB_RUNNER"] == "rq" and not settings["SHOOC_REDIS_URL"]:
        raise ValueError("SHOOC_JOB_RUNNER=rq needs SHOOC_REDIS_URL, the Redis its queue is on")
    brand(settings)  # a wrong colour or address stops the start, naming the setting
    if not settings["SHOOC_DATABASE_URL"]:
        settings["SHOOC_DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "shooc.sqlite3")
    if not settings["SHOOC_SECRET_KEY"]:
        settings["SHOOC_SECRET_KEY"] = _instance_secret_key(Path(instance_path))
    if settings["SHOOC_BASE_URL"]:
        settings["SHOOC_BASE_URL"] = str(settings["SHOOC_BASE_URL"]).rstrip("/")
    return settings


def _instance_secret_key(instance: Path) -> str:
    """The secret key kept in the instance folder, made on first use (mode 0600)."""
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, one writes and the other reads.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
