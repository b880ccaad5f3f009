"""What a process keeps for a few seconds: values that many requests in a row would
otherwise make afresh (the public course page, a run's figures), each dropped once
its seconds are up. No Flask here."""
from __future__ import annotations

import threading
import time
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeptForSeconds(Generic[K, V]):
    """Values by key, each kept ``seconds`` after it was put; at most about
    ``max_items`` (what has expired is dropped when that many are kept)."""

    def __init__(self, seconds: float, max_items: int = 64) -> None:
        self.seconds = seconds
        self.max_items = max_items
        self._values: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._values) >= self.max_items:
                self._values = {k: v for k, v in self._values.items() if v[0] >= now}
            self._values[key] = (now + self.seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
