"""What SNS tells the sandbox's live panel. The tracing work will replace ``announce`` with proper
hops; keep every call to it here."""

from __future__ import annotations

from serverless_lab.cloud.sqs import events


def announce(sandbox_id: int, text: str) -> None:
    events.announce(sandbox_id, text, kind="sns")
