"""The runtime queue's tasks: run a Lambda invocation in this worker's execution environments.

``invoke`` runs an invocation already recorded (asynchronous invokes, event source mappings);
``invoke_request_response`` a synchronous invoke, which its worker records when it has run.
"""

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


@shared_task(name="serverless_lab.runtime.invoke_request_response", ignore_result=True)
def invoke_request_response(request: dict[str, Any], payload_b64: str, *, client_context: str | None = None) -> None:
    from . import services

    services.run_request_response(request, base64.b64decode(payload_b64), client_context=client_context)


@worker_process_shutdown.connect
def _close_environments(**kwargs: Any) -> None:
    """A worker process that stops takes its warm environments with it."""
    from . import services

    services.close_worker_pool()
