"""Celery's Redis broker transport, with one Redis client object per channel for its own commands.

kombu's Redis channel builds a new client (``redis.Redis.__init__``: response callbacks, retry policy
and all) for every command outside its BRPOP loop: each publish, and the bookkeeping that emulates
acknowledgements, twice per message. In the runtime worker that was ~7% of its CPU on a warm invoke.
A client takes a connection from its pool for each command, so one per channel and pool serves every
thread; it is replaced when kombu replaces the pool (a reconnection).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _own_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        own = self._own_client
        if own is None or own.connection_pool is not self.pool:
            own = self._own_client = self._create_client()
        yield own


class Transport(redis.Transport):
    Channel = Channel
