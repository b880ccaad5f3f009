"""Servers run as child processes in their own process group (the two-server test,
bench/pages.py and bench/surge.py): a free port, and a stop that leaves nothing."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group (started with start_new_session: a gunicorn's
    master and workers; a graceful stop), SIGKILL to whatever is left after 20 s;
    returns when none of its processes is left."""
    pgid = process.pid  # start_new_session: the group's id is the leader's pid
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.1)
    process.wait(timeout=5)
