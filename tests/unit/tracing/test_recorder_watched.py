"""The trace writer broadcasts only to sandboxes somebody watches (recorder._to_watched)."""
from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from serverless_lab.tracing import recorder
from serverless_lab.tracing.broadcast import sandbox_group

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs the Redis channel layer (REDIS_URL)")


def test_only_watched_sandboxes_get_the_batch():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    watched, unwatched = 9_100_001, 9_100_002
    async_to_sync(layer.group_add)(sandbox_group(watched), channel)
    try:
        messages = [(watched, {"n": 1}), (unwatched, {"n": 2}), (watched, {"n": 3})]
        assert recorder._to_watched(messages) == [(watched, {"n": 1}), (watched, {"n": 3})]
    finally:
        async_to_sync(layer.group_discard)(sandbox_group(watched), channel)
    assert recorder._to_watched(messages) == []
