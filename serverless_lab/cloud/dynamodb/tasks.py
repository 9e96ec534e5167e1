"""Celery entry points of the DynamoDB emulator."""

from __future__ import annotations

from celery import shared_task

from serverless_lab.sandboxes.models import Sandbox

from . import backend


@shared_task(name="serverless_lab.cloud.dynamodb.delete_expired_items", ignore_result=True)
def delete_expired_items(sandbox_id: int, table_name: str) -> None:
    """AWS's background TTL deletion, for one table; queued by reads (see backend._sweep_expired_soon)."""
    sandbox = Sandbox.objects.filter(pk=sandbox_id).first()
    if sandbox is None:
        return
    try:
        while backend.delete_expired_items(sandbox=sandbox, table_name=table_name):
            pass
    except backend.ResourceNotFoundException:  # the table was deleted meanwhile
        return
