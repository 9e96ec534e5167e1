"""The runtime queue's one task: run a Lambda invocation in this worker's execution environments."""

from __future__ import annotations

import base64
from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown


@shared_task(name="serverless_lab.runtime.invoke", ignore_result=True)
def invoke(
    invocation_id: int,
    payload_b64: str,
    *,
    lease_held: bool = False,
    client_context: str | None = None,
    throttled_since: float | None = None,
) -> None:
    from . import services

    services.run_invocation(
        invocation_id,
        base64.b64decode(payload_b64),
        lease_held=lease_held,
        client_context=client_context,
        throttled_since=throttled_since,
    )


@worker_process_shutdown.connect
def _close_environments(**kwargs: Any) -> None:
    """A worker process that stops takes its warm environments with it."""
    from . import services

    services.close_worker_pool()
