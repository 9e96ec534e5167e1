"""Celery entry points of the pollers (queue ``delivery``), and the hook that notices when the runtime
finished a mapping's invocation.

Both tasks are idempotent (a poll is one transaction under the mapping's row lock; a batch is settled
once), so they are acknowledged after they ran and requeued when their worker process dies: a wake-up
is never lost with the worker that took it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import task_postrun


@shared_task(name="serverless_lab.cloud.esm.poll", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def poll(mapping_id: int) -> None:
    from . import pollers

    pollers.poll(mapping_id)


@shared_task(
    name="serverless_lab.cloud.esm.complete", ignore_result=True, acks_late=True, reject_on_worker_lost=True
)
def complete(batch_id: int) -> None:
    from . import pollers

    pollers.complete(batch_id)


@task_postrun.connect
def _invocation_ended(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """A runtime task of a mapping's batch ended (whatever its outcome): settle the batch."""
    from . import pollers

    if getattr(sender, "name", None) != pollers.RUNTIME_TASK:
        return
    batch_id = pollers.batch_of_task(task_id)
    if batch_id is not None:
        complete.apply_async(args=[batch_id])
