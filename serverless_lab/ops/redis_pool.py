"""One Redis connection pool per URL for the whole process: for Django's Redis cache and for the
code that talks to Redis directly (:func:`shared_client`).

Under ASGI Django keeps a cache object per request context, and each builds its own pool: every
AWS request (the endpoint's rate counter) opened a new Redis connection. Pools are thread-safe and
reset themselves after a fork, so sharing one is safe.
"""
from __future__ import annotations

import functools
import threading
from typing import Any

import redis

_pools: dict[str, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """Use as ``OPTIONS["pool_class"]`` of ``django.core.cache.backends.redis.RedisCache``."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:  # type: ignore[override]
        key = f"{url}|{sorted(kwargs.items())!r}"
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.ConnectionPool.from_url(url, **kwargs)
        return pool


@functools.cache
def shared_client(url: str) -> redis.Redis:
    """The process's client for ``url``, on the shared pool (thread-safe; building one per call
    costs CPU, and one per caller would mean a pool, and its connections, each)."""
    return redis.Redis(connection_pool=SharedConnectionPool.from_url(url))
