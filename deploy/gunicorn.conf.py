"""gunicorn settings for shooc: ``gunicorn -c deploy/gunicorn.conf.py 'shooc:create_app()'``.

Every app server runs the same file; what differs between machines comes from the
environment (``/etc/shooc/env`` under systemd, see deploy/env.example):

| variable | meaning | default |
|---|---|---|
| ``GUNICORN_BIND`` | address(es) to listen on, comma-separated (``host:port`` or ``unix:PATH``) | ``127.0.0.1:8000`` |
| ``GUNICORN_WORKERS`` | worker processes | 2 x CPUs + 1 |
| ``GUNICORN_TIMEOUT`` | seconds a request may take before its worker is restarted | ``60`` |
| ``FORWARDED_ALLOW_IPS`` | proxies gunicorn believes about the scheme (gunicorn's own variable) | ``127.0.0.1,::1`` |
| ``GUNICORN_ACCESS_LOG`` | access log file, ``-`` for stdout (the journal), empty for none | ``-`` |
| ``GUNICORN_LOG_LEVEL`` | ``debug``, ``info``, ``warning``, ``error`` | ``info`` |
| ``GUNICORN_CONTROL_SOCKET`` | path of gunicorn's control socket (gunicorn 25.1+), none when unset | none |

Decisions:

- **sync workers.** A shooc request is short and bound by the database (a page, a
  save, a submission); nginx buffers requests and answers, so a slow client never
  holds a worker. Sync workers are gunicorn's recommendation behind a buffering
  proxy, and each process needs one database connection at a time.
- **2 x CPUs + 1 workers** (gunicorn's rule of thumb) per machine. Mind PostgreSQL's
  ``max_connections``: servers x workers x (1 or 2 connections) must fit.
- **No preload_app.** Each worker imports the app and opens its own connection pool
  after the fork, so no pooled database connection (nor the lock of a background
  thread) is ever shared between processes, and ``systemctl reload shooc`` (HUP)
  loads new code without dropping requests. The price is a second or so of start-up
  per worker and a little memory.
- **No max_requests.** Large records imports and announcement e-mail run in a
  background thread of the worker that accepted them; recycling workers on a
  request count would cut them short (whatever mail is left, ``shooc mail send``
  delivers, but an import would have to be started again).
- **Proxy headers.** The app itself believes ``X-Forwarded-*`` only with
  ``SHOOC_PROXY_HOPS`` set (werkzeug's ProxyFix, in ``shooc.create_app``), whatever
  WSGI server runs it. ``forwarded_allow_ips`` is gunicorn's own, older check of
  ``X-Forwarded-Proto``; set it to the proxy's address when nginx runs on another
  machine, so that both agree.
- **The access log keeps nothing personal or secret** (issue 14): no query string, no
  Referer, no e-mailed link's token (``AccessLogWithoutSecrets`` below). nginx's log
  (deploy/nginx.conf, ``shooc_private``) leaves out the same.
- **The control socket is off** unless ``GUNICORN_CONTROL_SOCKET`` names one: its
  default path (``$XDG_RUNTIME_DIR/gunicorn.ctl`` or ``~/.gunicorn/``) would be
  shared by two gunicorns of one user on one machine. Older gunicorns ignore these
  settings.
"""
import multiprocessing
import os

from gunicorn import glogging

from shooc.urls import path_for_logs


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
        if address.strip()]
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = _env_int("GUNICORN_TIMEOUT", 60)  # the inline records import and a course zip take a few seconds
graceful_timeout = 30  # a restart lets running requests finish this long
preload_app = False
max_requests = 0
proc_name = "shooc"

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Heartbeat files on a RAM disk: a worker is never thought dead because /tmp is slow.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client as nginx saw it first, then the combined format without the Referer, and
# the time taken. What is left out, and why, is in AccessLogWithoutSecrets.
access_log_format = ('%({x-forwarded-for}i)s %(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s '
                     '"%(a)s" %(L)ss')


class AccessLogWithoutSecrets(glogging.Logger):
    """gunicorn's logger, whose access lines can only ever show what may be kept:

    - no query string: leaders search participants by name and e-mail address;
    - no Referer: it carries those searches too (the participants page's URL);
    - no e-mailed link's token in a path (confirmation, reset, login links): the path
      is logged as ``/auth/reset/-`` (shooc.urls.path_for_logs);
    - no other request header but X-Forwarded-For and User-Agent (cookies, tokens).

    Atoms outside ``KEPT`` are not given to the format at all (gunicorn prints ``-``),
    so a changed ``access_log_format`` cannot bring them back.
    """

    KEPT = frozenset({"h", "l", "u", "t", "s", "m", "U", "H", "b", "B", "a", "T", "D", "M", "L", "p",
                      "{x-forwarded-for}i", "{user-agent}i"})

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        kept = {name: value for name, value in atoms.items() if name in self.KEPT}
        kept["U"] = path_for_logs(kept.get("U") or "")
        return kept


logger_class = AccessLogWithoutSecrets

if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
