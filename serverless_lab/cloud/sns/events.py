"""What SNS tells the sandbox's live panel. The tracing work will replace ``announce`` with proper
hops; keep every call to it here."""

from __future__ import annotations

from datetime import UTC, datetime

from serverless_lab.tracing.broadcast import broadcast_on_commit


def announce(sandbox_id: int, text: str) -> None:
    broadcast_on_commit(
        sandbox_id,
        {"type": "lab.message", "v": 1, "kind": "sns", "text": text, "at": datetime.now(UTC).isoformat()},
    )
