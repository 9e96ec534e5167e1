"""Celery entry points for SNS (queue ``delivery``, routed by the ``serverless_lab.cloud.*`` name).

Both are acknowledged only after they ran (``acks_late``) and requeued if the worker process dies
(``reject_on_worker_lost``): a delivery is one transaction, so a delivery cut short by a crash is
rolled back and runs again instead of being lost. A FIFO outbox row is deleted in that same
transaction, so a FIFO message is not delivered twice either.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="serverless_lab.cloud.sns.deliver", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver(publication: dict[str, Any]) -> None:
    from . import delivery
    from .backend import Publication

    delivery.deliver(Publication(**publication))


@shared_task(
    name="serverless_lab.cloud.sns.deliver_fifo", ignore_result=True, acks_late=True, reject_on_worker_lost=True
)
def deliver_fifo(topic_id: int) -> None:
    from . import delivery

    delivery.deliver_fifo(topic_id)
