"""Work on a stream of items, in order, on a thread pool, without holding a thread while it waits."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

T = TypeVar("T")


class Drain(Generic[T]):
    """Items ``put`` here go to ``step`` one at a time and in order, on ``pool``, by a task that
    runs while items wait and ends when none does: a producer that stalls (a client mid-body)
    holds no thread. After ``close``, ``last`` runs once, when every item has been stepped."""

    def __init__(self, pool: Executor, step: Callable[[T], None], last: Callable[[], None]) -> None:
        self._pool, self._step, self._last = pool, step, last
        self._lock = threading.Lock()
        self._pending: deque[T] = deque()
        self._running = self._closed = False

    def put(self, item: T) -> None:
        with self._lock:
            self._pending.append(item)
            self._start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._start()

    def _start(self) -> None:
        if not self._running:
            self._running = True
            self._pool.submit(self._run)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._pending:
                    item = self._pending.popleft()
                elif self._closed:
                    break
                else:
                    self._running = False
                    return
            self._step(item)
        self._last()
