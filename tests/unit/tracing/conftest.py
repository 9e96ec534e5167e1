"""Broadcast capture: what the tracing services would send to a sandbox's WebSocket group."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def broadcasts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, dict[str, Any]]]:
    """(sandbox id, message) pairs sent by ``broadcast_now``, i.e. only after commit."""
    sent: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        "serverless_lab.tracing.broadcast.broadcast_now", lambda sandbox_id, message: sent.append((sandbox_id, message))
    )
    return sent
