"""What SQS and SNS tell the outside world: the sandbox's live panel and long-polling receivers.

Both are sent after the transaction commits. The tracing work will replace ``announce`` with
proper hops; keep every call to it here.

Panel messages go through one background thread that owns an event loop, so the channel layer
keeps its Redis connections: ``broadcast_now`` from a request thread builds a fresh loop and
connection per call (about 9 ms), which would double the latency of a SendMessage.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from serverless_lab.ops.redis_pool import shared_client
from serverless_lab.tracing.broadcast import sandbox_group

logger = logging.getLogger(__name__)


def announce(sandbox_id: int, text: str, kind: str = "sqs") -> None:
    """Show ``text`` in the sandbox's live panel once the transaction commits (best effort)."""
    message = {"type": "lab.message", "v": 1, "kind": kind, "text": text, "at": datetime.now(UTC).isoformat()}
    transaction.on_commit(lambda: _send_soon(sandbox_group(sandbox_id), message))


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0


def _panel_loop() -> asyncio.AbstractEventLoop:
    """The broadcaster thread's loop (one per process: Celery's prefork children get their own)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="lab-panel-broadcast", daemon=True).start()
        return _loop


def _send_soon(group: str, message: dict[str, Any]) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _panel_loop())
    future.add_done_callback(_log_failure)


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("a live-panel broadcast failed: %s", future.exception())


def _channel(queue_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:sqs:visible:{queue_id}"


def _redis() -> Any:
    return shared_client(settings.REDIS_URL)


def notify_visible(queue_id: int) -> None:
    """Wake long-polling receivers of ``queue_id`` once the transaction commits."""
    if not settings.REDIS_URL:
        return

    def publish() -> None:
        try:
            _redis().publish(_channel(queue_id), b"1")
        except Exception:  # receivers still re-check the queue at least once a second
            logger.warning("could not publish an SQS wake-up for queue %s", queue_id, exc_info=True)

    transaction.on_commit(publish)


class _Waiter:
    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub
        self.idle = 0.05

    async def wait(self, seconds: float) -> None:
        """Return when a message may have become visible, or after ``seconds``."""
        if seconds <= 0:
            return
        if self.pubsub is None:  # no Redis (unit tier): sleep with backoff
            await asyncio.sleep(min(seconds, self.idle))
            self.idle = min(self.idle * 2, 0.5)
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None:
                return


@asynccontextmanager
async def waiting_for(queue_id: int) -> AsyncIterator[_Waiter]:
    """Subscribe to ``queue_id``'s wake-ups for the length of a long poll (no thread is held)."""
    if not settings.REDIS_URL:
        yield _Waiter(None)
        return
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(_channel(queue_id))
        yield _Waiter(pubsub)
    finally:
        try:
            await pubsub.aclose()
            await client.aclose()
        except Exception:
            logger.debug("closing an SQS long-poll subscription failed", exc_info=True)
