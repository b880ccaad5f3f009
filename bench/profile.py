"""Where a page's time goes: the pages of bench/pages.py, in-process through Flask's
test client over bench/generate.py's instance, with the SQL each runs (count and
database time) and pyinstrument's call tree; and the fixed cost of any request
(a bare route in shooc, anonymous and logged in) next to a bare Flask app's.

    .venv/bin/python bench/profile.py [--participants N] [--database URL] [--requests R]

The first thing to run before optimising a page (bench/README.md says what it found).
Prints everything and writes it to bench/results/profile.txt. Without ``--database``
it builds a fresh SQLite instance (N = 100,000 by default: about 2 minutes); with one
that bench/pages.py's build already filled, it reuses it (``--reuse``).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import hello  # noqa: E402
from flask_login import current_user  # noqa: E402
from pages import DISCUSSION, EVALUATOR, LEADER, LEARNER, LIVE_SLUG, app_config, build, logged_in  # noqa: E402
from sqlalchemy import event  # noqa: E402

from shooc import create_app  # noqa: E402
from shooc.unit_of_work import get_db  # noqa: E402

PAGES = [(None, "/courses/mentoring"), ("learner", "/dashboard"),
         ("learner", "/courses/mentoring/workbooks/the-mentors-role"), ("evaluator", f"/evaluate/runs/{LIVE_SLUG}"),
         ("learner", DISCUSSION), ("leader", f"/lead/runs/{LIVE_SLUG}/moderation"),
         ("leader", f"/lead/runs/{LIVE_SLUG}/review"),
         ("leader", f"/lead/runs/{LIVE_SLUG}/review?workbook=the-mentors-role&unreviewed=1")]
SECRET = "p" * 64


def per_request_ms(client: Any, path: str, requests: int) -> float:
    for _ in range(20):
        assert client.get(path).status_code == 200, path
    start = time.perf_counter()
    for _ in range(requests):
        client.get(path)
    return (time.perf_counter() - start) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--database", help="a SQLAlchemy URL (emptied and filled unless --reuse)")
    parser.add_argument("--reuse", action="store_true", help="the database already holds the instance")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page", action="append", default=[],
                        help="profile only the pages whose path contains this (repeatable)")
    args = parser.parse_args()
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory(prefix="shooc-profile-") as folder:
        url = args.database or f"sqlite:///{folder}/profile.sqlite3"
        instance = Path(folder) / "instance"
        instance.mkdir()
        if not args.reuse:
            print(f"building {args.participants:,} participants ...", flush=True)
            build(url, args.participants, instance, SECRET)
        app = create_app(app_config(url, instance, SECRET))

        @app.route("/profile-bare")
        def bare() -> str:
            return "Hello, World!"

        @app.route("/profile-bare-user")
        def bare_user() -> str:
            return "Hello, " + current_user.name

        clients = {None: app.test_client(), "learner": logged_in(app, LEARNER[0]),
                   "evaluator": logged_in(app, EVALUATOR[0]), "leader": logged_in(app, LEADER[0])}
        sql: list[tuple[str, float]] = []

        @event.listens_for(get_db(app).engine, "before_cursor_execute")
        def _before(conn: Any, *_: Any) -> None:
            conn.info["profile_start"] = time.perf_counter()

        @event.listens_for(get_db(app).engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            sql.append((" ".join(statement.split()), time.perf_counter() - conn.info["profile_start"]))

        lines = [f"Fixed cost of a request (Flask's test client, {args.requests * 5} requests each, ms)"]
        fixed = [("bare Flask hello-world", hello.app.test_client(), "/"),
                 ("shooc, a bare route, anonymous", clients[None], "/profile-bare"),
                 ("shooc, a bare route, a learner's cookie", clients["learner"], "/profile-bare"),
                 ("shooc, a bare route reading current_user", clients["learner"], "/profile-bare-user"),
                 ("shooc, /privacy (base.html), anonymous", clients[None], "/privacy"),
                 ("shooc, /privacy (base.html), logged in", clients["learner"], "/privacy")]
        for name, client, path in fixed:
            lines.append(f"  {name:<46}{per_request_ms(client, path, args.requests * 5):>7.3f}")
        print("\n".join(lines), flush=True)
        for who, path in PAGES:
            if args.page and not any(part in path for part in args.page):
                continue
            client = clients[who]
            ms = per_request_ms(client, path, args.requests)
            sql.clear()
            client.get(path)
            block = [f"\n== {path} ({who or 'anonymous'}): {ms:.2f} ms per request, {len(sql)} SQL statements "
                     f"taking {sum(t for _, t in sql) * 1000:.2f} ms"]
            block += [f"   {t * 1000:7.3f} ms  {statement[:140]}" for statement, t in sorted(sql, key=lambda x: -x[1])]
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.requests):
                client.get(path)
            profiler.stop()
            block.append(profiler.output_text(unicode=False, color=False))
            print("\n".join(block), flush=True)
            lines += block
        get_db(app).engine.dispose()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "profile.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
