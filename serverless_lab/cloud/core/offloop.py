"""Running ORM code from the AWS endpoint's async code: one shared thread pool, lean hand-offs.

asgiref's ``sync_to_async`` builds a wrapper object, consults thread-sensitivity state and context
locals on every call; for the endpoint's few-millisecond requests that was a measurable share of
the CPU. Here a call is one ``run_in_executor`` with the caller's context variables, plus the
connection hygiene Django does around a request (close a connection that errored or outlived
``CONN_MAX_AGE``), for the one database the endpoint uses.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from django.db import connections

T = TypeVar("T")

# Threads (each with its own database connection) are started only when no idle one is free, so a
# steady stream of calls uses a few; the cap bounds a burst's connections. Waits that last (SQS long
# polls, a synchronous Invoke's result) happen on the event loop, not here.
_pool = ThreadPoolExecutor(max_workers=max(32, (os.cpu_count() or 1) * 8), thread_name_prefix="aws-endpoint")

# A thread whose connection answered less than this many seconds ago skips Django's health check
# (a ``SELECT 1`` round trip before every request's first query).
_HEALTHY_FOR_S = 5.0
_thread_state = threading.local()


def _with_connection_hygiene(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    db = connections["default"]
    db.close_if_unusable_or_obsolete()
    if db.connection is not None and time.monotonic() - getattr(_thread_state, "ok_at", -_HEALTHY_FOR_S) < _HEALTHY_FOR_S:
        db.health_check_done = True
    try:
        return fn(*args, **kwargs)
    finally:
        if db.connection is not None and not db.errors_occurred:
            _thread_state.ok_at = time.monotonic()
        db.close_if_unusable_or_obsolete()


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the endpoint's thread pool, awaited from the event loop."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, _with_connection_hygiene, fn, args, kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)
