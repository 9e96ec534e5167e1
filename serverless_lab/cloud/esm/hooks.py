"""Waking pollers: the after-commit hooks SQS and DynamoDB call when a queue gets a message or a
stream gets a record, and the (deduplicated) scheduling of poll tasks.

Nothing polls the database on a timer: a poll runs because a message was sent or a record
written (after that commit), because an invocation finished, or because the poller itself knows
when something becomes due (a delayed or in-flight message turns visible, a batching window
closes, a throttled or failed batch is retried) and asked Celery to run it at that time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)

# How long a process trusts its list of the mappings reading a queue or table. A mapping created or
# enabled meanwhile is covered by the extra poll ``mapping_changed`` schedules after this delay.
SOURCE_CACHE_S = 2.0
_PENDING_S = 60

_mapped: dict[tuple[str, int], tuple[float, list[int]]] = {}


@dataclass(frozen=True)
class _Kick:
    kind: str
    source_id: int

    def __call__(self) -> None:
        try:
            for mapping_id in _mappings_of(self.kind, self.source_id):
                kick(mapping_id)
        except Exception:  # a lost wake-up is caught by the next send or write, never fails this one
            logger.warning("could not wake the pollers of %s %s", self.kind, self.source_id, exc_info=True)


def source_changed(kind: str, source_id: int) -> None:
    """A queue got a message or a table's stream a record: wake its mappings once this commits.

    Called per message or record; registers one callback per transaction and source."""
    kick_after_commit = _Kick(kind, source_id)
    if connection.in_atomic_block and any(entry[1] == kick_after_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(kick_after_commit)


def _mappings_of(kind: str, source_id: int) -> list[int]:
    from .models import EventSourceMapping

    key = (kind, source_id)
    hit = _mapped.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    ids = list(
        EventSourceMapping.objects.filter(kind=kind, source_id=source_id, enabled=True).values_list("pk", flat=True)
    )
    _mapped[key] = (time.monotonic() + SOURCE_CACHE_S, ids)
    return ids


def _key(kind: str, mapping_id: int) -> str:
    return f"esm:{kind}:{mapping_id}"


def kick(mapping_id: int) -> None:
    """Queue a poll of the mapping now, unless one is queued and has not started yet."""
    from .tasks import poll

    if cache.add(_key("pending", mapping_id), 1, timeout=_PENDING_S):
        poll.apply_async(args=[mapping_id])


def poll_started(mapping_id: int) -> None:
    """The poll reads the source after this, so a later kick must queue another poll; and a poll
    that is due now (give or take Celery's timer) must not stop the poller from scheduling the next."""
    cache.delete(_key("pending", mapping_id))
    due = cache.get(_key("due", mapping_id))
    if due is not None and due <= time.time() * 1000 + 500:
        cache.delete(_key("due", mapping_id))


def schedule(mapping_id: int, at_ms: int) -> None:
    """Queue a poll of the mapping for ``at_ms`` (epoch ms), unless one is due no later than that."""
    from .tasks import poll

    now = int(time.time() * 1000)
    key = _key("due", mapping_id)
    due = cache.get(key)
    if due is not None and now < due <= at_ms:
        return
    countdown = max(0.0, (at_ms - now) / 1000)
    cache.set(key, at_ms, timeout=int(countdown) + _PENDING_S)
    poll.apply_async(args=[mapping_id], countdown=countdown)


def mapping_changed(mapping_id: int) -> None:
    """After a mapping is created or enabled: poll now, and once more when every process's cache
    of mapped sources has caught up (a message sent in between woke nobody)."""

    def wake() -> None:
        kick(mapping_id)
        schedule(mapping_id, int((time.time() + SOURCE_CACHE_S + 0.5) * 1000))

    transaction.on_commit(wake)
