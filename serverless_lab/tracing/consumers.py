from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from serverless_lab.sandboxes.selectors import sandbox_can_watch

from .broadcast import sandbox_group

# 4403 mirrors HTTP 403 in the WebSocket application close-code range (4000-4999).
CLOSE_FORBIDDEN = 4403


class SandboxEventsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards a sandbox's live events to its owner (and the owner's instructors)."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        sandbox_id = int(self.scope["url_route"]["kwargs"]["sandbox_id"])
        if user is None or not await database_sync_to_async(sandbox_can_watch)(user=user, sandbox_id=sandbox_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = sandbox_group(sandbox_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "v": 1, "sandbox": sandbox_id})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The socket is server → browser only; a ping keeps proxies from closing an idle one.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "v": 1})

    async def lab_message(self, event: dict[str, Any]) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"} | {"type": "message"})

    async def trace_hop(self, event: dict[str, Any]) -> None:
        """A hop (schema.HopMessage) goes to the browser exactly as recorded."""
        await self.send_json(event)
