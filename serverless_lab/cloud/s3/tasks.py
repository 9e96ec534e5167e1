"""Celery entry point for S3 event notifications to SQS and SNS (queue ``delivery``).

Acknowledged after it ran and requeued if the worker dies (``acks_late``, ``reject_on_worker_lost``):
a delivery and its hop are one transaction, so a crash mid-way rolls back and the rerun delivers.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="serverless_lab.cloud.s3.notify", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def notify(sandbox_id: int, bucket_name: str, kind: str, arn: str, body: str, trace: str | None, at: float) -> None:
    from . import notifications

    notifications.notify(
        sandbox_id=sandbox_id, bucket_name=bucket_name, kind=kind, arn=arn, body=body, trace=trace, at=at
    )
