"""The one way sync code pushes a message to a sandbox's WebSocket group.

Messages go out only after the surrounding transaction commits, so a browser never hears of a
row that could still roll back. Outside a transaction the message is sent at once.
"""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def sandbox_group(sandbox_id: int) -> str:
    return f"sandbox-{sandbox_id}"


def broadcast_now(sandbox_id: int, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(sandbox_group(sandbox_id), message)
    except Exception:  # a broadcast is best-effort: the operation it reports already happened
        logger.exception("broadcast to sandbox %s failed", sandbox_id)


def broadcast_on_commit(sandbox_id: int, message: dict[str, Any]) -> None:
    """Send ``message`` (a dict whose ``type`` names the consumer handler) once the DB commits."""
    transaction.on_commit(lambda: broadcast_now(sandbox_id, message))
