"""The per-sandbox rate quota: fixed one-second windows, counted in each process, shared through Redis.

Counting every request in Redis cost the endpoint a round trip per call. Instead each process counts
its own requests per sandbox and second, and a flusher thread adds what it counted to the window's
Redis counter (``INCRBY``) every ``FLUSH_S``, reading back the total of all processes. A request is
over the quota when that total, plus what this process has counted since, exceeds the sandbox's
``max_requests_per_second``. With one server process (``runlab``, the tests) the count is exact;
with several, a burst can overshoot by what the others counted in their last ``FLUSH_S``. Without
Redis the count is the process's own.
"""
from __future__ import annotations

import logging
import os
import threading
import time

import redis
from django.conf import settings

from serverless_lab.ops.redis_pool import shared_client

logger = logging.getLogger(__name__)
FLUSH_S = 0.05


class _Window:
    __slots__ = ("counted", "flushed", "total")

    def __init__(self) -> None:
        self.counted = 0  # this process's requests in the window
        self.flushed = 0  # of them, already added to Redis's counter
        self.total = 0  # Redis's counter as last read: every process's flushed requests


_lock = threading.Lock()
_windows: dict[tuple[str, int], _Window] = {}
_wake = threading.Event()
_flusher_pid = 0


def over_quota(access_key_id: str, limit: int) -> bool:
    """Count a request of the sandbox with this key; True when it is over ``limit`` this second."""
    second = int(time.time())
    with _lock:
        window = _windows.get((access_key_id, second))
        if window is None:
            window = _windows[(access_key_id, second)] = _Window()
            for stale in [key for key in _windows if key[1] < second - 1]:
                del _windows[stale]
        window.counted += 1
        estimate = window.total + window.counted - window.flushed
    if settings.REDIS_URL:
        _start_flusher()
        _wake.set()
    return estimate > limit


def redis_key(access_key_id: str, second: int) -> str:
    return f"{settings.REDIS_PREFIX}:aws-rps:{access_key_id}:{second}"


def _start_flusher() -> None:
    global _flusher_pid
    if _flusher_pid != os.getpid():
        with _lock:
            if _flusher_pid != os.getpid():
                _flusher_pid = os.getpid()
                threading.Thread(target=_flush_forever, name="rate-quota-flusher", daemon=True).start()


def _flush_forever() -> None:
    while True:
        _wake.wait()
        time.sleep(FLUSH_S)  # gathers the requests of the next FLUSH_S into one round trip
        _wake.clear()
        flush()


def flush() -> None:
    """Add this process's new counts to Redis and read back every window's total."""
    with _lock:
        pending = [(key, window, window.counted - window.flushed) for key, window in _windows.items()]
    pending = [item for item in pending if item[2]]
    if not pending:
        return
    pipe = shared_client(settings.REDIS_URL).pipeline(transaction=False)
    for (access_key_id, second), _, delta in pending:
        key = redis_key(access_key_id, second)
        pipe.incrby(key, delta).expire(key, 2)
    try:
        replies = pipe.execute()
    except redis.RedisError:  # counted here still, shared again at the next flush
        logger.warning("could not share the rate quota's counts through Redis", exc_info=True)
        return
    with _lock:
        for (_, window, delta), total in zip(pending, replies[::2], strict=True):
            window.flushed += delta
            window.total = total
