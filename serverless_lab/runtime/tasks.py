"""The runtime queue's tasks: run a Lambda invocation in this worker's execution environments.

``invoke`` runs an invocation already recorded (asynchronous invokes, event source mappings);
``invoke_request_response`` a synchronous invoke, which its worker records when it has run.

The runtime queue is served by a worker with a thread pool (``ops.workers``): one process keeps every
warm environment, and a task reaches its thread without prefork's pipe to a child process. That pool
enforces no Celery time limit; what bounds a task is the environment's own wall-clock kill at the
function's timeout (and INIT's 10 s), as in a prefork worker, where the limits sit above those.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from celery.utils.nodenames import anon_nodename
from kombu.serialization import dumps

RUNTIME_QUEUE = "runtime"


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


def request_response_message(
    request: dict[str, Any], payload_b64: str, *, client_context: str | None, time_limit: int, soft_time_limit: int
) -> tuple[str, str]:
    """``invoke_request_response``'s message as Celery would publish it to the runtime queue on Redis:
    the list's key and what to LPUSH there.

    A synchronous invoke pushes it in the same Lua script that takes its concurrency lease
    (``coordination.acquire_lease``): one round trip, atomic with the lease, where ``apply_async``
    cost ~1 ms of the web process's CPU (producer pool, queue declaration, argument repr, a new
    Redis client per publish) and a trip of its own. The headers are Celery's (``as_task_v2``); the
    envelope is kombu's virtual-transport format, as ``Channel._put`` writes it for priority 0
    (``tests/unit/lambda_/test_lambda_task_message.py`` compares both with a real publish). The
    broker is ``REDIS_URL`` (settings), the server the lease script runs on.
    """
    task_id = str(uuid.uuid4())
    headers, properties, body, _ = invoke_request_response.app.amqp.as_task_v2(
        task_id,
        invoke_request_response.name,
        args=[request, payload_b64],
        kwargs={"client_context": client_context},
        time_limit=time_limit,
        soft_time_limit=soft_time_limit,
        ignore_result=True,
        argsrepr=f"({request['request_id']!r}, <payload: {len(payload_b64)} base64 characters>)",
        kwargsrepr="{}",
        origin=_ORIGIN,
    )
    content_type, content_encoding, data = dumps(body, serializer="json")
    properties.update(
        delivery_mode=2,
        delivery_info={"exchange": "", "routing_key": RUNTIME_QUEUE},
        priority=0,
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    message = {
        "body": base64.b64encode(data.encode()).decode(),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": headers,
        "properties": properties,
    }
    prefix = invoke_request_response.app.conf.broker_transport_options.get("global_keyprefix", "")
    return prefix + RUNTIME_QUEUE, dumps(message, serializer="json")[2]


_ORIGIN = anon_nodename()


@worker_process_shutdown.connect
def _close_environments(**kwargs: Any) -> None:
    """A worker process that stops takes its warm environments with it."""
    from . import services

    services.close_worker_pool()


@worker_shutdown.connect
def _close_thread_pool_environments(**kwargs: Any) -> None:
    """The runtime worker's thread pool keeps its environments in the main process, which sends no
    ``worker_process_shutdown``: close them once the pool has stopped (a prefork parent has none)."""
    from . import services

    services.close_worker_pool()
