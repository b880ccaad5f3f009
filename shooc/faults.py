"""Test-only fault points: where a test may stop a process in the middle of a
transaction, to prove that killing it there leaves nothing half-written.

Off unless the environment variable SHOOC_TEST_FAULT_DIR names a folder; never set
it in production (deploy/env.example does not have it). With it set, a process that
reaches ``fault_point(name)`` while the file ``<folder>/<name>`` exists takes that
file (renames it ``<name>.<pid>``, so that one request alone stops there), then
pauses, its transaction open, for the test to SIGKILL it. Without the file the
point is passed at once. tests/test_faults.py uses it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

FAULT_DIR_ENV = "SHOOC_TEST_FAULT_DIR"
#: Long enough for a test to kill the process, shorter than gunicorn's timeout.
PAUSE_SECONDS = 30


def fault_point(name: str) -> None:
    folder = os.environ.get(FAULT_DIR_ENV)
    if not folder:
        return
    armed = Path(folder) / name
    try:
        armed.rename(Path(folder) / f"{name}.{os.getpid()}")
    except FileNotFoundError:
        return  # not armed, or another request took it
    time.sleep(PAUSE_SECONDS)
