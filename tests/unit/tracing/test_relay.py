from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.test import override_settings

from serverless_lab.tracing.relay import relay


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_one_subscription_per_group_feeds_every_local_socket():
    async def scenario() -> None:
        first: asyncio.Queue = asyncio.Queue()
        second: asyncio.Queue = asyncio.Queue()
        other: asyncio.Queue = asyncio.Queue()
        hub = relay()
        await hub.join("sandbox-1", first)
        await hub.join("sandbox-1", second)
        await hub.join("sandbox-2", other)
        assert len(hub.pumps) == 2  # one channel per group, not per socket
        await get_channel_layer().group_send("sandbox-1", {"type": "trace.hop", "seq": 1})
        assert (await asyncio.wait_for(first.get(), 2))["seq"] == 1
        assert (await asyncio.wait_for(second.get(), 2))["seq"] == 1
        assert other.empty()
        await hub.leave("sandbox-1", first)
        assert "sandbox-1" in hub.pumps
        await hub.leave("sandbox-1", second)
        assert "sandbox-1" not in hub.pumps
        await hub.leave("sandbox-2", other)

    # In a thread of its own: Playwright's sync API may have left an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_a_batch_of_hops_reaches_each_socket_as_single_hops_in_order():
    async def scenario() -> list[dict]:
        inbox: asyncio.Queue = asyncio.Queue()
        hub = relay()
        await hub.join("sandbox-3", inbox)
        hops = [{"type": "trace.hop", "seq": seq} for seq in (7, 8, 9)]
        await get_channel_layer().group_send("sandbox-3", {"type": "trace.hops", "hops": hops})
        received = [await asyncio.wait_for(inbox.get(), 2) for _ in hops]
        await hub.leave("sandbox-3", inbox)
        return received

    with ThreadPoolExecutor(1) as pool:
        received = pool.submit(asyncio.run, scenario()).result()
    assert [(message["type"], message["seq"]) for message in received] == [("trace.hop", 7), ("trace.hop", 8), ("trace.hop", 9)]
