"""One channel-layer subscription per sandbox group per process, fanned out to local sockets.

With a channel per socket, a hop to a sandbox watched by N browsers is N messages through Redis,
which the layer hands over one round trip at a time. The relay subscribes once per group and
copies each message into every local socket's queue, so a hop costs one Redis message per
process however many tabs (or a classroom of instructors) watch it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


class _GroupRelay:
    def __init__(self) -> None:
        self.members: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.pumps: dict[str, tuple[asyncio.Task[None], str]] = {}
        self.lock = asyncio.Lock()

    async def join(self, group: str, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        async with self.lock:
            self.members.setdefault(group, set()).add(inbox)
            if group not in self.pumps:
                layer = get_channel_layer()
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                self.pumps[group] = (asyncio.create_task(self._pump(layer, group, channel)), channel)

    async def leave(self, group: str, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        async with self.lock:
            members = self.members.get(group, set())
            members.discard(inbox)
            if members or group not in self.pumps:
                return
            del self.members[group]
            task, channel = self.pumps.pop(group)
            task.cancel()
            await get_channel_layer().group_discard(group, channel)

    async def _pump(self, layer: Any, group: str, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis hiccup: keep the relay alive, try again shortly
                logger.exception("the relay for %s could not receive", group)
                await asyncio.sleep(0.5)
                continue
            # The tracing writer sends a batch of hops as one message: each socket gets them one by one.
            unpacked = message["hops"] if message.get("type") == "trace.hops" else (message,)
            for inbox in tuple(self.members.get(group, ())):
                for item in unpacked:
                    inbox.put_nowait(item)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupRelay] = weakref.WeakKeyDictionary()


def relay() -> _GroupRelay:
    """This event loop's relay (tests may run several loops in one process)."""
    loop = asyncio.get_running_loop()
    if loop not in _relays:
        _relays[loop] = _GroupRelay()
    return _relays[loop]
