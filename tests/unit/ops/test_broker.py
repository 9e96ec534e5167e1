"""The broker transport (``ops.broker``): kombu's Redis channel, with one client object for its own
commands instead of a new one per command, replaced along with the channel's connection pool."""
from __future__ import annotations

import pytest
from django.conf import settings

from serverless_lab.celery import app
from serverless_lab.ops import broker

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis broker is configured only with REDIS_URL")


def test_the_channel_reuses_one_client_until_its_pool_is_replaced():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, broker.Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second and first.connection_pool is channel.pool
        given = object()
        with channel.conn_or_acquire(given) as passed:  # a caller's own client is used as is
            assert passed is given
        channel._pool = None  # what kombu does when it reconnects
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
        queue = "broker-test-" + str(id(channel))
        channel._put(queue, {"properties": {}, "body": "x"})  # a publish goes through the reused client
        assert channel._size(queue) == 1
        channel._purge(queue)
