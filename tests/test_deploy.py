"""Deployment: the app behind a reverse proxy (SHOOC_PROXY_HOPS, werkzeug's ProxyFix),
and the files in deploy/ agreeing with the app's settings. The two-server test is
tests/test_multiserver.py."""
from __future__ import annotations

import multiprocessing
import re
import runpy
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from conftest import TODAY, complete_and_submit
from shooc import create_app
from shooc.badges.models import BadgeAssertion
from shooc.config import DEFAULTS, PROJECT_ROOT
from shooc.unit_of_work import get_db
from shooc.enrolment.services import enrol

DEPLOY = PROJECT_ROOT / "deploy"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "learn.example.ac.uk",
             "X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def behind_proxy(app: Flask, database_url: str, instance_path: Path):  # type: ignore[no-untyped-def]
    """An app made by create_app with more settings, working in the test's transaction;
    it answers to the public host nginx forwards (SHOOC_TRUSTED_HOSTS) unless told otherwise."""
    def make(**settings) -> Flask:  # type: ignore[no-untyped-def]
        made = create_app({"SHOOC_DATABASE_URL": database_url, "SHOOC_INSTANCE_PATH": str(instance_path),
                           "SHOOC_SECRET_KEY": "test-secret", "TESTING": True,
                           "SHOOC_TRUSTED_HOSTS": "learn.example.ac.uk", **settings})
        get_db(made).engine.dispose()
        made.extensions["shooc.db"] = get_db(app)  # rolled back with the test
        return made

    return make


@pytest.fixture
def assertion_id(db: Session, make_user, make_run) -> str:  # type: ignore[no-untyped-def]
    enrolment = enrol(db, make_run(), make_user("learner").id, TODAY)
    db.commit()
    complete_and_submit(db, enrolment, "the-mentors-role")
    db.commit()
    return db.scalar(select(BadgeAssertion.id))


def test_behind_a_proxy_badge_ids_carry_the_public_origin(behind_proxy, assertion_id: str) -> None:
    client = behind_proxy(SHOOC_PROXY_HOPS=1).test_client()
    response = client.get(f"/badges/assertions/{assertion_id}", headers={**FORWARDED, "Accept": "application/ld+json"})
    assert response.status_code == 200
    document = response.get_json(force=True)
    assert document["id"] == f"https://learn.example.ac.uk/badges/assertions/{assertion_id}"
    assert document["badge"] == "https://learn.example.ac.uk/badges/classes/mentoring/the-mentors-role"
    # the app sees https, as the browser does
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    issuer = client.get("/badges/issuer", headers=FORWARDED).get_json(force=True)
    assert issuer["id"] == "https://learn.example.ac.uk/badges/issuer"


def test_without_proxy_hops_forwarded_headers_are_ignored(client, assertion_id: str) -> None:
    response = client.get(f"/badges/assertions/{assertion_id}", headers={**FORWARDED, "Accept": "application/ld+json"})
    assert response.get_json(force=True)["id"] == f"http://localhost/badges/assertions/{assertion_id}"
    assert "Strict-Transport-Security" not in response.headers


def test_only_the_trusted_proxies_are_believed(behind_proxy, assertion_id: str) -> None:
    """A client may send X-Forwarded-* itself; nginx appends to X-Forwarded-For and
    sets the others, and with one hop only the value nginx added counts."""
    client = behind_proxy(SHOOC_PROXY_HOPS=1).test_client()
    forged = {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.example, learn.example.ac.uk"}
    document = client.get(f"/badges/assertions/{assertion_id}", headers=forged).get_json(force=True)
    assert document["id"] == f"https://learn.example.ac.uk/badges/assertions/{assertion_id}"


def test_base_url_wins_over_the_proxy(behind_proxy, assertion_id: str) -> None:
    client = behind_proxy(SHOOC_PROXY_HOPS=1, SHOOC_BASE_URL="https://courses.example.org/").test_client()
    document = client.get(f"/badges/assertions/{assertion_id}", headers=FORWARDED).get_json(force=True)
    assert document["id"] == f"https://courses.example.org/badges/assertions/{assertion_id}"


def test_proxy_hops_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = {"SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "x",
                "SHOOC_DATABASE_URL": f"sqlite:///{tmp_path}/unused.sqlite3"}
    monkeypatch.setenv("SHOOC_PROXY_HOPS", "2")
    wrapped = create_app(settings).wsgi_app
    assert isinstance(wrapped, ProxyFix)
    assert (wrapped.x_for, wrapped.x_proto, wrapped.x_host, wrapped.x_prefix) == (2, 2, 2, 2)
    monkeypatch.setenv("SHOOC_PROXY_HOPS", "0")
    assert not isinstance(create_app(settings).wsgi_app, ProxyFix)
    monkeypatch.delenv("SHOOC_PROXY_HOPS")
    assert not isinstance(create_app(settings).wsgi_app, ProxyFix)


def test_max_upload_bytes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOOC_MAX_UPLOAD_BYTES", "16777216")
    app = create_app({"SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "x", "WTF_CSRF_ENABLED": False,
                      "SHOOC_DATABASE_URL": f"sqlite:///{tmp_path}/unused.sqlite3"})
    assert app.config["MAX_CONTENT_LENGTH"] == 16777216  # numbers from the environment are numbers
    # a form post is read (werkzeug compares its length with the limit), not a 500
    assert app.test_client().post("/auth/logout", data={"x": "y"}).status_code != 500


# deploy/ -------------------------------------------------------------------------

def _gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG",
                 "GUNICORN_LOG_LEVEL", "GUNICORN_CONTROL_SOCKET", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    return {k: v for k, v in namespace.items() if not k.startswith("_") and not callable(v)
            and type(v).__name__ != "module"}


def test_gunicorn_config(monkeypatch: pytest.MonkeyPatch) -> None:
    gunicorn_config = pytest.importorskip("gunicorn.config")
    settings = _gunicorn_settings(monkeypatch)
    known = gunicorn_config.Config().settings
    assert not [name for name in settings if name not in known], "not gunicorn settings (typos?)"
    assert settings["worker_class"] == "sync" and settings["preload_app"] is False
    assert settings["workers"] == multiprocessing.cpu_count() * 2 + 1
    assert settings["bind"] == ["127.0.0.1:8000"] and settings["control_socket_disable"] is True
    assert "{x-forwarded-for}i" in settings["access_log_format"]
    config = gunicorn_config.Config()  # every value passes gunicorn's own validation
    for name, value in settings.items():
        config.set(name, value)

    settings = _gunicorn_settings(monkeypatch, GUNICORN_BIND="10.0.0.11:8000, unix:/run/shooc/app.sock",
                                  GUNICORN_WORKERS="3", GUNICORN_TIMEOUT="90",
                                  GUNICORN_CONTROL_SOCKET="/run/shooc/gunicorn.ctl")
    assert settings["bind"] == ["10.0.0.11:8000", "unix:/run/shooc/app.sock"]
    assert (settings["workers"], settings["timeout"]) == (3, 90)
    assert settings["control_socket"] == "/run/shooc/gunicorn.ctl" and "control_socket_disable" not in settings


def test_systemd_unit_runs_the_deploy_config() -> None:
    unit = (DEPLOY / "shooc.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert exec_start.endswith("gunicorn -c deploy/gunicorn.conf.py 'shooc:create_app()'")
    for line in ("EnvironmentFile=/etc/shooc/env", "Restart=on-failure", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "StateDirectory=shooc"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.MULTILINE), line
    for timer in ("shooc-mail", "shooc-reminders"):
        assert "OnCalendar=" in (DEPLOY / f"{timer}.timer").read_text()
        assert "ExecStart=/srv/shooc/.venv/bin/shooc " in (DEPLOY / f"{timer}.service").read_text()
    worker = (DEPLOY / "shooc-jobs.service").read_text()
    for line in ("ExecStart=/srv/shooc/.venv/bin/shooc jobs work", "Restart=always", "EnvironmentFile=/etc/shooc/env",
                 "NoNewPrivileges=yes", "WantedBy=multi-user.target"):
        assert re.search(rf"^{re.escape(line)}$", worker, re.MULTILINE), line


def test_nginx_site_matches_the_app() -> None:
    site = (DEPLOY / "nginx.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", site).group(1)  # type: ignore[union-attr]
    assert int(limit) * 1024 * 1024 == DEFAULTS["SHOOC_MAX_UPLOAD_BYTES"]
    for header in ("X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme",
                   "X-Forwarded-Host $host"):
        assert f"proxy_set_header {header};" in site
    static = re.search(r"location /static/ \{.*?alias ([^;]+);", site, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert static == "/srv/shooc/shooc/static/" and (PROJECT_ROOT / "shooc" / "static").is_dir()
    assert "return 301 https://" in site and "Strict-Transport-Security" in site


def test_env_example_names_every_setting_and_no_secret() -> None:
    example = (DEPLOY / "env.example").read_text()
    named = set(re.findall(r"^#?(SHOOC_[A-Z_]+)=", example, re.MULTILINE))
    assert set(DEFAULTS) <= named | {"SHOOC_INSTANCE_PATH"}, set(DEFAULTS) - named
    assert "SHOOC_INSTANCE_PATH" in named
    values = dict(re.findall(r"^(SHOOC_[A-Z_]*(?:SECRET|PASSWORD)[A-Z_]*)=(.*)$", example, re.MULTILINE))
    assert values == {"SHOOC_SECRET_KEY": "CHANGE-ME", "SHOOC_SMTP_PASSWORD": "CHANGE-ME"}


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert not [name for name in DEFAULTS if f"`{name}`" not in readme]


def test_a_setting_that_is_not_a_number_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOOC_MAX_UPLOAD_BYTES", "16MB")
    with pytest.raises(ValueError, match="SHOOC_MAX_UPLOAD_BYTES must be a whole number, not '16MB'"):
        create_app({"SHOOC_INSTANCE_PATH": str(tmp_path), "SHOOC_SECRET_KEY": "x",
                    "SHOOC_DATABASE_URL": f"sqlite:///{tmp_path}/unused.sqlite3"})


@pytest.mark.server
def test_the_access_log_keeps_no_search_referer_or_link_token(tmp_path: Path) -> None:
    """Issue 14, item 12: a real gunicorn on deploy/gunicorn.conf.py, asked what a
    leader's search and a participant's e-mailed links look like, logs neither the
    e-mail address searched for (query string, Referer) nor the links' tokens."""
    pytest.importorskip("gunicorn", reason="gunicorn is in the test extra: pip install -e '.[test]'")
    from processes import stop_process_group
    from shooc.db import Database
    from shooc.migrate import upgrade
    from shooc.urls import SECRET_LINK_PREFIXES
    from test_multiserver import _start, _wait_until_answering

    database_url = f"sqlite:///{tmp_path}/access-log.sqlite3"
    database = Database(database_url)
    try:
        upgrade(database)
    finally:
        database.engine.dispose()
    access_log = tmp_path / "access.log"
    server = _start("access-log", database_url, "access-log-test-secret", tmp_path,
                    {"GUNICORN_WORKERS": "1", "GUNICORN_ACCESS_LOG": str(access_log)})
    secret_paths = [prefix + "SECRETTOKEN" + prefix.strip("/").replace("/", "") for prefix in SECRET_LINK_PREFIXES]
    searched = "/lead/runs/mentoring-2026/participants?q=alice.private%40example.org"
    try:
        _wait_until_answering(server)
        for path in [*secret_paths, searched, "/auth/login?next=/lead/runs/x/participants%3Fq%3Dbob%40example.org"]:
            request = urllib.request.Request(server.url + path, headers={
                "Referer": server.url + searched, "Cookie": "session=SESSIONCOOKIE",
                "X-Forwarded-For": "203.0.113.9", "User-Agent": "access-log-test"})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError:
                pass  # 302, 400, 404: only the log line matters here
    finally:
        stop_process_group(server.process)
    lines = access_log.read_text().splitlines()
    logged = "\n".join(lines)
    for secret in ("SECRETTOKEN", "alice", "bob", "example.org", "SESSIONCOOKIE", "q="):
        assert secret not in logged, f"{secret!r} is in the access log:\n{logged}"
    # what is kept still tells an operator what happened: the door, the status, the client
    for prefix in SECRET_LINK_PREFIXES:
        assert any(f'"GET {prefix}- HTTP/1.1"' in line for line in lines), logged
    assert any('"GET /lead/runs/mentoring-2026/participants HTTP/1.1" 302' in line for line in lines), logged
    assert all(line.startswith("203.0.113.9 127.0.0.1 ") and "access-log-test" in line for line in lines
               if "/auth/" in line or "/lead/" in line), logged


def test_nginx_logs_as_privately_as_gunicorn() -> None:
    """Every server of the nginx site logs in the private format, which has no query
    string and no Referer, and hides the token of every secret link the app sends."""
    from shooc.urls import SECRET_LINK_PREFIXES

    site = (DEPLOY / "nginx.conf").read_text()
    log_format = re.search(r"log_format shooc_private (.*?);", site, re.DOTALL).group(1)  # type: ignore[union-attr]
    for leak in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer", "$http_cookie", " $uri "):
        assert leak not in log_format
    assert "$shooc_logged_path" in log_format
    servers = site.count("server {")
    assert site.count(" shooc_private;") == servers and "access_log /" in site
    doors = re.search(r"~\^\(\?<shooc_door>/\(\?:auth/\(\?:([a-z|-]+)\)\|([a-z|-]+)\)/\)", site)
    assert doors is not None
    assert ({f"/auth/{name}/" for name in doors.group(1).split("|")}
            | {f"/{name}/" for name in doors.group(2).split("|")}) == set(SECRET_LINK_PREFIXES)
