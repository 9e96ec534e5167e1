from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from serverless_lab.sandboxes.selectors import sandbox_can_watch

from .broadcast import sandbox_group
from .relay import relay

logger = logging.getLogger(__name__)
# 4403 mirrors HTTP 403 in the WebSocket application close-code range (4000-4999).
CLOSE_FORBIDDEN = 4403


class SandboxEventsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards a sandbox's live events to its owner (and the owner's instructors).

    It has no channel of its own: the process's relay (relay.py) receives the sandbox group's
    messages once and puts them in each socket's inbox, which ``_forward`` dispatches to the
    handler named after the message type (``trace.hop`` → ``trace_hop``).
    """

    channel_layer_alias = None
    group: str | None = None
    inbox: asyncio.Queue[dict[str, Any]] | None = None
    forwarder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        sandbox_id = int(self.scope["url_route"]["kwargs"]["sandbox_id"])
        if user is None or not await database_sync_to_async(sandbox_can_watch)(user=user, sandbox_id=sandbox_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = sandbox_group(sandbox_id)
        self.inbox = asyncio.Queue()
        await relay().join(self.group, self.inbox)
        await self.accept()
        await self.send_json({"type": "hello", "v": 1, "sandbox": sandbox_id})
        self.forwarder = asyncio.create_task(self._forward(self.inbox))

    async def disconnect(self, code: int) -> None:
        if self.forwarder:
            self.forwarder.cancel()
        if self.group and self.inbox:
            await relay().leave(self.group, self.inbox)

    async def _forward(self, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            message = await inbox.get()
            try:
                await self.dispatch(message)
            except ValueError:  # a message type this consumer has no handler for
                logger.warning("ignored a %r message", message.get("type"))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The socket is server → browser only; a ping keeps proxies from closing an idle one.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "v": 1})

    async def lab_message(self, event: dict[str, Any]) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"} | {"type": "message"})

    async def trace_hop(self, event: dict[str, Any]) -> None:
        """A hop (schema.HopMessage) goes to the browser exactly as recorded."""
        await self.send_json(event)
