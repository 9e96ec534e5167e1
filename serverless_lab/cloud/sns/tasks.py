"""Celery entry points for SNS (queue ``delivery``, routed by the ``serverless_lab.cloud.*`` name)."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="serverless_lab.cloud.sns.deliver", ignore_result=True)
def deliver(publication: dict[str, Any]) -> None:
    from . import delivery
    from .backend import Publication

    delivery.deliver(Publication(**publication))


@shared_task(name="serverless_lab.cloud.sns.deliver_fifo", ignore_result=True)
def deliver_fifo(topic_id: int) -> None:
    from . import delivery

    delivery.deliver_fifo(topic_id)
