from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from serverless_lab.tracing.broadcast import broadcast_on_commit

from .models import Sandbox


@shared_task(name="serverless_lab.sandboxes.send_test_event")
def send_test_event(sandbox_id: int, text: str) -> bool:
    """Broadcast a test message from a worker: proves worker → channel layer → browser works."""
    sandbox = Sandbox.objects.filter(pk=sandbox_id).first()
    if sandbox is None:
        return False
    broadcast_on_commit(
        sandbox.pk,
        {"type": "lab.message", "v": 1, "kind": "test", "text": text[:200], "at": timezone.now().isoformat()},
    )
    return True
