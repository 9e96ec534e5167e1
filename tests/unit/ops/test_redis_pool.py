"""Django's Redis cache objects (one per request context under ASGI) share one connection pool."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache is configured only with REDIS_URL")


def test_two_cache_objects_use_one_pool_and_one_connection():
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first is not second
    first.set("pool-check", 1)
    assert second.get("pool-check") == 1
    pool = first._cache._get_connection_pool(write=True)  # private: the pool is what this test is about
    assert second._cache._get_connection_pool(write=True) is pool
    assert len(pool._available_connections) + len(pool._in_use_connections) == 1
